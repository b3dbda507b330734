/**
 * One remote-access grant carried out: a WebRTC connection (peer.ts; the agent offers) to the
 * technician's viewer, with the screen as a video track (capture-pump.ts: I420 from the native
 * capturer into an RTCVideoSource in screencast mode) and two data channels: "input"
 * (input-dispatcher.ts: honoured only with control consent, dropped and counted otherwise) and
 * "control" (ControlMessage both ways: monitors, cursor, scope, stats, notices).
 *
 * prepare() makes the connection and its certificate and nothing else; begin(), after consent,
 * opens the capturer and sends the offer; stop() releases everything and can run any number of
 * times. Everything that varies (wrtc, capturer, injector) is injected.
 */
import type { Scope } from "../session/rules.js";
import { pb } from "../proto/wire.js";
import type { tether } from "../gen/tether.js";
import type { CursorState, Monitor, ScreenCapturer } from "../native/capturer.js";
import { InputDispatcher, type Injector } from "./input-dispatcher.js";
import type { InputGuard } from "./ui.js";
import { bytesReceived, selectedPairId, selectedPath, SilenceWatch } from "../session/ice-path.js";
import { readControlMessage } from "./control-message.js";
import { CapturePump } from "./capture-pump.js";
import { OfferPeer, type Channel, type PeerConnection } from "./peer.js";
import { MAX_KBPS, withBitrateHints } from "./sdp.js";
import { sdpFingerprint } from "../session/safety-code.js";
import { CERTIFICATE_MISMATCH } from "./agent.js";
import { CHANNEL_LOW_WATER, FileEndpoint, type FileChannel, type FileMsg } from "../session/file-transfer.js";
import type { ConnectionTools } from "./transfers.js";
import { createHash } from "node:crypto";

/** The parts of @roamhq/wrtc used here. */
export interface Wrtc {
  RTCPeerConnection: new (config: object) => unknown;
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
  openCapturer: () => Pick<ScreenCapturer, "area" | "pointerEvents" | "capture" | "monitors" | "selectMonitor" | "close"> & {
    wake?(): void;
  };
  openInjector: () => Injector;
  /** What the encoder hooks did so far (webRtcStats().vp8), for the frame trace. */
  encoderStats?: () => object;
  /** Asks the encoder for a key frame with its next frame (false: it cannot; see requestKeyFrame in src/native). */
  requestKeyFrame?: () => boolean;
  iceServers: { urls: string[]; username?: string; credential?: string }[];
  /** Sends a signal blob to the technician through the broker (only after begin()). */
  signal: (payload: Uint8Array) => void;
  /** The connection is up (the technician sees the screen), with the viewer's certificate fingerprint. */
  onConnected: (remoteFingerprint: string | null) => void;
  /** It ended without stop(): CERTIFICATE_MISMATCH, or a description. */
  onEnded: (reason: string) => void;
  /** The path to the viewer broke; it is being repaired (ICE restart). */
  onInterrupted?: () => void;
  /** What is shared now: one monitor's rectangle (screen coordinates), or null for the whole screen. */
  onArea?: (area: { x: number; y: number; width: number; height: number } | null) => void;
  /** It works again. */
  onResumed?: () => void;
  /** The fingerprint the technician's viewer announced; an answer with another one ends the connection. */
  expectRemote?: string | null;
  /** Where the technician's input must not go (see InputDispatcher); none when absent. */
  inputGuard?: InputGuard;
  /** Largest frame rate captured (frames are sent only when the screen changed). */
  maxFps?: number;
  /** File transfer and clipboard for this connection (absent: the "files" channel declines everything, no clipboard). */
  tools?: ConnectionTools;
}

/**
 * TETHER_TRACE_FRAMES=1 (the latency benchmark sets it): one stderr line per frame handed to the
 * encoder ("TETHER_TRACE {...}", times in ms since the epoch), and the sender's RTP stats
 * ("TETHER_TRACE_STATS {...}") when the stream starts and whenever the process gets SIGUSR2 (on
 * demand, so that taking them does not add to the CPU time the benchmark measures).
 */
const TRACE = process.env["TETHER_TRACE_FRAMES"] === "1";
/** TETHER_TRACE_PEER=1: one stderr line per signaling step and connection state change. */
const TRACE_PEER = process.env["TETHER_TRACE_PEER"] === "1";
const epochMs = (perfNow: number) => performance.timeOrigin + perfNow;
const trace = (tag: string, o: object) => process.stderr.write(`${tag} ${JSON.stringify(o)}\n`);

/** Unchanged stats (see sendStats) are repeated this often. */
const STATS_REPEAT_MS = 10_000;
/** How often, and for how long, the selected candidate pair is watched while a path is repaired (watchPath). */
const PATH_POLL_MS = 200;
const PATH_WATCH_MS = 20_000;
/** Nothing received from the viewer for this long means its path is gone (see SilenceWatch). */
const SILENCE_MS = 4000;
/** How long prepare() waits for the offer (it carries the certificate fingerprint). */
const PREPARE_TIMEOUT_MS = 5000;

export class RemoteAccess {
  /** null until begin(): nothing is injected before consent. */
  private scopeNow: Scope | null = null;
  private stopped = false;
  private begun = false;
  private localFingerprint: string | null = null;
  private remoteFingerprint: string | null = null;
  private readonly source: InstanceType<Wrtc["nonstandard"]["RTCVideoSource"]>;
  private readonly track: { stop(): void };
  private readonly peer: OfferPeer;
  private capturer: ReturnType<RemoteAccessDeps["openCapturer"]> | null = null;
  private pump: CapturePump | null = null;
  private readonly input: InputDispatcher;
  private statsTimer: NodeJS.Timeout | null = null;
  private monitors: Monitor[] = [];
  private monitorIndex = -1; // -1: the whole screen
  private lastCursor = "";
  private lastShape = -1;
  private lastStatsKey = "";
  private lastStatsAt = 0;
  private pathWatch: ReturnType<typeof setTimeout> | null = null;
  private watchingPath = false;
  private readonly silence = new SilenceWatch(SILENCE_MS);
  private silenceCheck = false;
  /** The viewer said it closes its connection: nothing more is sent on the channels (see onControl). */
  private farClosing = false;
  private files: FileEndpoint | null = null;
  private lastClipboardState = "";

  constructor(private readonly d: RemoteAccessDeps) {
    this.input = new InputDispatcher(d.openInjector, () => (this.stopped ? null : this.scopeNow), d.inputGuard);
    this.source = new d.wrtc.nonstandard.RTCVideoSource({ isScreencast: true });
    this.track = this.source.createTrack();
    this.peer = new OfferPeer({
      createConnection: () => new d.wrtc.RTCPeerConnection({ iceServers: d.iceServers }) as PeerConnection,
      track: this.track,
      stream: new d.wrtc.MediaStream([this.track]),
      channels: ["input", "control", "files"],
      signal: (p) => d.signal(p),
      connected: () => this.connected(),
      closed: (reason) => this.end(reason),
      interrupted: () => {
        d.onInterrupted?.();
        this.watchPath();
      },
      resumed: () => {
        this.silence.reset(Date.now());
        d.onResumed?.();
        this.repaired("resumed");
      },
      ...(TRACE_PEER && { trace: (e: string) => trace("TETHER_TRACE_PEER", { at: Date.now(), e }) }),
    });
    const input = this.peer.channel("input")!;
    const control = this.peer.channel("control")!;
    input.onmessage = (ev) => this.input.handle(new Uint8Array(ev.data as ArrayBuffer));
    control.onmessage = (ev) => this.onControl(new Uint8Array(ev.data as ArrayBuffer));
    const files = this.peer.channel("files")!;
    files.onmessage = (ev) => {
      if (!this.files || this.stopped) return;
      let msg: FileMsg;
      try {
        msg = pb.FileMessage.decode(new Uint8Array(ev.data as ArrayBuffer)) as FileMsg;
      } catch {
        return; // undecodable: nothing to act on
      }
      this.files.handle(msg);
    };
  }

  /** The file endpoint on the "files" channel (after consent, once connected). */
  private openFiles(): void {
    const ch = this.peer.channel("files");
    const tools = this.d.tools;
    if (!ch || !tools || this.files) return;
    ch.bufferedAmountLowThreshold = CHANNEL_LOW_WATER;
    const waiters: (() => void)[] = [];
    const wakeAll = () => {
      for (const w of waiters.splice(0)) w();
    };
    ch.onbufferedamountlow = wakeAll;
    const channel: FileChannel = {
      send: (msg) => {
        if (ch.readyState !== "open" || this.farClosing) return;
        try {
          ch.send(pb.FileMessage.encode(msg as tether.v1.IFileMessage).finish());
        } catch {
          // closing: the endpoint is closed with the connection
        }
      },
      get bufferedAmount() {
        return ch.bufferedAmount ?? 0;
      },
      // The low-water event, with a poll beside it (an implementation may not fire it, and a closed
      // channel fires nothing).
      drained: () =>
        new Promise<void>((resolve) => {
          const poll = setInterval(() => {
            if ((ch.bufferedAmount ?? 0) <= CHANNEL_LOW_WATER || ch.readyState !== "open" || this.stopped) done();
          }, 20);
          const done = () => {
            clearInterval(poll);
            const i = waiters.indexOf(done);
            if (i >= 0) waiters.splice(i, 1);
            resolve();
          };
          waiters.push(done);
        }),
    };
    const files = new FileEndpoint({
      channel,
      idPrefix: "a",
      maxBytes: tools.maxFileBytes,
      sha256: () => {
        const h = createHash("sha256");
        return { update: (d) => void h.update(d), digest: () => new Uint8Array(h.digest()) };
      },
      offered: (o, signal) => tools.offered(o, signal),
      requested: (r, signal) => tools.requested(r, signal),
      changed: (t) => tools.transfersChanged(t),
    });
    tools.cancelWith((id) => files.cancel(id));
    tools.sendWith((source, name) => files.send(source, name));
    this.files = files;
  }

  /** Tells the viewer whether the clipboard is shared now (only when that changed). */
  private sendClipboardState(): void {
    const tools = this.d.tools;
    const state = tools ? tools.clipboardState(this.scopeNow === "control") : { on: false, reason: "unavailable" };
    const key = `${state.on} ${state.reason}`;
    if (key === this.lastClipboardState) return;
    this.lastClipboardState = key;
    this.sendControl({ clipboardState: state });
  }

  get scope(): Scope | null {
    return this.scopeNow;
  }

  /** This end's DTLS certificate fingerprint (from its offer), once prepared. */
  get fingerprint(): string | null {
    return this.localFingerprint;
  }

  /** Makes the offer (held), so that the certificate fingerprint is known. Captures and sends nothing. */
  async prepare(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const sdp = await Promise.race([
      this.peer.offer(),
      new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), PREPARE_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
    this.localFingerprint = sdp ? sdpFingerprint(sdp) : null;
  }

  /**
   * The user consented: opens the capturer and sends the held offer. Throws (holding no capturer)
   * if capture is impossible.
   */
  begin(scope: Scope): void {
    if (this.stopped || this.begun) return;
    this.capturer = this.d.openCapturer();
    this.monitors = this.capturer.monitors();
    this.scopeNow = scope;
    this.begun = true;
    this.peer.release();
  }

  /** A signal from the technician (JSON: an answer or an ICE candidate). Bad input is ignored. */
  signal(payload: Uint8Array): void {
    if (this.stopped || !this.begun) return;
    this.peer.signal(payload, (sdp) => {
      const fp = sdpFingerprint(sdp);
      // The viewer that asked announced its certificate: an answer with another one did not come
      // from it (a broker in the middle would have to present its own certificate here).
      if (this.d.expectRemote && fp !== this.d.expectRemote) return { refuse: CERTIFICATE_MISMATCH };
      // An answer after an ICE restart comes from the same viewer, with the same certificate.
      if (this.remoteFingerprint && fp !== this.remoteFingerprint) return { refuse: CERTIFICATE_MISMATCH };
      this.remoteFingerprint = fp;
      return { sdp: withBitrateHints(sdp) };
    });
  }

  /**
   * While the path is being repaired: which candidate pair carries the media, every PATH_POLL_MS
   * for at most PATH_WATCH_MS. When libwebrtc moves to another one (the ICE restart's new pair,
   * often a second or more after the restart was answered), the viewer gets a key frame at once.
   */
  private watchPath(): void {
    if (this.watchingPath || this.stopped) return;
    this.watchingPath = true; // one watch at a time, also while a stats request is in flight
    const until = Date.now() + PATH_WATCH_MS;
    let first: string | null | undefined;
    const done = () => {
      this.watchingPath = false;
    };
    const poll = () => {
      this.pathWatch = null;
      if (this.stopped || Date.now() > until) return done();
      const stats = this.peer.stats();
      if (!stats) return done();
      void stats.then((report) => {
        const id = selectedPairId(report.values());
        if (first === undefined) first = id;
        else if (id && id !== first) {
          done();
          return this.repaired("the path moved");
        }
        if (this.stopped) return done();
        this.pathWatch = setTimeout(poll, PATH_POLL_MS);
      }, done);
    };
    poll();
  }

  /**
   * Once a second: has anything arrived from the viewer? A path that went silent is repaired even
   * while the connection still says "connected" (OfferPeer.silent).
   */
  private checkSilence(): void {
    if (this.silenceCheck || this.stopped) return;
    const stats = this.peer.stats();
    if (!stats) return;
    this.silenceCheck = true;
    void stats
      .then(
        (report) => {
          if (!this.stopped && this.silence.observe(bytesReceived(report.values()), Date.now())) this.peer.silent(SILENCE_MS);
        },
        () => {},
      )
      .finally(() => {
        this.silenceCheck = false;
      });
  }

  /** The path to the viewer works again: what was sent meanwhile is lost, so the screen goes again as a key frame. */
  private repaired(why: string): void {
    if (this.stopped || !this.pump) return;
    const key = this.d.requestKeyFrame?.() ?? false;
    this.pump.refresh();
    if (TRACE_PEER) trace("TETHER_TRACE_PEER", { at: Date.now(), e: `${why}: screen sent again${key ? " as a key frame" : ""}` });
  }

  /** The broker connection is back: a pending ICE restart goes out now. */
  signalingBack(): void {
    if (!this.stopped && this.begun) this.peer.signalingBack();
  }

  /** Fresh TURN credentials: a relayed connection moves to them (see OfferPeer.renewIceServers). */
  iceServersChanged(servers: RemoteAccessDeps["iceServers"]): void {
    if (this.stopped || !this.begun) return;
    const stats = this.peer.stats();
    if (!stats) return;
    void stats.then(
      (report) => {
        const p = selectedPath(report.values());
        this.peer.renewIceServers(servers, p?.path === "relayed");
      },
      () => this.peer.renewIceServers(servers, false),
    );
  }

  /** The computer's network changed: the connection restarts ICE at once (see OfferPeer.networkChanged). */
  networkChanged(): void {
    if (!this.stopped && this.begun) this.peer.networkChanged();
  }

  /** The user narrowed consent: input stops at once and everything pressed is released. */
  narrowToView(): void {
    if (this.scopeNow !== "control") return;
    this.scopeNow = "view";
    this.input.release();
    this.sendControl({ scope: { scope: pb.Scope.SCOPE_VIEW } });
    if (this.files) this.attachClipboard();
  }

  /** The user's copies reach this viewer only while it has control (the tools decide with the user's switch). */
  private attachClipboard(): void {
    this.d.tools?.clipboardAttach(
      {
        copied: (text) => {
          if (!this.stopped && this.scopeNow === "control") this.sendControl({ clipboard: { text } });
        },
        stateChanged: () => this.sendClipboardState(),
      },
      this.scopeNow === "control",
    );
    this.sendClipboardState();
  }

  /**
   * Ends everything: capture, input (released), the connection. Idempotent. `replaced`: a viewer
   * opened elsewhere takes over; this one is told so instead of "sharing stopped".
   */
  stop(replaced = false): void {
    if (this.stopped) return;
    this.stopped = true;
    if (replaced) this.sendControl({ notice: { text: "The viewer was opened in another window or tab; this one is closed." } });
    else this.sendControl({ scope: { scope: pb.Scope.SCOPE_UNSPECIFIED } });
    if (this.statsTimer) clearInterval(this.statsTimer);
    this.statsTimer = null;
    if (this.pathWatch) clearTimeout(this.pathWatch);
    this.pathWatch = null;
    process.off("SIGUSR2", this.onTraceSignal);
    this.input.release();
    this.files?.close();
    this.d.tools?.detach();
    const pump = this.pump;
    this.pump = null;
    const capturer = this.capturer;
    this.capturer = null;
    // The capturer closes once the capture in flight has returned (close() also cuts its wait short).
    void (pump?.stop() ?? Promise.resolve()).finally(() => this.track.stop());
    try {
      capturer?.close();
    } catch {
      // already closed
    }
    // Let the scope notice leave before the connection goes.
    setTimeout(() => this.peer.close(), 50).unref();
  }

  private end(reason: string): void {
    if (this.stopped) return;
    this.stop();
    this.d.onEnded(reason);
  }

  /** Both channels are open: the technician is there. Capture starts now. */
  private connected(): void {
    if (this.stopped || !this.begun || !this.capturer) return;
    this.sendControl({ scope: { scope: this.scopeNow === "control" ? pb.Scope.SCOPE_CONTROL : pb.Scope.SCOPE_VIEW } });
    this.sendMonitors();
    this.openFiles();
    this.attachClipboard();
    this.d.onConnected(this.remoteFingerprint);
    if (TRACE_PEER) {
      // Which way the media goes: through a TURN relay or not (TETHER_TRACE_PEER=1).
      void this.peer.stats()?.then(
        (report) => {
          const p = selectedPath(report.values());
          trace("TETHER_TRACE_PEER", { at: Date.now(), e: p ? `path ${p.path} (local ${p.local}, remote ${p.remote})` : "path unknown" });
        },
        () => {},
      );
    }
    this.tuneSender();
    const capturer = this.capturer;
    this.pump = new CapturePump({
      capturer,
      ...(this.d.maxFps !== undefined && { maxFps: this.d.maxFps }),
      send: (frame) => this.source.onFrame(frame),
      cursor: (c, w, h) => this.sendCursor(c, w, h),
      displayChanged: () => {
        this.monitors = capturer.monitors();
        this.sendMonitors();
      },
      failed: (reason) => this.end(reason),
      ...(TRACE && {
        sent: (f, started, now) =>
          trace("TETHER_TRACE", {
            t0: epochMs(started),
            ct: f.captureTimeUs / 1000,
            g: f.grabMs,
            c: f.convertMs,
            b: epochMs(now),
            s: epochMs(performance.now()),
            m: Number(process.hrtime.bigint()) / 1e6,
            r: f.updatedRects.length,
          }),
      }),
    });
    this.pump.start();
    this.silence.reset(Date.now());
    this.statsTimer = setInterval(() => {
      this.sendStats();
      this.checkSilence();
    }, 1000);
    if (TRACE) {
      this.traceStats();
      process.on("SIGUSR2", this.onTraceSignal);
    }
  }

  private onControl(bytes: Uint8Array): void {
    const action = readControlMessage(bytes, this.monitors.length);
    if (!action || this.stopped || !this.begun) return;
    if (action.kind === "closing") {
      // Nothing more goes to the viewer from now on: @roamhq/wrtc clears a data channel on its
      // signaling thread when the far end closes it, and a send() caught between its check and its
      // use of the channel dereferences null (SIGSEGV in RTCDataChannel::Send; seen killing a test
      // process). The viewer says it closes first, and waits a moment before it does.
      this.farClosing = true;
      this.end("the technician's viewer closed");
      return;
    }
    const control = this.scopeNow === "control";
    if (action.kind === "clipboard") {
      // Not allowed now (view only, switched off, no clipboard): the viewer is told why instead.
      if (!this.d.tools?.clipboardFromTechnician(action.text, control)) {
        this.lastClipboardState = "";
        this.sendClipboardState();
      }
      return;
    }
    if (action.kind === "clipboardRequest") {
      void this.d.tools?.clipboardRead(control).then((text) => {
        if (text !== null && !this.stopped && this.scopeNow === "control") this.sendControl({ clipboard: { text } });
        else {
          this.lastClipboardState = "";
          this.sendClipboardState();
        }
      });
      return;
    }
    if (!this.capturer) return;
    const m = this.monitors[action.index]!;
    try {
      this.capturer.selectMonitor(m.name);
      this.input.selectMonitor(m.name);
      this.monitorIndex = action.index;
      this.sendMonitors();
    } catch {
      // the monitor went away; the list is re-sent on the next display change
    }
  }

  private sendControl(msg: tether.v1.ControlMessage.$Properties): void {
    const ch: Channel | undefined = this.peer.channel("control");
    if (ch && ch.readyState === "open" && !this.farClosing) {
      try {
        ch.send(pb.ControlMessage.encode(msg).finish());
      } catch {
        // closing
      }
    }
  }

  private sendMonitors(): void {
    // The sharing bar goes on the screen being shared: the watched monitor, else the primary one.
    const m = this.monitors[this.monitorIndex] ?? this.monitors.find((x) => x.primary) ?? null;
    this.d.onArea?.(m && { x: m.x, y: m.y, width: m.width, height: m.height });
    this.sendControl({
      monitors: {
        monitors: this.monitors.map((m, index) => ({
          index,
          name: m.name,
          x: m.x,
          y: m.y,
          width: m.width,
          height: m.height,
          primary: m.primary,
        })),
        current: Math.max(0, this.monitorIndex),
      },
    });
  }

  private sendCursor(c: CursorState, w: number, h: number): void {
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
    try {
      for (const sender of this.peer.senders()) {
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

  private readonly onTraceSignal = (): void => this.traceStats();

  private traceStats(): void {
    void this.peer.stats()?.then(
      (report) => {
        // The bandwidth estimate the pacer paces at (times its pacing factor), from the pair in use.
        let availableOutgoingBitrate: unknown;
        report.forEach((v) => {
          if (v["type"] === "candidate-pair" && v["nominated"] === true && v["availableOutgoingBitrate"] !== undefined)
            availableOutgoingBitrate = v["availableOutgoingBitrate"];
        });
        report.forEach(
          (v) =>
            v["type"] === "outbound-rtp" &&
            v["kind"] === "video" &&
            trace("TETHER_TRACE_STATS", { at: Date.now(), availableOutgoingBitrate, activeMap: this.d.encoderStats?.(), ...v }),
        );
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
    const fps = this.pump?.takeSent() ?? 0;
    const area = this.pump?.area ?? { width: 0, height: 0 };
    const key = `${fps} ${area.width}x${area.height} ${this.input.dropped}`;
    if (key !== this.lastStatsKey || now - this.lastStatsAt >= STATS_REPEAT_MS) {
      this.sendControl({
        stats: { captureFps: fps, width: area.width, height: area.height, inputsDropped: this.input.dropped, sentAtMs: now },
      });
      this.lastStatsKey = key;
      this.lastStatsAt = now;
    }
  }
}
