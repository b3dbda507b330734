/**
 * The support app in a window: the app window, the consent dialog and the sharing bar, drawn by
 * `tether-window` in a process of its own, driven in JSON lines (native/window/protocol.h): GTK 3
 * on Linux (native/window/), Win32 on Windows (`tether-window.exe`, native/window/win32/).
 *
 * Why a process: GTK keeps its own main loop and thread rules away from Node's and WebRTC's; a
 * computer without GTK just cannot start the program (the app then stays in the terminal); and
 * the windows that ask for consent share no memory with the code that talks to the network.
 *
 * Status lines also go to stdout (a terminal, if the app was started from one; a log otherwise).
 * If the window program ends on its own, nobody can answer or see the sharing bar any more: the app
 * quits (sharing ends; the session stays open).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { HostOs, Locale, Messages, WindowTexts } from "./messages.js";
import { hostOs, messagesFor, windowTexts } from "./messages.js";
import type {
  ClipboardAccess,
  ConsentAnswer,
  ConsentQuestion,
  FileQuestion,
  InputGuard,
  Shared,
  TransferLine,
  UserAction,
  UserInterface,
} from "./ui.js";
import { formatBytes } from "../session/file-transfer.js";
import { formatDuration } from "./transfers.js";

/** How long the window program may take to show itself before the app stays in the terminal. */
const READY_TIMEOUT_MS = 10_000;
/** Input near the app's windows is dropped too: a margin against off-by-one and borders. */
const GUARD_MARGIN_PX = 4;

type Rect = [number, number, number, number];

/**
 * The window program: $TETHER_WINDOW_PATH (the single-file app sets it), else the build folder's
 * (Linux: build/Release/tether_window; Windows: tether-window.exe from the Windows build).
 */
export function windowProgram(env: NodeJS.ProcessEnv = process.env, os: HostOs = hostOs()): string {
  const fromEnv = env["TETHER_WINDOW_PATH"];
  if (fromEnv) return fromEnv;
  const here = path.dirname(fileURLToPath(import.meta.url));
  const inBuild =
    os === "windows"
      ? [
          ["build-win", "tether-window.exe"],
          ["build", "Release", "tether-window.exe"],
        ]
      : [["build", "Release", "tether_window"]];
  const candidates = [path.resolve(here, "../.."), path.resolve(here, "../../..")].flatMap((root) =>
    inBuild.map((p) => path.join(root, ...p)),
  );
  return candidates.find((file) => existsSync(file)) ?? candidates[0]!;
}

export type WindowProbe =
  | { ok: true; /** "GTK 3.24.38", "Win32, Windows 10.0.19045" */ toolkit: string }
  | { ok: false; reason: "no-display" | "no-toolkit" | "missing"; detail: string };

/** Whether a window can be shown here, and why not (for --check and the choice at start). */
export function probeWindow(env: NodeJS.ProcessEnv = process.env, os: HostOs = hostOs()): WindowProbe {
  const program = windowProgram(env, os);
  if (!existsSync(program)) return { ok: false, reason: "missing", detail: program };
  if (os === "linux" && !env["DISPLAY"]) return { ok: false, reason: "no-display", detail: "DISPLAY is not set" };
  const r = spawnSync(program, ["--probe"], { env, encoding: "utf8", timeout: READY_TIMEOUT_MS });
  const stderr = (r.stderr ?? "").trim().split("\n")[0] ?? "";
  if (r.status === 0) {
    try {
      const answer = JSON.parse(r.stdout) as { gtk?: string; win32?: string };
      if (answer.gtk) return { ok: true, toolkit: `GTK ${answer.gtk}` };
      if (answer.win32) return { ok: true, toolkit: `Win32, Windows ${answer.win32}` };
    } catch {
      // below
    }
    return { ok: false, reason: "no-toolkit", detail: "unexpected answer" };
  }
  // Exit 3: no display to open (Windows: no window could be created, e.g. in a service).
  if (r.status === 3) return { ok: false, reason: "no-display", detail: stderr };
  // 127: the loader could not find GTK 3 (libgtk-3.so.0); anything else: the toolkit could not start.
  return { ok: false, reason: "no-toolkit", detail: stderr || `exit ${r.status ?? r.signal}` };
}

interface WindowEvent {
  ev: string;
  id?: string;
  answer?: string;
  rects?: Rect[];
  focused?: boolean;
  text?: string;
  copied?: boolean;
  tooLong?: boolean;
  on?: boolean;
  path?: string;
}

export class WindowUI implements UserInterface {
  readonly messages: Messages;
  readonly quit: Promise<void>;
  readonly guard: InputGuard;
  private readonly t: WindowTexts;
  private rects: Rect[] = [];
  private focused = false;
  private handler: (a: UserAction) => void = () => {};
  private chatHandler: (text: string) => void = () => {};
  private asking: { id: string; resolve: (a: ConsentAnswer) => void; scope: Shared["scope"] } | null = null;
  private closed: (() => void) | null = null;
  private ended = false;
  private quitNow: () => void = () => {};
  private status = "";
  /** Open file questions by id. */
  private readonly fileAsks = new Map<string, (yes: boolean) => void>();
  private cancelHandler: (id: string | null) => void = () => {};
  private copiedHandler: (text: string) => void = () => {};
  private switchHandler: (on: boolean) => void = () => {};
  /** readClipboard answers, in order. */
  private readonly reads: ((text: string | null) => void)[] = [];
  private lastTransfers = "";
  private sendFileHandler: (file: string) => void = () => {};
  /** The last sendFile command (sent again only when it changes). */
  private lastSendFile = "";
  readonly clipboard: ClipboardAccess;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    locale: Locale,
    os: HostOs,
    signals: Promise<void>,
    private readonly out: (line: string) => void,
  ) {
    this.messages = messagesFor(locale, os, true);
    this.t = windowTexts[locale];
    const userQuit = new Promise<void>((resolve) => (this.quitNow = resolve));
    this.quit = Promise.race([signals, userQuit]);
    this.guard = {
      blocksPointerAt: (x, y) =>
        this.rects.some(
          ([rx, ry, w, h]) =>
            x >= rx - GUARD_MARGIN_PX && x < rx + w + GUARD_MARGIN_PX && y >= ry - GUARD_MARGIN_PX && y < ry + h + GUARD_MARGIN_PX,
        ),
      blocksKeys: () => this.focused,
    };
    this.clipboard = {
      // The window program drops a line over its limit (protocol.h kMaxLine: 512 KiB): checked here,
      // with room for the command around the text.
      write: (text) => {
        const line = JSON.stringify({ cmd: "setClipboard", text });
        if (Buffer.byteLength(line) > 512 * 1024 - 2 || this.ended) return false;
        this.send({ cmd: "setClipboard", text });
        return true;
      },
      read: () =>
        new Promise<string | null>((resolve) => {
          if (this.ended) return resolve(null);
          this.reads.push(resolve);
          this.send({ cmd: "readClipboard" });
        }),
      watch: (on) => this.send({ cmd: "watchClipboard", on }),
      onCopied: (handler) => {
        this.copiedHandler = handler;
      },
      showSwitch: ({ visible, on, technician }) =>
        this.send({ cmd: "clipboardSwitch", label: this.t.clipboardSwitch(technician), visible, on }),
      onSwitch: (handler) => {
        this.switchHandler = handler;
      },
    };
    child.on("exit", () => {
      this.ended = true;
      this.rects = [];
      this.focused = false;
      this.closed?.();
      this.asking?.resolve(null); // nobody can answer any more
      this.asking = null;
      for (const answer of this.fileAsks.values()) answer(false);
      this.fileAsks.clear();
      for (const read of this.reads.splice(0)) read(null);
      this.quitNow();
    });
    child.stdin.on("error", () => {}); // the program ended; "exit" says what follows
  }

  /**
   * Starts the window program and shows the app window; resolves once it is up, or with the reason
   * it could not start (the caller then stays in the terminal).
   */
  static start(o: {
    locale: Locale;
    os?: HostOs;
    organization?: string;
    signals: Promise<void>;
    out: (line: string) => void;
    env?: NodeJS.ProcessEnv;
  }): Promise<WindowUI | { error: string }> {
    const env = o.env ?? process.env;
    const os = o.os ?? hostOs();
    const program = windowProgram(env, os);
    if (!existsSync(program)) return Promise.resolve({ error: `${program} is missing` });
    const child = spawn(program, [], { env, stdio: ["pipe", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      if (stderr.length < 4096) stderr += d.toString();
      if (process.env["TETHER_TRACE_UI"] === "1") process.stderr.write(d);
    });
    return new Promise((resolve) => {
      const fail = (why: string) => {
        clearTimeout(timer);
        child.kill("SIGKILL");
        resolve({ error: why });
      };
      const timer = setTimeout(() => fail("the window did not appear in time"), READY_TIMEOUT_MS);
      child.once("error", (err) => fail(err.message));
      child.once("exit", (code, signal) => fail(stderr.trim().split("\n")[0] || `exit ${code ?? signal}`));
      let ui: WindowUI | null = null;
      createInterface({ input: child.stdout }).on("line", (line) => {
        if (ui) return ui.line(line);
        if (!line.includes('"ready"')) return fail(`unexpected first line: ${line.slice(0, 80)}`);
        clearTimeout(timer);
        child.removeAllListeners("exit");
        child.removeAllListeners("error");
        ui = new WindowUI(child, o.locale, os, o.signals, o.out);
        ui.send({
          cmd: "main",
          title: ui.t.title,
          heading: ui.t.heading(o.organization ?? ""),
          status: "",
          quit: ui.t.quit,
          viewOnly: ui.t.viewOnly,
          stop: ui.t.stop,
          chatSend: ui.t.chatSend,
          chatPlaceholder: ui.t.chatPlaceholder,
        });
        resolve(ui);
      });
    });
  }

  organization(name: string): void {
    this.send({
      cmd: "main",
      title: this.t.title,
      heading: this.t.heading(name),
      status: this.status,
      quit: this.t.quit,
      viewOnly: this.t.viewOnly,
      stop: this.t.stop,
      chatSend: this.t.chatSend,
      chatPlaceholder: this.t.chatPlaceholder,
    });
  }

  say(line: string): void {
    this.status = line;
    this.out(line);
    this.send({ cmd: "status", text: line });
  }

  ask(q: ConsentQuestion, signal: AbortSignal): Promise<ConsentAnswer> {
    if (this.ended) return Promise.resolve(null);
    const t = this.t;
    this.out(q.scope === "control" ? this.messages.requestControl(q.technician) : this.messages.requestView(q.technician));
    return new Promise<ConsentAnswer>((resolve) => {
      const done = (a: ConsentAnswer) => {
        signal.removeEventListener("abort", abort);
        if (this.asking?.id === q.id) this.asking = null;
        resolve(a);
      };
      const abort = () => {
        this.send({ cmd: "unask", id: q.id });
        done(undefined);
      };
      signal.addEventListener("abort", abort, { once: true });
      this.asking = { id: q.id, resolve: done, scope: q.scope };
      this.send({
        cmd: "ask",
        id: q.id,
        title: t.askTitle,
        heading: t.askHeading(q.technician, q.organization, q.scope),
        body: t.askBody(q.technician, q.scope),
        code: q.safetyCode ? this.messages.safetyCodePrompt(q.safetyCode) : "",
        timeLeft: t.timeLeft,
        expiresInMs: q.expiresInMs,
        allow: t.allow,
        viewOnly: q.scope === "control" ? t.viewOnly : "",
        decline: t.decline,
      });
    });
  }

  /** A dialog of its own per file; Decline, Escape and the close box say no. */
  askFile(q: FileQuestion, signal: AbortSignal): Promise<boolean> {
    if (this.ended || signal.aborted) return Promise.resolve(false);
    const t = this.t;
    const m = this.messages;
    const size = formatBytes(q.size);
    this.out(q.kind === "receive" ? m.fileOffer(q.technician, q.name, size) : m.fileRequest(q.technician, q.name, size));
    return new Promise<boolean>((resolve) => {
      const done = (yes: boolean) => {
        signal.removeEventListener("abort", abort);
        this.fileAsks.delete(q.id);
        resolve(yes);
      };
      const abort = () => {
        this.send({ cmd: "unaskFile", id: q.id });
        done(false);
      };
      signal.addEventListener("abort", abort, { once: true });
      this.fileAsks.set(q.id, done);
      this.send({
        cmd: "askFile",
        id: q.id,
        title: t.fileTitle,
        heading: q.kind === "receive" ? m.fileOffer(q.technician, q.name, size) : m.fileRequest(q.technician, q.name, size),
        body: q.kind === "receive" ? t.fileOfferBody : t.fileRequestBody(q.technician),
        accept: q.kind === "receive" ? t.fileAccept : t.fileSend,
        decline: t.fileDecline,
      });
    });
  }

  /** The transfers as rows in the app window (sent only when what they say changed). */
  transfers(list: readonly TransferLine[]): void {
    const t = this.t;
    // The newest 20 (a long session's list would not fit, and each row is a few widgets).
    const rows = list.slice(-20).map((l) => {
      const moving = l.status === "moving" || l.status === "checking" || l.status === "asking";
      const ended = l.status === "done" || l.status === "declined" || l.status === "cancelled" || l.status === "failed";
      const left = l.leftMs === null ? "" : formatDuration(l.leftMs);
      const text =
        t.transferRow(l.name, l.direction === "in", l.technician, formatBytes(l.bytes), formatBytes(l.size), left) +
        (ended ? ` (${t.transferEnded[l.status as keyof WindowTexts["transferEnded"]]})` : "");
      return {
        id: l.id,
        text,
        fraction: l.size > 0 ? Math.min(1, l.bytes / l.size) : l.status === "done" ? 1 : 0,
        ...(moving && { cancel: t.cancel }),
      };
    });
    const cmd = { cmd: "transfers", heading: rows.length ? t.transfers : "", rows };
    const key = JSON.stringify(cmd);
    if (key === this.lastTransfers) return;
    this.lastTransfers = key;
    this.send(cmd);
  }

  onCancelTransfer(handler: (id: string | null) => void): void {
    this.cancelHandler = handler;
  }

  /** The main window's "Send a file to …" button (its chooser closes when it is withdrawn). */
  showSendFile(o: { visible: boolean; technician: string }): void {
    const cmd = o.visible
      ? { cmd: "sendFile", label: this.t.sendFileButton(o.technician), title: this.t.sendFileTitle(o.technician), visible: true }
      : { cmd: "sendFile", visible: false };
    const key = JSON.stringify(cmd);
    if (key === this.lastSendFile) return;
    this.lastSendFile = key;
    this.send(cmd);
  }

  onSendFile(handler: (file: string) => void): void {
    this.sendFileHandler = handler;
  }

  sharing(shared: readonly Shared[]): void {
    this.send(
      shared.length === 0
        ? { cmd: "sharing", text: "" }
        : {
            cmd: "sharing",
            title: this.t.barTitle,
            text: this.t.bar(shared),
            canNarrow: shared.some((s) => s.scope === "control"),
            viewOnly: this.t.viewOnly,
            stop: this.t.stop,
            recording: shared.some((s) => s.recording) ? this.t.recording : "",
            // On the screen being shared: the watched monitor, else the primary one.
            ...(shared.find((s) => s.area) && { area: ((a) => [a.x, a.y, a.width, a.height])(shared.find((s) => s.area)!.area!) }),
          },
    );
  }

  onAction(handler: (a: UserAction) => void): void {
    this.handler = handler;
  }

  /** The technician's message, in the window's chat area (and on stdout). */
  chat(name: string, text: string): void {
    this.out(this.messages.chatLine(name, text));
    this.send({ cmd: "chat", from: "technician", name, text });
  }

  onChat(handler: (text: string) => void): void {
    this.chatHandler = handler;
  }

  /** Shows the final message; resolves once the user closed the window (or Ctrl+C / SIGTERM). */
  finish(line: string | null): Promise<void> {
    if (line) this.out(line);
    // The final message closes the file questions without an answer: they are declined.
    for (const answer of [...this.fileAsks.values()]) answer(false);
    if (this.ended) return Promise.resolve();
    const closed = new Promise<void>((resolve) => {
      this.closed = () => {
        this.closed = null;
        resolve();
      };
      this.send({ cmd: "final", text: line ?? this.status, close: this.t.close });
    });
    return Promise.race([closed, this.quit]).then(() => this.close());
  }

  /** Closes the windows (the app is ending). */
  close(): void {
    if (this.ended) return;
    this.send({ cmd: "exit" });
    this.child.stdin.end();
  }

  private send(command: object): void {
    if (!this.ended && this.child.stdin.writable) this.child.stdin.write(JSON.stringify(command) + "\n");
  }

  /** One line from the window program. */
  private line(line: string): void {
    let e: WindowEvent;
    try {
      e = JSON.parse(line) as WindowEvent;
    } catch {
      return;
    }
    if (process.env["TETHER_TRACE_UI"] === "1") process.stderr.write(`TETHER_UI ${line}\n`);
    this.onEvent(e);
  }

  private onEvent(e: WindowEvent): void {
    switch (e.ev) {
      case "answer": {
        const a = this.asking;
        if (!a || a.id !== e.id) return;
        a.resolve(e.answer === "allow" ? a.scope : e.answer === "view" ? "view" : null);
        return;
      }
      case "stop":
        return this.handler("stop");
      case "narrow":
        return this.handler("narrow");
      case "quit":
        return this.quitNow();
      case "chat": {
        // The user's own line: shown in the chat area as sent, and passed on (the agent cleans and sends it).
        const text = typeof e.text === "string" ? e.text.trim() : "";
        if (!text) return;
        this.send({ cmd: "chat", from: "user", name: this.t.you, text });
        return this.chatHandler(text);
      }
      case "closed":
        return this.closed?.();
      case "fileAnswer":
        if (typeof e.id === "string") this.fileAsks.get(e.id)?.(e.answer === "accept");
        return;
      case "cancelTransfer":
        if (typeof e.id === "string") this.cancelHandler(e.id);
        return;
      case "clipboardSwitch":
        return this.switchHandler(e.on === true);
      case "sendFile":
        if (typeof e.path === "string" && e.path) this.sendFileHandler(e.path);
        return;
      case "clipboard": {
        const text = e.tooLong ? null : typeof e.text === "string" ? e.text : null;
        if (e.copied) {
          if (text) this.copiedHandler(text);
        } else this.reads.shift()?.(text);
        return;
      }
      case "geometry":
        this.rects = (e.rects ?? []).filter((r) => Array.isArray(r) && r.length === 4 && r.every(Number.isFinite));
        this.focused = e.focused === true;
        return;
      default:
        return;
    }
  }
}
