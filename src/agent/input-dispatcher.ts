/**
 * The technician's input, from the "input" data channel to the injector: decodes each protobuf
 * `InputEvent`, checks it against the scope in force, clamps what it carries and calls the injector.
 * Bytes come from the network: nothing here throws; what cannot be honoured is dropped and counted.
 *
 * The injector is opened on the first event that needs it and released (every key and button it
 * pressed lifted) by `release()`, which the owner calls when control ends.
 *
 * The guard keeps the technician's input out of the app's own windows (the consent dialog, the
 * sharing bar) and out of everything while a consent question is open: presses and moves there are
 * dropped; releases always pass, without moving, so that nothing stays pressed.
 */
import { pb } from "../proto/wire.js";
import type { tether } from "../gen/tether.js";
import type { InputInjector, MouseButton } from "../native/injector.js";
import type { Scope } from "../session/rules.js";
import { OPEN_GUARD, type InputGuard } from "./ui.js";

/** The parts of the native injector the dispatcher uses (a recording fake in tests). */
export type Injector = Pick<
  InputInjector,
  "area" | "moveMouse" | "button" | "wheel" | "key" | "text" | "selectMonitor" | "releaseAll" | "close"
>;

const BUTTONS: Record<number, MouseButton> = {
  [pb.MouseButton.MOUSE_BUTTON_LEFT]: "left",
  [pb.MouseButton.MOUSE_BUTTON_MIDDLE]: "middle",
  [pb.MouseButton.MOUSE_BUTTON_RIGHT]: "right",
  [pb.MouseButton.MOUSE_BUTTON_BACK]: "back",
  [pb.MouseButton.MOUSE_BUTTON_FORWARD]: "forward",
};

/** Largest wheel step per event (notches) and text per event (characters). */
export const MAX_WHEEL_NOTCHES = 20;
export const MAX_TEXT_CHARS = 1000;
/** Longest KeyboardEvent.code accepted ("NumpadMultiply" is 14). */
const MAX_KEY_CODE_CHARS = 32;

const clamp01 = (v: number | null | undefined) => Math.min(Math.max(Number.isFinite(v) ? (v as number) : 0, 0), 0.999999);
const clampInt = (v: number | null | undefined, lim: number) =>
  Math.max(-lim, Math.min(lim, Number.isFinite(v) ? Math.trunc(v as number) : 0));

export class InputDispatcher {
  private injector: Injector | null = null;
  private monitor: string | null = null;
  /** Events dropped: no control consent, undecodable, or not injectable (unknown key, display gone). */
  dropped = 0;

  constructor(
    private readonly openInjector: () => Injector,
    private readonly scope: () => Scope | null,
    private readonly guard: InputGuard = OPEN_GUARD,
  ) {}

  /** Coordinates are relative to this monitor from now on (null: the whole screen). */
  selectMonitor(name: string | null): void {
    this.monitor = name;
    try {
      this.injector?.selectMonitor(name);
    } catch {
      this.monitor = null; // the monitor went away; the whole screen until the next choice
    }
  }

  /** One message from the "input" channel. Never throws. */
  handle(bytes: Uint8Array): void {
    if (this.scope() !== "control") {
      this.dropped++;
      return;
    }
    let ev: tether.v1.InputEvent;
    try {
      ev = pb.InputEvent.decode(bytes);
    } catch {
      this.dropped++;
      return;
    }
    try {
      if (!this.injector) {
        this.injector = this.openInjector();
        if (this.monitor !== null) this.injector.selectMonitor(this.monitor);
      }
      const inj = this.injector;
      const a = inj.area;
      const guard = this.guard;
      /** Moves to (x, y) unless the guard forbids it there; false when forbidden. */
      const at = (x: number | null | undefined, y: number | null | undefined) => {
        const px = Math.floor(clamp01(x) * a.width);
        const py = Math.floor(clamp01(y) * a.height);
        if (guard.blocksPointerAt(a.x + px, a.y + py)) return false;
        inj.moveMouse(px, py);
        return true;
      };
      switch (ev.event) {
        case "move":
          if (!at(ev.move!.x, ev.move!.y)) this.dropped++;
          break;
        case "button": {
          const b = BUTTONS[ev.button!.button ?? 0];
          if (!b) throw new Error("unknown button");
          const down = !!ev.button!.down;
          if (!at(ev.button!.x, ev.button!.y) && down) {
            this.dropped++;
            break;
          }
          inj.button(b, down ? "down" : "up");
          break;
        }
        case "wheel":
          inj.wheel(clampInt(ev.wheel!.dx, MAX_WHEEL_NOTCHES), clampInt(ev.wheel!.dy, MAX_WHEEL_NOTCHES));
          break;
        case "key": {
          const code = ev.key!.code ?? "";
          if (code.length === 0 || code.length > MAX_KEY_CODE_CHARS) throw new Error("bad key code");
          if (ev.key!.down && guard.blocksKeys()) {
            this.dropped++;
            break;
          }
          inj.key(code, ev.key!.down ? "down" : "up");
          break;
        }
        case "text":
          if (guard.blocksKeys()) {
            this.dropped++;
            break;
          }
          inj.text((ev.text!.text ?? "").slice(0, MAX_TEXT_CHARS));
          break;
        default:
          this.dropped++;
      }
    } catch {
      this.dropped++; // unknown key code, coordinates off screen, display gone: never fatal
    }
  }

  /** Control ended: every key and button pressed is lifted and the injector closed. Idempotent. */
  release(): void {
    const inj = this.injector;
    this.injector = null;
    if (!inj) return;
    try {
      inj.releaseAll();
      inj.close();
    } catch {
      // the display went away: nothing left to release
    }
  }
}
