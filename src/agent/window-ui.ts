/**
 * The support app in a window: the app window, the consent dialog and the sharing bar, drawn by
 * `tether-window` (native/window/, GTK 3) in a process of its own, driven in JSON lines.
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
import type { Locale, Messages, WindowTexts } from "./messages.js";
import { windowCatalogs, windowTexts } from "./messages.js";
import type { ConsentAnswer, ConsentQuestion, InputGuard, Shared, UserAction, UserInterface } from "./ui.js";

/** How long the window program may take to show itself before the app stays in the terminal. */
const READY_TIMEOUT_MS = 10_000;
/** Input near the app's windows is dropped too: a margin against off-by-one and borders. */
const GUARD_MARGIN_PX = 4;

type Rect = [number, number, number, number];

/** The window program: $TETHER_WINDOW_PATH (the single-file app sets it), else the build folder. */
export function windowProgram(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env["TETHER_WINDOW_PATH"];
  if (fromEnv) return fromEnv;
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const root of [path.resolve(here, "../.."), path.resolve(here, "../../..")]) {
    const file = path.join(root, "build", "Release", "tether_window");
    if (existsSync(file)) return file;
  }
  return path.resolve(here, "../../build/Release/tether_window");
}

export type WindowProbe = { ok: true; gtk: string } | { ok: false; reason: "no-display" | "no-toolkit" | "missing"; detail: string };

/** Whether a window can be shown here, and why not (for --check and the choice at start). */
export function probeWindow(env: NodeJS.ProcessEnv = process.env): WindowProbe {
  const program = windowProgram(env);
  if (!existsSync(program)) return { ok: false, reason: "missing", detail: program };
  if (!env["DISPLAY"]) return { ok: false, reason: "no-display", detail: "DISPLAY is not set" };
  const r = spawnSync(program, ["--probe"], { env, encoding: "utf8", timeout: READY_TIMEOUT_MS });
  const stderr = (r.stderr ?? "").trim().split("\n")[0] ?? "";
  if (r.status === 0) {
    try {
      return { ok: true, gtk: String((JSON.parse(r.stdout) as { gtk: string }).gtk) };
    } catch {
      return { ok: false, reason: "no-toolkit", detail: "unexpected answer" };
    }
  }
  if (r.status === 3) return { ok: false, reason: "no-display", detail: stderr };
  // 127: the loader could not find GTK 3 (libgtk-3.so.0); anything else: GTK could not start.
  return { ok: false, reason: "no-toolkit", detail: stderr || `exit ${r.status ?? r.signal}` };
}

interface WindowEvent {
  ev: string;
  id?: string;
  answer?: string;
  rects?: Rect[];
  focused?: boolean;
}

export class WindowUI implements UserInterface {
  readonly messages: Messages;
  readonly quit: Promise<void>;
  readonly guard: InputGuard;
  private readonly t: WindowTexts;
  private rects: Rect[] = [];
  private focused = false;
  private handler: (a: UserAction) => void = () => {};
  private asking: { id: string; resolve: (a: ConsentAnswer) => void; scope: Shared["scope"] } | null = null;
  private closed: (() => void) | null = null;
  private ended = false;
  private quitNow: () => void = () => {};
  private status = "";

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    locale: Locale,
    signals: Promise<void>,
    private readonly out: (line: string) => void,
  ) {
    this.messages = windowCatalogs[locale];
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
    child.on("exit", () => {
      this.ended = true;
      this.rects = [];
      this.focused = false;
      this.closed?.();
      this.asking?.resolve(null); // nobody can answer any more
      this.asking = null;
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
    organization?: string;
    signals: Promise<void>;
    out: (line: string) => void;
    env?: NodeJS.ProcessEnv;
  }): Promise<WindowUI | { error: string }> {
    const env = o.env ?? process.env;
    const program = windowProgram(env);
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
        ui = new WindowUI(child, o.locale, o.signals, o.out);
        ui.send({
          cmd: "main",
          title: ui.t.title,
          heading: ui.t.heading(o.organization ?? ""),
          status: "",
          quit: ui.t.quit,
          viewOnly: ui.t.viewOnly,
          stop: ui.t.stop,
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
            recording: "",
            // On the screen being shared: the watched monitor, else the primary one.
            ...(shared.find((s) => s.area) && { area: ((a) => [a.x, a.y, a.width, a.height])(shared.find((s) => s.area)!.area!) }),
          },
    );
  }

  onAction(handler: (a: UserAction) => void): void {
    this.handler = handler;
  }

  /** Shows the final message; resolves once the user closed the window (or Ctrl+C / SIGTERM). */
  finish(line: string | null): Promise<void> {
    if (line) this.out(line);
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
      case "closed":
        return this.closed?.();
      case "geometry":
        this.rects = (e.rects ?? []).filter((r) => Array.isArray(r) && r.length === 4 && r.every(Number.isFinite));
        this.focused = e.focused === true;
        return;
      default:
        return;
    }
  }
}
