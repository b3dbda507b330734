// Drives the test X client (native/test-client, built as build/Release/tether_test_client): it
// covers the screen with a window, draws what it is told, and reports the input events it gets.
// Tests and the latency benchmark (scripts/bench-latency/) use it; times are epoch milliseconds
// with sub-millisecond resolution (performance.timeOrigin + performance.now()), comparable with
// the times other processes trace.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
// test/support/ in the sources, dist/test/support/ once compiled (the benchmark uses it).
const binaries = [path.resolve(here, "../.."), path.resolve(here, "../../..")].map((root) =>
  path.join(root, "build", "Release", "tether_test_client"),
);

export interface XEventRecord {
  event: "KeyPress" | "KeyRelease" | "ButtonPress" | "ButtonRelease" | "MotionNotify";
  keycode?: number;
  keysym?: number;
  state?: number;
  button?: number;
  x?: number;
  y?: number;
}

/** The character an X keysym stands for (Latin-1 and 0x01000000 + code point keysyms). */
export function keysymToChar(keysym: number): string {
  if (keysym >= 0x01000000) return String.fromCodePoint(keysym - 0x01000000);
  if ((keysym >= 0x20 && keysym <= 0x7e) || (keysym >= 0xa0 && keysym <= 0xff)) {
    return String.fromCodePoint(keysym);
  }
  return "";
}

const now = (): number => performance.timeOrigin + performance.now();

export class TestXClient {
  readonly events: XEventRecord[] = [];
  /** Called with every input event the moment its line arrives, and that time. */
  onEvent: ((event: XEventRecord, t: number) => void) | null = null;
  private waiters: Array<{ ok: string; resolve: (t: number) => void }> = [];

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    // Stopped (a benchmark's Ctrl+C) while a caller still writes: no unhandled EPIPE; that
    // command's reply just never comes.
    child.stdin.on("error", () => {});
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      const t = now();
      const msg = JSON.parse(line) as { ok?: string; event?: string };
      if (msg.ok !== undefined) {
        const index = this.waiters.findIndex((w) => w.ok === msg.ok);
        const waiter = this.waiters[index];
        if (waiter !== undefined) {
          this.waiters.splice(index, 1);
          waiter.resolve(t);
        }
      } else if (msg.event !== undefined) {
        this.events.push(msg as XEventRecord);
        this.onEvent?.(msg as XEventRecord, t);
      }
    });
  }

  /** `fullscreen`: an ordinary window asking the window manager for full screen (needs one running). */
  static async start(display: string, opts: { fullscreen?: boolean } = {}): Promise<TestXClient> {
    const binary = binaries.find((b) => existsSync(b));
    if (binary === undefined) throw new Error(`${binaries.join(" / ")} missing: run npm run build:native`);
    const child = spawn(binary, [display, ...(opts.fullscreen ? ["--fullscreen"] : [])], { stdio: ["pipe", "pipe", "pipe"] });
    const client = new TestXClient(child);
    await client.expect("ready");
    return client;
  }

  /** Resolves with the time the reply `ok` arrived. */
  private expect(ok: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`test client: no '${ok}' reply`)), 10000);
      this.waiters.push({
        ok,
        resolve: (t) => {
          clearTimeout(timer);
          resolve(t);
        },
      });
    });
  }

  /** Sends a command; resolves with the time it was written and the time its reply arrived. */
  private async command(line: string, ok: string): Promise<{ tWrite: number; tReply: number }> {
    const tWrite = now();
    const done = this.expect(ok);
    this.child.stdin.write(`${line}\n`);
    return { tWrite, tReply: await done };
  }

  /**
   * Fills a rectangle (screen coordinates) with 0xRRGGBB. Returns once the server drew it (the
   * client's XSync returned), with the time the command was written and the time that reply came.
   */
  async fill(x: number, y: number, width: number, height: number, rgb: number): Promise<{ tWrite: number; tSync: number }> {
    const { tWrite, tReply } = await this.command(`fill ${x} ${y} ${width} ${height} ${rgb.toString(16).padStart(6, "0")}`, "fill");
    return { tWrite, tSync: tReply };
  }

  /** Sets a 16x16 cursor, hotspot (3,5): left half red, right half blue. */
  async setCursor(): Promise<void> {
    await this.command("cursor", "cursor");
  }

  async focus(): Promise<void> {
    await this.command("focus", "focus");
  }

  /** Asks the window manager to activate and raise the window (as a user clicking it in a task bar would). */
  async raise(): Promise<void> {
    await this.command("raise", "raise");
  }

  /** Collects every event the server has sent so far; returns the events since `from`. */
  async sync(from = 0): Promise<XEventRecord[]> {
    await this.command("sync", "sync");
    return this.events.slice(from);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.stdin.end("quit\n");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 3000);
    await exited;
    clearTimeout(timer);
  }
}
