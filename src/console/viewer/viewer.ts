/**
 * The viewer: the remote screen in a <video> placed by geometry.ts ("fit" or "1:1"), full screen,
 * the remote cursor drawn on a canvas, a small stats overlay, the monitor switch, and — only while
 * the user allows control — mouse, wheel and keyboard sent as InputEvents on the "input" channel.
 * The user can narrow consent at any time: input stops the moment that is known (ScopeChanged on
 * the "control" channel or the broker's AccessRequestInfo, whichever comes first).
 *
 * Why one file of ≈520 lines: it is the one owner of the viewer's DOM and of the connection's state
 * (scope, ended, pressed keys), which every part here reads; the pure parts it uses are apart
 * (geometry, input-map, cursor, stats, peer, signal), each tested on its own.
 */
import { byId, el, show } from "../dom.js";
import { scopeName, type ScopeName } from "../model.js";
import {
  pb,
  sendable,
  type ControlMessage,
  type CursorProps,
  type IceServerProps,
  type InputEventProps,
  type MonitorProps,
} from "../proto.js";
import { unpremultiply } from "./cursor.js";
import { inside, place, type Rect, type ScaleMode } from "./geometry.js";
import { buttonEvent, keyEvent, moveEvent, PressedState, WheelAccumulator } from "./input-map.js";
import { AnswerPeer } from "./peer.js";
import { ViewerTools } from "./tools.js";
import { safetyCode } from "../../session/safety-code.js";
import { overlay, overlayText, sampleFrom, type StatsSample } from "./stats.js";

export interface ViewerOptions {
  accessRequestId: string;
  sessionId: string;
  /** Which connection of the grant is this viewer's: "" for the one the app opens on consent. */
  viewerId: string;
  /** The certificate to present (the one the request announced), if the browser keeps one. */
  certificate: RTCCertificate | null;
  /** Shown in the bar: the machine name (text only). */
  title: string;
  scope: ScopeName;
  iceServers: IceServerProps[];
  /** The broker's file size limit (bytes). */
  maxFileBytes: number;
  sendSignal(payload: Uint8Array): void;
  /** Tells the broker (and through it the user's app) that recording starts or stops; starting resolves once the user was told. */
  setRecording(on: boolean): Promise<void>;
  /** The technician closed the viewer: `stopped` when it was still live (they stop viewing: the grant ends). */
  onClose(stopped: boolean): void;
}

/** How long the viewer keeps its connection after telling the app it closes (the app ends its side 50 ms after hearing it). */
const CLOSE_AFTER_CLOSING_MS = 300;

/** Chrome's Keyboard Lock API (not in TypeScript's DOM lib). */
interface KeyboardLock {
  lock(codes?: string[]): Promise<void>;
  unlock(): void;
}

export class Viewer {
  readonly accessRequestId: string;
  readonly sessionId: string;
  readonly viewerId: string;
  private scope: ScopeName;
  private ended = false;
  private mode: ScaleMode = "fit";
  private peer: AnswerPeer | null;
  private input: RTCDataChannel | null = null;
  private control: RTCDataChannel | null = null;
  private readonly pressed = new PressedState();
  private readonly wheel = new WheelAccumulator();
  private readonly listeners = new AbortController();
  private statsTimer: ReturnType<typeof setInterval> | null = null;
  /** The connection was interrupted and is being repaired (the app restarts ICE). */
  private interrupted = false;
  private lastSample: StatsSample | null = null;
  private captureFps: number | null = null;
  private resize: ResizeObserver | null = null;
  private cursor: { x: number; y: number; visible: boolean; width: number; height: number; hotX: number; hotY: number } | null = null;

  private readonly root = byId("viewer", HTMLDivElement);
  private readonly titleEl = byId("viewer-title", HTMLSpanElement);
  private readonly scopeEl = byId("viewer-scope", HTMLSpanElement);
  private readonly banner = byId("viewer-banner", HTMLParagraphElement);
  private readonly stage = byId("stage", HTMLDivElement);
  private readonly screen = byId("screen", HTMLDivElement);
  private readonly video = byId("video", HTMLVideoElement);
  private readonly cursorCanvas = byId("cursor", HTMLCanvasElement);
  private readonly status = byId("stage-status", HTMLParagraphElement);
  private readonly statsEl = byId("stats", HTMLDivElement);
  private readonly monitorLabel = byId("monitor-label", HTMLLabelElement);
  private readonly monitorSelect = byId("monitor-select", HTMLSelectElement);
  private readonly scaleButton = byId("scale-toggle", HTMLButtonElement);
  private readonly fullButton = byId("fullscreen", HTMLButtonElement);
  private readonly closeButton = byId("viewer-close", HTMLButtonElement);
  private readonly codeEl = byId("viewer-code", HTMLSpanElement);
  private readonly recordButton = byId("record", HTMLButtonElement);
  private recorder: MediaRecorder | null = null;
  private recordedSince = 0;
  private readonly keysMenu = byId("keys-menu", HTMLDetailsElement);
  private readonly typeSend = byId("type-text-send", HTMLButtonElement);
  private readonly typeInput = byId("type-text", HTMLInputElement);
  /** The agent's last notice: when the connection closes right after one, it is the reason. */
  private lastNotice: string | null = null;
  /** File transfer and the clipboard. */
  private readonly tools: ViewerTools;
  /** Input waits behind this (the technician's clipboard going out before a Ctrl+V). */
  private gate: Promise<void> | null = null;

  constructor(private readonly o: ViewerOptions) {
    this.accessRequestId = o.accessRequestId;
    this.sessionId = o.sessionId;
    this.viewerId = o.viewerId;
    this.codeEl.textContent = "";
    show(this.codeEl, false);
    this.scope = o.scope;
    this.titleEl.textContent = o.title || "Remote computer";
    this.banner.textContent = "";
    show(this.banner, false);
    this.status.textContent = "Connecting to the user's computer…";
    show(this.status, true);
    this.statsEl.textContent = "";
    this.closeButton.textContent = "Stop viewing";
    this.recordButton.textContent = "Record";
    this.recordButton.disabled = false;
    this.recordButton.classList.remove("recording");
    this.monitorSelect.replaceChildren();
    show(this.monitorLabel, false);
    show(this.cursorCanvas, false);
    this.video.srcObject = null;
    this.renderScope();
    this.renderMode();
    show(this.root, true);
    document.body.classList.add("viewing");

    this.tools = new ViewerTools({ maxFileBytes: o.maxFileBytes, controlling: () => !this.ended && this.scope === "control" });
    this.peer = new AnswerPeer(
      o.iceServers,
      {
        signal: (p) => o.sendSignal(p),
        track: (stream) => {
          this.video.srcObject = stream;
          void this.video.play().catch(() => {});
        },
        channel: (ch) => this.attachChannel(ch),
        connected: () => {
          if (this.interrupted) {
            this.interrupted = false;
            this.showBanner("Connected to the user's computer again.", "info");
            return;
          }
          this.status.textContent = "Connected. Waiting for the first picture…";
        },
        interrupted: () => {
          this.interrupted = true;
          this.showBanner(
            "The connection to the user's computer was interrupted (their network dropped or changed); reconnecting…",
            "warn",
          );
        },
        fingerprints: (local, remote) => void this.showSafetyCode(local, remote),
        lost: (reason) => this.end(this.lastNotice ?? reason),
      },
      o.certificate,
    );
    this.bind();
    this.statsTimer = setInterval(() => void this.pollStats(), 1000);
  }

  /** The safety code of this connection, for the technician to read to the user. */
  private async showSafetyCode(local: string | null, remote: string | null): Promise<void> {
    const code = local && remote ? await safetyCode(local, remote) : null;
    if (this.ended) return;
    this.codeEl.textContent = code ? `Safety code ${code}` : "No safety code (needs HTTPS)";
    this.codeEl.title = code
      ? "The user's support app shows the same code. If the user reads you another one, stop viewing: the connection is not direct."
      : "This page is not a secure context, so the browser cannot compute the code.";
    show(this.codeEl, true);
  }

  /** A signaling payload from the agent for this viewer's request. */
  /** Fresh TURN credentials for this viewer's connection (used by its next ICE gathering). */
  setIceServers(iceServers: IceServerProps[]): void {
    this.peer?.setIceServers(iceServers);
  }

  signal(payload: Uint8Array): void {
    this.peer?.signal(payload);
  }

  /** The scope in force changed (the broker's AccessRequestInfo or the agent's ScopeChanged). */
  setScope(next: ScopeName): void {
    if (this.ended) return;
    const before = this.scope;
    if (next === "none") {
      this.end("The user stopped sharing their screen.");
      return;
    }
    if (next === before) return;
    this.scope = next;
    if (next === "view") {
      // Input stops now. The agent releases what we held; forget it here without sending.
      this.pressed.releaseAll();
      this.wheel.reset();
      this.unlockKeyboard();
      if (before === "control")
        this.showBanner("The user now allows viewing only: your mouse and keyboard no longer reach their computer.", "warn");
    }
    this.renderScope();
  }

  /**
   * Ends the stream and input; the panel stays with `reason` in a banner until the technician
   * closes it. Safe to call twice.
   */
  end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.scope = "none";
    this.renderScope();
    this.releaseInput();
    this.teardownMedia();
    this.showBanner(reason, "stop");
    this.status.textContent = "";
    show(this.status, false);
    this.closeButton.textContent = "Close viewer";
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Closes the panel for good (also ends the stream). Safe to call twice. */
  close(): void {
    if (!this.ended) {
      this.releaseInput();
      this.ended = true;
    }
    this.teardownMedia();
    this.tools.close();
    this.listeners.abort();
    this.resize?.disconnect();
    this.resize = null;
    if (document.fullscreenElement) void document.exitFullscreen().catch(() => {});
    show(this.root, false);
    document.body.classList.remove("viewing");
  }

  // ---- media and channels -------------------------------------------------------------------

  // ---- recording (issue 21): MediaRecorder on this page; the broker never sees the picture ------

  private async toggleRecording(): Promise<void> {
    if (this.recorder) return this.stopRecording();
    const stream = this.video.srcObject;
    if (this.ended || !(stream instanceof MediaStream)) return;
    const type = ["video/webm;codecs=vp8", "video/webm"].find((t) => MediaRecorder.isTypeSupported(t));
    if (!type) return this.showBanner("This browser cannot record video (no WebM support).", "warn");
    this.recordButton.disabled = true;
    this.recordButton.textContent = "Telling the user…";
    try {
      await this.o.setRecording(true); // the user's app shows the notice first
    } catch (e) {
      this.recordButton.disabled = false;
      this.recordButton.textContent = "Record";
      return this.showBanner(`Not recording: ${e instanceof Error ? e.message : String(e)}`, "warn");
    }
    // From here on, a recording that does not start takes the notice back.
    const abandon = (why: string | null) => {
      void this.o.setRecording(false).catch(() => {});
      this.recordButton.disabled = false;
      this.recordButton.textContent = "Record";
      if (why) this.showBanner(`Not recording: ${why}`, "warn");
    };
    if (this.ended) return abandon(null);
    const chunks: Blob[] = [];
    let recorder: MediaRecorder;
    try {
      recorder = new MediaRecorder(stream, { mimeType: type });
    } catch (e) {
      return abandon(e instanceof Error ? e.message : String(e));
    }
    recorder.ondataavailable = (e) => {
      if (e.data.size > 0) chunks.push(e.data);
    };
    recorder.onstop = () => {
      const blob = new Blob(chunks, { type: "video/webm" });
      const a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = `tether-${this.sessionId}-${new Date(this.recordedSince).toISOString().replace(/[:.]/g, "-")}.webm`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
    };
    try {
      recorder.start(1000);
    } catch (e) {
      return abandon(e instanceof Error ? e.message : String(e));
    }
    this.recorder = recorder;
    this.recordedSince = Date.now();
    this.recordButton.disabled = false;
    this.recordButton.textContent = "Stop recording";
    this.recordButton.classList.add("recording");
  }

  /** Stops a recording (the file is saved), and tells the user's app. */
  private stopRecording(): void {
    const r = this.recorder;
    if (!r) return;
    this.recorder = null;
    if (r.state !== "inactive") r.stop();
    this.recordButton.textContent = "Record";
    this.recordButton.classList.remove("recording");
    void this.o.setRecording(false).catch(() => {}); // the grant may have ended already
  }

  private teardownMedia(): void {
    this.stopRecording();
    if (this.statsTimer) clearInterval(this.statsTimer);
    this.statsTimer = null;
    // The app hears that the viewer closes before the connection does (ControlMessage.Closing).
    const told = this.tellClosing();
    for (const ch of [this.input, this.control]) {
      if (ch) ch.onmessage = null;
    }
    this.input = this.control = null;
    this.peer?.close(told ? CLOSE_AFTER_CLOSING_MS : 0);
    this.peer = null;
    const stream = this.video.srcObject;
    if (stream instanceof MediaStream) for (const t of stream.getTracks()) t.stop();
    this.video.srcObject = null;
    show(this.cursorCanvas, false);
    this.screen.classList.remove("remote-cursor");
    this.unlockKeyboard();
  }

  /** Tells the app that this viewer closes its connection now; true when it could be sent. */
  private tellClosing(): boolean {
    const ch = this.control;
    if (!ch || ch.readyState !== "open") return false;
    try {
      ch.send(sendable(pb.ControlMessage.encode({ closing: {} }).finish()));
      return true;
    } catch {
      return false;
    }
  }

  private attachChannel(ch: RTCDataChannel): void {
    this.tools.attach(ch);
    if (ch.label === "input") this.input = ch;
    else if (ch.label === "control") {
      this.control = ch;
      ch.onmessage = (ev: MessageEvent) => {
        if (!(ev.data instanceof ArrayBuffer)) return;
        let m: ControlMessage;
        try {
          m = pb.ControlMessage.decode(new Uint8Array(ev.data));
        } catch {
          return;
        }
        this.onControl(m);
      };
    }
  }

  private onControl(m: ControlMessage): void {
    switch (m.body) {
      case "scope":
        this.setScope(scopeName(m.scope?.scope));
        break;
      case "monitors":
        this.renderMonitors(m.monitors?.monitors ?? [], m.monitors?.current ?? 0);
        break;
      case "cursor":
        if (m.cursor) this.onCursor(m.cursor);
        break;
      case "stats":
        this.captureFps = m.stats?.captureFps ?? null;
        break;
      case "clipboard":
        this.tools.remoteClipboardText(m.clipboard?.text ?? "");
        break;
      case "clipboardState":
        this.tools.clipboardState(Boolean(m.clipboardState?.on), m.clipboardState?.reason ?? "");
        break;
      case "notice":
        if (m.notice?.text) {
          this.lastNotice = m.notice.text;
          this.showBanner(m.notice.text, "info");
        }
        break;
      default:
        break;
    }
  }

  private sendInput(ev: InputEventProps | null): void {
    const gate = this.gate;
    if (gate) {
      void gate.then(() => this.sendInputNow(ev));
      return;
    }
    this.sendInputNow(ev);
  }

  private sendInputNow(ev: InputEventProps | null): void {
    if (!ev || this.ended || this.scope !== "control") return;
    const ch = this.input;
    if (!ch || ch.readyState !== "open") return;
    this.pressed.track(ev);
    try {
      ch.send(sendable(pb.InputEvent.encode(ev).finish()));
    } catch {
      // closing
    }
  }

  /** Releases everything we hold on the remote side (focus lost, viewer closing). */
  private releaseInput(): void {
    const evs = this.pressed.releaseAll();
    if (this.scope === "control") for (const ev of evs) this.sendInput(ev);
    this.wheel.reset();
  }

  // ---- input ---------------------------------------------------------------------------------

  private contentRect(): Rect {
    const r = this.video.getBoundingClientRect();
    return { left: r.left, top: r.top, width: r.width, height: r.height };
  }

  private bind(): void {
    const signal = this.listeners.signal;
    const opt = { signal };
    const active = { signal, passive: false };
    const controlling = () => !this.ended && this.scope === "control";

    this.screen.addEventListener(
      "pointermove",
      (e) => {
        if (!controlling()) return;
        const events = e.getCoalescedEvents?.() ?? [];
        const last = events.length ? events[events.length - 1]! : e;
        this.sendInput(moveEvent(last, this.contentRect()));
      },
      opt,
    );
    this.screen.addEventListener(
      "pointerdown",
      (e) => {
        if (!controlling()) return;
        const rect = this.contentRect();
        if (!inside(e.clientX, e.clientY, rect)) return;
        e.preventDefault();
        this.stage.focus({ preventScroll: true });
        this.screen.setPointerCapture(e.pointerId);
        this.sendInput(buttonEvent(e, true, rect));
      },
      active,
    );
    this.screen.addEventListener(
      "pointerup",
      (e) => {
        if (!controlling()) return;
        e.preventDefault();
        this.sendInput(buttonEvent(e, false, this.contentRect()));
      },
      active,
    );
    this.screen.addEventListener("contextmenu", (e) => controlling() && e.preventDefault(), active);
    this.screen.addEventListener("auxclick", (e) => controlling() && e.preventDefault(), active);
    this.stage.addEventListener(
      "wheel",
      (e) => {
        if (!controlling()) return;
        e.preventDefault();
        this.sendInput(this.wheel.push(e));
      },
      active,
    );
    const key = (down: boolean) => (e: KeyboardEvent) => {
      if (!controlling()) return;
      // Ctrl+V: the technician's clipboard goes to the user's first, then the key (outside a secure
      // context the browser's paste event carries it, so this key must not be prevented).
      const paste = down && e.code === "KeyV" && (e.ctrlKey || e.metaKey) ? this.tools.beforePaste(e) : null;
      if (!paste || window.isSecureContext) e.preventDefault();
      e.stopPropagation();
      if (paste) {
        const gate: Promise<void> = paste.then(
          () => {
            if (this.gate === gate) this.gate = null;
          },
          () => {
            if (this.gate === gate) this.gate = null;
          },
        );
        this.gate = gate;
      }
      this.sendInput(keyEvent(e, down));
    };
    this.stage.addEventListener("focus", () => this.tools.focused(), opt);
    window.addEventListener("focus", () => document.activeElement === this.stage && this.tools.focused(), opt);
    this.stage.addEventListener("keydown", key(true), active);
    this.stage.addEventListener("keyup", key(false), active);
    this.stage.addEventListener("blur", () => this.releaseInput(), opt);
    window.addEventListener("blur", () => this.releaseInput(), opt);

    // The keys menu: combinations the technician's own computer would keep (Ctrl+Alt+Del, Alt+Tab,
    // the Windows key), pressed in order and released in reverse; and text typed as is, for a
    // password that should not go through a clipboard (the field does not show it).
    for (const b of this.keysMenu.querySelectorAll<HTMLButtonElement>("button[data-keys]")) {
      b.addEventListener(
        "click",
        () => {
          if (!controlling()) return;
          const codes = (b.dataset["keys"] ?? "").split("+").filter(Boolean);
          for (const code of codes) this.sendInput({ key: { code, down: true } });
          for (const code of [...codes].reverse()) this.sendInput({ key: { code, down: false } });
          this.keysMenu.open = false;
          this.stage.focus({ preventScroll: true });
        },
        opt,
      );
    }
    // The tab closes or reloads: the app hears it first (the connection goes with the page).
    window.addEventListener("pagehide", () => this.tellClosing(), opt);
    // Not a form with a password field: a browser would offer to save the user's password as the
    // technician's own. Enter or the button types it.
    const typeText = () => {
      const text = this.typeInput.value;
      this.typeInput.value = "";
      if (!controlling() || !text) return;
      this.sendInput({ text: { text } });
      this.keysMenu.open = false;
      this.stage.focus({ preventScroll: true });
    };
    this.typeSend.addEventListener("click", typeText, opt);
    this.typeInput.addEventListener(
      "keydown",
      (e) => {
        if (e.key !== "Enter") return;
        e.preventDefault();
        typeText();
      },
      opt,
    );

    this.recordButton.addEventListener("click", () => void this.toggleRecording(), opt);

    this.scaleButton.addEventListener(
      "click",
      () => {
        this.mode = this.mode === "fit" ? "1:1" : "fit";
        this.renderMode();
      },
      opt,
    );
    this.fullButton.addEventListener("click", () => void this.toggleFullscreen(), opt);
    document.addEventListener("fullscreenchange", () => this.onFullscreenChange(), opt);
    this.closeButton.addEventListener(
      "click",
      () => {
        const live = !this.ended;
        this.close();
        this.o.onClose(live);
      },
      opt,
    );
    this.monitorSelect.addEventListener(
      "change",
      () => {
        const index = Number(this.monitorSelect.value);
        const ch = this.control;
        if (Number.isInteger(index) && ch && ch.readyState === "open")
          ch.send(sendable(pb.ControlMessage.encode({ selectMonitor: { index } }).finish()));
      },
      opt,
    );
    this.video.addEventListener("resize", () => this.layout(), opt);
    this.video.addEventListener("loadedmetadata", () => this.layout(), opt);
    this.video.addEventListener("playing", () => show(this.status, false), opt);
    this.resize = new ResizeObserver(() => this.layout());
    this.resize.observe(this.stage);
  }

  // ---- full screen and keyboard lock ---------------------------------------------------------

  private async toggleFullscreen(): Promise<void> {
    if (document.fullscreenElement) {
      await document.exitFullscreen().catch(() => {});
      return;
    }
    await this.root.requestFullscreen({ navigationUI: "hide" }).catch(() => {});
  }

  private onFullscreenChange(): void {
    const full = document.fullscreenElement === this.root;
    this.fullButton.textContent = full ? "Exit full screen" : "Full screen";
    if (full && this.scope === "control") {
      // In full screen the browser can hand us shortcuts it would otherwise keep (Alt+Tab, Ctrl+W…);
      // Esc held down still leaves full screen.
      const kb = (navigator as Navigator & { keyboard?: KeyboardLock }).keyboard;
      void kb?.lock().catch(() => {});
      this.stage.focus({ preventScroll: true });
    } else {
      this.unlockKeyboard();
    }
    this.layout();
  }

  private unlockKeyboard(): void {
    const kb = (navigator as Navigator & { keyboard?: KeyboardLock }).keyboard;
    try {
      kb?.unlock();
    } catch {
      // nothing locked
    }
  }

  // ---- rendering -----------------------------------------------------------------------------

  private layout(): void {
    const p = place(
      { width: this.video.videoWidth, height: this.video.videoHeight },
      { width: this.stage.clientWidth, height: this.stage.clientHeight },
      this.mode,
      window.devicePixelRatio,
    );
    this.screen.style.width = `${p.width}px`;
    this.screen.style.height = `${p.height}px`;
    this.screen.style.marginLeft = `${p.left}px`;
    this.screen.style.marginTop = `${p.top}px`;
    this.placeCursor();
  }

  private renderMode(): void {
    this.stage.classList.toggle("one-to-one", this.mode === "1:1");
    this.scaleButton.textContent = this.mode === "fit" ? "1:1" : "Fit";
    this.scaleButton.setAttribute("aria-pressed", String(this.mode === "1:1"));
    this.layout();
  }

  private renderScope(): void {
    const text = this.scope === "control" ? "control" : this.scope === "view" ? "view only" : "ended";
    this.scopeEl.textContent = text;
    this.scopeEl.className = `badge scope-${this.scope}`;
    this.stage.classList.toggle("controlling", this.scope === "control");
    // Keys and text only with control.
    show(this.keysMenu, this.scope === "control");
    if (this.scope !== "control") this.keysMenu.open = false;
  }

  private showBanner(text: string, kind: "warn" | "stop" | "info"): void {
    this.banner.textContent = text;
    this.banner.className = `banner banner-${kind}`;
    show(this.banner, true);
  }

  private renderMonitors(list: MonitorProps[], current: number): void {
    this.monitorSelect.replaceChildren(
      ...list.map((m, i) => {
        const index = m.index ?? i;
        const label = `${m.name || `Monitor ${index + 1}`} (${m.width ?? 0}×${m.height ?? 0})${m.primary ? " · primary" : ""}`;
        const opt = el("option", { text: label, attrs: { value: String(index) } });
        opt.selected = index === current;
        return opt;
      }),
    );
    show(this.monitorLabel, list.length > 1);
  }

  private onCursor(c: CursorProps): void {
    const width = c.width ?? 0;
    const height = c.height ?? 0;
    if (c.rgba && c.rgba.length && width && height) {
      const pixels = unpremultiply(c.rgba, width, height);
      if (pixels) {
        this.cursorCanvas.width = width;
        this.cursorCanvas.height = height;
        this.cursorCanvas.getContext("2d")?.putImageData(new ImageData(pixels, width, height), 0, 0);
        this.cursor = { x: 0, y: 0, visible: true, width, height, hotX: c.hotX ?? 0, hotY: c.hotY ?? 0 };
        this.screen.classList.add("remote-cursor"); // hide the local pointer: the remote one is drawn
      }
    }
    if (!this.cursor) return;
    this.cursor.x = c.x ?? 0;
    this.cursor.y = c.y ?? 0;
    this.cursor.visible = c.visible ?? true;
    this.placeCursor();
  }

  private placeCursor(): void {
    const c = this.cursor;
    if (!c || this.ended) return;
    const w = this.video.videoWidth;
    const shownW = this.screen.clientWidth;
    const shownH = this.screen.clientHeight;
    const scale = w > 0 ? shownW / w : 1;
    const s = this.cursorCanvas.style;
    s.width = `${c.width * scale}px`;
    s.height = `${c.height * scale}px`;
    s.transform = `translate(${c.x * shownW - c.hotX * scale}px, ${c.y * shownH - c.hotY * scale}px)`;
    show(this.cursorCanvas, c.visible);
  }

  private async pollStats(): Promise<void> {
    const pc = this.peer?.pc;
    if (!pc) return;
    let report: RTCStatsReport;
    try {
      report = await pc.getStats();
    } catch {
      return;
    }
    const entries: Record<string, unknown>[] = [];
    report.forEach((v: Record<string, unknown>) => entries.push(v));
    const sample = sampleFrom(entries, performance.now());
    if (!sample) return;
    const text = overlayText(overlay(this.lastSample, sample));
    this.lastSample = sample;
    const size = sample.frameWidth && sample.frameHeight ? ` · ${sample.frameWidth}×${sample.frameHeight}` : "";
    const capture = this.captureFps !== null ? ` · capture ${Math.round(this.captureFps)} fps` : "";
    const path = sample.path ? ` · ${sample.path}` : "";
    this.statsEl.textContent = text + size + capture + path;
  }
}
