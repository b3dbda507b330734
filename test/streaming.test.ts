/**
 * The streaming path without a browser: Xvfb with an X client showing a known colour, a real
 * broker, a real support app on that display, and a technician side in Node (@roamhq/wrtc
 * RTCPeerConnection + RTCVideoSink) that signals through the console WebSocket. Checks the pixels
 * that arrive, that input becomes real X events only with control consent, and that the capturer
 * exists only between consent and its end (its shared-memory segment, seen in /proc/sysvipc/shm).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import wrtcModule from "@roamhq/wrtc";
import WebSocket from "ws";
import { pb, type BrokerToConsole } from "../src/proto/wire.js";
import { addTechnician, api, newComputer, startAgent, startBroker, until, type Broker, type Proc } from "./support/procs.js";
import { startXvfb, type Xvfb } from "./support/xvfb.js";
import { TestXClient } from "./support/x11-client.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const wrtc = wrtcModule as any;
const W = 640;
const H = 480;
const COLOUR = 0x3060c0; // R=0x30 G=0x60 B=0xc0

let xvfb: Xvfb;
let xclient: TestXClient;
let broker: Broker;
let token: string;
const running: Proc[] = [];

beforeAll(async () => {
  xvfb = await startXvfb({ width: W, height: H });
  xclient = await TestXClient.start(xvfb.display);
  await xclient.fill(0, 0, W, H, COLOUR);
  broker = await startBroker();
  token = await addTechnician(broker.dataDir, "jane", "Jane Doe");
}, 60_000);
afterAll(async () => {
  for (const p of running) p.child.kill("SIGKILL");
  await broker?.stop();
  await xclient?.stop();
  await xvfb?.stop();
});

/** Shared-memory segments created by a process (the capturer's XShm image). */
function shmSegmentsOf(pid: number): number {
  const lines = readFileSync("/proc/sysvipc/shm", "utf8").trim().split("\n");
  const cols = lines[0]!.trim().split(/\s+/);
  const cpid = cols.indexOf("cpid");
  return lines.slice(1).filter((l) => Number(l.trim().split(/\s+/)[cpid]) === pid).length;
}

/** BT.601 limited-range Y, U, V of an RGB colour (what libyuv's ARGBToI420 computes). */
function yuv(rgb: number): [number, number, number] {
  const r = (rgb >> 16) & 255, g = (rgb >> 8) & 255, b = rgb & 255;
  return [
    Math.round(0.257 * r + 0.504 * g + 0.098 * b + 16),
    Math.round(-0.148 * r - 0.291 * g + 0.439 * b + 128),
    Math.round(0.439 * r - 0.368 * g - 0.071 * b + 128),
  ];
}

it("a consented stream shows the screen, carries input only with control, and stops when the user says so", async () => {
  const tech = api(broker.url, token);
  const s = await tech.createSession();
  const agent = startAgent(s.link, newComputer(), { env: { DISPLAY: xvfb.display } });
  running.push(agent);
  await agent.out.waitFor(/^Connected\./);
  await until(async () => (await tech.session(s.id)).online, 5000, "online");
  const pid = agent.child.pid!;
  expect(shmSegmentsOf(pid)).toBe(0); // nothing captured before consent

  // The technician's side: console socket for signaling, a Node RTCPeerConnection answering.
  const ws = new WebSocket(broker.url.replace("http", "ws") + "/ws/console", { headers: { authorization: `Bearer ${token}` } });
  await new Promise((r, j) => (ws.once("open", r), ws.once("error", j)));
  const pc = new wrtc.RTCPeerConnection({ iceServers: [] });
  let rid = "";
  const sendSignal = (obj: unknown) =>
    ws.send(pb.ConsoleToBroker.encode({ signal: { accessRequestId: rid, payload: Buffer.from(JSON.stringify(obj)) } }).finish());
  pc.onicecandidate = (e: { candidate: { candidate: string; sdpMid: string; sdpMLineIndex: number } | null }) => {
    if (e.candidate) sendSignal({ type: "candidate", candidate: { candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex } });
  };
  ws.on("message", async (d) => {
    const m: BrokerToConsole = pb.BrokerToConsole.decode(d as Buffer);
    if (m.body !== "signal") return;
    const sig = JSON.parse(Buffer.from(m.signal!.payload!).toString());
    if (sig.type === "offer") {
      await pc.setRemoteDescription(sig);
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      sendSignal({ type: "answer", sdp: answer.sdp });
    } else if (sig.type === "candidate" || sig.candidate) {
      await pc.addIceCandidate(sig.candidate).catch(() => {});
    }
  });
  const channels = new Map<string, { send(d: Uint8Array): void; onmessage: ((e: { data: ArrayBuffer }) => void) | null }>();
  const control: ReturnType<typeof pb.ControlMessage.decode>[] = [];
  pc.ondatachannel = (e: { channel: { label: string; binaryType: string; send(d: Uint8Array): void; onmessage: ((e: { data: ArrayBuffer }) => void) | null } }) => {
    e.channel.binaryType = "arraybuffer";
    channels.set(e.channel.label, e.channel);
    if (e.channel.label === "control") e.channel.onmessage = (ev) => control.push(pb.ControlMessage.decode(new Uint8Array(ev.data)));
  };
  const frames: { width: number; height: number; data: Uint8Array }[] = [];
  pc.ontrack = (e: { track: unknown }) => {
    const sink = new wrtc.nonstandard.RTCVideoSink(e.track);
    sink.onframe = ({ frame }: { frame: { width: number; height: number; data: Uint8Array } }) => frames.push(frame);
  };

  const r = await tech.requestAccess(s.id, "control");
  rid = r.json.id;
  await agent.out.waitFor(/requests to control your screen/);
  agent.child.stdin!.write("y\n");
  await agent.out.waitFor(/^Jane Doe is now viewing and controlling your screen\.$/, 20_000);
  expect(shmSegmentsOf(pid)).toBeGreaterThan(0);

  // (1) The picture: the known colour at the centre.
  const frame = await until(() => frames.find((f) => f.width === W && f.height === H), 15_000, "a full-size frame");
  const [y, u, v] = yuv(COLOUR);
  const cx = W / 2, cy = H / 2;
  const Y = frame.data[cy * W + cx]!;
  const U = frame.data[W * H + (cy / 2) * (W / 2) + cx / 2]!;
  const V = frame.data[W * H + (W / 2) * (H / 2) + (cy / 2) * (W / 2) + cx / 2]!;
  expect(Math.abs(Y - y)).toBeLessThanOrEqual(10);
  expect(Math.abs(U - u)).toBeLessThanOrEqual(10);
  expect(Math.abs(V - v)).toBeLessThanOrEqual(10);
  await until(() => control.find((c) => c.body === "monitors"), 5000, "monitor list");

  // (2) A click and a key arrive as real X events.
  const input = await until(() => channels.get("input"), 5000, "input channel");
  const send = (e: Parameters<typeof pb.InputEvent.encode>[0]) => input.send(pb.InputEvent.encode(e).finish());
  const before = xclient.events.length;
  send({ button: { button: pb.MouseButton.MOUSE_BUTTON_LEFT, down: true, x: 0.25, y: 0.5 } });
  send({ button: { button: pb.MouseButton.MOUSE_BUTTON_LEFT, down: false, x: 0.25, y: 0.5 } });
  send({ key: { code: "KeyA", down: true } });
  send({ key: { code: "KeyA", down: false } });
  const got = await until(async () => {
    const ev = await xclient.sync(before);
    return ev.some((e) => e.event === "KeyRelease") ? ev : null;
  }, 5000, "X events");
  const press = got.find((e) => e.event === "ButtonPress")!;
  expect(press).toMatchObject({ button: 1, x: W / 4, y: H / 2 });
  expect(got.find((e) => e.event === "KeyPress")!.keysym).toBe(0x61); // 'a'

  // (3) View only: input stops at once, and the viewer is told.
  agent.child.stdin!.write("v\n");
  await until(() => control.find((c) => c.body === "scope" && c.scope!.scope === pb.Scope.SCOPE_VIEW), 5000, "scope view");
  const mark = xclient.events.length;
  send({ button: { button: pb.MouseButton.MOUSE_BUTTON_LEFT, down: true, x: 0.5, y: 0.5 } });
  send({ button: { button: pb.MouseButton.MOUSE_BUTTON_LEFT, down: false, x: 0.5, y: 0.5 } });
  await until(() => control.some((c) => c.body === "stats" && (c.stats!.inputsDropped ?? 0) >= 2), 5000, "dropped count");
  expect((await xclient.sync(mark)).filter((e) => e.event === "ButtonPress")).toEqual([]);
  expect((await tech.accessStatus(s.id, rid)).grantedScope).toBe("view");

  // Stop: the capturer is released and the grant ends.
  agent.child.stdin!.write("s\n");
  await agent.out.waitFor(/^You stopped sharing your screen with Jane Doe\.$/);
  await until(() => shmSegmentsOf(pid) === 0, 5000, "capturer released");
  await until(async () => (await tech.accessStatus(s.id, rid)).status === "ended", 5000, "ended");

  // (4) Closing the session ends the app with exit 5.
  await tech.close(s.id);
  expect((await agent.exited).code).toBe(5);
  pc.close();
  ws.close();
}, 90_000);
