// The native input path (XTest injector, under a private Xvfb) fed out-of-range and ill-typed values,
// through the typed face and straight into the addon: the process never crashes, every refusal is an
// Error with the stable code ERR_BAD_ARGUMENT, every valid value is injected, typing never stalls
// the thread for long, and at the end every key and button is released and the keymap restored.
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { NativeInjector } from "../src/native/addon.js";
import { InputInjector } from "../src/native/index.js";
import { loadNative } from "../src/native/loader.js";
import { budget, check, fc } from "./support/fuzz.js";
import { TestXClient } from "./support/x11-client.js";
import { startXvfb, type Xvfb } from "./support/xvfb.js";

const WIDTH = 1920;
const HEIGHT = 1080;

/** KeyboardEvent.code values the addon knows: its own table (native/src/common/keycodes.cc). */
const KNOWN_CODES = new Set(
  [
    ...readFileSync(path.join(import.meta.dirname, "..", "native", "src", "common", "keycodes.cc"), "utf8").matchAll(/\{"(\w+)",\s*\d+\}/g),
  ].map((m) => m[1]!),
);
const BUTTONS = ["left", "middle", "right", "back", "forward"];
const ACTIONS = ["press", "down", "up"];

/** Runs `f`; returns 'ok', or the error's code (and fails the property on anything but an Error). */
function outcome(f: () => void): string {
  try {
    f();
    return "ok";
  } catch (err) {
    expect(err, `thrown: ${String(err)}`).toBeInstanceOf(Error);
    return String((err as { code?: unknown }).code);
  }
}

/** Numbers from the edges: NaN, infinities, -0, fractions, beyond int32, and in range. */
const anyNumber = fc.oneof(
  fc.double(),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  fc.constantFrom(
    Number.NaN,
    Infinity,
    -Infinity,
    -0,
    0.5,
    -1,
    2 ** 31,
    2 ** 32,
    -(2 ** 31) - 1,
    2 ** 53,
    Number.MIN_VALUE,
    Number.MAX_VALUE,
    WIDTH,
    HEIGHT,
    WIDTH - 1,
    HEIGHT - 1,
  ),
);
const coordinate = (size: number) =>
  fc.oneof({ arbitrary: fc.integer({ min: 0, max: size - 1 }), weight: 2 }, { arbitrary: anyNumber, weight: 3 });
const isIntIn = (v: unknown, lo: number, hi: number) => typeof v === "number" && Number.isInteger(v) && v >= lo && v <= hi;

/** Key codes: known, near-known, unicode, empty, long, with NUL. */
const keyCode = fc.oneof(
  { arbitrary: fc.constantFrom(...KNOWN_CODES), weight: 3 },
  { arbitrary: fc.constantFrom(...KNOWN_CODES).map((c) => c.toLowerCase()), weight: 1 },
  { arbitrary: fc.constantFrom(...KNOWN_CODES).map((c) => `${c}\u0000`), weight: 1 },
  { arbitrary: fc.string({ unit: "binary", maxLength: 40 }), weight: 2 },
  { arbitrary: fc.constantFrom("", " ", "NotAKey", "Key", "KeyAA", "ß", "\ud800"), weight: 1 },
  { arbitrary: fc.integer({ min: 100, max: 100_000 }).map((n) => "K".repeat(n)), weight: 1 },
);
const action = fc.oneof(
  { arbitrary: fc.constantFrom(undefined, "press", "down", "up"), weight: 4 },
  { arbitrary: fc.string({ maxLength: 8 }), weight: 1 },
);
const modifiers = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 3 },
  {
    arbitrary: fc.record({ shift: fc.boolean(), ctrl: fc.boolean(), alt: fc.boolean(), meta: fc.boolean() }, { requiredKeys: [] }),
    weight: 3,
  },
  { arbitrary: fc.record({ shift: fc.anything(), ctrl: fc.constantFrom(0, 1, "yes", null) }, { requiredKeys: [] }), weight: 1 },
);

describe("native input injection under fuzzing (XTest, Xvfb)", () => {
  let xvfb: Xvfb;
  let client: TestXClient;
  let injector: InputInjector;
  let keymapBefore = "";

  beforeAll(async () => {
    xvfb = await startXvfb({ width: WIDTH, height: HEIGHT });
    keymapBefore = await xvfb.x("xmodmap", ["-pke"]);
    injector = InputInjector.open({ display: xvfb.display, keymapRestoreDelayMs: 50 });
    expect(KNOWN_CODES.size).toBeGreaterThan(100);
  }, 30000);

  afterAll(async () => {
    injector?.close();
    await client?.stop();
    await xvfb?.stop();
  });

  it(
    "moveMouse accepts exactly the integer positions inside the area and refuses the rest with ERR_BAD_ARGUMENT",
    async () => {
      await check(
        "native: pointer positions",
        fc.property(coordinate(WIDTH), coordinate(HEIGHT), (x, y) => {
          const valid = isIntIn(x, 0, WIDTH - 1) && isIntIn(y, 0, HEIGHT - 1);
          expect(
            outcome(() => injector.moveMouse(x, y)),
            `moveMouse(${x}, ${y})`,
          ).toBe(valid ? "ok" : "ERR_BAD_ARGUMENT");
        }),
        400,
      );
    },
    budget(20_000),
  );

  it(
    "wheel accepts whole notches within ±100 and refuses the rest with ERR_BAD_ARGUMENT",
    async () => {
      const notches = fc.oneof({ arbitrary: fc.integer({ min: -130, max: 130 }), weight: 3 }, { arbitrary: anyNumber, weight: 2 });
      await check(
        "native: wheel notches",
        fc.property(notches, notches, (dx, dy) => {
          const valid = isIntIn(dx, -100, 100) && isIntIn(dy, -100, 100);
          expect(
            outcome(() => injector.wheel(dx, dy)),
            `wheel(${dx}, ${dy})`,
          ).toBe(valid ? "ok" : "ERR_BAD_ARGUMENT");
        }),
        200,
      );
    },
    budget(20_000),
  );

  it(
    "key accepts exactly the known codes, actions and modifiers and refuses the rest with ERR_BAD_ARGUMENT",
    async () => {
      await check(
        "native: key codes",
        fc.property(keyCode, action, modifiers, (code, act, mods) => {
          const modsValid = mods === undefined || Object.values(mods).every((v) => v === undefined || typeof v === "boolean");
          const anyMod = mods !== undefined && Object.values(mods).some((v) => v === true);
          const valid =
            KNOWN_CODES.has(code) &&
            (act === undefined || ACTIONS.includes(act)) &&
            modsValid &&
            !(anyMod && act !== undefined && act !== "press");
          expect(
            outcome(() => injector.key(code, act as "press", mods as never)),
            `key(${JSON.stringify(code.slice(0, 40))}, ${JSON.stringify(act)}, ${JSON.stringify(mods)})`,
          ).toBe(valid ? "ok" : "ERR_BAD_ARGUMENT");
        }),
        400,
      );
    },
    budget(20_000),
  );

  it(
    "button accepts exactly the five buttons and three actions and refuses the rest with ERR_BAD_ARGUMENT",
    async () => {
      await check(
        "native: buttons",
        fc.property(
          fc.oneof(fc.constantFrom(...BUTTONS), fc.string({ maxLength: 10 }), fc.constantFrom("LEFT", "side", "button4", "")),
          action,
          (b, act) => {
            const valid = BUTTONS.includes(b) && (act === undefined || ACTIONS.includes(act));
            expect(
              outcome(() => injector.button(b as "left", act as "press")),
              `button(${JSON.stringify(b)}, ${JSON.stringify(act)})`,
            ).toBe(valid ? "ok" : "ERR_BAD_ARGUMENT");
          },
        ),
        200,
      );
    },
    budget(20_000),
  );

  it(
    "text types any string without C0 controls (besides tab and newlines), refuses the rest, and never stalls",
    async () => {
      const text = fc.oneof(
        { arbitrary: fc.string({ maxLength: 24 }), weight: 3 },
        { arbitrary: fc.string({ unit: "binary", maxLength: 24 }), weight: 2 },
        // Characters the keymap lacks, each needing a spare keycode: more than there are spares.
        {
          arbitrary: fc
            .array(fc.integer({ min: 0x4e00, max: 0x9fff }), { minLength: 1, maxLength: 64, size: "max" })
            .map((cps) => String.fromCodePoint(...cps)),
          weight: 1,
        },
        {
          arbitrary: fc.constantFrom("\t\n\r", "a\u0001b", "\u0000", "\u007f\u0080\u009f", "\ud800", "\udfff\ud800", "\ufeff\ufffe\uffff"),
          weight: 1,
        },
      );
      await check(
        "native: text",
        fc.property(text, (t) => {
          const cps = [...t].map((c) => c.codePointAt(0)!);
          const valid = cps.every((cp) => cp >= 0x20 || cp === 0x09 || cp === 0x0a || cp === 0x0d);
          const started = performance.now();
          expect(
            outcome(() => injector.text(t)),
            `text(${JSON.stringify(t)})`,
          ).toBe(valid ? "ok" : "ERR_BAD_ARGUMENT");
          // The thread is the agent's: video, heartbeats and the user's prompt run on it.
          const ms = performance.now() - started;
          expect(ms, `text of ${t.length} characters blocked for ${Math.round(ms)} ms`).toBeLessThan(500);
        }),
        60,
      );
      injector.restoreKeymap();
    },
    budget(30_000),
  );

  it(
    "the addon itself refuses ill-typed arguments of every method with ERR_BAD_ARGUMENT and never crashes",
    async () => {
      const addon = loadNative();
      const native: NativeInjector = new addon.Injector({ display: xvfb.display });
      const hostile = {
        get shift(): boolean {
          throw Object.assign(new Error("hostile getter"), { code: "HOSTILE" });
        },
      };
      const value = fc.oneof(
        fc.anything({
          withBigInt: true,
          withMap: true,
          withSet: true,
          withTypedArray: true,
          withDate: true,
          withNullPrototype: true,
          withSparseArray: true,
        }),
        fc.constantFrom(undefined, null, Symbol("s"), () => 1, hostile, Number.NaN, -0, 10 ** 10, "", "left", "KeyA", "down", {}),
      );
      const methods = ["moveMouse", "button", "wheel", "key", "text", "selectMonitor", "restoreKeymap"] as const;
      try {
        await check(
          "native: addon arguments",
          fc.property(fc.constantFrom(...methods), fc.array(value, { maxLength: 4 }), (method, args) => {
            const r = outcome(() => (native[method] as (...a: unknown[]) => void)(...args));
            expect(["ok", "ERR_BAD_ARGUMENT", "HOSTILE"], `${method}(${args.map((a) => typeof a).join(", ")}) → ${r}`).toContain(r);
          }),
          400,
        );
        // Options of the constructor: anything but a string (or nothing) for a monitor is refused.
        await check(
          "native: addon options",
          fc.property(fc.oneof(value, fc.string({ maxLength: 12 }), fc.constant("screen")), (monitor) => {
            const r = outcome(() => new addon.Injector({ display: xvfb.display, monitor } as never).close());
            expect(["ok", "ERR_BAD_ARGUMENT", "HOSTILE"], `monitor ${typeof monitor} → ${r}`).toContain(r);
            if (monitor === "screen" || monitor === undefined || monitor === null || monitor === "") expect(r).toBe("ok");
          }),
          60,
        );
      } finally {
        native.releaseAll();
        native.close();
      }
      expect(outcome(() => native.moveMouse(1, 1))).toBe("ERR_CLOSED");
    },
    budget(30_000),
  );

  /** Keys and buttons whose last event the client received since `from` is a press. */
  async function held(from: number): Promise<string[]> {
    const last = new Map<string, string>();
    for (const e of await client.sync(from)) {
      if (e.event === "KeyPress" || e.event === "KeyRelease") last.set(`key ${e.keycode}`, e.event);
      if (e.event === "ButtonPress" || e.event === "ButtonRelease") last.set(`button ${e.button}`, e.event);
    }
    return [...last].filter(([, ev]) => ev.endsWith("Press")).map(([k]) => k);
  }

  it(
    "releaseAll lifts whatever any sequence of presses left down",
    async () => {
      // A window over the whole screen that reports what it receives; started only now, so that the
      // hundreds of thousands of events of a long run above do not pile up in it.
      client = await TestXClient.start(xvfb.display);
      await client.focus();
      const step = fc.oneof(
        fc.record({ key: fc.constantFrom(...KNOWN_CODES), action: fc.constantFrom("down", "up", "press") }),
        fc.record({ button: fc.constantFrom(...BUTTONS), action: fc.constantFrom("down", "up", "press") }),
      );
      await check(
        "native: release all",
        fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
          const from = client.events.length;
          for (const st of steps) {
            if ("key" in st) injector.key(st.key, st.action as "down");
            else injector.button(st.button as "left", st.action as "down");
          }
          injector.releaseAll();
          expect(await held(from), `still down after ${JSON.stringify(steps)}`).toEqual([]);
        }),
        40,
      );
    },
    budget(20_000),
  );

  it("at the end holds no key or button and has restored the keymap", async () => {
    injector.releaseAll();
    expect(client.events.length).toBeGreaterThan(100); // the fuzzing above reached the X server
    expect(await held(0), "keys and buttons still down").toEqual([]);
    expect(await xvfb.x("xmodmap", ["-pke"])).toBe(keymapBefore);
  });
});
