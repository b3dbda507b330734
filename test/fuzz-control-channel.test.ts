/**
 * The "control" data channel as the agent reads it (readControlMessage) under random bytes and
 * mutated ControlMessages: never throws; what it returns is always a monitor in the list.
 */
import { describe, expect, it } from "vitest";
import { MAX_CLIPBOARD_CHARS, readControlMessage } from "../src/agent/control-message.js";
import { pb } from "../src/proto/wire.js";
import { anyFloat, anyInt32, budget, check, deepNesting, fc, protoSoup, validAndMutated } from "./support/fuzz.js";

const uint32 = fc.oneof(
  fc.nat({ max: 8 }),
  anyInt32.map((n) => n >>> 0),
);

/** Every ControlMessage kind, with values at and beyond their bounds. */
const controlMessage: fc.Arbitrary<Uint8Array> = fc
  .oneof(
    { arbitrary: fc.record({ selectMonitor: fc.record({ index: uint32 }, { requiredKeys: [] }) }), weight: 4 },
    fc.record({
      monitors: fc.record({
        monitors: fc.array(
          fc.record({ index: uint32, name: fc.string(), x: anyInt32, y: anyInt32, width: uint32, height: uint32, primary: fc.boolean() }),
          { maxLength: 5 },
        ),
        current: uint32,
      }),
    }),
    fc.record({
      cursor: fc.record({
        x: anyFloat,
        y: anyFloat,
        visible: fc.boolean(),
        shapeId: uint32,
        width: uint32,
        height: uint32,
        rgba: fc.uint8Array({ maxLength: 64 }),
      }),
    }),
    fc.record({ scope: fc.record({ scope: fc.integer({ min: -1, max: 5 }) }) }),
    fc.record({ stats: fc.record({ captureFps: anyFloat, width: uint32, inputsDropped: uint32 }) }),
    fc.record({ notice: fc.record({ text: fc.string({ unit: "binary" }) }) }),
    fc.record({ clipboard: fc.record({ text: fc.string({ unit: "binary", maxLength: 64 }) }, { requiredKeys: [] }) }),
    fc.constant({ clipboardRequest: {} }),
    fc.constant({ closing: {} }),
    fc.constant({}),
  )
  .map((m) => pb.ControlMessage.encode(m as never).finish());

describe("the control data channel under fuzzing", () => {
  it(
    "never throws; a monitor choice it returns is always one of the monitors, clipboard text only what was sent as such",
    async () => {
      await check(
        "control channel: choices in range",
        fc.property(
          fc.oneof(
            { arbitrary: validAndMutated(controlMessage), weight: 6 },
            { arbitrary: fc.uint8Array({ maxLength: 256 }), weight: 2 },
            { arbitrary: protoSoup, weight: 2 },
            { arbitrary: deepNesting, weight: 1 },
          ),
          fc.nat({ max: 16 }),
          (bytes, monitorCount) => {
            const r = readControlMessage(bytes, monitorCount);
            if (r === null) return;
            const sent = pb.ControlMessage.decode(bytes);
            expect(sent.body).toBe(r.kind);
            if (r.kind === "clipboard") {
              expect(r.text).toBe(sent.clipboard!.text ?? "");
              expect(r.text.length).toBeLessThanOrEqual(MAX_CLIPBOARD_CHARS);
              return;
            }
            if (r.kind !== "selectMonitor") return;
            expect(Number.isInteger(r.index) && r.index >= 0 && r.index < monitorCount, `index ${r.index} of ${monitorCount}`).toBe(true);
            // Only what the technician sent as a monitor choice is read as one.
            expect(sent.selectMonitor!.index ?? 0).toBe(r.index);
          },
        ),
        2000,
      );
    },
    budget(15_000),
  );

  it(
    "returns exactly the choice sent whenever it is in range (and only then)",
    async () => {
      await check(
        "control channel: valid choices arrive",
        fc.property(uint32, fc.nat({ max: 16 }), (index, monitorCount) => {
          const r = readControlMessage(pb.ControlMessage.encode({ selectMonitor: { index } }).finish(), monitorCount);
          expect(r).toEqual(index < monitorCount ? { kind: "selectMonitor", index } : null);
        }),
        500,
      );
    },
    budget(10_000),
  );
});
