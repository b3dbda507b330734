// A screen capturer without a screen, for tests of what consumes one (the capture pump, remote
// access): the same capture() contract as ScreenCapturer, with changes made by the test. Each
// frame's first Y byte carries the number of the newest change it shows (mod 256), so a test can
// tell which change a frame carries. Ships beside the real one, as libwebrtc's fake_desktop_capturer.
import type { CaptureResult, CursorState, I420Frame, Monitor, Rect } from './capturer.js';

export class FakeScreenCapturer {
  area: Rect;
  readonly pointerEvents: boolean;
  /** Captures started, and the waits they asked for. */
  readonly waits: number[] = [];
  closed = false;
  private version = 0;
  private shown = 0;
  private first = true;
  private cursor: CursorState | undefined;
  private waiter: (() => void) | null = null;
  /** wake() with no capture waiting: the next one returns at once (as the real one's eventfd). */
  private woken = false;
  private next: CaptureResult | null = null;

  constructor(width = 64, height = 48, options: { pointerEvents?: boolean } = {}) {
    this.area = { x: 0, y: 0, width, height };
    this.pointerEvents = options.pointerEvents ?? true;
  }

  /** The screen changed (several changes before a capture show as one frame: the newest). */
  change(): number {
    this.version++;
    this.waiter?.();
    return this.version;
  }

  /** The pointer moved (ends a wait, as XInput 2 raw motion does). */
  movePointer(x: number, y: number): void {
    this.cursor = { x, y, visible: true } as CursorState;
    this.waiter?.();
  }

  /** The next capture returns this instead of a frame (display-changed, an error). */
  failNext(result: CaptureResult): void {
    this.next = result;
    this.waiter?.();
  }

  monitors(): Monitor[] {
    return [{ name: 'FAKE-1', x: 0, y: 0, width: this.area.width, height: this.area.height, primary: true } as Monitor];
  }

  selectMonitor(_name: string | null): Rect {
    return this.area;
  }

  /** Cuts short a capture waiting for a change (or the next one), as ScreenCapturer.wake(). */
  wake(): void {
    if (this.waiter) this.waiter();
    else this.woken = true;
  }

  close(): void {
    this.closed = true;
    this.waiter?.();
  }

  async capture(o: { into?: Uint8Array; waitMs?: number }): Promise<CaptureResult> {
    this.waits.push(o.waitMs ?? 0);
    const woken = this.woken;
    this.woken = false;
    if (!woken && this.version === this.shown && !this.next && !this.closed && (o.waitMs ?? 0) > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, o.waitMs);
        function done() {
          clearTimeout(t);
          resolve();
        }
        this.waiter = done;
      });
      this.waiter = null;
    }
    if (this.closed) return { status: 'permanent-error', code: 'ERR_CLOSED', message: 'the capturer is closed' } as CaptureResult;
    if (this.next) {
      const r = this.next;
      this.next = null;
      if (r.status === 'display-changed') this.first = true;
      return r;
    }
    const { width, height } = this.area;
    const data = o.into ?? new Uint8Array(width * height * 2);
    const changed = this.version !== this.shown || this.first;
    this.shown = this.version;
    data[0] = this.version & 255;
    const frame = {
      format: 'i420',
      width,
      height,
      x: 0,
      y: 0,
      sequence: this.waits.length,
      captureTimeUs: Date.now() * 1000,
      grabMs: 0,
      convertMs: 0,
      full: this.first,
      updatedRects: changed ? [{ x: 0, y: 0, width: 16, height: 16 }] : [],
      ...(this.cursor ? { cursor: this.cursor } : {}),
      data,
      yPlane: data,
      uPlane: data,
      vPlane: data,
      strideY: width,
      strideUV: Math.ceil(width / 2),
      release() {},
    } as unknown as I420Frame;
    this.first = false;
    return { status: 'ok', frame };
  }
}
