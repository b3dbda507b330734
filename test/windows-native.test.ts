// The Windows build of the native addon, cross-compiled with mingw-w64 and run under Wine on a
// private Xvfb: it loads in node.exe (also under another name, as in the support app), GDI capture
// of the Wine desktop shows a test window's colours at their places (Wine has no DXGI desktop
// duplication, so this also proves the fallback), SendInput's clicks, wheel, keys and text reach
// that window, and with two monitors (two RandR monitors on one Xvfb screen, which Wine sees as
// Xinerama heads once told not to use XRandR) monitors() lists both and each captures its own part.
// Real processes throughout; nothing of Windows is mocked. Fails (never skips) when
// mingw-w64 or Wine is missing.
import { spawnSync, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { cloneWinePrefix, createWinePrefix, runNodeScript, WINESERVER, winPath, type WinePrefix } from "./support/wine.js";
import { startXvfb, type Xvfb } from "./support/xvfb.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const buildDir = path.join(root, "build-win");
const addon = path.join(buildDir, "tether_native.node");
const testWindow = path.join(buildDir, "tether_test_window.exe");

// The test window's place on the 1280x800 desktop, and the centres of its four quadrants.
const WIN = { x: 100, y: 150, width: 400, height: 300 };
const QUADRANTS = [
  { name: "red", x: 150, y: 200, rgb: [255, 0, 0] },
  { name: "green", x: 450, y: 200, rgb: [0, 255, 0] },
  { name: "blue", x: 150, y: 400, rgb: [0, 0, 255] },
  { name: "white", x: 450, y: 400, rgb: [255, 255, 255] },
] as const;

let xvfb: Xvfb | undefined;
let wine: WinePrefix | undefined;
// Two monitors: another Xvfb with two RandR monitors, and a copy of the prefix on it.
let xvfb2: Xvfb | undefined;
let wine2: WinePrefix | undefined;
let wineNode = "";
let windowProcess: ChildProcess | undefined;
let windowLog = "";

function prefix(): WinePrefix {
  if (wine === undefined) throw new Error("no Wine prefix (beforeAll failed)");
  return wine;
}

/** Runs a script in the Wine-capable node.exe with the addon's Windows path as argv[3]. */
function inNode(script: string, nodeExe = wineNode): Record<string, unknown> {
  return runNodeScript(prefix(), nodeExe, script, [winPath(addon)]) as Record<string, unknown>;
}

async function waitFor<T>(what: string, get: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const logLines = (): string[] => (existsSync(windowLog) ? readFileSync(windowLog, "utf8").split(/\r?\n/).filter(Boolean) : []);

beforeAll(async () => {
  // The cross-build itself (incremental: about a second when nothing changed).
  const build = spawnSync(process.execPath, [path.join(root, "scripts", "build-native-win.mjs")], { encoding: "utf8", timeout: 600_000 });
  if (build.status !== 0) throw new Error(`npm run build:native:win failed:\n${build.stdout}\n${build.stderr}`);
  const fetched = spawnSync(process.execPath, [path.join(root, "scripts", "fetch-windows-runtime.mjs"), "--print"], { encoding: "utf8" });
  if (fetched.status !== 0) throw new Error(`fetch-windows-runtime failed: ${fetched.stderr}`);
  wineNode = (JSON.parse(fetched.stdout) as { wineNode: string }).wineNode;

  xvfb = await startXvfb({ width: 1280, height: 800 });
  wine = createWinePrefix(xvfb.display);
  // Copied while the prefix's Wine server is idle (before the test window starts).
  xvfb2 = await startXvfb({ width: 1280, height: 800 });
  await xvfb2.x("xrandr", ["--setmonitor", "left", "640/169x800/211+0+0", "screen"]);
  await xvfb2.x("xrandr", ["--setmonitor", "right", "640/169x800/211+640+0", "none"]);
  wine2 = cloneWinePrefix(wine, xvfb2.display);
  // Wine takes its monitors from XRandR's CRTCs (Xvfb has one) unless told not to use XRandR; then
  // from Xinerama, which the X server answers with the RandR monitors set above.
  const reg = wine2.run("reg", ["add", "HKCU\\Software\\Wine\\X11 Driver", "/v", "UseXRandR", "/t", "REG_SZ", "/d", "N", "/f"]);
  if (reg.status !== 0) throw new Error(`reg add UseXRandR failed: ${reg.stdout}${reg.stderr}`);
  spawnSync(WINESERVER, ["-w"], { env: wine2.env, timeout: 60_000 });
  windowLog = path.join(wine.dir, "window.log");
  windowProcess = wine.start(testWindow, [String(WIN.x), String(WIN.y), String(WIN.width), String(WIN.height), winPath(windowLog)]);
  await waitFor("the test window", () => logLines().find((l) => l.startsWith("ready")), 30_000);
}, 300_000);

afterAll(async () => {
  windowProcess?.kill();
  wine?.destroy();
  wine2?.destroy();
  await xvfb?.stop();
  await xvfb2?.stop();
});

describe("the Windows addon (mingw-w64, under Wine)", () => {
  it("exports only the Node-API entries and needs only Windows' own DLLs", () => {
    // objdump -p lists every unwind entry too: about 1 MB, spawnSync's default buffer.
    const dump = spawnSync("x86_64-w64-mingw32-objdump", ["-p", addon], { encoding: "utf8", maxBuffer: 64 << 20 });
    expect(dump.status).toBe(0);
    const dlls = [...dump.stdout.matchAll(/DLL Name: (\S+)/g)].map((m) => (m[1] ?? "").toLowerCase()).sort();
    expect(dlls).toEqual(["advapi32.dll", "d3d11.dll", "dxgi.dll", "gdi32.dll", "kernel32.dll", "msvcrt.dll", "user32.dll"]);
    const exported = [...dump.stdout.matchAll(/^\s+\[\s*\d+\] (\w+)$/gm)].map((m) => m[1]).sort();
    expect(exported).toEqual(["napi_register_module_v1", "node_api_module_get_api_version_v1"]);
  });

  it("loads in node.exe: backend windows, the machine GUID from the registry, no WebRTC tuning", () => {
    const r = inNode(`
      const fs = require("fs");
      const a = require(process.argv[3]);
      const tuning = a.configureWebRtc("/wrtc.node", { trials: "A/b/", vp8ActiveMap: true, cores: 3 });
      fs.writeFileSync(process.argv[2], JSON.stringify({ backend: a.backend, napi: a.napiVersion, node: process.version,
        machineId: a.machineId(), tuning, stats: a.webRtcStats() }));`);
    expect(r["backend"]).toBe("windows");
    expect(r["napi"]).toBe(8);
    expect(r["machineId"]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    // The same value reg.exe reads from HKLM\SOFTWARE\Microsoft\Cryptography.
    const reg = prefix().run("reg", ["query", "HKLM\\SOFTWARE\\Microsoft\\Cryptography", "/v", "MachineGuid"]);
    expect(reg.stdout).toContain(r["machineId"] as string);
    const tuning = r["tuning"] as Record<string, { result: string; detail: string }>;
    expect(Object.keys(tuning).sort()).toEqual(["cores", "trials", "vp8ActiveMap"]);
    for (const outcome of Object.values(tuning)) {
      expect(outcome.result).toBe("unsupported-platform");
      expect(outcome.detail).toMatch(/built for Linux only/);
    }
    expect((r["stats"] as { vp8: { hooked: boolean } }).vp8.hooked).toBe(false);
  });

  it("loads in node.exe under another name (the support app): Node-API resolves to the host executable", () => {
    const renamed = path.join(prefix().dir, "tether-support.exe");
    copyFileSync(wineNode, renamed);
    const r = inNode(
      `require("fs").writeFileSync(process.argv[2], JSON.stringify({ backend: require(process.argv[3]).backend }));`,
      renamed,
    );
    expect(r["backend"]).toBe("windows");
  });

  it("GDI capture of the Wine desktop shows the test window's colours at their places (DXGI fell back)", () => {
    const r = inNode(`
      const fs = require("fs");
      const a = require(process.argv[3]);
      (async () => {
        const c = new a.Capturer({});
        const out = { monitors: c.monitors(), area: c.area, damageTracking: c.damageTracking };
        let f = await c.captureFrame({ format: "bgra" });
        const t0 = Date.now();
        for (let i = 0; i < 10; i++) { c.releaseFrame(f.data); f = await c.captureFrame({ format: "bgra" }); }
        out.bgraMs = (Date.now() - t0) / 10;
        out.grabMs = f.grabMs;
        const b = new Uint8Array(f.data);
        out.frame = { status: f.status, width: f.width, height: f.height, stride: f.stride, x: f.x, y: f.y };
        out.px = ${JSON.stringify(QUADRANTS.map((q) => [q.x, q.y]))}.map(([x, y]) => { const o = y * f.stride + x * 4; return [b[o + 2], b[o + 1], b[o]]; });
        out.outside = (() => { const o = 20 * f.stride + 20 * 4; return [b[o + 2], b[o + 1], b[o]]; })();
        c.releaseFrame(f.data);
        const into = new Uint8Array(f.width * f.height * 3 / 2);
        const t1 = Date.now();
        for (let i = 0; i < 10; i++) f = await c.captureFrame({ format: "i420", into });
        out.i420Ms = (Date.now() - t1) / 10;
        out.y = ${JSON.stringify(QUADRANTS.map((q) => [q.x, q.y]))}.map(([x, y]) => into[y * f.width + x]);
        c.close();
        fs.writeFileSync(process.argv[2], JSON.stringify(out));
      })().catch((e) => fs.writeFileSync(process.argv[2], JSON.stringify({ error: String(e.stack) })));`);
    expect(r["error"]).toBeUndefined();
    expect(r["damageTracking"]).toBe(false); // GDI: Wine implements no DuplicateOutput
    expect(r["area"]).toEqual({ x: 0, y: 0, width: 1280, height: 800 });
    expect(r["monitors"]).toEqual([{ name: "\\\\.\\DISPLAY1", primary: true, x: 0, y: 0, width: 1280, height: 800 }]);
    expect(r["frame"]).toEqual({ status: "ok", width: 1280, height: 800, stride: 1280 * 4, x: 0, y: 0 });
    expect(r["px"]).toEqual(QUADRANTS.map((q) => q.rgb));
    expect(r["outside"]).not.toEqual([255, 0, 0]);
    // libyuv's BT.601 limited range (ARGBToI420's integer formula).
    expect(r["y"]).toEqual(QUADRANTS.map(({ rgb: [red, green, blue] }) => (66 * red + 129 * green + 25 * blue + 0x1080) >> 8));
    console.log(
      `windows capture under Wine, 1280x800: BGRA ${String(r["bgraMs"])} ms/frame (grab ${String(r["grabMs"])} ms), I420 ${String(r["i420Ms"])} ms/frame`,
    );
  });

  it("SendInput's clicks, wheel, keys and text reach the test window; close() releases what is held", async () => {
    const before = logLines().length;
    const r = inNode(`
      const fs = require("fs");
      const a = require(process.argv[3]);
      const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
      (async () => {
        const i = new a.Injector({});
        const area = i.area;
        i.moveMouse(150, 200); await sleep(100);
        i.button("left"); await sleep(100);
        i.moveMouse(450, 400); await sleep(100);
        i.button("right"); await sleep(100);
        i.wheel(0, 2); await sleep(100);
        i.key("KeyA"); await sleep(50);
        i.key("KeyB", "press", { shift: true }); await sleep(50);
        i.key("ArrowLeft"); await sleep(50);
        i.text("é€"); await sleep(50);
        i.key("ControlLeft", "down");
        i.button("left", "down"); await sleep(50);
        i.close(); await sleep(200);
        let closed;
        try { i.moveMouse(1, 1); } catch (e) { closed = e.code; }
        fs.writeFileSync(process.argv[2], JSON.stringify({ area, closed }));
      })().catch((e) => fs.writeFileSync(process.argv[2], JSON.stringify({ error: String(e.stack) })));`);
    expect(r["error"]).toBeUndefined();
    expect(r["area"]).toEqual({ x: 0, y: 0, width: 1280, height: 800 });
    expect(r["closed"]).toBe("ERR_CLOSED");
    const lines = await waitFor("the input in the window's log", () => {
      const l = logLines().slice(before);
      return l.filter((x) => x.startsWith("button left up")).length >= 2 ? l : undefined;
    });
    // Screen (150, 200) is client (50, 50): the window is at (100, 150).
    expect(lines).toEqual([
      "button left down 50 50",
      "button left up 50 50",
      "button right down 350 250",
      "button right up 350 250",
      "wheel vertical -240",
      "key down vk=41 scan=1e ext=0",
      "char U+0061",
      "key up vk=41 scan=1e ext=0",
      "key down vk=10 scan=2a ext=0",
      "key down vk=42 scan=30 ext=0",
      "char U+0042",
      "key up vk=42 scan=30 ext=0",
      "key up vk=10 scan=2a ext=0",
      "key down vk=25 scan=4b ext=1",
      "key up vk=25 scan=4b ext=1",
      "key down vk=e7 scan=e9 ext=0",
      "char U+00E9",
      "key up vk=e7 scan=e9 ext=0",
      "key down vk=e7 scan=ac ext=0",
      "char U+20AC",
      "key up vk=e7 scan=ac ext=0",
      "key down vk=11 scan=1d ext=0",
      "button left down 350 250",
      // close(): everything held is lifted
      "key up vk=11 scan=1d ext=0",
      "button left up 350 250",
    ]);
  });
});

describe("two monitors under Wine (Xinerama heads from two RandR monitors on one Xvfb screen)", () => {
  it("monitors() lists both with their places, and capturing the second shows the test window on it", async () => {
    const [DISPLAY1, DISPLAY2] = ["\\\\.\\DISPLAY1", "\\\\.\\DISPLAY2"];
    const w2 = wine2!;
    const log = path.join(w2.dir, "window.log");
    // The test window on the right monitor (x 640..1280): at (700, 100), 400x300.
    const win = w2.start(testWindow, ["700", "100", "400", "300", winPath(log)]);
    try {
      await waitFor("the test window", () => (existsSync(log) && readFileSync(log, "utf8").includes("ready") ? true : undefined), 30_000);
      const quadrants = [
        [800, 175, [255, 0, 0]],
        [1000, 175, [0, 255, 0]],
        [800, 325, [0, 0, 255]],
        [1000, 325, [255, 255, 255]],
      ] as const;
      const r = runNodeScript(
        w2,
        wineNode,
        `
        const fs = require("fs");
        const a = require(process.argv[3]);
        (async () => {
          const out = {};
          const all = new a.Capturer({});
          out.monitors = all.monitors();
          out.area = all.area;
          all.close();
          for (const name of ${JSON.stringify([DISPLAY1, DISPLAY2])}) {
            const c = new a.Capturer({ monitor: name });
            const f = await c.captureFrame({ format: "bgra" });
            const b = new Uint8Array(f.data);
            // The quadrants' places relative to the right monitor, read in each monitor's frame.
            out[name] = { area: c.area, frame: { width: f.width, height: f.height, x: f.x, y: f.y },
              px: ${JSON.stringify(quadrants.map(([x, y]) => [x - 640, y]))}.map(([x, y]) => {
                const o = y * f.stride + x * 4; return [b[o + 2], b[o + 1], b[o]]; }) };
            c.close();
          }
          fs.writeFileSync(process.argv[2], JSON.stringify(out));
        })().catch((e) => fs.writeFileSync(process.argv[2], JSON.stringify({ error: String(e.stack) })));`,
        [winPath(addon)],
      ) as Record<string, unknown>;
      expect(r["error"]).toBeUndefined();
      expect(r["monitors"]).toEqual([
        { name: DISPLAY1, primary: true, x: 0, y: 0, width: 640, height: 800 },
        { name: DISPLAY2, primary: false, x: 640, y: 0, width: 640, height: 800 },
      ]);
      expect(r["area"]).toEqual({ x: 0, y: 0, width: 1280, height: 800 }); // no monitor chosen: the virtual desktop
      const second = r[DISPLAY2] as Record<string, unknown>;
      expect(second["area"]).toEqual({ x: 640, y: 0, width: 640, height: 800 });
      expect(second["frame"]).toEqual({ width: 640, height: 800, x: 640, y: 0 });
      expect(second["px"]).toEqual(quadrants.map(([, , rgb]) => rgb));
      const first = r[DISPLAY1] as Record<string, unknown>;
      expect(first["area"]).toEqual({ x: 0, y: 0, width: 640, height: 800 });
      expect(first["frame"]).toEqual({ width: 640, height: 800, x: 0, y: 0 });
      // The same places in the first monitor's frame do not show the window.
      for (const [k, px] of (first["px"] as number[][]).entries()) expect(px).not.toEqual(quadrants[k]![2]);
    } finally {
      win.kill();
    }
  }, 60_000);
});
