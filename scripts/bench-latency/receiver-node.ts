/**
 * The technician in Node: test/support/receiver.ts's Receiver (console WebSocket for signaling,
 * @roamhq/wrtc peer connection, RTCVideoSink), keeping only the newest frame, as a Viewer.
 */
import { pb } from "../../src/proto/wire.js";
import { Receiver, shows, type IceServer } from "../../test/support/receiver.js";
import { H, W } from "./config.js";
import { sleep } from "./harness.js";
import type { Pt, TetherViewer } from "./viewer.js";

export class NodeViewer implements TetherViewer {
  name = "tether (Node receiver)";
  serverPid = -1;
  helperPid?: number;
  onFrame: ((t: number) => void) | null = null;
  private lastInbound: Record<string, number> = {};
  private send: ((e: Parameters<typeof pb.InputEvent.encode>[0]) => void) | null = null;

  private constructor(readonly receiver: Receiver) {
    receiver.onFrame = (_, t) => this.onFrame?.(t);
  }

  /** Connects to the broker's console socket as the technician with `token` (`iceServers`: STUN/TURN, none on loopback). */
  static async connect(brokerUrl: string, token: string, iceServers: IceServer[] = []): Promise<NodeViewer> {
    return new NodeViewer(await Receiver.connect(brokerUrl, token, { keepFrames: false, iceServers }));
  }

  /** After the user's consent: waits (10 s) for the first frame and the input channel. */
  async start(): Promise<void> {
    for (let i = 0; i < 200 && !this.receiver.latest; i++) await sleep(50);
    if (!this.receiver.latest) throw new Error("no video frame from the agent");
    this.send = await this.receiver.input();
  }

  get frames(): number {
    return this.receiver.frameCount;
  }

  shows(points: Pt[], rgb: number): boolean {
    const f = this.receiver.latest;
    if (!f || f.width !== W || f.height !== H) return false;
    return points.every(([x, y]) => shows(f, x, y, rgb, 16));
  }

  /** The receiver's inbound video RTP stats, plus everything its transports received. */
  async inbound(): Promise<Record<string, number>> {
    // getStats can stall under load in wrtc: give up after 2 s and report the last answer.
    const report = await Promise.race([this.receiver.stats(), sleep(2000).then(() => null)]);
    if (report === null) {
      console.error("  (getStats did not answer within 2 s)");
      return this.lastInbound;
    }
    let out: Record<string, number> = {};
    let transport = 0;
    report.forEach((v) => {
      if (v["type"] === "inbound-rtp" && (v["kind"] === "video" || v["mediaType"] === "video")) out = v as Record<string, number>;
      if (v["type"] === "transport") transport += Number(v["bytesReceived"] ?? 0);
    });
    out = { ...out, transportBytesReceived: transport };
    this.lastInbound = out;
    return out;
  }

  /** Everything the viewer's transport received (video with its padding, RTCP, data channels). */
  async bytesReceived(): Promise<number> {
    const s = await this.inbound();
    return s["transportBytesReceived"] ?? s["bytesReceived"] ?? 0;
  }

  click(x: number, y: number): void {
    if (!this.send) throw new Error("input channel not open");
    const at = { x: (x + 0.5) / W, y: (y + 0.5) / H };
    this.send({ button: { button: pb.MouseButton.MOUSE_BUTTON_LEFT, down: true, ...at } });
    this.send({ button: { button: pb.MouseButton.MOUSE_BUTTON_LEFT, down: false, ...at } });
  }

  /** The connection's state, and each data channel's state and messages sent / received (getStats). */
  async diagnose(): Promise<string> {
    const report = await Promise.race([this.receiver.stats(), sleep(2000).then(() => null)]);
    const channels: string[] = [];
    report?.forEach((v) => {
      if (v["type"] === "data-channel")
        channels.push(
          `${String(v["label"])} ${String(v["state"])} sent ${String(v["messagesSent"])} received ${String(v["messagesReceived"])}`,
        );
    });
    // The agent's latest stats on "control" say how many input events it dropped (no control consent, guard, undecodable).
    const dropped = this.receiver.control.findLast((m) => m.stats)?.stats?.inputsDropped;
    return `connection ${this.receiver.connectionState}; data channels: ${channels.join(", ") || "none in the stats"}; the agent's inputs dropped: ${dropped ?? "not reported"}`;
  }

  async close(): Promise<void> {
    this.receiver.close();
  }
}
