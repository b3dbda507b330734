// The typed face of the native capturer: promises of frames, an async iterator, a frame pool.
import type {
  NativeCapturer,
  NativeCapturerOptions,
  NativeCursor,
  NativeFrameResult,
  NativeMonitor,
  NativeRect,
} from './addon.js';
import { nativeError, type NativeErrorCode } from './errors.js';
import { loadNative, type LoadOptions } from './loader.js';

export type PixelFormat = 'bgra' | 'i420';
export type Rect = NativeRect;
export type Monitor = NativeMonitor;
export type CursorState = NativeCursor;

interface FrameCommon {
  /** Size of the captured area in pixels. */
  width: number;
  height: number;
  /** Top-left of the captured area in screen coordinates. */
  x: number;
  y: number;
  /** 1, 2, ... per capturer. */
  sequence: number;
  /** Wall clock (µs since the epoch) when the grab finished. */
  captureTimeUs: number;
  grabMs: number;
  convertMs: number;
  /** True when every pixel is new to the consumer (first frame, after a geometry change). */
  full: boolean;
  /** Changed since the previous frame of this capturer, in frame coordinates. */
  updatedRects: Rect[];
  /** Pointer position relative to the frame; `shape` only when it changed. */
  cursor?: CursorState;
  /** Returns the buffer to the pool. Idempotent. The data must not be used afterwards. */
  release(): void;
}

/** 32-bit B,G,R,X pixels (X11's order; the 4th byte is unspecified), rows `stride` bytes apart. */
export interface BgraFrame extends FrameCommon {
  format: 'bgra';
  data: Uint8Array;
  stride: number;
}

/** I420: Y plane (width x height), then U and V ((width+1)/2 x (height+1)/2), rows packed. */
export interface I420Frame extends FrameCommon {
  format: 'i420';
  data: Uint8Array;
  yPlane: Uint8Array;
  uPlane: Uint8Array;
  vPlane: Uint8Array;
  strideY: number;
  strideUV: number;
}

export type Frame = BgraFrame | I420Frame;

export type CaptureResult =
  | { status: 'ok'; frame: Frame }
  /** Nothing captured this time (e.g. every pooled buffer is held): try again. */
  | { status: 'temporary-error'; code: NativeErrorCode; message: string }
  /** The capturer cannot go on (the display went away): close it. */
  | { status: 'permanent-error'; code: NativeErrorCode; message: string }
  /** The captured area changed; the next capture returns a full frame of `area`. */
  | { status: 'display-changed'; area: Rect; message: string };

export interface CaptureOptions {
  format?: PixelFormat;
  /** I420 only: the destination (at least i420Size(width, height) bytes). Default: from the pool. */
  into?: Uint8Array;
  /**
   * I420 only: `into` holds this capturer's previous I420 frame, so convert only the changed rows.
   */
  incremental?: boolean;
  /** Report the pointer with the frame (default true). */
  cursor?: boolean;
  /**
   * Wait up to this many ms (0…10000, default 0) for the screen to change before grabbing, off the
   * JavaScript thread: the frame comes as soon as the display reports a change (damage, cursor
   * shape, geometry), or after the wait with no updated rectangles. close() cuts the wait short.
   * Where changes cannot be tracked (no XDamage) it grabs at once. Pointer moves alone are not
   * reported by X: the wait bounds how late a moved pointer is seen on a still screen.
   */
  waitMs?: number;
}

export interface CapturerOptions extends LoadOptions {
  /** X display name; default $DISPLAY. */
  display?: string;
  /** Capture one monitor (a name from monitors()); default the whole screen. */
  monitor?: string;
  /** Use change tracking (XDamage) where available; default true. */
  damage?: boolean;
  /** Frame pool size: BGRA frames held at once before captures report temporary-error. */
  maxBuffers?: number;
}

export function i420Size(width: number, height: number): number {
  const cw = Math.ceil(width / 2);
  const ch = Math.ceil(height / 2);
  return width * height + 2 * cw * ch;
}

/** Recycles I420 buffers of one size. */
class I420Pool {
  private free: Uint8Array[] = [];
  constructor(readonly bytes: number, private readonly limit = 4) {}
  take(): Uint8Array {
    return this.free.pop() ?? new Uint8Array(this.bytes);
  }
  give(buffer: Uint8Array): void {
    if (buffer.byteLength === this.bytes && this.free.length < this.limit) this.free.push(buffer);
  }
}

/**
 * A screen capturer. Capture runs on the libuv thread pool; the JS thread only settles promises.
 * close() is idempotent, and runs when the object is garbage-collected too.
 */
export class ScreenCapturer {
  private readonly native: NativeCapturer;
  private i420Pool: I420Pool | undefined;

  private constructor(native: NativeCapturer) {
    this.native = native;
  }

  /** Connects to the display. Throws ERR_NO_DISPLAY, ERR_NO_XSHM, ERR_BAD_ARGUMENT, ... */
  static open(options: CapturerOptions = {}): ScreenCapturer {
    const addon = loadNative(options);
    const nativeOptions: NativeCapturerOptions = {};
    if (options.display !== undefined) nativeOptions.display = options.display;
    if (options.monitor !== undefined) nativeOptions.monitor = options.monitor;
    if (options.damage !== undefined) nativeOptions.damage = options.damage;
    if (options.maxBuffers !== undefined) nativeOptions.maxBuffers = options.maxBuffers;
    return new ScreenCapturer(new addon.Capturer(nativeOptions));
  }

  /** The captured area in screen coordinates. */
  get area(): Rect {
    return this.native.area;
  }

  /**
   * True when the display reports pointer motion: a capture's wait (waitMs) then also ends when the
   * pointer moved (at most every 16 ms), so the pointer is followed on a still screen without
   * polling. False (no XInput 2): poll with short waits to follow the pointer.
   */
  get pointerEvents(): boolean {
    return this.native.pointerEvents;
  }

  /** False when the display lacks XDamage and every frame is a full grab. */
  get damageTracking(): boolean {
    return this.native.damageTracking;
  }

  get closed(): boolean {
    return this.native.closed;
  }

  monitors(): Monitor[] {
    return this.native.monitors();
  }

  /** Captures `name` (or the whole screen for null) from the next frame on. */
  selectMonitor(name: string | null): Rect {
    return this.native.selectMonitor(name);
  }

  /** Thread CPU time spent in capture work so far, and the number of captures. */
  stats(): { captures: number; cpuMs: number } {
    return this.native.stats();
  }

  async capture(options: CaptureOptions = {}): Promise<CaptureResult> {
    const format = options.format ?? 'bgra';
    let into = options.into;
    let pooled = false;
    if (format === 'i420' && into === undefined) {
      const area = this.native.area;
      const bytes = i420Size(area.width, area.height);
      if (this.i420Pool?.bytes !== bytes) this.i420Pool = new I420Pool(bytes);
      into = this.i420Pool.take();
      pooled = true;
    }
    const native = await this.native.captureFrame({
      format,
      ...(into !== undefined ? { into } : {}),
      incremental: options.incremental === true && !pooled,
      cursor: options.cursor ?? true,
      ...(options.waitMs !== undefined ? { waitMs: options.waitMs } : {}),
    });
    if (native.status !== 'ok') {
      if (pooled && into !== undefined) this.i420Pool?.give(into);
      if (native.status === 'display-changed') return native;
      return { status: native.status, code: native.code as NativeErrorCode, message: native.message };
    }
    return { status: 'ok', frame: this.wrapFrame(native, pooled) };
  }

  /**
   * Frames at up to `fps` per second until the capturer closes or the loop breaks. Each frame is
   * valid until the next iteration (it is released then). I420 frames share one buffer and are
   * converted incrementally. display-changed is handled (the next frame is full); a permanent
   * error ends the iteration by throwing.
   */
  async *frames(
    options: { fps?: number; format?: PixelFormat; cursor?: boolean } = {},
  ): AsyncGenerator<Frame, void, undefined> {
    const interval = 1000 / (options.fps ?? 30);
    const format = options.format ?? 'bgra';
    let shared: Uint8Array | undefined;
    let previous: Frame | undefined;
    let next = performance.now();
    try {
      while (!this.native.closed) {
        const wait = next - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        next = Math.max(next + interval, performance.now());
        previous?.release();
        previous = undefined;
        let incremental = false;
        if (format === 'i420') {
          const a = this.native.area;
          const bytes = i420Size(a.width, a.height);
          incremental = shared?.byteLength === bytes;
          if (!incremental) shared = new Uint8Array(bytes);
        }
        let result: CaptureResult;
        try {
          result = await this.capture({
            format,
            ...(shared !== undefined ? { into: shared } : {}),
            incremental,
            cursor: options.cursor ?? true,
          });
        } catch (error) {
          if (this.native.closed) return;
          throw error;
        }
        if (result.status === 'ok') {
          previous = result.frame;
          yield result.frame;
        } else if (result.status === 'permanent-error') {
          throw nativeError(result.code, result.message);
        } else if (result.status === 'display-changed') {
          shared = undefined;
        }
      }
    } finally {
      previous?.release();
    }
  }

  /** Cuts short a capture waiting for a change (or the next one, if none waits): it returns at once. Any time. */
  wake(): void {
    this.native.wake();
  }

  /** Frees the display connection and buffers. Idempotent. */
  close(): void {
    this.native.close();
  }

  private wrapFrame(native: NativeFrameResult, pooled: boolean): Frame {
    const common = {
      width: native.width,
      height: native.height,
      x: native.x,
      y: native.y,
      sequence: native.sequence,
      captureTimeUs: native.captureTimeUs,
      grabMs: native.grabMs,
      convertMs: native.convertMs,
      full: native.full,
      updatedRects: native.updatedRects,
      ...(native.cursor !== undefined ? { cursor: native.cursor } : {}),
    };
    if (native.format === 'bgra') {
      const buffer = native.data as ArrayBuffer;
      let released = false;
      return {
        ...common,
        format: 'bgra',
        data: new Uint8Array(buffer),
        stride: native.stride,
        release: () => {
          if (released) return;
          released = true;
          this.native.releaseFrame(buffer);
        },
      };
    }
    const data = native.data as Uint8Array;
    const ySize = native.width * native.height;
    const cw = Math.ceil(native.width / 2);
    const uvSize = cw * Math.ceil(native.height / 2);
    let released = false;
    return {
      ...common,
      format: 'i420',
      data,
      yPlane: data.subarray(0, ySize),
      uPlane: data.subarray(ySize, ySize + uvSize),
      vPlane: data.subarray(ySize + uvSize, ySize + 2 * uvSize),
      strideY: native.width,
      strideUV: cw,
      release: () => {
        if (released) return;
        released = true;
        if (pooled) this.i420Pool?.give(data);
      },
    };
  }
}
