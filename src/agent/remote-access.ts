/**
 * One remote-access grant carried out: a WebRTC connection (simple-peer, the agent initiates) to the
 * technician who asked, with the screen as a video track (I420 from the native capturer into an
 * RTCVideoSource in screencast mode) and two data channels: "input" (InputEvent; honoured only
 * with control consent, dropped and counted otherwise) and "control" (ControlMessage both ways).
 *
 * Capture starts only here, after consent, and everything it holds is released by stop(), which
 * can run any number of times. Everything that varies (wrtc, capturer, injector) is injected.
 */
import type { Instance as PeerInstance, Options as PeerOptions } from "simple-peer";
import type { Scope } from "../session/rules.js";
import { pb } from "../proto/wire.js";
import type { tether } from "../gen/tether.js";
import type { ScreenCapturer, Monitor } from "../native/capturer.js";
import type { InputInjector } from "../native/injector.js";
import { i420Size } from "../native/capturer.js";
import { InputDispatcher } from "./input-dispatcher.js";
import { sdpFingerprint } from "../session/safety-code.js";
import { CERTIFICATE_MISMATCH } from "./agent.js";

/** The parts of @roamhq/wrtc used here. */
export interface Wrtc {
  RTCPeerConnection: unknown;
  MediaStream: new (tracks: unknown[]) => unknown;
  nonstandard: {
    RTCVideoSource: new (init?: { isScreencast?: boolean }) => {
      createTrack(): { stop(): void };
      onFrame(frame: { width: number; height: number; data: Uint8ClampedArray }): void;
    };
  };
}

export interface RemoteAccessDeps {
  wrtc: Wrtc;
  SimplePeer: new (opts: PeerOptions) => PeerInstance;
  openCapturer: () => ScreenCapturer;
  openInjector: () => InputInjector;
  /** What the encoder hooks did so far (vp8ActiveMapStats), for the frame trace. */
  encoderStats?: () => object;
  iceServers: { urls: string[]; username?: string; credential?: string }[];
  /** Sends a signal blob to the technician through the broker (only after begin()). */
  signal: (payload: Uint8Array) => void;
  /** The connection is up (the technician sees the screen), with the viewer's certificate fingerprint. */
  onConnected: (remoteFingerprint: string | null) => void;
  /** It ended without stop(): CERTIFICATE_MISMATCH, or a description. */
  onEnded: (reason: string) => void;
  /** The fingerprint the technician's viewer announced; an answer with another one ends the connection. */
  expectRemote?: string | null;
  /** Largest frame rate captured (frames are sent only when the screen changed). */
  maxFps?: number;
}

interface Channel {
  readyState: string;
  binaryType: string;
  send(data: Uint8Array): void;
  close(): void;
  onmessage: ((ev: { data: ArrayBuffer | Uint8Array }) => void) | null;
  onopen: (() => void) | null;
}

/**
 * TETHER_TRACE_FRAMES=1 (the latency benchmark sets it): one stderr line per frame handed to the
 * encoder ("TETHER_TRACE {...}", times in ms since the epoch), and the sender's RTP stats
 * ("TETHER_TRACE_STATS {...}") when the stream starts and whenever the process gets SIGUSR2 (on
 * demand, so that taking them does not add to the CPU time the benchmark measures).
 */
const TRACE = process.env["TETHER_TRACE_FRAMES"] === "1";
const epochMs = (perfNow: number) => performance.timeOrigin + perfNow;

/**
 * Bitrate hints (kbit/s) for screen content. The start rate makes text sharp in the first frames
 * instead of after the bandwidth estimate has ramped up; the floor keeps a change after an idle
 * period from being paced out at a trickle. The send side reads them from the remote description.
 */
const START_KBPS = 8000;
const MIN_KBPS = 2000;
const MAX_KBPS = 30000;

/** Adds x-google bitrate hints to every video codec of an SDP (the technician's answer). */
export function withBitrateHints(sdp: string): string {
  const hint = `x-google-start-bitrate=${START_KBPS};x-google-min-bitrate=${MIN_KBPS};x-google-max-bitrate=${MAX_KBPS}`;
  return sdp
    .split(/(?=^m=)/m)
    .map((section) => {
      if (!section.startsWith("m=video")) return section;
      const pts = [...section.matchAll(/^a=rtpmap:(\d+) (VP8|VP9|H264|AV1)\/90000/gm)].map((m) => m[1]!);
      let out = section;
      for (const pt of pts) {
        const fmtp = new RegExp(`^a=fmtp:${pt} (.*)$`, "m");
        out = fmtp.test(out)
          ? out.replace(fmtp, (_l, params: string) => `a=fmtp:${pt} ${params.replace(/\r$/, "")};${hint}${params.endsWith("\r") ? "\r" : ""}`)
          : out.replace(new RegExp(`^(a=rtpmap:${pt} .*?)(\r?)$`, "m"), `$1$2\na=fmtp:${pt} ${hint}$2`);
      }
      return out;
    })
    .join("");
}

/**
 * Without XInput 2 (capturer.pointerEvents false), how long one capture waits for the display to
 * report a change (ms), while the screen or pointer moved recently and once it has been still for
 * IDLE_AFTER_MS: core X reports no event for a pointer move alone, so these bound how late such a
 * move is seen. A screen change ends the wait at once; with XInput 2 a pointer move does too.
 */
const ACTIVE_WAIT_MS = 33;
const IDLE_AFTER_MS = 5000;
const IDLE_WAIT_MS = 100;
/**
 * Once this long without a frame, one goes out anyway (a repeat), so that a receiver that lost the
 * last one recovers: while the screen is busy, and once it has been still for IDLE_AFTER_MS (lost
 * packets are re-sent by NACK anyway). The idle one stays below libwebrtc's receive timeout: a
 * receiver (Chromium's too) that gets no frame for 3 s asks for a key frame, so with a 5 s repeat
 * every idle repeat was a whole-frame intra encode (keyFramesEncoded rose by one per repeat; the
 * encoder threads used 9 instead of 3 ticks of CPU in 8 idle seconds). An unchanged repeat is
 * cheap: the VP8 active map marks nothing in it.
 */
const KEEPALIVE_MS = 1000;
const IDLE_KEEPALIVE_MS = 2500;
/** Unchanged stats (see sendStats) are repeated this often. */
const STATS_REPEAT_MS = 10_000;

/** How long prepare() waits for the peer's offer (it carries the certificate fingerprint). */
const PREPARE_TIMEOUT_MS = 5000;

export class RemoteAccess {
  /** null until begin(): nothing is injected before consent. */
  private scopeNow: Scope | null = null;
  private stopped = false;
  private begun = false;
  /** Signals produced before begin(): sent only once the user has consented. */
  private held: Uint8Array[] = [];
  private localFingerprint: string | null = null;
  private remoteFingerprint: string | null = null;
  private source: InstanceType<Wrtc["nonstandard"]["RTCVideoSource"]> | null = null;
  private track: { stop(): void } | null = null;
  private peer: PeerInstance | null = null;
  private capturer: ScreenCapturer | null = null;
  private readonly input: InputDispatcher;
  private inputChannel: Channel | null = null;
  private control: Channel | null = null;
  private statsTimer: NodeJS.Timeout | null = null;
  private monitors: Monitor[] = [];
  private monitorIndex = -1; // -1: the whole screen
  private lastCursor = "";
  private lastShape = -1;
  private framesSent = 0;
  private lastStatsKey = "";
  private lastStatsAt = 0;
  private area = { width: 0, height: 0 };

  constructor(private readonly d: RemoteAccessDeps) {
    this.input = new InputDispatcher(d.openInjector, () => (this.stopped ? null : this.scopeNow));
  }

  get scope(): Scope | null {
    return this.scopeNow;
  }

  /** This end's DTLS certificate fingerprint (from its offer), once prepared. */
  get fingerprint(): string | null {
    return this.localFingerprint;
  }

  /**
   * Creates the peer connection (with its certificate, a video track that carries nothing yet and
   * the data channels) and waits for its offer, so that the fingerprint is known. Captures nothing
   * and sends nothing: the offer is held until begin().
   */
  async prepare(): Promise<void> {
    const source = new this.d.wrtc.nonstandard.RTCVideoSource({ isScreencast: true });
    const track = source.createTrack();
    this.source = source;
    this.track = track;
    const peer = new this.d.SimplePeer({
      initiator: true,
      trickle: true,
      wrtc: this.d.wrtc as unknown as PeerOptions["wrtc"],
      config: { iceServers: this.d.iceServers },
      streams: [new this.d.wrtc.MediaStream([track]) as NonNullable<PeerOptions["streams"]>[number]],
    });
    this.peer = peer;
    const pc = (peer as unknown as { _pc: { createDataChannel(label: string, o?: object): Channel } })._pc;
    this.inputChannel = pc.createDataChannel("input", { ordered: true });
    this.control = pc.createDataChannel("control", { ordered: true });
    for (const ch of [this.inputChannel, this.control]) ch.binaryType = "arraybuffer";
    this.inputChannel.onmessage = (ev) => this.input.handle(new Uint8Array(ev.data as ArrayBuffer));
    this.control.onmessage = (ev) => this.onControl(new Uint8Array(ev.data as ArrayBuffer));
    this.control.onopen = () => {
      this.sendControl({ scope: { scope: this.scopeNow === "control" ? pb.Scope.SCOPE_CONTROL : pb.Scope.SCOPE_VIEW } });
      this.sendMonitors();
    };
    let offered: () => void = () => {};
    const offer = new Promise<void>((resolve) => (offered = resolve));
    peer.on("signal", (data: { type?: string; sdp?: string }) => {
      if (data.type === "offer" && typeof data.sdp === "string") {
        this.localFingerprint = sdpFingerprint(data.sdp);
        offered();
      }
      const payload = Buffer.from(JSON.stringify(data));
      if (this.begun) this.d.signal(payload);
      else this.held.push(payload);
    });
    peer.on("connect", () => {
      if (this.stopped || !this.begun || !this.capturer) return;
      this.d.onConnected(this.remoteFingerprint);
      this.tuneSender();
      void this.captureLoop(source, track);
      this.statsTimer = setInterval(() => this.sendStats(), 1000);
      if (TRACE) {
        this.traceStats();
        process.on("SIGUSR2", this.onTraceSignal);
      }
    });
    peer.on("close", () => this.end("the technician's viewer closed"));
    peer.on("error", (err: Error) => this.end(err.message));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([offer, new Promise<void>((resolve) => (timer = setTimeout(resolve, PREPARE_TIMEOUT_MS)))]);
    clearTimeout(timer);
  }

  /**
   * The user consented: opens the capturer and sends the held offer. Throws (and holds nothing of
   * the capturer) if capture is impossible.
   */
  begin(scope: Scope): void {
    if (this.stopped || this.begun) return;
    this.capturer = this.d.openCapturer();
    this.monitors = this.capturer.monitors();
    this.scopeNow = scope;
    this.begun = true;
    for (const p of this.held.splice(0)) this.d.signal(p);
  }

  /** A signal from the technician (JSON of a simple-peer signal object). Bad input is ignored. */
  signal(payload: Uint8Array): void {
    if (this.stopped || !this.peer || !this.begun) return;
    try {
      const sig = JSON.parse(Buffer.from(payload).toString("utf8"));
      if (sig && sig.type === "answer" && typeof sig.sdp === "string") {
        const fp = sdpFingerprint(sig.sdp);
        // The viewer that asked announced its certificate: an answer with another one did not come
        // from it (a broker in the middle would have to present its own certificate here).
        if (this.d.expectRemote && fp !== this.d.expectRemote) return this.end(CERTIFICATE_MISMATCH);
        this.remoteFingerprint = fp;
        sig.sdp = withBitrateHints(sig.sdp);
      }
      this.peer.signal(sig);
    } catch {
      // a malformed or late signal must not end the stream
    }
  }

  /** The user narrowed consent: input stops at once and everything pressed is released. */
  narrowToView(): void {
    if (this.scopeNow !== "control") return;
    this.scopeNow = "view";
    this.input.release();
    this.sendControl({ scope: { scope: pb.Scope.SCOPE_VIEW } });
  }

  /** Ends everything: capture, input (released), the peer connection. Idempotent. */
  stop(replaced = false): void {
    if (this.stopped) return;
    this.stopped = true;
    if (replaced) this.sendControl({ notice: { text: "The viewer was opened in another window or tab; this one is closed." } });
    else this.sendControl({ scope: { scope: pb.Scope.SCOPE_UNSPECIFIED } });
    if (this.statsTimer) clearInterval(this.statsTimer);
    process.off("SIGUSR2", this.onTraceSignal);
    this.statsTimer = null;
    this.input.release();
    try {
      this.capturer?.close();
    } catch {
      // already closed
    }
    this.capturer = null;
    this.held = [];
    if (!this.begun) this.track?.stop(); // otherwise the capture loop stops it
    for (const ch of [this.inputChannel, this.control]) {
      if (ch) ch.onmessage = null;
    }
    const peer = this.peer;
    this.peer = null;
    if (peer) {
      peer.removeAllListeners();
      peer.on("error", () => {});
      // Let the scope notice leave before the connection goes.
      setTimeout(() => peer.destroy(), 50).unref();
    }
  }

  private end(reason: string): void {
    if (this.stopped) return;
    this.stop();
    this.d.onEnded(reason);
  }

  /**
   * Change-driven capture: no tick and no polling. Each capture waits off the JavaScript thread
   * until the display reports a change (XDamage), and the change is sent the moment it is grabbed,
   * at most maxFps frames a second: the capture after a sent frame starts only after that gap, so
   * the newest content goes out, never a queue. An unchanged screen costs one wake-up per wait
   * (ACTIVE_WAIT_MS, IDLE_WAIT_MS), which also picks up pointer moves and sends the keepalive frame.
   */
  private async captureLoop(
    source: InstanceType<Wrtc["nonstandard"]["RTCVideoSource"]>,
    track: { stop(): void },
  ): Promise<void> {
    const minGapMs = 1000 / (this.d.maxFps ?? 60);
    let buf: Uint8Array | null = null;
    let lastSent = -Infinity;
    // The earliest time the next frame may go out: on a 1/maxFps cadence, so that a frame that went
    // out a little late (timer and grab time) does not push every later one back (that gave 56 of
    // 60 fps), but never sooner than 3/4 of a frame gap after the previous one.
    let due = -Infinity;
    let lastActivity = performance.now();
    let pointer = "";
    try {
      while (!this.stopped && this.capturer) {
        const started = performance.now();
        const area = this.capturer.area;
        const bytes = i420Size(area.width, area.height);
        const incremental = buf !== null && buf.byteLength === bytes;
        if (!incremental) buf = new Uint8Array(bytes);
        const idle = started - lastActivity >= IDLE_AFTER_MS;
        const keepalive = idle ? IDLE_KEEPALIVE_MS : KEEPALIVE_MS;
        // With pointer events (XInput 2) the wait ends on a change or a pointer move: no polling,
        // only the keepalive bounds it. Without, short waits poll the pointer.
        const bound = this.capturer.pointerEvents === true ? keepalive : idle ? IDLE_WAIT_MS : ACTIVE_WAIT_MS;
        const waitMs = Math.max(0, Math.min(bound, Math.ceil(lastSent + keepalive - started)));
        const r = await this.capturer.capture({ format: "i420", into: buf!, incremental, cursor: true, waitMs });
        if (this.stopped) break;
        let sent = false;
        if (r.status === "ok") {
          const f = r.frame;
          this.area = { width: f.width, height: f.height };
          const now = performance.now();
          const changed = f.full || f.updatedRects.length > 0;
          const at = f.cursor ? `${f.cursor.x},${f.cursor.y},${f.cursor.visible}` : "";
          if (changed || at !== pointer) lastActivity = now;
          pointer = at;
          if (changed || now - lastSent >= keepalive) {
            source.onFrame({ width: f.width, height: f.height, data: new Uint8ClampedArray(buf!.buffer, buf!.byteOffset, bytes) });
            lastSent = now;
            due = Math.max(due + minGapMs, now + minGapMs * 0.75);
            sent = true;
            this.framesSent++;
            if (TRACE) this.trace("TETHER_TRACE", { t0: epochMs(started), ct: f.captureTimeUs / 1000, g: f.grabMs, c: f.convertMs, b: epochMs(now), s: epochMs(performance.now()), m: Number(process.hrtime.bigint()) / 1e6, r: f.updatedRects.length });
          }
          if (f.cursor) this.sendCursor(f.cursor, f.width, f.height);
          f.release();
        } else if (r.status === "display-changed") {
          buf = null;
          this.monitors = this.capturer.monitors();
          this.sendMonitors();
        } else if (r.status === "permanent-error") {
          return this.end(`screen capture stopped: ${r.message}`);
        } else {
          await new Promise((res) => setTimeout(res, minGapMs)); // temporary error: try again shortly
        }
        // After a sent frame, the next grab waits until it is due (at most maxFps frames a second).
        const wait = sent ? due - performance.now() : 0;
        if (wait > 0) await new Promise((res) => setTimeout(res, wait));
      }
    } catch (err) {
      this.end(`screen capture failed: ${(err as Error).message}`);
    } finally {
      track.stop();
    }
  }

  private onControl(bytes: Uint8Array): void {
    let msg: tether.v1.ControlMessage;
    try {
      msg = pb.ControlMessage.decode(bytes);
    } catch {
      return;
    }
    if (msg.body === "selectMonitor" && this.capturer) {
      const i = msg.selectMonitor!.index ?? 0;
      const m = this.monitors[i];
      if (!m) return;
      try {
        this.capturer.selectMonitor(m.name);
        this.input.selectMonitor(m.name);
        this.monitorIndex = i;
        this.sendMonitors();
      } catch {
        // the monitor went away; the list is re-sent on the next display change
      }
    }
  }

  private sendControl(msg: tether.v1.ControlMessage.$Properties): void {
    const ch = this.control;
    if (ch && ch.readyState === "open") {
      try {
        ch.send(pb.ControlMessage.encode(msg).finish());
      } catch {
        // closing
      }
    }
  }

  private sendMonitors(): void {
    this.sendControl({
      monitors: {
        monitors: this.monitors.map((m, index) => ({ index, name: m.name, x: m.x, y: m.y, width: m.width, height: m.height, primary: m.primary })),
        current: Math.max(0, this.monitorIndex),
      },
    });
  }

  private sendCursor(c: NonNullable<import("../native/capturer.js").CursorState>, w: number, h: number): void {
    const key = `${c.x},${c.y},${c.visible}`;
    const shape = c.shape && c.shape.serial !== this.lastShape ? c.shape : undefined;
    if (key === this.lastCursor && !shape) return;
    this.lastCursor = key;
    const msg: tether.v1.ControlMessage.ICursor = { x: w ? c.x / w : 0, y: h ? c.y / h : 0, visible: c.visible, shapeId: this.lastShape };
    if (shape) {
      this.lastShape = shape.serial;
      // BGRA premultiplied → RGBA premultiplied (the viewer draws it as is).
      const rgba = Buffer.from(shape.data);
      for (let i = 0; i < rgba.length; i += 4) {
        const b = rgba[i]!;
        rgba[i] = rgba[i + 2]!;
        rgba[i + 2] = b;
      }
      Object.assign(msg, { shapeId: shape.serial, width: shape.width, height: shape.height, hotX: shape.hotX, hotY: shape.hotY, rgba });
    }
    this.sendControl({ cursor: msg });
  }

  /** Screen content: keep the resolution (text stays legible) and allow a high rate. */
  private tuneSender(): void {
    type Sender = { track: { kind: string } | null; getParameters(): { degradationPreference?: string; encodings?: { maxBitrate?: number }[] }; setParameters(p: object): Promise<void> };
    const pc = (this.peer as unknown as { _pc?: { getSenders(): Sender[] } } | null)?._pc;
    try {
      for (const sender of pc?.getSenders() ?? []) {
        if (sender.track?.kind !== "video") continue;
        const params = sender.getParameters();
        params.degradationPreference = "maintain-resolution";
        for (const e of params.encodings ?? []) e.maxBitrate = MAX_KBPS * 1000;
        void sender.setParameters(params).catch(() => {});
      }
    } catch {
      // an implementation without these knobs streams with its defaults
    }
  }

  private trace(tag: string, o: object): void {
    process.stderr.write(`${tag} ${JSON.stringify(o)}\n`);
  }

  private readonly onTraceSignal = (): void => this.traceStats();

  private traceStats(): void {
    const pc = (this.peer as unknown as { _pc?: { getStats(): Promise<Map<string, Record<string, unknown>>> } } | null)?._pc;
    void pc?.getStats().then(
      (report) => {
        // The bandwidth estimate the pacer paces at (times its pacing factor), from the pair in use.
        let availableOutgoingBitrate: unknown;
        report.forEach((v) => {
          if (v["type"] === "candidate-pair" && v["nominated"] === true && v["availableOutgoingBitrate"] !== undefined) availableOutgoingBitrate = v["availableOutgoingBitrate"];
        });
        report.forEach((v) => v["type"] === "outbound-rtp" && v["kind"] === "video" && this.trace("TETHER_TRACE_STATS", { at: Date.now(), availableOutgoingBitrate, activeMap: this.d.encoderStats?.(), ...v }));
      },
      () => {},
    );
  }

  /**
   * Once a second, the capture rate and counters for the viewer's status line; when nothing changed
   * (an idle screen: "0 fps" again) only every STATS_REPEAT_MS, so that a still screen costs no
   * data-channel traffic (each message is SCTP work on both sides).
   */
  private sendStats(): void {
    const now = Date.now();
    const key = `${this.framesSent} ${this.area.width}x${this.area.height} ${this.input.dropped}`;
    if (key !== this.lastStatsKey || now - this.lastStatsAt >= STATS_REPEAT_MS) {
      this.sendControl({
        stats: {
          captureFps: this.framesSent,
          width: this.area.width,
          height: this.area.height,
          inputsDropped: this.input.dropped,
          sentAtMs: now,
        },
      });
      this.lastStatsKey = key;
      this.lastStatsAt = now;
    }
    this.framesSent = 0;
  }
}
