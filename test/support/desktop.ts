// A desktop for the app window tests: Xvfb with a real window manager (Openbox, for stacking,
// focus and full screen as users have them), the app window's accessibility trace, windows found
// by title through X (xwininfo), clicks and keys through XTest (Tether's own injector), and
// screenshots (Tether's capturer, written as PNG with pngjs).
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { PNG } from "pngjs";
import { InputInjector } from "../../src/native/injector.js";
import { ScreenCapturer } from "../../src/native/capturer.js";
import { ROOT, until, type Proc } from "./procs.js";
import { startXvfb, type Xvfb } from "./xvfb.js";

const run = promisify(execFile);

export interface Desktop {
  xvfb: Xvfb;
  display: string;
  width: number;
  height: number;
  stop(): Promise<void>;
}

export async function startDesktop(width = 1280, height = 800): Promise<Desktop> {
  const xvfb = await startXvfb({ width, height });
  const wm: ChildProcess = spawn("openbox", ["--sm-disable"], { env: { ...process.env, DISPLAY: xvfb.display }, stdio: "ignore" });
  // Openbox is up once it has claimed the screen (_NET_SUPPORTING_WM_CHECK on the root window).
  await until(
    async () =>
      (await run("xprop", ["-display", xvfb.display, "-root", "_NET_SUPPORTING_WM_CHECK"]).catch(() => ({ stdout: "" }))).stdout.includes(
        "window id",
      ),
    10_000,
    "the window manager",
  );
  return {
    xvfb,
    display: xvfb.display,
    width,
    height,
    async stop() {
      wm.kill("SIGKILL");
      await xvfb.stop();
    },
  };
}

export interface XWindow {
  id: string;
  title: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Every named window on the screen, as X reports it (xwininfo -tree), with absolute positions. */
export async function xWindows(display: string): Promise<XWindow[]> {
  const { stdout } = await run("xwininfo", ["-display", display, "-root", "-tree"]);
  const out: XWindow[] = [];
  for (const m of stdout.matchAll(/^\s*(0x[0-9a-f]+) "([^"]*)":.*?(\d+)x(\d+)[+-]-?\d+[+-]-?\d+\s+\+(-?\d+)\+(-?\d+)\s*$/gm)) {
    out.push({ id: m[1]!, title: m[2]!, width: +m[3]!, height: +m[4]!, x: +m[5]!, y: +m[6]! });
  }
  return out;
}

export async function windowTitled(display: string, title: string, timeoutMs = 10_000): Promise<XWindow> {
  return until(async () => (await xWindows(display)).find((w) => w.title === title), timeoutMs, `a window titled "${title}"`);
}

/** The accessibility tree the app window reports (TETHER_TRACE_UI=1), one entry per visible window. */
export interface UiNode {
  role: string;
  name: string;
  rect?: [number, number, number, number];
  insensitive?: boolean;
  focused?: boolean;
}
export interface UiWindow {
  kind: "main" | "dialog" | "bar" | "file" | "chooser";
  title: string;
  nodes: UiNode[];
  /** This window has the keyboard. */
  active?: boolean;
}

/** The latest accessibility tree from an app's stderr trace. */
export function uiTree(p: Proc): UiWindow[] {
  for (let i = p.err.all.length - 1; i >= 0; i--) {
    const line = p.err.all[i]!;
    if (!line.startsWith("TETHER_UI ")) continue;
    const e = JSON.parse(line.slice(10)) as { ev: string; windows?: UiWindow[] };
    if (e.ev === "tree") return e.windows ?? [];
  }
  return [];
}

export const uiWindow = (p: Proc, kind: UiWindow["kind"]) => uiTree(p).find((w) => w.kind === kind);

/**
 * Waits until the window of `kind` shows a node matching `name` (and `ok`), in a tree that has stayed
 * the same for 150 ms (a window that is still being laid out or moved would be clicked in the wrong
 * place), and returns it.
 */
export async function waitForNode(
  p: Proc,
  kind: UiWindow["kind"],
  name: string | RegExp,
  ok: (n: UiNode) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<UiNode> {
  const match = (n: UiNode) => (typeof name === "string" ? n.name === name : name.test(n.name)) && ok(n);
  const find = () => uiWindow(p, kind)?.nodes.find(match);
  try {
    return await until(
      async () => {
        const first = find();
        if (!first) return undefined;
        await sleep(150);
        const again = find();
        return again && JSON.stringify(again.rect) === JSON.stringify(first.rect) ? again : undefined;
      },
      timeoutMs,
      `"${String(name)}" in the app's ${kind} window`,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; its windows now: ${JSON.stringify(uiTree(p))}`, { cause: err });
  }
}

export async function waitForNoWindow(p: Proc, kind: UiWindow["kind"], timeoutMs = 10_000): Promise<void> {
  await until(() => uiTree(p).length > 0 && !uiWindow(p, kind), timeoutMs, `the app's ${kind} window to close`);
}

/** The user's hands: XTest clicks and keys on the whole screen. */
export class Hands {
  private readonly injector: InputInjector;
  constructor(display: string) {
    this.injector = InputInjector.open({ display });
  }
  async click(x: number, y: number): Promise<void> {
    this.injector.moveMouse(Math.round(x), Math.round(y));
    await sleep(30);
    this.injector.button("left", "down");
    await sleep(30);
    this.injector.button("left", "up");
  }
  /** Clicks the middle of a node's rectangle. */
  async press(node: UiNode): Promise<void> {
    const [x, y, w, h] = node.rect!;
    await this.click(x + w / 2, y + h / 2);
  }
  async key(code: string, action: "tap" | "down" | "up" = "tap"): Promise<void> {
    if (action !== "up") this.injector.key(code, "down");
    if (action === "tap") await sleep(30);
    if (action !== "down") this.injector.key(code, "up");
  }
  /** Types text as the user would (XTest, a temporary keysym where the keymap has none). */
  async type(text: string): Promise<void> {
    this.injector.text(text);
    await sleep(30);
  }
  close(): void {
    this.injector.releaseAll();
    this.injector.close();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The screen as the user sees it, as RGBA rows. */
export async function grab(display: string): Promise<{ width: number; height: number; rgba: Buffer }> {
  const c = ScreenCapturer.open({ display });
  try {
    const r = await c.capture({ format: "bgra" });
    if (r.status !== "ok" || r.frame.format !== "bgra") throw new Error(`capture: ${r.status}`);
    const f = r.frame;
    const rgba = Buffer.alloc(f.width * f.height * 4);
    for (let y = 0; y < f.height; y++) {
      for (let x = 0; x < f.width; x++) {
        const s = y * f.stride + x * 4;
        const d = (y * f.width + x) * 4;
        rgba[d] = f.data[s + 2]!;
        rgba[d + 1] = f.data[s + 1]!;
        rgba[d + 2] = f.data[s]!;
        rgba[d + 3] = 255;
      }
    }
    f.release();
    return { width: f.width, height: f.height, rgba };
  } finally {
    c.close();
  }
}

/**
 * Saves a screenshot (optionally a region) as PNG in the test output folder (.tmp/screenshots, or
 * $TETHER_SCREENSHOTS, e.g. docs/ for the README) and returns its path.
 */
export async function screenshot(
  display: string,
  name: string,
  region?: { x: number; y: number; width: number; height: number },
): Promise<string> {
  await sleep(300); // what the trace reports may not be drawn yet
  const g = await grab(display);
  const r = region ?? { x: 0, y: 0, width: g.width, height: g.height };
  const x0 = Math.max(0, r.x);
  const y0 = Math.max(0, r.y);
  const w = Math.min(g.width - x0, r.width);
  const h = Math.min(g.height - y0, r.height);
  const png = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) g.rgba.copy(png.data, y * w * 4, ((y0 + y) * g.width + x0) * 4, ((y0 + y) * g.width + x0 + w) * 4);
  const dir = process.env["TETHER_SCREENSHOTS"] ? join(ROOT, process.env["TETHER_SCREENSHOTS"]) : join(ROOT, ".tmp", "screenshots");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.png`);
  writeFileSync(file, PNG.sync.write(png));
  return file;
}
