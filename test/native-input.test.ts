// Input injection through XTEST into a real X window (the test client) under a private Xvfb:
// every assertion is on the events that window received.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { InputInjector } from "../src/native/index.js";
import { keysymToChar, TestXClient, type XEventRecord } from "./support/x11-client.js";
import { startXvfb, type Xvfb } from "./support/xvfb.js";

const SHIFT_MASK = 1;
const CONTROL_MASK = 4;

describe("native input injection (XTEST, Xvfb)", () => {
  let xvfb: Xvfb;
  let client: TestXClient;
  let injector: InputInjector;
  let mark = 0;

  /** Events the client received since the previous call. */
  async function received(): Promise<XEventRecord[]> {
    const events = await client.sync(mark);
    mark += events.length;
    return events;
  }

  beforeAll(async () => {
    xvfb = await startXvfb();
    client = await TestXClient.start(xvfb.display);
    injector = InputInjector.open({ display: xvfb.display, keymapRestoreDelayMs: 50 });
  }, 30000);

  afterAll(async () => {
    injector?.close();
    await client?.stop();
    await xvfb?.stop();
  });

  beforeEach(async () => {
    await client.focus();
    await received();
  });

  it("moves the pointer to absolute positions", async () => {
    injector.moveMouse(123, 456);
    injector.moveMouse(1919, 1079);
    injector.moveMouse(0, 0);
    const motions = (await received()).filter((e) => e.event === "MotionNotify");
    expect(motions.map((e) => [e.x, e.y])).toEqual([
      [123, 456],
      [1919, 1079],
      [0, 0],
    ]);
  });

  it("presses and releases left, middle, right, back and forward", async () => {
    injector.moveMouse(50, 60);
    for (const b of ["left", "middle", "right", "back", "forward"] as const) injector.button(b);
    injector.button("left", "down");
    injector.button("left", "up");
    const buttons = (await received()).filter((e) => e.event !== "MotionNotify");
    expect(buttons.map((e) => `${e.event}:${e.button}`)).toEqual([
      "ButtonPress:1",
      "ButtonRelease:1",
      "ButtonPress:2",
      "ButtonRelease:2",
      "ButtonPress:3",
      "ButtonRelease:3",
      "ButtonPress:8",
      "ButtonRelease:8",
      "ButtonPress:9",
      "ButtonRelease:9",
      "ButtonPress:1",
      "ButtonRelease:1",
    ]);
    expect(buttons[0]).toMatchObject({ x: 50, y: 60 });
  });

  it("scrolls vertically and horizontally, one click per notch", async () => {
    injector.moveMouse(400, 300);
    injector.wheel(0, 2);
    injector.wheel(0, -1);
    injector.wheel(3, 0);
    injector.wheel(-1, 0);
    const presses = (await received()).filter((e) => e.event === "ButtonPress").map((e) => e.button);
    expect(presses).toEqual([5, 5, 4, 7, 7, 7, 6]);
  });

  it("types keys by KeyboardEvent.code, with modifiers", async () => {
    injector.key("KeyA");
    injector.key("KeyA", "press", { shift: true });
    injector.key("KeyC", "press", { ctrl: true });
    injector.key("Enter");
    injector.key("ArrowLeft", "down");
    injector.key("ArrowLeft", "up");
    injector.key("Digit1", "press", { shift: true });
    const presses = (await received()).filter((e) => e.event === "KeyPress");
    // Modifier key presses show up as their own events; look at the non-modifier ones.
    const shiftKeycode = 50; // evdev 42 + 8
    const ctrlKeycode = 37; // evdev 29 + 8
    const keys = presses.filter((e) => e.keycode !== shiftKeycode && e.keycode !== ctrlKeycode);
    expect(keys.map((e) => e.keycode)).toEqual([38, 38, 54, 36, 113, 10]);
    expect(keysymToChar(keys[0]?.keysym ?? 0)).toBe("a");
    expect(keysymToChar(keys[1]?.keysym ?? 0)).toBe("A");
    expect((keys[1]?.state ?? 0) & SHIFT_MASK).toBe(SHIFT_MASK);
    expect((keys[2]?.state ?? 0) & CONTROL_MASK).toBe(CONTROL_MASK);
    expect(keys[3]?.keysym).toBe(0xff0d); // Return
    expect(keys[4]?.keysym).toBe(0xff51); // Left
    expect(keysymToChar(keys[5]?.keysym ?? 0)).toBe("!");
    // Every modifier the injector pressed was released again.
    const events = client.events;
    for (const kc of [shiftKeycode, ctrlKeycode]) {
      const last = events.filter((e) => e.keycode === kc).at(-1);
      expect(last?.event).toBe("KeyRelease");
    }
  });

  it("types text, remapping characters the keymap lacks and restoring the keymap after", async () => {
    const before = await xvfb.x("xmodmap", ["-pke"]);
    injector.text("Hi, Zoë! 1€ ß→ 漢");
    const typed = (await received())
      .filter((e) => e.event === "KeyPress")
      .map((e) => keysymToChar(e.keysym ?? 0))
      .filter((c) => c !== "")
      .join("");
    expect(typed).toBe("Hi, Zoë! 1€ ß→ 漢");
    const during = await xvfb.x("xmodmap", ["-pke"]);
    expect(during).not.toBe(before); // spare keycodes carry the missing keysyms for now
    injector.restoreKeymap();
    expect(await xvfb.x("xmodmap", ["-pke"])).toBe(before);
  });

  it("restores the remapped keymap by itself shortly after typing", async () => {
    const before = await xvfb.x("xmodmap", ["-pke"]);
    injector.text("ø");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await xvfb.x("xmodmap", ["-pke"])).toBe(before);
  });

  it("releaseAll() lifts every key and button this injector holds", async () => {
    injector.key("ShiftLeft", "down");
    injector.key("KeyQ", "down");
    injector.button("left", "down");
    injector.button("right", "down");
    injector.releaseAll();
    const events = await received();
    const releasedKeys = events
      .filter((e) => e.event === "KeyRelease")
      .map((e) => e.keycode)
      .sort();
    const releasedButtons = events
      .filter((e) => e.event === "ButtonRelease")
      .map((e) => e.button)
      .sort();
    expect(releasedKeys).toEqual([24, 50]);
    expect(releasedButtons).toEqual([1, 3]);
    injector.releaseAll(); // nothing held: no events
    expect((await received()).filter((e) => e.event.endsWith("Release"))).toEqual([]);
  });

  it("rejects coordinates outside the screen and unknown codes with clear errors", async () => {
    const bad = { code: "ERR_BAD_ARGUMENT" };
    expect(() => injector.moveMouse(1920, 0)).toThrow(expect.objectContaining(bad));
    expect(() => injector.moveMouse(0, 1080)).toThrow(expect.objectContaining(bad));
    expect(() => injector.moveMouse(-1, 5)).toThrow(expect.objectContaining({ ...bad, message: expect.stringContaining("outside") }));
    expect(() => injector.moveMouse(1.5, 5)).toThrow(expect.objectContaining(bad));
    expect(() => injector.moveMouse(Number.NaN, 5)).toThrow(expect.objectContaining(bad));
    expect(() => injector.key("NotAKey")).toThrow(expect.objectContaining({ ...bad, message: expect.stringContaining("'NotAKey'") }));
    expect(() => injector.key("KeyA", "down", { shift: true })).toThrow(expect.objectContaining(bad));
    // @ts-expect-error: not a button
    expect(() => injector.button("side")).toThrow(expect.objectContaining(bad));
    // @ts-expect-error: not an action
    expect(() => injector.key("KeyA", "tap")).toThrow(expect.objectContaining(bad));
    expect(() => injector.wheel(0, 1000)).toThrow(expect.objectContaining(bad));
    expect(() => injector.text("a\u0001b")).toThrow(expect.objectContaining(bad));
    expect((await received()).filter((e) => e.event !== "MotionNotify")).toEqual([]); // nothing leaked through
  });

  it("uses monitor coordinates when opened on a monitor", async () => {
    await xvfb.x("xrandr", ["--setmonitor", "right", "960/254x1080/286+960+0", "none"]);
    const onRight = InputInjector.open({ display: xvfb.display, monitor: "right" });
    try {
      expect(onRight.area).toEqual({ x: 960, y: 0, width: 960, height: 1080 });
      onRight.moveMouse(10, 20);
      const motion = (await received()).filter((e) => e.event === "MotionNotify").at(-1);
      expect(motion).toMatchObject({ x: 970, y: 20 });
      expect(() => onRight.moveMouse(960, 0)).toThrow(expect.objectContaining({ code: "ERR_BAD_ARGUMENT" }));
    } finally {
      onRight.close();
      await xvfb.x("xrandr", ["--delmonitor", "right"]);
    }
  });
});
