/**
 * Browser input → tether.v1.InputEvent, as pure functions over the few event fields they need (so
 * they run in Node tests without a DOM). Coordinates become fractions of the shared monitor; keys
 * go by KeyboardEvent.code, the physical key, so the remote keymap decides the character.
 */
import { pb, type InputEventProps } from "../proto.js";
import { toFraction, type Rect } from "./geometry.js";

export interface PointerLike {
  clientX: number;
  clientY: number;
  /** MouseEvent.button: 0 left, 1 middle, 2 right, 3 back, 4 forward. */
  button: number;
}

export interface WheelLike {
  deltaX: number;
  deltaY: number;
  /** 0 pixels, 1 lines, 2 pages. */
  deltaMode: number;
}

export interface KeyLike {
  code: string;
  repeat: boolean;
  isComposing?: boolean;
}

const BUTTONS = [
  pb.MouseButton.MOUSE_BUTTON_LEFT,
  pb.MouseButton.MOUSE_BUTTON_MIDDLE,
  pb.MouseButton.MOUSE_BUTTON_RIGHT,
  pb.MouseButton.MOUSE_BUTTON_BACK,
  pb.MouseButton.MOUSE_BUTTON_FORWARD,
];

export function mouseButton(button: number): number | null {
  return BUTTONS[button] ?? null;
}

export function moveEvent(e: Pick<PointerLike, "clientX" | "clientY">, content: Rect): InputEventProps | null {
  const p = toFraction(e.clientX, e.clientY, content);
  return p ? { move: { x: p.x, y: p.y } } : null;
}

export function buttonEvent(e: PointerLike, down: boolean, content: Rect): InputEventProps | null {
  const p = toFraction(e.clientX, e.clientY, content);
  const button = mouseButton(e.button);
  if (!p || button === null) return null;
  return { button: { button, down, x: p.x, y: p.y } };
}

/** Pixels (deltaMode 0) per wheel notch, lines (deltaMode 1) per notch. */
export const PIXELS_PER_NOTCH = 100;
export const LINES_PER_NOTCH = 3;

/**
 * Turns wheel deltas into whole notches, carrying the remainder so that smooth scrolling
 * (touchpads: many small pixel deltas) still adds up. Positive = down / right.
 */
export class WheelAccumulator {
  private x = 0;
  private y = 0;

  push(e: WheelLike): InputEventProps | null {
    const per = e.deltaMode === 1 ? LINES_PER_NOTCH : e.deltaMode === 2 ? 1 : PIXELS_PER_NOTCH;
    this.x += e.deltaX / per;
    this.y += e.deltaY / per;
    const dx = Math.trunc(this.x);
    const dy = Math.trunc(this.y);
    this.x -= dx;
    this.y -= dy;
    if (dx === 0 && dy === 0) return null;
    return { wheel: { dx, dy } };
  }

  reset(): void {
    this.x = 0;
    this.y = 0;
  }
}

/**
 * A key press or release by its code. Auto-repeats are left out (the remote system repeats a held
 * key itself); composition (IME) events and events without a code are not keys.
 */
export function keyEvent(e: KeyLike, down: boolean): InputEventProps | null {
  if (!e.code || e.isComposing || (down && e.repeat)) return null;
  return { key: { code: e.code, down } };
}

/**
 * What is held down on the remote side because of us, so that everything can be released when
 * the viewer loses focus, leaves control, or closes.
 */
export class PressedState {
  readonly keys = new Set<string>();
  readonly buttons = new Set<number>();

  /** Records an outgoing event; returns it for chaining. */
  track(ev: InputEventProps): InputEventProps {
    if (ev.key?.code) {
      if (ev.key.down) this.keys.add(ev.key.code);
      else this.keys.delete(ev.key.code);
    }
    if (ev.button?.button) {
      if (ev.button.down) this.buttons.add(ev.button.button);
      else this.buttons.delete(ev.button.button);
    }
    return ev;
  }

  /** Release events for everything held, and forgets it. */
  releaseAll(at: { x: number; y: number } = { x: 0, y: 0 }): InputEventProps[] {
    const out: InputEventProps[] = [];
    for (const code of this.keys) out.push({ key: { code, down: false } });
    for (const button of this.buttons) out.push({ button: { button, down: false, x: at.x, y: at.y } });
    this.keys.clear();
    this.buttons.clear();
    return out;
  }
}
