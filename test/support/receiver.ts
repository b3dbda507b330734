/**
 * A technician's side in Node for streaming tests and the latency benchmark (scripts/bench-latency/):
 * the console WebSocket for signaling (Bearer token) and a @roamhq/wrtc RTCPeerConnection that
 * answers the support app's offer, records video frames (RTCVideoSink, I420) and the "control"
 * channel, and can send on "input".
 */
import wrtcModule from "@roamhq/wrtc";
import WebSocket from "ws";
import { pb, type BrokerToConsole } from "../../src/proto/wire.js";
import { until } from "./procs.js";

const wrtc = wrtcModule as any;

export interface I420 {
  width: number;
  height: number;
  data: Uint8Array;
}

interface DataChannel {
  label: string;
  binaryType: string;
  readyState: string;
  send(d: Uint8Array): void;
  onmessage: ((e: { data: ArrayBuffer }) => void) | null;
}

export interface ReceiverOptions {
  /** Keep every frame in `frames` (tests look back through them); false keeps only `latest`. Default true. */
  keepFrames?: boolean;
  /** STUN/TURN servers (see brokerIceServers); none by default (loopback). */
  iceServers?: IceServer[];
}

export type IceServer = { urls: string[]; username?: string; credential?: string };

/** The ICE servers the broker gives a technician's console (its first message on the console socket). */
export async function brokerIceServers(brokerUrl: string, token: string): Promise<IceServer[]> {
  const ws = new WebSocket(brokerUrl.replace("http", "ws") + "/ws/console", { headers: { authorization: `Bearer ${token}` } });
  try {
    const first = await new Promise<Buffer>((resolve, reject) => {
      ws.once("message", (d) => resolve(d as Buffer));
      ws.once("error", reject);
      ws.once("close", () => reject(new Error("the console socket closed before its ICE configuration")));
    });
    return iceServersOf(pb.BrokerToConsole.decode(first).iceConfig?.iceServers);
  } finally {
    ws.close();
  }
}

function iceServersOf(
  list: { urls?: string[] | null; username?: string | null; credential?: string | null }[] | null | undefined,
): IceServer[] {
  return (list ?? []).map((i) => ({
    urls: i.urls ?? [],
    ...(i.username ? { username: i.username } : {}),
    ...(i.credential ? { credential: i.credential } : {}),
  }));
}

export class Receiver {
  readonly frames: I420[] = [];
  /** The newest frame, and how many have arrived. */
  latest: I420 | null = null;
  frameCount = 0;
  /** Called with every frame as it arrives and its arrival time (epoch ms, performance.timeOrigin + performance.now()). */
  onFrame: ((frame: I420, t: number) => void) | null = null;
  readonly control: ReturnType<typeof pb.ControlMessage.decode>[] = [];
  private readonly channels = new Map<string, DataChannel>();
  private readonly pc: any;
  private sink: any = null;
  private ws!: WebSocket;
  accessRequestId = "";
  /** Which connection of the grant this receiver is ("" = the one the app opens on consent). */
  viewerId = "";
  /** Rewrites this end's answer before it is sent (a test of what a changed SDP does). */
  mungeAnswer: ((sdp: string) => string) | null = null;
  /** The SDP of the answer as sent, and the offer as received. */
  answerSdp = "";
  offerSdp = "";

  private constructor(
    private readonly keepFrames: boolean,
    iceServers: IceServer[],
  ) {
    this.pc = new wrtc.RTCPeerConnection({ iceServers });
    this.pc.onicecandidate = (e: { candidate: { candidate: string; sdpMid: string; sdpMLineIndex: number } | null }) => {
      if (e.candidate) {
        this.signal({
          type: "candidate",
          candidate: { candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex },
        });
      }
    };
    this.pc.ondatachannel = (e: { channel: DataChannel }) => {
      e.channel.binaryType = "arraybuffer";
      this.channels.set(e.channel.label, e.channel);
      if (e.channel.label === "control") {
        e.channel.onmessage = (ev) => {
          const m = pb.ControlMessage.decode(new Uint8Array(ev.data));
          this.control.push(m);
          // Sharing stopped (scope: none) or the viewer was opened elsewhere (notice): the app closes
          // the connection 50 ms after this (src/agent/remote-access.ts, stop()).
          if ((m.body === "scope" && !m.scope?.scope) || m.body === "notice") this.ending = true;
        };
      }
    };
    this.pc.ontrack = (e: { track: unknown; receiver?: { jitterBufferTarget?: number; playoutDelayHint?: number } }) => {
      try {
        // No jitter-buffer target, as the console asks (src/console/viewer/peer.ts), where the implementation knows the knob.
        if (e.receiver && "jitterBufferTarget" in e.receiver) e.receiver.jitterBufferTarget = 0;
        if (e.receiver && "playoutDelayHint" in e.receiver) e.receiver.playoutDelayHint = 0;
      } catch {
        // not supported here
      }
      this.sink = new wrtc.nonstandard.RTCVideoSink(e.track);
      this.sink.onframe = ({ frame }: { frame: I420 }) => {
        const t = performance.timeOrigin + performance.now();
        const f = { width: frame.width, height: frame.height, data: frame.data };
        this.latest = f;
        this.frameCount++;
        if (this.keepFrames) this.frames.push(f);
        this.onFrame?.(f, t);
      };
    };
  }

  /** Connects to the broker's console socket as the technician with `token`. */
  static async connect(brokerUrl: string, token: string, options: ReceiverOptions = {}): Promise<Receiver> {
    const r = new Receiver(options.keepFrames ?? true, options.iceServers ?? []);
    await r.attach(brokerUrl, token);
    return r;
  }

  /** (Re)connects the signaling socket, e.g. after a broker restart. */
  async attach(brokerUrl: string, token: string): Promise<void> {
    const ws = new WebSocket(brokerUrl.replace("http", "ws") + "/ws/console", { headers: { authorization: `Bearer ${token}` } });
    await new Promise((r, j) => (ws.once("open", r), ws.once("error", j)));
    // Strictly in arrival order (as the console's AnswerPeer): a candidate handled while the offer
    // is still being applied would be dropped.
    ws.on("message", (d) => {
      const m = pb.BrokerToConsole.decode(d as Buffer);
      this.chain = this.chain.then(() => this.onMessage(m)).catch(() => {});
    });
    this.ws = ws;
  }

  private signal(obj: unknown): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(
      pb.ConsoleToBroker.encode({
        signal: { accessRequestId: this.accessRequestId, payload: Buffer.from(JSON.stringify(obj)), viewerId: this.viewerId },
      }).finish(),
    );
  }

  /** Opens a new connection on a live grant (as a console window does): ViewerReady with a fresh viewer id. */
  watch(accessRequestId: string, viewerId = "v_" + Math.random().toString(36).slice(2, 10)): void {
    this.accessRequestId = accessRequestId;
    this.viewerId = viewerId;
    this.ws.send(pb.ConsoleToBroker.encode({ viewerReady: { accessRequestId, viewerId } }).finish());
  }

  private chain: Promise<void> = Promise.resolve();
  /** The app said it closes this connection (see the "control" channel's handler); nothing is sent after that. */
  private ending = false;

  /**
   * Sends on a data channel, unless the app has said it closes the connection; throws then, as a
   * send on a closed channel does. @roamhq/wrtc clears a channel on its signaling thread when the far
   * end closes it, while a send() on the JavaScript thread may be between its state check and its use
   * of the channel: a null dereference (SIGSEGV in RTCDataChannel::Send) that kills the test worker.
   * The app's notice comes 50 ms before its close, so sends stop well before it.
   */
  private sendOn(ch: DataChannel, d: Uint8Array): void {
    if (this.ending) throw new Error("the app closed this connection");
    ch.send(d);
  }

  /** The app's ICE candidates: how many arrived, were added, and the last failure (diagnostics). */
  readonly candidates = { received: 0, added: 0, failed: "" };

  /** TURN credential renewals taken from the broker (as the console's viewer takes them). */
  iceRenewals = 0;

  private async onMessage(m: BrokerToConsole): Promise<void> {
    if (m.body === "iceConfig" && m.iceConfig?.renewal) {
      this.pc.setConfiguration({ iceServers: iceServersOf(m.iceConfig.iceServers) });
      this.iceRenewals++;
      return;
    }
    // Only this receiver's request and viewer, as the console's viewer does: the broker sends every
    // signal to all of the technician's consoles.
    if (m.body !== "signal" || m.signal!.accessRequestId !== this.accessRequestId || (m.signal!.viewerId ?? "") !== this.viewerId) return;
    const sig = JSON.parse(Buffer.from(m.signal!.payload!).toString());
    if (sig.type === "offer") {
      this.offerSdp = sig.sdp;
      await this.pc.setRemoteDescription(sig);
      const answer = await this.pc.createAnswer();
      await this.pc.setLocalDescription(answer);
      this.answerSdp = this.mungeAnswer ? this.mungeAnswer(answer.sdp) : answer.sdp;
      this.signal({ type: "answer", sdp: this.answerSdp });
    } else if (sig.candidate) {
      this.candidates.received++;
      await this.pc.addIceCandidate(sig.candidate).then(
        () => this.candidates.added++,
        (e: Error) => (this.candidates.failed = e.message),
      );
    }
  }

  /** Resolves with the first frame of this size that passes `pred`, among frames number `from` on. */
  frame(width: number, height: number, pred: (f: I420) => boolean = () => true, from = 0, timeoutMs = 15_000): Promise<I420> {
    return until(
      () => this.frames.slice(from).find((f) => f.width === width && f.height === height && pred(f)),
      timeoutMs,
      `a ${width}x${height} frame`,
    );
  }

  async input(): Promise<(e: Parameters<typeof pb.InputEvent.encode>[0]) => void> {
    const ch = await until(() => this.channels.get("input"), 10_000, "input channel");
    return (e) => this.sendOn(ch, pb.InputEvent.encode(e).finish());
  }

  /** Sends on the "control" channel (e.g. a monitor choice), once it is open. */
  async sendControl(m: Parameters<typeof pb.ControlMessage.encode>[0]): Promise<void> {
    const ch = await until(() => this.channels.get("control"), 10_000, "control channel");
    this.sendOn(ch, pb.ControlMessage.encode(m).finish());
  }

  get connectionState(): string {
    return this.pc.connectionState;
  }

  /**
   * The path the connection took: the selected candidate pair's local and remote candidate types
   * ("host", "srflx", "prflx", "relay"), or null before one is selected.
   */
  async path(): Promise<{ local: string; remote: string } | null> {
    const stats = [...(await this.stats()).values()];
    const byId = new Map(stats.map((s) => [s["id"] as string, s]));
    const transport = stats.find((s) => s["type"] === "transport" && s["selectedCandidatePairId"]);
    const pair =
      (transport && byId.get(transport["selectedCandidatePairId"] as string)) ??
      stats.find((s) => s["type"] === "candidate-pair" && s["state"] === "succeeded" && s["nominated"]);
    if (!pair) return null;
    const local = byId.get(pair["localCandidateId"] as string);
    const remote = byId.get(pair["remoteCandidateId"] as string);
    return { local: String(local?.["candidateType"] ?? "?"), remote: String(remote?.["candidateType"] ?? "?") };
  }

  /** The peer connection's getStats() report (a Map of RTCStats dictionaries). */
  stats(): Promise<Map<string, Record<string, unknown>>> {
    return this.pc.getStats();
  }

  close(): void {
    this.ending = true;
    // The sink stops with its track when the connection closes; only the callback is dropped here.
    if (this.sink) this.sink.onframe = null;
    this.pc.close();
    this.ws.close();
  }
}

/** BT.601 limited-range Y, U, V of an RGB colour (what libyuv's ARGBToI420 computes). */
export function yuv(rgb: number): [number, number, number] {
  const r = (rgb >> 16) & 255,
    g = (rgb >> 8) & 255,
    b = rgb & 255;
  return [
    Math.round(0.257 * r + 0.504 * g + 0.098 * b + 16),
    Math.round(-0.148 * r - 0.291 * g + 0.439 * b + 128),
    Math.round(0.439 * r - 0.368 * g - 0.071 * b + 128),
  ];
}

/** Y, U, V of an I420 frame at (x, y). */
export function pixel(f: I420, x: number, y: number): [number, number, number] {
  const cw = Math.ceil(f.width / 2),
    ch = Math.ceil(f.height / 2);
  const u0 = f.width * f.height;
  const i = Math.floor(y / 2) * cw + Math.floor(x / 2);
  return [f.data[y * f.width + x]!, f.data[u0 + i]!, f.data[u0 + cw * ch + i]!];
}

/** Whether the frame shows `rgb` at (x, y), within a tolerance for video coding. */
export function shows(f: I420, x: number, y: number, rgb: number, tolerance = 12): boolean {
  const got = pixel(f, x, y);
  return yuv(rgb).every((want, i) => Math.abs(got[i]! - want) <= tolerance);
}

/** Shared-memory segments created by a process (the capturer's XShm image), from /proc/sysvipc/shm. */
export async function shmSegmentsOf(pid: number): Promise<number> {
  const { readFileSync } = await import("node:fs");
  const lines = readFileSync("/proc/sysvipc/shm", "utf8").trim().split("\n");
  const cpid = lines[0]!.trim().split(/\s+/).indexOf("cpid");
  return lines.slice(1).filter((l) => Number(l.trim().split(/\s+/)[cpid]) === pid).length;
}
