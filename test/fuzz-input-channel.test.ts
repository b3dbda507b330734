/**
 * The "input" data channel (InputDispatcher) under random bytes and mutated InputEvents, against a
 * recording fake injector: it never throws, injects nothing without control consent, and what it
 * injects is always inside the shared area and the documented bounds.
 */
import { describe, expect, it } from "vitest";
import { InputDispatcher, MAX_TEXT_CHARS, MAX_WHEEL_NOTCHES, type Injector } from "../src/agent/input-dispatcher.js";
import type { Scope } from "../src/session/rules.js";
import { pb } from "../src/proto/wire.js";
import { anyFloat, anyInt32, budget, check, deepNesting, fc, protoSoup, validAndMutated } from "./support/fuzz.js";

type Call = { method: string; args: unknown[] };

const BUTTON_NAMES = ["left", "middle", "right", "back", "forward"];
const ACTIONS = ["down", "up"];

/** A fake injector that records every call; `failing` names methods that throw (display gone). */
function recordingInjector(area: { x: number; y: number; width: number; height: number }, failing: ReadonlySet<string>) {
  const calls: Call[] = [];
  const record =
    (method: string) =>
    (...args: unknown[]) => {
      calls.push({ method, args });
      if (failing.has(method)) throw Object.assign(new Error(`${method} failed`), { code: "ERR_DISPLAY_LOST" });
    };
  const injector: Injector = {
    get area() {
      if (failing.has("area")) throw new Error("area failed");
      return area;
    },
    moveMouse: record("moveMouse"),
    button: record("button"),
    wheel: record("wheel"),
    key: record("key"),
    text: record("text"),
    selectMonitor: record("selectMonitor"),
    releaseAll: record("releaseAll"),
    close: record("close"),
  };
  return { injector, calls };
}

/** Valid InputEvents of every kind, with values at and beyond every bound. */
const inputEvent: fc.Arbitrary<Uint8Array> = fc
  .oneof(
    fc.record({ move: fc.record({ x: anyFloat, y: anyFloat }) }),
    fc.record({
      button: fc.record({
        button: fc.oneof(fc.integer({ min: 0, max: 6 }), anyInt32),
        down: fc.boolean(),
        x: anyFloat,
        y: anyFloat,
      }),
    }),
    fc.record({ wheel: fc.record({ dx: anyInt32, dy: anyInt32 }) }),
    fc.record({
      key: fc.record({
        code: fc.oneof(
          fc.constantFrom("KeyA", "Enter", "ControlLeft", "NumpadMultiply", "", "NotAKey", "x".repeat(33), "x".repeat(32)),
          fc.string({ unit: "binary", maxLength: 64 }),
        ),
        down: fc.boolean(),
      }),
    }),
    fc.record({
      text: fc.record({
        text: fc.oneof(
          fc.string({ unit: "binary", maxLength: 40 }),
          fc.integer({ min: MAX_TEXT_CHARS - 2, max: MAX_TEXT_CHARS * 3 }).map((n) => "é".repeat(n)),
        ),
      }),
    }),
    fc.constant({}),
  )
  .map((ev) => pb.InputEvent.encode(ev as never).finish());

const message: fc.Arbitrary<Uint8Array> = fc.oneof(
  { arbitrary: validAndMutated(inputEvent), weight: 6 },
  { arbitrary: fc.uint8Array({ maxLength: 256 }), weight: 2 },
  { arbitrary: protoSoup, weight: 2 },
  { arbitrary: deepNesting, weight: 1 },
);

const area = fc.record({
  x: fc.integer({ min: 0, max: 4000 }),
  y: fc.integer({ min: 0, max: 4000 }),
  width: fc.oneof(fc.integer({ min: 1, max: 8000 }), fc.constantFrom(1, 2, 1920)),
  height: fc.oneof(fc.integer({ min: 1, max: 8000 }), fc.constantFrom(1, 2, 1080)),
});
const scope = fc.constantFrom<Scope | null>("control", "control", "view", null);

describe("the input data channel under fuzzing", () => {
  it(
    "never throws, and injects only in-bounds values, only with control consent",
    async () => {
      await check(
        "input channel: bounds and consent",
        fc.property(
          area,
          fc.subarray(["moveMouse", "button", "wheel", "key", "text", "selectMonitor", "area", "releaseAll", "close"], { maxLength: 2 }),
          fc.array(fc.tuple(scope, message), { minLength: 1, maxLength: 12 }),
          fc.option(fc.string({ maxLength: 8 }), { nil: null }),
          (a, failing, steps, monitor) => {
            let current: Scope | null = null;
            let opened = 0;
            const fake = recordingInjector(a, new Set(failing));
            const d = new InputDispatcher(
              () => {
                opened++;
                return fake.injector;
              },
              () => current,
            );
            expect(() => d.selectMonitor(monitor)).not.toThrow();
            let droppedBefore = 0;
            for (const [s, bytes] of steps) {
              current = s;
              const callsBefore = fake.calls.length;
              const openedBefore = opened;
              expect(() => d.handle(bytes)).not.toThrow();
              if (s !== "control") {
                // Without control consent nothing reaches the injector, not even an open.
                expect(fake.calls.length).toBe(callsBefore);
                expect(opened).toBe(openedBefore);
                expect(d.dropped).toBe(droppedBefore + 1);
              }
              droppedBefore = d.dropped;
            }
            expect(opened).toBeLessThanOrEqual(1);
            for (const { method, args } of fake.calls) {
              switch (method) {
                case "moveMouse": {
                  const [x, y] = args as [number, number];
                  expect(Number.isInteger(x) && x >= 0 && x < a.width, `x ${x} in 0..${a.width}`).toBe(true);
                  expect(Number.isInteger(y) && y >= 0 && y < a.height, `y ${y} in 0..${a.height}`).toBe(true);
                  break;
                }
                case "wheel":
                  for (const n of args as number[]) {
                    expect(Number.isInteger(n) && Math.abs(n) <= MAX_WHEEL_NOTCHES, `wheel ${n}`).toBe(true);
                  }
                  break;
                case "button":
                  expect(BUTTON_NAMES).toContain(args[0]);
                  expect(ACTIONS).toContain(args[1]);
                  break;
                case "key": {
                  const code = args[0] as string;
                  expect(typeof code === "string" && code.length >= 1 && code.length <= 32, `key code ${JSON.stringify(code)}`).toBe(true);
                  expect(ACTIONS).toContain(args[1]);
                  break;
                }
                case "text":
                  expect(typeof args[0] === "string" && (args[0] as string).length <= MAX_TEXT_CHARS).toBe(true);
                  break;
                case "selectMonitor":
                  expect(args[0]).toBe(monitor);
                  break;
                default:
                  throw new Error(`unexpected injector call ${method} while handling input`);
              }
            }
            // Control ends: whatever was opened is released and closed, once, and never throws.
            const before = fake.calls.length;
            expect(() => d.release()).not.toThrow();
            expect(() => d.release()).not.toThrow();
            const after = fake.calls.slice(before).map((c) => c.method);
            if (opened === 0) expect(after).toEqual([]);
            else expect(after).toEqual(failing.includes("releaseAll") ? ["releaseAll"] : ["releaseAll", "close"]);
          },
        ),
        600,
      );
    },
    budget(20_000),
  );

  it(
    "injects every valid in-range event as sent (the decoder is not just dropping everything)",
    async () => {
      await check(
        "input channel: valid events arrive",
        fc.property(
          fc.record({ width: fc.integer({ min: 1, max: 8000 }), height: fc.integer({ min: 1, max: 8000 }) }),
          fc.oneof(
            fc
              .record({ x: fc.double({ min: 0, max: 0.999, noNaN: true }), y: fc.double({ min: 0, max: 0.999, noNaN: true }) })
              .map((m) => ({ move: m })),
            fc.record({ dx: fc.integer({ min: -20, max: 20 }), dy: fc.integer({ min: -20, max: 20 }) }).map((w) => ({ wheel: w })),
            fc.record({ code: fc.constantFrom("KeyA", "Enter", "ShiftLeft"), down: fc.boolean() }).map((k) => ({ key: k })),
            fc.record({ text: fc.string({ maxLength: MAX_TEXT_CHARS }) }).map((t) => ({ text: t })),
          ),
          (size, ev) => {
            const fake = recordingInjector({ x: 0, y: 0, ...size }, new Set());
            const d = new InputDispatcher(
              () => fake.injector,
              () => "control",
            );
            d.handle(pb.InputEvent.encode(ev).finish());
            expect(d.dropped).toBe(0);
            const call = fake.calls[0]!;
            if ("move" in ev) {
              const x = Math.fround(ev.move.x);
              const y = Math.fround(ev.move.y);
              expect(call).toEqual({ method: "moveMouse", args: [Math.floor(x * size.width), Math.floor(y * size.height)] });
            } else if ("wheel" in ev) {
              expect(call).toEqual({ method: "wheel", args: [ev.wheel.dx, ev.wheel.dy] });
            } else if ("key" in ev) {
              expect(call).toEqual({ method: "key", args: [ev.key.code, ev.key.down ? "down" : "up"] });
            } else {
              expect(call).toEqual({ method: "text", args: [ev.text.text] });
            }
          },
        ),
        300,
      );
    },
    budget(10_000),
  );
});
