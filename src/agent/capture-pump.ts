/**
 * The capture pump: screen changes into frames for the video source, paced and never queued.
 *
 * Change-driven: no tick and no polling. Each capture waits off the JavaScript thread until the
 * display reports a change (XDamage), and the change is sent the moment it is grabbed, at most
 * maxFps frames a second: the capture after a sent frame starts only after that gap, so the newest
 * content goes out, never a queue. An unchanged screen costs one wake-up per wait, which also picks
 * up pointer moves (without XInput 2) and sends the keepalive frame.
 *
 * Runs on the JS thread between awaits; `stop()` ends it after the capture in flight.
 */
import type { CaptureResult, CursorState, I420Frame } from "../native/capturer.js";
import { i420Size } from "../native/capturer.js";

/**
 * Without XInput 2 (capturer.pointerEvents false), how long one capture waits for the display to
 * report a change (ms), while the screen or pointer moved recently and once it has been still for
 * IDLE_AFTER_MS: core X reports no event for a pointer move alone, so these bound how late such a
 * move is seen. A screen change ends the wait at once; with XInput 2 a pointer move does too.
 */
export const ACTIVE_WAIT_MS = 33;
export const IDLE_AFTER_MS = 5000;
export const IDLE_WAIT_MS = 100;
/**
 * Once this long without a frame, one goes out anyway (a repeat), so that a receiver that lost the
 * last one recovers: while the screen is busy, and once it has been still for IDLE_AFTER_MS (lost
 * packets are re-sent by NACK anyway). The idle one stays below libwebrtc's receive timeout: a
 * receiver (Chromium's too) that gets no frame for 3 s asks for a key frame, so with a 5 s repeat
 * every idle repeat was a whole-frame intra encode (keyFramesEncoded rose by one per repeat; the
 * encoder threads used 9 instead of 3 ticks of CPU in 8 idle seconds). An unchanged repeat is
 * cheap: the VP8 active map marks nothing in it.
 */
export const KEEPALIVE_MS = 1000;
export const IDLE_KEEPALIVE_MS = 2500;
/**
 * After the last frame of a change, one repeat this soon (a tail probe): if the change's last packet
 * was lost, the receiver sees the gap in the sequence numbers only when a later packet comes, and on
 * a still screen that was the keepalive a second later. With the repeat it asks for the lost packet
 * (NACK) at once: measured across 1 % loss and 40 ms of round trip, changes that waited about 1 s
 * (5 of 6 benchmark runs had some) no longer do. An unchanged repeat is a small frame.
 */
export const TAIL_REPEAT_MS = 80;
/** The parts of a screen capturer the pump uses (the native ScreenCapturer, or FakeScreenCapturer). */
export interface PumpCapturer {
  readonly area: { width: number; height: number };
  readonly pointerEvents?: boolean;
  /** Cuts short a capture waiting for a change (see refresh()). */
  wake?(): void;
  capture(o: { format: "i420"; into: Uint8Array; incremental: boolean; cursor: boolean; waitMs: number }): Promise<CaptureResult>;
}

/** A frame for the video source: I420, the pump's own buffer (valid until the next frame). */
export interface PumpFrame {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

export interface CapturePumpOptions {
  capturer: PumpCapturer;
  /** A frame to send now. */
  send(frame: PumpFrame): void;
  /** Where the pointer is (each captured frame that has it). */
  cursor(c: CursorState, width: number, height: number): void;
  /** The captured area changed (resolution, monitor): the next frame is whole. */
  displayChanged(): void;
  /** Capture cannot go on; the pump has stopped. */
  failed(reason: string): void;
  /** For the frame trace: a frame went out (times from performance.now()). */
  sent?(f: I420Frame, startedAt: number, sentAt: number): void;
  /** Largest frame rate (default 60). */
  maxFps?: number;
  /** The waits and repeats above, for tests. */
  timing?: Partial<typeof DEFAULT_TIMING>;
}

const DEFAULT_TIMING = {
  activeWaitMs: ACTIVE_WAIT_MS,
  idleAfterMs: IDLE_AFTER_MS,
  idleWaitMs: IDLE_WAIT_MS,
  keepaliveMs: KEEPALIVE_MS,
  idleKeepaliveMs: IDLE_KEEPALIVE_MS,
  tailRepeatMs: TAIL_REPEAT_MS,
};

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

export class CapturePump {
  private stopped = false;
  private running: Promise<void> | null = null;
  /** Frames sent since the last `takeSent()`. */
  private sentCount = 0;
  /** refresh() was called: the next capture goes out whatever it shows. */
  private refreshWanted = false;
  /** The size of the last frame captured. */
  area = { width: 0, height: 0 };

  constructor(private readonly o: CapturePumpOptions) {}

  /** Starts the loop (once). */
  start(): void {
    this.running ??= this.loop();
  }

  /** Ends the loop after the capture in flight. Idempotent; resolves when it has ended. */
  stop(): Promise<void> {
    this.stopped = true;
    this.o.capturer.wake?.(); // a capture waiting for a change ends now
    return this.running ?? Promise.resolve();
  }

  /**
   * Sends the screen again now, changed or not (after a broken path: the encoder makes it a key
   * frame when asked to, and the viewer shows what it missed).
   */
  refresh(): void {
    this.refreshWanted = true;
    this.o.capturer.wake?.();
  }

  /** Frames sent since the last call (for the once-a-second stats). */
  takeSent(): number {
    const n = this.sentCount;
    this.sentCount = 0;
    return n;
  }

  private async loop(): Promise<void> {
    const t = { ...DEFAULT_TIMING, ...this.o.timing };
    const capturer = this.o.capturer;
    const minGapMs = 1000 / (this.o.maxFps ?? 60);
    let buf: Uint8Array | null = null;
    let lastSent = -Infinity;
    // The earliest time the next frame may go out: on a 1/maxFps cadence, so that a frame that went
    // out a little late (timer and grab time) does not push every later one back (that gave 56 of
    // 60 fps), but never sooner than 3/4 of a frame gap after the previous one.
    let due = -Infinity;
    let lastActivity = performance.now();
    let pointer = "";
    /** When the tail repeat after the last changed frame is due (Infinity: none pending). */
    let tailDue = Infinity;
    try {
      while (!this.stopped) {
        const started = performance.now();
        const area = capturer.area;
        const bytes = i420Size(area.width, area.height);
        const incremental = buf !== null && buf.byteLength === bytes;
        if (!incremental) buf = new Uint8Array(bytes);
        const idle = started - lastActivity >= t.idleAfterMs;
        const keepalive = idle ? t.idleKeepaliveMs : t.keepaliveMs;
        // With pointer events (XInput 2) the wait ends on a change or a pointer move: no polling,
        // only the keepalive bounds it. Without, short waits poll the pointer.
        const bound = capturer.pointerEvents === true ? keepalive : idle ? t.idleWaitMs : t.activeWaitMs;
        const waitMs = Math.max(0, Math.min(bound, Math.ceil(lastSent + keepalive - started), Math.ceil(tailDue - started)));
        const r = await capturer.capture({ format: "i420", into: buf!, incremental, cursor: true, waitMs });
        if (this.stopped) {
          if (r.status === "ok") r.frame.release();
          break;
        }
        let sent = false;
        if (r.status === "ok") {
          const f = r.frame as I420Frame;
          this.area = { width: f.width, height: f.height };
          const now = performance.now();
          const changed = f.full || f.updatedRects.length > 0;
          const at = f.cursor ? `${f.cursor.x},${f.cursor.y},${f.cursor.visible}` : "";
          if (changed || at !== pointer) lastActivity = now;
          pointer = at;
          const tail = now >= tailDue;
          if (changed || this.refreshWanted || tail || now - lastSent >= keepalive) {
            this.refreshWanted = false;
            tailDue = changed ? now + t.tailRepeatMs : Infinity;
            this.o.send({ width: f.width, height: f.height, data: new Uint8ClampedArray(buf!.buffer, buf!.byteOffset, bytes) });
            lastSent = now;
            due = Math.max(due + minGapMs, now + minGapMs * 0.75);
            sent = true;
            this.sentCount++;
            this.o.sent?.(f, started, now);
          }
          if (f.cursor) this.o.cursor(f.cursor, f.width, f.height);
          f.release();
        } else if (r.status === "display-changed") {
          buf = null;
          this.o.displayChanged();
        } else if (r.status === "permanent-error") {
          this.stopped = true;
          this.o.failed(`screen capture stopped: ${r.message}`);
          return;
        } else {
          await sleep(minGapMs); // temporary error: try again shortly
        }
        // After a sent frame, the next grab waits until it is due (at most maxFps frames a second).
        const wait = sent ? due - performance.now() : 0;
        if (wait > 0) await sleep(wait);
      }
    } catch (err) {
      this.stopped = true;
      this.o.failed(`screen capture failed: ${(err as Error).message}`);
    }
  }
}
