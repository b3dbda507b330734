// Screen capture under a private Xvfb: pixels, I420 planes, damage rectangles, the frame pool,
// the fallback without DAMAGE, monitors, the cursor and a resolution change.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { InputInjector, ScreenCapturer, type BgraFrame, type CaptureResult, type Frame, type I420Frame } from "../src/native/index.js";
import { TestXClient } from "./support/x11-client.js";
import { startXvfb, type Xvfb } from "./support/xvfb.js";

const RED = 0xff0000;
const GREEN = 0x00ff00;
const BLUE = 0x0000ff;
const BLACK = 0x000000;

function okFrame(result: CaptureResult): Frame {
  if (result.status !== "ok") throw new Error(`capture: ${result.status} ${JSON.stringify(result)}`);
  return result.frame;
}

function bgra(result: CaptureResult): BgraFrame {
  const frame = okFrame(result);
  if (frame.format !== "bgra") throw new Error("expected a BGRA frame");
  return frame;
}

function i420(result: CaptureResult): I420Frame {
  const frame = okFrame(result);
  if (frame.format !== "i420") throw new Error("expected an I420 frame");
  return frame;
}

/** 0xRRGGBB at (x, y) of a BGRA frame. */
function rgbAt(frame: BgraFrame, x: number, y: number): number {
  const o = y * frame.stride + x * 4;
  const b = frame.data[o] ?? -1;
  const g = frame.data[o + 1] ?? -1;
  const r = frame.data[o + 2] ?? -1;
  return (r << 16) | (g << 8) | b;
}

/** libyuv's BT.601 limited-range integer formulas (ARGBToI420). */
function expectedYuv(rgb: number): [number, number, number] {
  const r = (rgb >> 16) & 0xff;
  const g = (rgb >> 8) & 0xff;
  const b = rgb & 0xff;
  const y = (66 * r + 129 * g + 25 * b + 0x1080) >> 8;
  const u = (112 * b - 74 * g - 38 * r + 0x8080) >> 8;
  const v = (112 * r - 94 * g - 18 * b + 0x8080) >> 8;
  return [y, u, v];
}

/** Same pixels in both frames (the 4th byte of each pixel is unspecified and skipped). */
function samePixels(a: BgraFrame, b: BgraFrame): boolean {
  if (a.width !== b.width || a.height !== b.height) return false;
  for (let y = 0; y < a.height; y++) {
    const oa = y * a.stride;
    const ob = y * b.stride;
    for (let x = 0; x < a.width * 4; x += 4) {
      if (a.data[oa + x] !== b.data[ob + x] || a.data[oa + x + 1] !== b.data[ob + x + 1] || a.data[oa + x + 2] !== b.data[ob + x + 2]) {
        return false;
      }
    }
  }
  return true;
}

describe("native screen capture (X11, Xvfb)", () => {
  let xvfb: Xvfb;
  let client: TestXClient;

  beforeAll(async () => {
    xvfb = await startXvfb();
    client = await TestXClient.start(xvfb.display);
  }, 30000);

  afterAll(async () => {
    await client?.stop();
    await xvfb?.stop();
  });

  it("grabs the whole screen as BGRA with the colours drawn", async () => {
    await client.fill(0, 0, 1920, 1080, BLACK);
    await client.fill(100, 100, 200, 100, RED);
    await client.fill(500, 300, 50, 50, GREEN);
    await client.fill(1900, 1060, 20, 20, BLUE);
    const capturer = ScreenCapturer.open({ display: xvfb.display });
    try {
      expect(capturer.area).toEqual({ x: 0, y: 0, width: 1920, height: 1080 });
      expect(capturer.damageTracking).toBe(true);
      const frame = bgra(await capturer.capture());
      expect(frame).toMatchObject({ width: 1920, height: 1080, x: 0, y: 0, full: true, sequence: 1 });
      expect(frame.stride).toBeGreaterThanOrEqual(1920 * 4);
      expect(frame.data.byteLength).toBe(frame.stride * 1080);
      expect(frame.updatedRects).toEqual([{ x: 0, y: 0, width: 1920, height: 1080 }]);
      expect(rgbAt(frame, 100, 100)).toBe(RED);
      expect(rgbAt(frame, 299, 199)).toBe(RED);
      expect(rgbAt(frame, 300, 199)).toBe(BLACK);
      expect(rgbAt(frame, 99, 100)).toBe(BLACK);
      expect(rgbAt(frame, 100, 200)).toBe(BLACK);
      expect(rgbAt(frame, 525, 325)).toBe(GREEN);
      expect(rgbAt(frame, 1919, 1079)).toBe(BLUE);
      expect(rgbAt(frame, 1899, 1079)).toBe(BLACK);
      frame.release();
      expect(frame.data.byteLength).toBe(0); // released: detached, so stale pixels are unreadable
      frame.release(); // idempotent
    } finally {
      capturer.close();
    }
  });

  it("converts to I420 planes that match the BT.601 formulas and the BGRA frame", async () => {
    await client.fill(0, 0, 1920, 1080, BLACK);
    await client.fill(0, 0, 640, 540, RED);
    await client.fill(640, 0, 640, 540, GREEN);
    await client.fill(1280, 0, 640, 540, BLUE);
    await client.fill(0, 540, 960, 540, 0xffffff);
    await client.fill(960, 540, 960, 540, 0x336699);
    const capturer = ScreenCapturer.open({ display: xvfb.display });
    try {
      const into = new Uint8Array(1920 * 1080 * 1.5);
      const frame = i420(await capturer.capture({ format: "i420", into }));
      expect(frame.data).toBe(into); // converted straight into the caller's buffer
      expect(frame.strideY).toBe(1920);
      expect(frame.strideUV).toBe(960);
      expect(frame.yPlane.length).toBe(1920 * 1080);
      expect(frame.uPlane.length).toBe(960 * 540);
      expect(frame.vPlane.length).toBe(960 * 540);
      const probes: Array<[number, number, number]> = [
        [320, 270, RED],
        [960, 270, GREEN],
        [1600, 270, BLUE],
        [480, 810, 0xffffff],
        [1440, 810, 0x336699],
      ];
      for (const [x, y, rgb] of probes) {
        const [ey, eu, ev] = expectedYuv(rgb);
        const cy = frame.yPlane[y * 1920 + x] ?? -1;
        const cu = frame.uPlane[(y >> 1) * 960 + (x >> 1)] ?? -1;
        const cv = frame.vPlane[(y >> 1) * 960 + (x >> 1)] ?? -1;
        expect(Math.abs(cy - ey), `Y at ${x},${y}`).toBeLessThanOrEqual(1);
        expect(Math.abs(cu - eu), `U at ${x},${y}`).toBeLessThanOrEqual(1);
        expect(Math.abs(cv - ev), `V at ${x},${y}`).toBeLessThanOrEqual(1);
      }
      // Every luma sample against the BGRA pixels of the same screen.
      const full = bgra(await capturer.capture({ format: "bgra" }));
      let worst = 0;
      for (let y = 0; y < 1080; y += 3) {
        for (let x = 0; x < 1920; x += 7) {
          const [ey] = expectedYuv(rgbAt(full, x, y));
          worst = Math.max(worst, Math.abs((frame.yPlane[y * 1920 + x] ?? -1) - ey));
        }
      }
      expect(worst).toBeLessThanOrEqual(1);
      full.release();
      await expect(capturer.capture({ format: "i420", into: new Uint8Array(100) })).rejects.toMatchObject({
        code: "ERR_BAD_ARGUMENT",
      });
    } finally {
      capturer.close();
    }
  });

  it("reports damage rectangles and nothing when the screen is unchanged", async () => {
    await client.fill(0, 0, 1920, 1080, BLACK);
    const capturer = ScreenCapturer.open({ display: xvfb.display });
    try {
      bgra(await capturer.capture()).release();
      const quiet = bgra(await capturer.capture());
      expect(quiet.updatedRects).toEqual([]);
      expect(quiet.full).toBe(false);
      quiet.release();

      await client.fill(300, 200, 40, 30, GREEN);
      const changed = bgra(await capturer.capture());
      expect(changed.updatedRects).toEqual([{ x: 300, y: 200, width: 40, height: 30 }]);
      expect(rgbAt(changed, 300, 200)).toBe(GREEN);
      expect(rgbAt(changed, 339, 229)).toBe(GREEN);
      expect(rgbAt(changed, 340, 229)).toBe(BLACK);
      changed.release();

      await client.fill(10, 10, 5, 5, RED);
      await client.fill(1000, 900, 100, 50, BLUE);
      const two = bgra(await capturer.capture());
      const sorted = [...two.updatedRects].sort((a, b) => a.y - b.y);
      expect(sorted).toEqual([
        { x: 10, y: 10, width: 5, height: 5 },
        { x: 1000, y: 900, width: 100, height: 50 },
      ]);
      expect(rgbAt(two, 1099, 949)).toBe(BLUE);
      expect(rgbAt(two, 12, 12)).toBe(RED);
      two.release();

      const again = bgra(await capturer.capture());
      expect(again.updatedRects).toEqual([]);
      again.release();
    } finally {
      capturer.close();
    }
  });

  it("waits off the JavaScript thread for the screen to change (waitMs), and close() cuts a wait short", async () => {
    await client.fill(0, 0, 1920, 1080, BLACK);
    const capturer = ScreenCapturer.open({ display: xvfb.display });
    try {
      bgra(await capturer.capture()).release();
      bgra(await capturer.capture()).release(); // settled: nothing pending

      // A still screen: the capture comes after the wait, with nothing updated; timers ran meanwhile.
      let ticks = 0;
      const timer = setInterval(() => ticks++, 20);
      let t = performance.now();
      const still = bgra(await capturer.capture({ waitMs: 400 }));
      const stillMs = performance.now() - t;
      clearInterval(timer);
      expect(still.updatedRects).toEqual([]);
      still.release();
      expect(stillMs).toBeGreaterThanOrEqual(390);
      expect(ticks).toBeGreaterThanOrEqual(5);

      // A change ends the wait at once (long before the 8 s), and the frame carries it.
      t = performance.now();
      const pending = capturer.capture({ waitMs: 8000 });
      await new Promise((r) => setTimeout(r, 150));
      await client.fill(500, 400, 30, 20, RED);
      const changed = bgra(await pending);
      expect(performance.now() - t).toBeLessThan(4000);
      expect(changed.updatedRects).toEqual([{ x: 500, y: 400, width: 30, height: 20 }]);
      expect(rgbAt(changed, 510, 410)).toBe(RED);
      changed.release();

      // close() during a wait neither blocks the JavaScript thread nor leaves the wait running.
      const waiting = capturer.capture({ waitMs: 8000 });
      await new Promise((r) => setTimeout(r, 100));
      t = performance.now();
      capturer.close();
      expect(performance.now() - t).toBeLessThan(1000);
      await expect(waiting).rejects.toMatchObject({ code: "ERR_CLOSED" });
      expect(performance.now() - t).toBeLessThan(2000);
    } finally {
      capturer.close();
    }
  });

  it("ends a wait when the pointer moves on a still screen (XInput 2), so the pointer needs no polling", async () => {
    const injector = InputInjector.open({ display: xvfb.display });
    const capturer = ScreenCapturer.open({ display: xvfb.display });
    try {
      expect(capturer.pointerEvents).toBe(true);
      injector.moveMouse(100, 100);
      bgra(await capturer.capture({ cursor: true })).release();
      bgra(await capturer.capture({ cursor: true })).release(); // settled

      // Nothing moves: the wait runs its length.
      let t = performance.now();
      const still = bgra(await capturer.capture({ waitMs: 300, cursor: true }));
      expect(performance.now() - t).toBeGreaterThanOrEqual(290);
      still.release();

      // A move (XTest, like the agent's own input) ends an 8 s wait at once, with the new position.
      t = performance.now();
      const pending = capturer.capture({ waitMs: 8000, cursor: true });
      await new Promise((r) => setTimeout(r, 100));
      injector.moveMouse(640, 360);
      const moved = bgra(await pending);
      expect(performance.now() - t).toBeLessThan(2000);
      expect(moved.cursor).toMatchObject({ x: 640, y: 360 });
      expect(moved.updatedRects).toEqual([]);
      moved.release();

      // A second move right after is held back to the 16 ms cadence, not dropped.
      injector.moveMouse(650, 370);
      t = performance.now();
      const next = bgra(await capturer.capture({ waitMs: 8000, cursor: true }));
      expect(performance.now() - t).toBeLessThan(1000);
      expect(next.cursor).toMatchObject({ x: 650, y: 370 });
      next.release();
    } finally {
      injector.close();
      capturer.close();
    }
  });

  it("rejects a waitMs outside 0..10000 with ERR_BAD_ARGUMENT", async () => {
    const capturer = ScreenCapturer.open({ display: xvfb.display });
    try {
      for (const waitMs of [-1, 10001, 1.5, Number.NaN, "5" as unknown as number]) {
        await expect(capturer.capture({ waitMs }), String(waitMs)).rejects.toMatchObject({ code: "ERR_BAD_ARGUMENT" });
      }
      bgra(await capturer.capture({ waitMs: 0 })).release(); // still usable
    } finally {
      capturer.close();
    }
  });

  it("converts only the damaged rows incrementally, with the same result as a full conversion", async () => {
    await client.fill(0, 0, 1920, 1080, 0x102030);
    const capturer = ScreenCapturer.open({ display: xvfb.display });
    const reference = ScreenCapturer.open({ display: xvfb.display, damage: false });
    try {
      const incremental = new Uint8Array(1920 * 1080 * 1.5);
      i420(await capturer.capture({ format: "i420", into: incremental }));
      await client.fill(301, 201, 33, 17, 0xc0ffee); // odd edges: chroma rows straddle them
      await client.fill(1500, 1001, 7, 79, 0x800080);
      const step = i420(await capturer.capture({ format: "i420", into: incremental, incremental: true }));
      expect(step.updatedRects.length).toBe(2);
      const full = new Uint8Array(1920 * 1080 * 1.5);
      const ref = i420(await reference.capture({ format: "i420", into: full }));
      expect(ref.full).toBe(true);
      expect(Buffer.compare(Buffer.from(incremental), Buffer.from(full))).toBe(0);
    } finally {
      capturer.close();
      reference.close();
    }
  });

  it("recycles pooled buffers and brings a stale one up to date", async () => {
    await client.fill(0, 0, 1920, 1080, BLACK);
    const capturer = ScreenCapturer.open({ display: xvfb.display, maxBuffers: 2 });
    const reference = ScreenCapturer.open({ display: xvfb.display, damage: false });
    try {
      const f1 = bgra(await capturer.capture());
      await client.fill(50, 60, 70, 80, RED);
      const f2 = bgra(await capturer.capture());
      expect(rgbAt(f2, 50, 60)).toBe(RED);
      expect(rgbAt(f1, 50, 60)).toBe(BLACK); // a held frame does not change under its holder
      const exhausted = await capturer.capture();
      expect(exhausted).toMatchObject({ status: "temporary-error", code: "ERR_BUSY" });
      f1.release();
      await client.fill(900, 500, 10, 10, GREEN);
      const f4 = bgra(await capturer.capture()); // reuses f1's buffer: needs both changes
      expect(f4.updatedRects).toEqual([{ x: 900, y: 500, width: 10, height: 10 }]);
      const truth = bgra(await reference.capture());
      expect(samePixels(f4, truth)).toBe(true);
      f2.release();
      f4.release();
      truth.release();
    } finally {
      capturer.close();
      reference.close();
    }
  });

  it("yields frames from the async iterator and stops on break", async () => {
    const capturer = ScreenCapturer.open({ display: xvfb.display });
    try {
      const seen: number[] = [];
      for await (const frame of capturer.frames({ fps: 60, format: "i420" })) {
        expect(frame.format).toBe("i420");
        seen.push(frame.sequence);
        if (seen.length === 3) break;
      }
      expect(seen).toEqual([1, 2, 3]);
    } finally {
      capturer.close();
    }
  });

  it("lists monitors and captures one of them", async () => {
    await xvfb.x("xrandr", ["--setmonitor", "left", "960/254x1080/286+0+0", "none"]);
    await xvfb.x("xrandr", ["--setmonitor", "*right", "960/254x1080/286+960+0", "none"]);
    try {
      await client.fill(0, 0, 1920, 1080, BLACK);
      await client.fill(1000, 10, 20, 20, 0xff00ff);
      const capturer = ScreenCapturer.open({ display: xvfb.display, monitor: "right" });
      try {
        const monitors = capturer.monitors();
        expect(monitors[0]).toEqual({ name: "right", x: 960, y: 0, width: 960, height: 1080, primary: true });
        expect(monitors).toContainEqual({ name: "left", x: 0, y: 0, width: 960, height: 1080, primary: false });
        expect(capturer.area).toEqual({ x: 960, y: 0, width: 960, height: 1080 });
        const frame = bgra(await capturer.capture());
        expect(frame).toMatchObject({ width: 960, height: 1080, x: 960, y: 0 });
        expect(rgbAt(frame, 40, 10)).toBe(0xff00ff);
        expect(rgbAt(frame, 39, 10)).toBe(BLACK);
        frame.release();
        // Damage outside the monitor is not reported; inside it is, in monitor coordinates.
        await client.fill(100, 100, 10, 10, RED);
        await client.fill(1500, 700, 10, 10, RED);
        const step = bgra(await capturer.capture());
        expect(step.updatedRects).toEqual([{ x: 540, y: 700, width: 10, height: 10 }]);
        step.release();

        expect(capturer.selectMonitor("left")).toEqual({ x: 0, y: 0, width: 960, height: 1080 });
        const left = bgra(await capturer.capture());
        expect(left).toMatchObject({ width: 960, x: 0, full: true });
        expect(rgbAt(left, 105, 105)).toBe(RED);
        left.release();
        expect(() => capturer.selectMonitor("nope")).toThrow(
          expect.objectContaining({ code: "ERR_BAD_ARGUMENT", message: expect.stringContaining("left") }),
        );
      } finally {
        capturer.close();
      }
      expect(() => ScreenCapturer.open({ display: xvfb.display, monitor: "missing" })).toThrow(
        expect.objectContaining({ code: "ERR_BAD_ARGUMENT" }),
      );
    } finally {
      await xvfb.x("xrandr", ["--delmonitor", "left"]);
      await xvfb.x("xrandr", ["--delmonitor", "right"]);
    }
  });

  it("delivers the cursor position and shape apart from the frame", async () => {
    await client.setCursor();
    const injector = InputInjector.open({ display: xvfb.display });
    const capturer = ScreenCapturer.open({ display: xvfb.display });
    try {
      injector.moveMouse(700, 400);
      const frame = bgra(await capturer.capture());
      const cursor = frame.cursor;
      expect(cursor).toMatchObject({ x: 700, y: 400, visible: true });
      const shape = cursor?.shape;
      expect(shape).toMatchObject({ width: 16, height: 16, hotX: 3, hotY: 5 });
      const px = (x: number, y: number): number[] => [...(shape?.data.subarray((y * 16 + x) * 4, (y * 16 + x) * 4 + 4) ?? [])];
      expect(px(0, 0)).toEqual([0, 0, 255, 255]); // red, opaque (BGRA)
      expect(px(15, 15)).toEqual([255, 0, 0, 255]); // blue
      frame.release();
      injector.moveMouse(10, 20);
      const next = bgra(await capturer.capture());
      expect(next.cursor?.x).toBe(10);
      expect(next.cursor?.y).toBe(20);
      expect(next.cursor?.shape).toBeUndefined(); // unchanged shape is not sent again
      next.release();
    } finally {
      injector.close();
      capturer.close();
    }
  });

  it("falls back to full grabs on a display without DAMAGE", async () => {
    const bare = await startXvfb({ width: 800, height: 600, disable: ["DAMAGE"] });
    const bareClient = await TestXClient.start(bare.display);
    try {
      await bareClient.fill(10, 10, 20, 20, RED);
      const capturer = ScreenCapturer.open({ display: bare.display });
      try {
        expect(capturer.damageTracking).toBe(false);
        const first = bgra(await capturer.capture());
        expect(rgbAt(first, 15, 15)).toBe(RED);
        first.release();
        await bareClient.fill(100, 100, 5, 5, GREEN);
        const second = bgra(await capturer.capture());
        expect(second.full).toBe(true);
        expect(second.updatedRects).toEqual([{ x: 0, y: 0, width: 800, height: 600 }]);
        expect(rgbAt(second, 102, 102)).toBe(GREEN);
        second.release();
        // Without change tracking there is nothing to wait for: waitMs grabs at once.
        const t = performance.now();
        bgra(await capturer.capture({ waitMs: 5000 })).release();
        expect(performance.now() - t).toBeLessThan(2000);
      } finally {
        capturer.close();
      }
    } finally {
      await bareClient.stop();
      await bare.stop();
    }
  }, 30000);

  it("reports a resolution change and goes on at the new size", async () => {
    const capturer = ScreenCapturer.open({ display: xvfb.display });
    try {
      bgra(await capturer.capture()).release();
      await xvfb.x("xrandr", ["--newmode", "1280x720_t", "74.25", "1280", "1390", "1430", "1650", "720", "725", "730", "750"]);
      await xvfb.x("xrandr", ["--addmode", "screen", "1280x720_t"]);
      await xvfb.x("xrandr", ["--output", "screen", "--mode", "1280x720_t", "--fb", "1280x720"]);
      await client.fill(1270, 710, 10, 10, GREEN);
      const changed = await capturer.capture();
      expect(changed).toMatchObject({ status: "display-changed", area: { x: 0, y: 0, width: 1280, height: 720 } });
      const small = bgra(await capturer.capture());
      expect(small).toMatchObject({ width: 1280, height: 720, full: true });
      expect(rgbAt(small, 1275, 715)).toBe(GREEN);
      small.release();
      await xvfb.x("xrandr", ["--output", "screen", "--mode", "1920x1080", "--fb", "1920x1080"]);
      expect(await capturer.capture()).toMatchObject({ status: "display-changed", area: { width: 1920, height: 1080 } });
      const big = bgra(await capturer.capture());
      expect(big).toMatchObject({ width: 1920, height: 1080, full: true });
      big.release();
    } finally {
      capturer.close();
    }
  });
});
