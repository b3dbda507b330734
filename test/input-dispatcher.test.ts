/**
 * The "input" data channel's dispatcher in-process with a recording injector: what reaches the
 * injector with control, nothing with view only or before consent, clamping, and the release of
 * everything held when control ends.
 */
import { describe, expect, it } from "vitest";
import { InputDispatcher, type Injector } from "../src/agent/input-dispatcher.js";
import { pb } from "../src/proto/wire.js";
import type { Scope } from "../src/session/rules.js";

class RecordingInjector implements Injector {
  readonly calls: string[] = [];
  readonly area = { x: 0, y: 0, width: 1000, height: 500 };
  moveMouse(x: number, y: number) {
    this.calls.push(`move ${x},${y}`);
  }
  button(b: string, a?: string) {
    this.calls.push(`button ${b} ${a}`);
  }
  wheel(dx: number, dy: number) {
    this.calls.push(`wheel ${dx},${dy}`);
  }
  key(code: string, a?: string) {
    if (code === "NoSuchKey") throw new Error("ERR_BAD_ARGUMENT");
    this.calls.push(`key ${code} ${a}`);
  }
  text(t: string) {
    this.calls.push(`text ${t.length}`);
  }
  selectMonitor(name: string | null) {
    this.calls.push(`monitor ${name}`);
  }
  releaseAll() {
    this.calls.push("releaseAll");
  }
  close() {
    this.calls.push("close");
  }
}

const enc = (e: Parameters<typeof pb.InputEvent.encode>[0]) => pb.InputEvent.encode(e).finish();

function dispatcher(scope: Scope | null) {
  const inj = new RecordingInjector();
  let opened = 0;
  let s = scope;
  const d = new InputDispatcher(
    () => {
      opened++;
      return inj;
    },
    () => s,
  );
  return { d, inj, setScope: (x: Scope | null) => (s = x), opened: () => opened };
}

describe("the input dispatcher", () => {
  it("injects mouse, wheel, keys and text with control, at the right place", () => {
    const { d, inj } = dispatcher("control");
    d.handle(enc({ move: { x: 0.5, y: 0.25 } }));
    d.handle(enc({ button: { button: pb.MouseButton.MOUSE_BUTTON_LEFT, down: true, x: 0.1, y: 0.2 } }));
    d.handle(enc({ button: { button: pb.MouseButton.MOUSE_BUTTON_LEFT, down: false, x: 0.1, y: 0.2 } }));
    d.handle(enc({ wheel: { dx: 0, dy: 3 } }));
    d.handle(enc({ key: { code: "KeyA", down: true } }));
    d.handle(enc({ text: { text: "hello" } }));
    expect(inj.calls).toEqual([
      "move 500,125",
      "move 100,100",
      "button left down",
      "move 100,100",
      "button left up",
      "wheel 0,3",
      "key KeyA down",
      "text 5",
    ]);
    expect(d.dropped).toBe(0);
  });

  it("drops everything with view only and before consent, without opening the injector", () => {
    for (const scope of ["view", null] as const) {
      const { d, inj, opened } = dispatcher(scope);
      d.handle(enc({ key: { code: "KeyA", down: true } }));
      d.handle(enc({ move: { x: 0.5, y: 0.5 } }));
      expect(inj.calls).toEqual([]);
      expect(opened()).toBe(0);
      expect(d.dropped).toBe(2);
    }
  });

  it("clamps what it carries, and drops what cannot be honoured without throwing", () => {
    const { d, inj } = dispatcher("control");
    d.handle(enc({ move: { x: 7, y: -3 } }));
    d.handle(enc({ move: { x: Number.NaN, y: Number.POSITIVE_INFINITY } }));
    d.handle(enc({ wheel: { dx: -1000, dy: 1000 } }));
    d.handle(enc({ text: { text: "x".repeat(5000) } }));
    d.handle(enc({ button: { button: 99 as never, down: true } }));
    d.handle(enc({ key: { code: "NoSuchKey", down: true } }));
    d.handle(enc({ key: { code: "K".repeat(33), down: true } }));
    d.handle(new Uint8Array([0xff, 0xff, 0xff]));
    expect(inj.calls).toEqual(["move 999,0", "move 0,0", "wheel -20,20", "text 1000"]);
    expect(d.dropped).toBe(4);
  });

  it("when control ends, every key and button held is released and the injector closed, once", () => {
    const { d, inj, setScope } = dispatcher("control");
    d.handle(enc({ key: { code: "ShiftLeft", down: true } }));
    d.handle(enc({ button: { button: pb.MouseButton.MOUSE_BUTTON_RIGHT, down: true, x: 0.5, y: 0.5 } }));
    setScope("view");
    d.release();
    d.release();
    expect(inj.calls.slice(-2)).toEqual(["releaseAll", "close"]);
    expect(inj.calls.filter((c) => c === "releaseAll")).toHaveLength(1);
    d.handle(enc({ key: { code: "KeyB", down: true } }));
    expect(inj.calls.at(-1)).toBe("close"); // nothing after
  });

  it("keeps the chosen monitor for an injector it opens later", () => {
    const { d, inj } = dispatcher("control");
    d.selectMonitor("HDMI-1");
    d.handle(enc({ move: { x: 0, y: 0 } }));
    expect(inj.calls).toEqual(["monitor HDMI-1", "move 0,0"]);
  });
});

describe("the input guard (issue 18: remote input never answers for the user)", () => {
  /** The app's windows at (400..600, 0..50) (the bar) on a monitor that starts at x = 1000. */
  function guarded() {
    const inj = new RecordingInjector();
    (inj as { area: { x: number; y: number; width: number; height: number } }).area = { x: 1000, y: 0, width: 1000, height: 500 };
    const state = { asking: false, focused: false };
    const d = new InputDispatcher(
      () => inj,
      () => "control",
      {
        blocksPointerAt: (x, y) => state.asking || (x >= 1400 && x < 1600 && y >= 0 && y < 50),
        blocksKeys: () => state.asking || state.focused,
      },
    );
    return { d, inj, state };
  }

  it("drops moves and presses on the app's windows (screen coordinates); releases pass without moving", () => {
    const { d, inj } = guarded();
    d.handle(enc({ move: { x: 0.5, y: 0.05 } })); // (1500, 25): the bar
    d.handle(enc({ button: { button: pb.MouseButton.MOUSE_BUTTON_LEFT, down: true, x: 0.5, y: 0.05 } }));
    d.handle(enc({ button: { button: pb.MouseButton.MOUSE_BUTTON_LEFT, down: false, x: 0.5, y: 0.05 } }));
    expect(inj.calls).toEqual(["button left up"]);
    expect(d.dropped).toBe(2);
    d.handle(enc({ move: { x: 0.3, y: 0.05 } })); // (1300, 25): beside it
    d.handle(enc({ button: { button: pb.MouseButton.MOUSE_BUTTON_LEFT, down: true, x: 0.3, y: 0.5 } }));
    expect(inj.calls.slice(1)).toEqual(["move 300,25", "move 300,250", "button left down"]);
  });

  it("while a consent question is open nothing goes through but releases; keys wait while the app's window has the keyboard", () => {
    const { d, inj, state } = guarded();
    state.asking = true;
    d.handle(enc({ move: { x: 0.1, y: 0.9 } }));
    d.handle(enc({ button: { button: pb.MouseButton.MOUSE_BUTTON_LEFT, down: true, x: 0.1, y: 0.9 } }));
    d.handle(enc({ key: { code: "Enter", down: true } }));
    d.handle(enc({ text: { text: "y" } }));
    d.handle(enc({ key: { code: "Enter", down: false } }));
    expect(inj.calls).toEqual(["key Enter up"]);
    state.asking = false;
    state.focused = true;
    d.handle(enc({ key: { code: "KeyA", down: true } }));
    d.handle(enc({ text: { text: "a" } }));
    expect(inj.calls).toEqual(["key Enter up"]);
    state.focused = false;
    d.handle(enc({ key: { code: "KeyA", down: true } }));
    d.handle(enc({ text: { text: "a" } }));
    expect(inj.calls).toEqual(["key Enter up", "key KeyA down", "text 1"]);
  });
});
