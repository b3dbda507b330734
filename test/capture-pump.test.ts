/**
 * The capture pump in-process with the fake capturer that ships with the native face
 * (src/native/fake-capturer.ts): pacing, newest frame only, keepalive repeats, refresh, display
 * changes, failures and stop.
 */
import { afterEach, describe, expect, it } from "vitest";
import { CapturePump, type PumpFrame } from "../src/agent/capture-pump.js";
import { FakeScreenCapturer } from "../src/native/fake-capturer.js";
import { until } from "./support/procs.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pumps: CapturePump[] = [];
afterEach(async () => {
  for (const p of pumps.splice(0)) await p.stop();
});

function pump(capturer: FakeScreenCapturer, o: Partial<ConstructorParameters<typeof CapturePump>[0]> = {}) {
  const sent: { at: number; version: number }[] = [];
  const events: string[] = [];
  const p = new CapturePump({
    capturer,
    send: (f: PumpFrame) => sent.push({ at: performance.now(), version: f.data[0]! }),
    cursor: () => {},
    displayChanged: () => events.push("display-changed"),
    failed: (reason) => events.push(`failed: ${reason}`),
    ...o,
  });
  pumps.push(p);
  p.start();
  return { p, sent, events };
}

describe("the capture pump", () => {
  it("sends a change the moment it is captured, and never more than maxFps frames a second", async () => {
    const c = new FakeScreenCapturer();
    const { sent } = pump(c, { maxFps: 20 });
    await until(() => sent.length === 1, 2000, "first frame");
    const t0 = performance.now();
    const changer = setInterval(() => c.change(), 2); // far faster than 20 fps
    await sleep(1000);
    clearInterval(changer);
    const inSecond = sent.filter((s) => s.at >= t0 && s.at < t0 + 1000).length;
    expect(inSecond).toBeGreaterThanOrEqual(8); // a loaded machine delays timers; the bound that matters is the upper one
    expect(inSecond).toBeLessThanOrEqual(21);
    const gaps = sent.slice(2).map((s, i) => s.at - sent[i + 1]!.at);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual((1000 / 20) * 0.75 - 2); // never sooner than 3/4 of a gap
  });

  it("sends only the newest content: changes made while it waits out the gap go out as one frame", async () => {
    const c = new FakeScreenCapturer();
    const { sent } = pump(c, { maxFps: 10, timing: { tailRepeatMs: 60_000 } }); // the tail repeat: its own test
    await until(() => sent.length === 1, 2000, "first frame");
    c.change();
    await until(() => sent.length === 2, 2000, "second frame");
    // Inside the 100 ms gap after that frame: three changes.
    c.change();
    c.change();
    const last = c.change();
    await until(() => sent.length === 3, 2000, "third frame");
    await sleep(250);
    expect(sent.map((s) => s.version)).toEqual([0, 1, last]); // 2 and 3 never went out on their own
  });

  it("repeats the last frame after the keepalive on a still screen, and waits without polling in between", async () => {
    const c = new FakeScreenCapturer(64, 48, { pointerEvents: true });
    const { sent } = pump(c, { timing: { keepaliveMs: 150, idleKeepaliveMs: 300, idleAfterMs: 10_000 } });
    await until(() => sent.length === 1, 2000, "first frame");
    const waitsBefore = c.waits.length;
    await sleep(650);
    const repeats = sent.length - 1;
    expect(repeats).toBeGreaterThanOrEqual(2); // ≈ every 150 ms (fewer only on a very loaded machine)
    expect(repeats).toBeLessThanOrEqual(5); // never more often
    // Each capture waited until the next keepalive was due (pointer events end a wait, so there are
    // no short polls in between): about one capture per repeat, not one per 33 ms.
    expect(c.waits.length - waitsBefore).toBeLessThanOrEqual(repeats + 2);
  });

  it("repeats a change once, shortly after it (a tail probe: a lost last packet is noticed then, not at the keepalive)", async () => {
    const c = new FakeScreenCapturer(64, 48, { pointerEvents: true });
    const { sent } = pump(c, { timing: { keepaliveMs: 5000, idleKeepaliveMs: 5000, idleAfterMs: 10_000, tailRepeatMs: 80 } });
    await until(() => sent.length === 2, 2000, "the first frame and its tail repeat"); // the first frame counts as a change
    await sleep(200);
    expect(sent).toHaveLength(2);
    const v = c.change();
    await until(() => sent.length === 4, 2000, "the change and its repeat");
    expect(sent.slice(2).map((f) => f.version)).toEqual([v, v]);
    const gap = sent[3]!.at - sent[2]!.at;
    expect(gap).toBeGreaterThanOrEqual(75);
    expect(gap).toBeLessThan(400);
    await sleep(400);
    expect(sent).toHaveLength(4); // one repeat per change, then quiet until the keepalive
  });

  it("refresh() sends the still screen again at once, cutting the capture's wait short (after a broken path)", async () => {
    const c = new FakeScreenCapturer(64, 48, { pointerEvents: true });
    const { p, sent } = pump(c, { timing: { keepaliveMs: 5000, idleKeepaliveMs: 5000, idleAfterMs: 10_000, tailRepeatMs: 60_000 } });
    await until(() => sent.length === 1, 2000, "first frame");
    await sleep(100); // the pump now waits up to 5 s for a change
    const asked = performance.now();
    p.refresh();
    await until(() => sent.length === 2, 1000, "the refreshed frame");
    expect(sent[1]!.at - asked).toBeLessThan(200);
    expect(sent[1]!.version).toBe(sent[0]!.version); // the same screen, sent again
    await sleep(300);
    expect(sent).toHaveLength(2); // once per refresh
  });

  it("says when the display changed, and stops with a reason when capture cannot go on", async () => {
    const c = new FakeScreenCapturer();
    const { sent, events } = pump(c);
    await until(() => sent.length === 1, 2000, "first frame");
    c.failNext({ status: "display-changed", area: { x: 0, y: 0, width: 64, height: 48 }, message: "resized" });
    await until(() => events.includes("display-changed"), 2000, "display-changed");
    await until(() => sent.length === 2, 2000, "whole frame after it");
    c.failNext({ status: "permanent-error", code: "ERR_NO_DISPLAY", message: "the display went away" } as never);
    await until(() => events.some((e) => e.startsWith("failed")), 2000, "failed");
    expect(events.at(-1)).toBe("failed: screen capture stopped: the display went away");
    const n = sent.length;
    c.change();
    await sleep(200);
    expect(sent.length).toBe(n);
  });

  it("stop() ends it after the capture in flight; nothing is sent after", async () => {
    const c = new FakeScreenCapturer();
    const { p, sent } = pump(c);
    await until(() => sent.length === 1, 2000, "first frame");
    const stopped = p.stop();
    c.change();
    await stopped;
    const n = sent.length;
    c.change();
    await sleep(100);
    expect(sent.length).toBe(n);
  });
});
