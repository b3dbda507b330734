// Capture benchmark: `npm run bench:capture` (runs dist/scripts/bench-capture.js after the build).
// Starts its own 1920x1080 Xvfb, measures the native core, and as the baseline in the same run the
// frame rate of ffmpeg's x11grab on the same display. Prints a markdown table and writes JSON to
// bench-results/capture.json.
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { i420Size, ScreenCapturer, type CaptureResult, type Frame } from "../src/native/index.js";
import { TestXClient } from "../test/support/x11-client.js";
import { startXvfb } from "../test/support/xvfb.js";

const WIDTH = 1920;
const HEIGHT = 1080;
const SAMPLES = Number(process.env["BENCH_SAMPLES"] ?? 300);
const SECONDS = Number(process.env["BENCH_SECONDS"] ?? 5);

interface Row {
  metric: string;
  p50: number | null;
  p95: number | null;
  value: string;
  target: string;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

function ok(result: CaptureResult): Frame {
  if (result.status !== "ok") throw new Error(`capture failed: ${JSON.stringify(result)}`);
  return result.frame;
}

const fmt = (n: number | null, digits = 3): string => (n === null ? "" : n.toFixed(digits));

/** Frames per second that ffmpeg's x11grab sustains (shared memory, no pointer). */
async function ffmpegFps(display: string, seconds: number, toYuv: boolean): Promise<number> {
  const args = [
    "-hide_banner",
    "-nostdin",
    "-f",
    "x11grab",
    "-draw_mouse",
    "0",
    "-framerate",
    "1000",
    "-video_size",
    `${WIDTH}x${HEIGHT}`,
    "-i",
    `${display}+0,0`,
    "-t",
    String(seconds),
    ...(toYuv ? ["-pix_fmt", "yuv420p", "-c:v", "rawvideo"] : ["-c:v", "rawvideo"]),
    "-f",
    "null",
    "-",
  ];
  const child = spawn("ffmpeg", args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const started = performance.now();
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", (e) => reject(new Error(`cannot run ffmpeg (apt-get install ffmpeg): ${e.message}`)));
    child.once("exit", resolve);
  });
  const elapsed = (performance.now() - started) / 1000;
  const frames = [...stderr.matchAll(/frame=\s*(\d+)/g)].at(-1)?.[1];
  if (code !== 0 || frames === undefined) throw new Error(`ffmpeg failed (${String(code)}): ${stderr.slice(-500)}`);
  return Number(frames) / Math.min(elapsed, seconds);
}

async function main(): Promise<void> {
  const xvfb = await startXvfb({ width: WIDTH, height: HEIGHT });
  let client: TestXClient | undefined;
  const rows: Row[] = [];
  try {
    client = await TestXClient.start(xvfb.display);
    // Busy content so that the frames are not trivially compressible memory.
    for (let i = 0; i < 64; i++) {
      await client.fill((i * 97) % WIDTH, (i * 53) % HEIGHT, 300, 200, (i * 2654435761) & 0xffffff);
    }
    const into = new Uint8Array(i420Size(WIDTH, HEIGHT));

    // 1. Full grabs (no change tracking), BGRA, and full grab + BGRA->I420 conversion.
    const full = ScreenCapturer.open({ display: xvfb.display, damage: false });
    const grab: number[] = [];
    const wallBgra: number[] = [];
    for (let i = 0; i < 20; i++) ok(await full.capture({ cursor: false })).release(); // warm-up
    for (let i = 0; i < SAMPLES; i++) {
      const t0 = performance.now();
      const frame = ok(await full.capture({ cursor: false }));
      wallBgra.push(performance.now() - t0);
      grab.push(frame.grabMs);
      frame.release();
    }
    const convert: number[] = [];
    const grabConvert: number[] = [];
    const wallI420: number[] = [];
    for (let i = 0; i < 20; i++) await full.capture({ format: "i420", into, cursor: false });
    for (let i = 0; i < SAMPLES; i++) {
      const t0 = performance.now();
      const frame = ok(await full.capture({ format: "i420", into, cursor: false }));
      wallI420.push(performance.now() - t0);
      convert.push(frame.convertMs);
      grabConvert.push(frame.grabMs + frame.convertMs);
    }
    // Sustained rate of full grab + I420, back to back.
    let frames = 0;
    const sustainStart = performance.now();
    while (performance.now() - sustainStart < SECONDS * 1000) {
      ok(await full.capture({ format: "i420", into, cursor: false }));
      frames++;
    }
    const sustainedFps = frames / ((performance.now() - sustainStart) / 1000);
    full.close();

    // 2. Damage-only: a 64x64 square changes before each capture; incremental I420.
    const damage = ScreenCapturer.open({ display: xvfb.display });
    ok(await damage.capture({ format: "i420", into, cursor: false }));
    const damageGrab: number[] = [];
    const damageTotal: number[] = [];
    const damageWall: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      await client.fill((i * 131) % (WIDTH - 64), (i * 71) % (HEIGHT - 64), 64, 64, (i * 40503) & 0xffffff);
      const t0 = performance.now();
      const frame = ok(await damage.capture({ format: "i420", into, incremental: true, cursor: false }));
      damageWall.push(performance.now() - t0);
      if (frame.updatedRects.length === 0) throw new Error("damage-only capture saw no damage");
      damageGrab.push(frame.grabMs);
      damageTotal.push(frame.grabMs + frame.convertMs);
    }

    // 3. Idle screen at 60 fps through the async iterator (incremental I420, pointer included).
    const before = damage.stats();
    const cpuBefore = process.cpuUsage();
    const idleStart = performance.now();
    let idleFrames = 0;
    for await (const frame of damage.frames({ fps: 60, format: "i420" })) {
      void frame;
      idleFrames++;
      if (performance.now() - idleStart >= SECONDS * 1000) break;
    }
    const idleWall = performance.now() - idleStart;
    const after = damage.stats();
    const cpu = process.cpuUsage(cpuBefore);
    const threadCpuPct = ((after.cpuMs - before.cpuMs) / idleWall) * 100;
    const processCpuPct = ((cpu.user + cpu.system) / 1000 / idleWall) * 100;
    damage.close();

    // 4. Baseline: ffmpeg x11grab on the same display, same run.
    const ffRaw = await ffmpegFps(xvfb.display, SECONDS, false);
    const ffYuv = await ffmpegFps(xvfb.display, SECONDS, true);

    rows.push(
      {
        metric: "full grab (XShmGetImage 1920x1080 BGRA, native)",
        p50: percentile(grab, 50),
        p95: percentile(grab, 95),
        value: "ms",
        target: "",
      },
      {
        metric: "BGRA→I420 conversion (libyuv ARGBToI420, full frame)",
        p50: percentile(convert, 50),
        p95: percentile(convert, 95),
        value: "ms",
        target: "",
      },
      {
        metric: "full grab + I420 (native)",
        p50: percentile(grabConvert, 50),
        p95: percentile(grabConvert, 95),
        value: "ms",
        target: "≤ 2.5 ms p50",
      },
      {
        metric: "full grab + I420, capture() round trip from JS",
        p50: percentile(wallI420, 50),
        p95: percentile(wallI420, 95),
        value: "ms",
        target: "",
      },
      {
        metric: "full grab BGRA, capture() round trip from JS",
        p50: percentile(wallBgra, 50),
        p95: percentile(wallBgra, 95),
        value: "ms",
        target: "",
      },
      {
        metric: "damage-only grab (64x64 changed: damage fetch + band grab, native)",
        p50: percentile(damageGrab, 50),
        p95: percentile(damageGrab, 95),
        value: "ms",
        target: "≤ 0.5 ms",
      },
      {
        metric: "damage-only grab + incremental I420 (native)",
        p50: percentile(damageTotal, 50),
        p95: percentile(damageTotal, 95),
        value: "ms",
        target: "",
      },
      {
        metric: "damage-only capture() round trip from JS",
        p50: percentile(damageWall, 50),
        p95: percentile(damageWall, 95),
        value: "ms",
        target: "",
      },
      {
        metric: "sustained full grab + I420, back to back",
        p50: null,
        p95: null,
        value: `${sustainedFps.toFixed(1)} fps`,
        target: "≥ 60 fps",
      },
      {
        metric: `idle screen at 60 fps (${idleFrames} frames): capture thread CPU`,
        p50: null,
        p95: null,
        value: `${threadCpuPct.toFixed(2)} % of a core`,
        target: "≤ 1 %",
      },
      {
        metric: "idle screen at 60 fps: whole process CPU (incl. JS timers)",
        p50: null,
        p95: null,
        value: `${processCpuPct.toFixed(2)} % of a core`,
        target: "",
      },
      {
        metric: "baseline: ffmpeg -f x11grab, raw BGRA (as fast as it goes)",
        p50: null,
        p95: null,
        value: `${ffRaw.toFixed(1)} fps`,
        target: "",
      },
      { metric: "baseline: ffmpeg -f x11grab → yuv420p (swscale)", p50: null, p95: null, value: `${ffYuv.toFixed(1)} fps`, target: "" },
    );
  } finally {
    await client?.stop();
    await xvfb.stop();
  }

  const lines = [
    `Capture benchmark — ${WIDTH}x${HEIGHT} Xvfb, ${SAMPLES} samples, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "cpu"}), Node ${process.version}`,
    "",
    "| metric | p50 | p95 | value | target |",
    "| --- | ---: | ---: | --- | --- |",
    ...rows.map((r) => `| ${r.metric} | ${fmt(r.p50)} | ${fmt(r.p95)} | ${r.value} | ${r.target} |`),
  ];
  console.log(lines.join("\n"));
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
  const outDir = path.join(root, "bench-results"); // root: dist/scripts/../.. = the repository
  mkdirSync(outDir, { recursive: true });
  const outFile = path.join(outDir, "capture.json");
  writeFileSync(
    outFile,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        width: WIDTH,
        height: HEIGHT,
        samples: SAMPLES,
        node: process.version,
        cpus: os.cpus().length,
        rows,
      },
      null,
      2,
    ),
  );
  console.log(`\nwritten to ${outFile}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
