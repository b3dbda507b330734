/**
 * The streaming path without a browser: Xvfb with an X client showing known colours, a real
 * broker, a real support app on that display, and a technician side in Node (@roamhq/wrtc
 * RTCPeerConnection + RTCVideoSink) that signals through the console WebSocket. Checks the pixels
 * that arrive, that input becomes real X events only with control consent, that the capturer
 * exists only between consent and its end (its shared-memory segment in /proc/sysvipc/shm), and
 * that a broker restart does not cut the stream.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { pb } from "../src/proto/wire.js";
import { addTechnician, api, newComputer, startAgent, startBroker, until, type Broker, type Proc } from "./support/procs.js";
import { Receiver, shmSegmentsOf, shows } from "./support/receiver.js";
import { startXvfb, type Xvfb } from "./support/xvfb.js";
import { TestXClient } from "./support/x11-client.js";

const W = 640;
const H = 480;
const COLOUR = 0x3060c0;
const CHANGED = 0xd04020;

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

it("a consented stream shows the screen, carries input only with control, survives a broker restart and stops when the user says so", async () => {
  const tech = () => api(broker.url, token);
  const s = await tech().createSession();
  const agent = startAgent(s.link, newComputer(), { env: { DISPLAY: xvfb.display } });
  running.push(agent);
  await agent.out.waitFor(/^Connected\./);
  await until(async () => (await tech().session(s.id)).online, 5000, "online");
  const pid = agent.child.pid!;
  expect(await shmSegmentsOf(pid)).toBe(0); // (5) nothing captured before consent

  const rx = await Receiver.connect(broker.url, token);
  const r = await tech().requestAccess(s.id, "control");
  rx.accessRequestId = r.json.id;
  await agent.out.waitFor(/requests to control your screen/);
  expect(await shmSegmentsOf(pid)).toBe(0);
  agent.child.stdin!.write("y\n");
  await agent.out.waitFor(/^Jane Doe is now viewing and controlling your screen\.$/, 20_000);
  expect(await shmSegmentsOf(pid)).toBeGreaterThan(0);

  // (1) The picture: the known colour; a change on the screen shows up.
  await rx.frame(W, H, (f) => shows(f, W / 2, H / 2, COLOUR));
  await xclient.fill(0, 0, 200, 200, CHANGED);
  await rx.frame(W, H, (f) => shows(f, 100, 100, CHANGED) && shows(f, W / 2, H / 2, COLOUR));
  await until(() => rx.control.find((c) => c.body === "monitors"), 5000, "monitor list");

  // (2) A click and a key arrive as real X events.
  const send = await rx.input();
  const before = xclient.events.length;
  send({ button: { button: pb.MouseButton.MOUSE_BUTTON_LEFT, down: true, x: 0.25, y: 0.5 } });
  send({ button: { button: pb.MouseButton.MOUSE_BUTTON_LEFT, down: false, x: 0.25, y: 0.5 } });
  send({ key: { code: "KeyA", down: true } });
  send({ key: { code: "KeyA", down: false } });
  const got = await until(
    async () => {
      const ev = await xclient.sync(before);
      return ev.some((e) => e.event === "KeyRelease") ? ev : null;
    },
    5000,
    "X events",
  );
  expect(got.find((e) => e.event === "ButtonPress")).toMatchObject({ button: 1, x: W / 4, y: H / 2 });
  expect(got.find((e) => e.event === "KeyPress")!.keysym).toBe(0x61); // 'a'

  // A broker restart does not cut the stream: frames keep coming, and the grant stays live.
  const port = broker.port;
  await broker.stop("SIGKILL");
  const n = rx.frames.length;
  await xclient.fill(0, 0, 200, 200, COLOUR);
  await rx.frame(W, H, (f) => shows(f, 100, 100, COLOUR), n); // a frame drawn after the broker died
  broker = await startBroker({ dataDir: broker.dataDir, port });
  await agent.out.waitFor(/^Connected again\. Jane Doe can still view and control your screen\./, 15_000);
  await rx.attach(broker.url, token);
  expect(await tech().accessStatus(s.id, r.json.id)).toMatchObject({ status: "granted", grantedScope: "control" });

  // (3) View only: input stops at once, and the viewer is told.
  agent.child.stdin!.write("v\n");
  await until(() => rx.control.find((c) => c.body === "scope" && c.scope!.scope === pb.Scope.SCOPE_VIEW), 5000, "scope view");
  const mark = xclient.events.length;
  send({ button: { button: pb.MouseButton.MOUSE_BUTTON_LEFT, down: true, x: 0.5, y: 0.5 } });
  send({ button: { button: pb.MouseButton.MOUSE_BUTTON_LEFT, down: false, x: 0.5, y: 0.5 } });
  await until(() => rx.control.some((c) => c.body === "stats" && (c.stats!.inputsDropped ?? 0) >= 2), 5000, "dropped count");
  expect((await xclient.sync(mark)).filter((e) => e.event === "ButtonPress")).toEqual([]);
  await until(async () => (await tech().accessStatus(s.id, r.json.id)).grantedScope === "view", 5000, "narrowed");

  // Stop: the capturer is released and the grant ends.
  agent.child.stdin!.write("s\n");
  await agent.out.waitFor(/^You stopped sharing your screen with Jane Doe\.$/);
  await until(async () => (await shmSegmentsOf(pid)) === 0, 5000, "capturer released");
  await until(async () => (await tech().accessStatus(s.id, r.json.id)).status === "ended", 5000, "ended");

  // (4) Closing the session ends the app with exit 5.
  await tech().close(s.id);
  expect((await agent.exited).code).toBe(5);
  rx.close();
}, 120_000);
