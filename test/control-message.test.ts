/** The technician's "control" data channel messages as the agent reads them (readControlMessage). */
import { describe, expect, it } from "vitest";
import { readControlMessage } from "../src/agent/control-message.js";
import { pb } from "../src/proto/wire.js";

const encode = (m: Parameters<typeof pb.ControlMessage.encode>[0]) => pb.ControlMessage.encode(m).finish();

describe("readControlMessage", () => {
  it("reads a monitor choice within the list, including index 0 (an empty SelectMonitor)", () => {
    expect(readControlMessage(encode({ selectMonitor: { index: 1 } }), 2)).toEqual({ kind: "selectMonitor", index: 1 });
    expect(readControlMessage(encode({ selectMonitor: { index: 0 } }), 1)).toEqual({ kind: "selectMonitor", index: 0 });
    expect(readControlMessage(encode({ selectMonitor: {} }), 3)).toEqual({ kind: "selectMonitor", index: 0 });
  });

  it("ignores a choice past the end of the list, and any choice when there are no monitors", () => {
    expect(readControlMessage(encode({ selectMonitor: { index: 2 } }), 2)).toBeNull();
    expect(readControlMessage(encode({ selectMonitor: { index: 0xffffffff } }), 2)).toBeNull();
    expect(readControlMessage(encode({ selectMonitor: { index: 0 } }), 0)).toBeNull();
  });

  it("ignores the other kinds: they go from the agent to the browser, not back", () => {
    expect(readControlMessage(encode({ monitors: { monitors: [{ index: 0 }], current: 0 } }), 2)).toBeNull();
    expect(readControlMessage(encode({ cursor: { x: 0.5, y: 0.5 } }), 2)).toBeNull();
    expect(readControlMessage(encode({ notice: { text: "hi" } }), 2)).toBeNull();
    expect(readControlMessage(encode({}), 2)).toBeNull();
  });

  it("reads the viewer's closing, whatever the monitors", () => {
    expect(readControlMessage(encode({ closing: {} }), 0)).toEqual({ kind: "closing" });
    expect(readControlMessage(encode({ closing: {} }), 2)).toEqual({ kind: "closing" });
  });

  it("reads undecodable bytes as nothing, without throwing", () => {
    expect(readControlMessage(Uint8Array.of(0x12, 0x05, 0x08), 2)).toBeNull(); // truncated SelectMonitor
    expect(readControlMessage(Uint8Array.of(0x0f), 2)).toBeNull(); // wire type 7
    expect(readControlMessage(new Uint8Array(10_000).fill(0x0b), 2)).toBeNull(); // 10 000 nested groups
  });
});
