// Ownership and errors of the native objects: stable error codes, idempotent close, a lost
// display, the unsupported-platform build, and a leak test (memory and shared memory).
import { readFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { candidatePaths, InputInjector, isNativeError, loadNative, ScreenCapturer } from "../src/native/index.js";
import { startXvfb, type Xvfb } from "./support/xvfb.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** SysV shared-memory segments created by this process (IPC_RMID ones stay listed while attached). */
function ownShmSegments(): number {
  const lines = readFileSync("/proc/sysvipc/shm", "utf8").trim().split("\n").slice(1);
  return lines.filter((line) => line.trim().split(/\s+/)[4] === String(process.pid)).length;
}

async function collect(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve)); // finalizers run after the GC pass
  }
}

const code = (c: string): unknown => expect.objectContaining({ code: c });

describe("native objects: lifecycle and errors", () => {
  let xvfb: Xvfb;

  beforeAll(async () => {
    xvfb = await startXvfb({ width: 1280, height: 720 });
  }, 30000);

  afterAll(async () => {
    await xvfb?.stop();
  });

  it("says ERR_NO_DISPLAY clearly when there is no display", () => {
    expect(() => ScreenCapturer.open({ display: ":9999" })).toThrow(code("ERR_NO_DISPLAY"));
    expect(() => InputInjector.open({ display: ":9999" })).toThrow(code("ERR_NO_DISPLAY"));
    const saved = process.env["DISPLAY"];
    delete process.env["DISPLAY"];
    try {
      expect(() => ScreenCapturer.open()).toThrow(
        expect.objectContaining({ code: "ERR_NO_DISPLAY", message: expect.stringContaining("DISPLAY is not set") }),
      );
    } finally {
      if (saved !== undefined) process.env["DISPLAY"] = saved;
    }
    try {
      ScreenCapturer.open({ display: ":9999" });
    } catch (error) {
      expect(isNativeError(error)).toBe(true);
    }
  });

  it("says ERR_NO_XSHM on a server without MIT-SHM", async () => {
    const noShm = await startXvfb({ width: 320, height: 240, disable: ["MIT-SHM"] });
    try {
      expect(() => ScreenCapturer.open({ display: noShm.display })).toThrow(code("ERR_NO_XSHM"));
      const injector = InputInjector.open({ display: noShm.display }); // input needs no SHM
      injector.moveMouse(1, 1);
      injector.close();
    } finally {
      await noShm.stop();
    }
  }, 30000);

  it("close() is idempotent and every call after it throws ERR_CLOSED", async () => {
    const capturer = ScreenCapturer.open({ display: xvfb.display });
    const injector = InputInjector.open({ display: xvfb.display });
    capturer.close();
    capturer.close();
    injector.close();
    injector.close();
    expect(capturer.closed).toBe(true);
    expect(injector.closed).toBe(true);
    await expect(capturer.capture()).rejects.toMatchObject({ code: "ERR_CLOSED" });
    expect(() => capturer.monitors()).toThrow(code("ERR_CLOSED"));
    expect(() => capturer.area).toThrow(code("ERR_CLOSED"));
    expect(() => capturer.selectMonitor(null)).toThrow(code("ERR_CLOSED"));
    expect(() => injector.moveMouse(1, 1)).toThrow(code("ERR_CLOSED"));
    expect(() => injector.key("KeyA")).toThrow(code("ERR_CLOSED"));
    expect(() => injector.text("x")).toThrow(code("ERR_CLOSED"));
    expect(() => injector.releaseAll()).toThrow(code("ERR_CLOSED"));
  });

  it("refuses a second capture while one is in flight (ERR_BUSY) and survives close() mid-capture", async () => {
    const capturer = ScreenCapturer.open({ display: xvfb.display });
    const first = capturer.capture();
    await expect(capturer.capture()).rejects.toMatchObject({ code: "ERR_BUSY" });
    const result = await first;
    expect(result.status).toBe("ok");
    if (result.status === "ok") result.frame.release();

    const pending = capturer.capture({ format: "i420" });
    capturer.close();
    const settled = await pending.then(
      (r) => r.status,
      (e: unknown) => (e as { code?: string }).code,
    );
    expect(["ok", "ERR_CLOSED"]).toContain(settled);
  });

  it("reports a lost display as a permanent error, not a crash", async () => {
    const doomed = await startXvfb({ width: 320, height: 240 });
    const capturer = ScreenCapturer.open({ display: doomed.display });
    const injector = InputInjector.open({ display: doomed.display });
    const first = await capturer.capture();
    expect(first.status).toBe("ok");
    await doomed.stop();
    expect(await capturer.capture()).toMatchObject({ status: "permanent-error", code: "ERR_NO_DISPLAY" });
    expect(() => injector.moveMouse(1, 1)).toThrow(code("ERR_NO_DISPLAY"));
    const iterate = async (): Promise<void> => {
      for await (const frame of capturer.frames({ fps: 100 })) frame.release();
    };
    await expect(iterate()).rejects.toMatchObject({ code: "ERR_NO_DISPLAY" });
    capturer.close();
    injector.close();
    if (first.status === "ok") first.frame.release();
  }, 30000);

  it("the unsupported-platform build loads and says ERR_UNSUPPORTED_PLATFORM", () => {
    const addon = loadNative({ variant: "unsupported" });
    expect(addon.backend).toBe("unsupported");
    expect(() => ScreenCapturer.open({ variant: "unsupported" })).toThrow(code("ERR_UNSUPPORTED_PLATFORM"));
    expect(() => InputInjector.open({ variant: "unsupported" })).toThrow(code("ERR_UNSUPPORTED_PLATFORM"));
    expect(loadNative().backend).toBe("x11");
  });

  it("the loader names the paths it tried", () => {
    expect(candidatePaths().some((p) => p.endsWith("build/Release/tether_native.node"))).toBe(true);
    expect(() => loadNative({ path: "/nonexistent/tether.node" })).toThrow(
      expect.objectContaining({
        code: "ERR_NATIVE_NOT_FOUND",
        message: expect.stringContaining("/nonexistent/tether.node (missing)"),
      }),
    );
  });

  it("does not leak memory or shared-memory segments over many open/close cycles", async () => {
    const cycle = async (): Promise<void> => {
      const capturer = ScreenCapturer.open({ display: xvfb.display });
      const injector = InputInjector.open({ display: xvfb.display });
      const a = await capturer.capture();
      if (a.status === "ok") a.frame.release();
      const b = await capturer.capture({ format: "i420" });
      if (b.status === "ok") b.frame.release();
      injector.moveMouse(5, 5);
      injector.text("é");
      injector.close();
      capturer.close();
    };
    for (let i = 0; i < 10; i++) await cycle(); // warm up allocators and caches
    await collect();
    const shmBefore = ownShmSegments();
    const rssBefore = process.memoryUsage().rss;
    for (let i = 0; i < 150; i++) await cycle();
    await collect();
    expect(ownShmSegments()).toBe(shmBefore);
    // Each cycle maps a 3.5 MB frame buffer: a leak of it alone would add > 500 MB here.
    const grownMb = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
    expect(grownMb).toBeLessThan(40);
  }, 60000);

  it("the finalizer closes capturers that were never closed", async () => {
    await collect();
    const shmBefore = ownShmSegments();
    // In a function of its own, so that no stack slot of this test still points at them after.
    const openAndDrop = async (): Promise<number> => {
      for (let i = 0; i < 20; i++) {
        const capturer = ScreenCapturer.open({ display: xvfb.display });
        await capturer.capture(); // the frame is deliberately neither released nor kept
      }
      return ownShmSegments();
    };
    expect(await openAndDrop()).toBeGreaterThan(shmBefore);
    await new Promise((resolve) => setTimeout(resolve, 10));
    for (let i = 0; i < 20 && ownShmSegments() > shmBefore; i++) await collect();
    expect(ownShmSegments()).toBe(shmBefore);
  }, 30000);
});
