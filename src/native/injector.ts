// The typed face of the native input injector (XTest on Linux).
import type { NativeInjector, NativeKeyAction } from './addon.js';
import { loadNative, type LoadOptions } from './loader.js';

export type MouseButton = 'left' | 'middle' | 'right' | 'back' | 'forward';
export type KeyAction = NativeKeyAction;

export interface Modifiers {
  shift?: boolean;
  ctrl?: boolean;
  alt?: boolean;
  meta?: boolean;
}

export interface InjectorOptions extends LoadOptions {
  display?: string;
  /** Coordinates relative to this monitor (a name from ScreenCapturer.monitors()). */
  monitor?: string;
  /** How long after the last text() the keysyms it remapped are restored (ms, default 250). */
  keymapRestoreDelayMs?: number;
}

/**
 * Synthesizes input. Each call is synchronous and short (a few requests and one round trip to the
 * local X server). Bad coordinates and unknown codes throw ERR_BAD_ARGUMENT; after close() every
 * call throws ERR_CLOSED. close() is idempotent, releases everything held and restores the keymap.
 */
export class InputInjector {
  private readonly native: NativeInjector;
  private readonly restoreDelayMs: number;
  private restoreTimer: NodeJS.Timeout | undefined;

  private constructor(native: NativeInjector, restoreDelayMs: number) {
    this.native = native;
    this.restoreDelayMs = restoreDelayMs;
  }

  /** Connects. Throws ERR_NO_DISPLAY, ERR_NO_EXTENSION (no XTEST), ERR_BAD_ARGUMENT. */
  static open(options: InjectorOptions = {}): InputInjector {
    const addon = loadNative(options);
    const native = new addon.Injector({
      ...(options.display !== undefined ? { display: options.display } : {}),
      ...(options.monitor !== undefined ? { monitor: options.monitor } : {}),
    });
    return new InputInjector(native, options.keymapRestoreDelayMs ?? 250);
  }

  /** The coordinate space in screen coordinates: the monitor, or the whole screen. */
  get area(): { x: number; y: number; width: number; height: number } {
    return this.native.area;
  }

  get closed(): boolean {
    return this.native.closed;
  }

  /** Absolute move to (x, y) relative to `area`. */
  moveMouse(x: number, y: number): void {
    this.native.moveMouse(x, y);
  }

  button(button: MouseButton, action: KeyAction = 'press'): void {
    this.native.button(button, action);
  }

  /** Wheel notches: dy > 0 scrolls down, dx > 0 scrolls right. */
  wheel(dx: number, dy: number): void {
    this.native.wheel(dx, dy);
  }

  /** A key by W3C KeyboardEvent.code; `modifiers` wrap a 'press'. */
  key(code: string, action: KeyAction = 'press', modifiers?: Modifiers): void {
    this.native.key(code, action, modifiers);
  }

  /** Types text; characters the keymap lacks go through temporarily remapped spare keycodes. */
  text(text: string): void {
    this.native.text(text);
    // Clients translate a keycode when they read the event, so the remap stays a moment.
    if (this.restoreTimer !== undefined) clearTimeout(this.restoreTimer);
    this.restoreTimer = setTimeout(() => {
      this.restoreTimer = undefined;
      if (!this.native.closed) this.native.restoreKeymap();
    }, this.restoreDelayMs);
    this.restoreTimer.unref();
  }

  /** Restores the keysyms text() remapped, now. */
  restoreKeymap(): void {
    this.clearTimer();
    this.native.restoreKeymap();
  }

  /** Lifts every key and button this injector pressed and restores the keymap. */
  releaseAll(): void {
    this.clearTimer();
    this.native.releaseAll();
  }

  selectMonitor(name: string | null): void {
    this.native.selectMonitor(name);
  }

  close(): void {
    this.clearTimer();
    this.native.close();
  }

  private clearTimer(): void {
    if (this.restoreTimer !== undefined) clearTimeout(this.restoreTimer);
    this.restoreTimer = undefined;
  }
}
