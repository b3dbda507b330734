/**
 * The technician in the real console, in headless Chromium (/usr/bin/chromium via playwright-core,
 * loaded only for this system): it signs in with the console password, clicks "Request control"
 * in the session row (the agent is told y on stdin), and the console's own viewer opens. A
 * requestVideoFrameCallback loop in the page reads the sample points of every frame the page
 * composites (VideoFrame.copyTo of the decoded planes; see ChromiumViewer.start) and reports them
 * to this process; a frame's time is the callback's entry (page epoch ms = the bench's clock,
 * checked at start), so the latency is what a technician's browser has on screen, the number users
 * see. Clicks are raw mouse events on the <video> (Chromium's input path and the console's input
 * mapping). Receiver stats come from the console's RTCPeerConnection (kept by an init script),
 * plus the callbacks' metadata.
 */
import type { Browser, CDPSession, Page } from "playwright-core";

import { CHROMIUM_ARGS, CHROMIUM_PATH } from "../../test/support/chromium.js";
import { yuv } from "../../test/support/receiver.js";
import { H, W } from "./config.js";
import { now, onCleanup, sleep, within } from "./harness.js";
import type { Pt, TetherViewer } from "./viewer.js";

/**
 * Runs in the console page before its own script: keeps every RTCPeerConnection the console makes
 * (and its data channels), so that the bench can read getStats() and see the input channel open.
 * The console itself is unchanged: it calls `new RTCPeerConnection(…)`, which resolves to this
 * subclass at call time.
 */
const PC_SPY = `(() => {
  const Base = window.RTCPeerConnection;
  window.__benchPcs = [];
  window.__benchChannels = [];
  window.RTCPeerConnection = class extends Base {
    constructor(...args) {
      super(...args);
      window.__benchPcs.push(this);
      this.addEventListener('datachannel', (e) => window.__benchChannels.push(e.channel));
    }
  };
})();`;

/** The console's current peer connection (the newest that is not closed), in page context. */
const PAGE_PC = `(window.__benchPcs || []).filter((p) => p.connectionState !== 'closed').at(-1)`;

/** One requestVideoFrameCallback in the page, as reported to Node. */
export interface PageFrame {
  /** Epoch ms (page clock): performance.timeOrigin + performance.now() at callback entry. */
  t: number;
  /** performance.now() at callback entry and the callback's `now` argument (page ms). */
  entry: number;
  now: number;
  /** VideoFrameCallbackMetadata: times in page performance.now() ms, processingDuration in s; absent ones null. */
  receiveTime: number | null;
  expectedDisplayTime: number;
  processingDuration: number | null;
  presentedFrames: number;
  /** Milliseconds from callback entry until the sample points were read. */
  sampleMs: number;
  width: number;
  height: number;
  /** The decoded planes' Y, U, V (or, from a canvas, R, G, B) of every sample point, in the order given to the page. */
  space: "yuv" | "rgb" | "none";
  px: number[];
}

/**
 * The technician in the real console, in headless Chromium: signs in with the console password,
 * requests control from the session row (so the console's own viewer opens and its <video> shows
 * the stream), and samples the remote screen in the page on every requestVideoFrameCallback. What
 * is measured is thus what a technician's browser has on its <video>, decoded and handed to the
 * compositor (the number users see), not only what a decoder produced.
 */
export class ChromiumViewer implements TetherViewer {
  name = "tether (Chromium console)";
  serverPid = -1;
  helperPid?: number;
  onFrame: ((t: number) => void) | null = null;
  frames = 0;
  /** Page clock − bench clock (ms) as measured at start, and the part subtracted from the page's times. */
  clockOffsetMs = 0;
  clockCorrectionMs = 0;
  clockRttMs = 0;
  /** rVFC metadata of recent frames (for the profile). */
  readonly meta: Array<Omit<PageFrame, "px">> = [];
  private latest: Pick<PageFrame, "space" | "px"> = { space: "none", px: [] };
  private readonly index = new Map<string, number>();
  private box: { left: number; top: number; width: number; height: number } | null = null;
  private cdp: CDPSession | null = null;
  private lastInbound: Record<string, number> = {};
  private unknownPoint = false;
  private closed = false;

  private constructor(
    private readonly browser: Browser,
    readonly page: Page,
    private readonly points: Pt[],
  ) {
    points.forEach(([x, y], i) => this.index.set(`${x},${y}`, i));
  }

  /** Launches Chromium and signs in to the console at `url` as technician `name`. */
  static async signIn(url: string, name: string, password: string, points: Pt[]): Promise<ChromiumViewer> {
    // Loaded only for this system, so the other systems run without playwright-core installed.
    const { chromium } = await import("playwright-core");
    // Signals are this script's: Playwright's own SIGINT handler would exit at once (130) and cut
    // the cleanup short (Xvfb left running); the browser is closed by the cleanup list instead, and
    // Playwright still kills it if the process exits some other way.
    const browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: CHROMIUM_ARGS,
      timeout: 30_000,
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
    // The remote screen at one CSS pixel per remote pixel: the stage (below the viewer bar) must
    // be at least W×H, then "fit" scales by min(stageW / W, stageH / H) = 1.
    const page = await browser.newPage({ viewport: { width: W, height: H + 160 } });
    const v = new ChromiumViewer(browser, page, points);
    onCleanup(() => v.close());
    page.setDefaultTimeout(20_000);
    page.on("pageerror", (e) => console.error(`console page: ${e.message}`));
    page.on("crash", () => console.error("console page crashed"));
    await page.exposeFunction("__benchFrame", (f: PageFrame) => v.onPageFrame(f));
    await page.addInitScript(PC_SPY);
    await page.goto(url + "/");
    await page.locator("#login-name").fill(name);
    await page.locator("#login-password").fill(password);
    await page.locator("#login-form button[type=submit]").click();
    await page.locator("#who").waitFor();
    await page.locator("#link-state", { hasText: "live" }).waitFor();
    return v;
  }

  /** Clicks "Request control" in the session's row once the row shows the app online. */
  async requestControl(sessionId: string): Promise<void> {
    const row = this.page.locator(`#sessions tr[data-session="${sessionId}"]`);
    await row.and(this.page.locator('[data-state="active"][data-online="true"]')).waitFor();
    await row.locator('[data-action="request-control"]').click();
  }

  /** After the user's consent: waits for the viewer with control scope, the picture and the input channel, then starts sampling. */
  async start(): Promise<void> {
    const page = this.page;
    await page.locator("#viewer").waitFor();
    await page.locator("#viewer-scope", { hasText: "control" }).waitFor();
    await this.until(
      `document.getElementById('video').videoWidth === ${W} && document.getElementById('video').videoHeight === ${H}`,
      "the remote screen in the <video>",
      30_000,
    );
    await this.until(
      `(window.__benchChannels || []).some((c) => c.label === 'input' && c.readyState === 'open')`,
      "the input channel open",
    );
    this.box = (await page.evaluate(
      `(() => { const r = document.getElementById('video').getBoundingClientRect(); return { left: r.left, top: r.top, width: r.width, height: r.height }; })()`,
    )) as {
      left: number;
      top: number;
      width: number;
      height: number;
    };
    if (Math.abs(this.box.width - W) > 0.5 || Math.abs(this.box.height - H) > 0.5)
      console.error(`  (the console shows the remote screen at ${this.box.width}x${this.box.height}, not 1:1; clicks are scaled)`);
    await this.calibrateClock();
    this.cdp = await page.context().newCDPSession(page);
    // The sampler, on every video frame the page composites (requestVideoFrameCallback). The points
    // are grouped into horizontal strips (points within 4 rows of each other, 2-pixel aligned). The
    // frame's own pixels are read with VideoFrame.copyTo({rect}) per strip: the decoded I420
    // planes, compared in YUV like the Node receiver (~0.1 ms a frame). drawImage(video) into a
    // canvas, the fallback when the frame is not I420, converts the whole 1920x1080 frame to RGB
    // first: ~11 ms a frame on this 2-core machine, which delays later callbacks. The cost is
    // reported per frame (sampleMs).
    await page.evaluate(`(() => {
      const points = ${JSON.stringify(this.points)};
      const video = document.getElementById('video');
      const strips = [];
      for (const i of points.map((_, i) => i).sort((a, b) => points[a][1] - points[b][1])) {
        const [x, y] = points[i];
        let s = strips[strips.length - 1];
        if (!s || y - s.y > 3) strips.push((s = { x: x & ~1, y: y & ~1, x1: x, y1: y, members: [] }));
        s.x = Math.min(s.x, x & ~1);
        s.x1 = Math.max(s.x1, x);
        s.y1 = y;
        s.members.push(i);
      }
      let rows = 0;
      for (const s of strips) {
        s.width = ((s.x1 - s.x + 2) & ~1);
        s.height = ((s.y1 - s.y + 2) & ~1);
        s.row = rows;
        rows += s.height;
      }
      const canvas = document.createElement('canvas');
      canvas.width = Math.max(...strips.map((s) => s.width));
      canvas.height = rows;
      const ctx = canvas.getContext('2d', { willReadFrequently: true });
      ctx.imageSmoothingEnabled = false;
      const sample = async (vf) => {
        const px = new Array(points.length * 3);
        if (vf.format === 'I420' || vf.format === 'I420A') {
          for (const s of strips) {
            const rect = { x: s.x, y: s.y, width: s.width, height: s.height };
            const buf = new Uint8Array(vf.allocationSize({ rect }));
            const [Y, U, V] = await vf.copyTo(buf, { rect });
            for (const i of s.members) {
              const dx = points[i][0] - s.x, dy = points[i][1] - s.y, c = (dy >> 1) * U.stride + (dx >> 1);
              px[i * 3] = buf[Y.offset + dy * Y.stride + dx];
              px[i * 3 + 1] = buf[U.offset + c];
              px[i * 3 + 2] = buf[V.offset + (dy >> 1) * V.stride + (dx >> 1)];
            }
          }
          return { space: 'yuv', px };
        }
        for (const s of strips) ctx.drawImage(video, s.x, s.y, s.width, s.height, 0, s.row, s.width, s.height);
        const d = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
        for (const s of strips) {
          for (const i of s.members) {
            const at = ((s.row + points[i][1] - s.y) * canvas.width + points[i][0] - s.x) * 4;
            px[i * 3] = d[at];
            px[i * 3 + 1] = d[at + 1];
            px[i * 3 + 2] = d[at + 2];
          }
        }
        return { space: 'rgb', px };
      };
      let reports = Promise.resolve();
      const onFrame = (now, md) => {
        // The frame's time: performance.now() at callback entry (not the callback's now argument,
        // the start of the rendering step, which can be before the frame was handed over).
        const entry = performance.now();
        video.requestVideoFrameCallback(onFrame);
        const width = video.videoWidth, height = video.videoHeight;
        let vf = null;
        try {
          if (width === ${W} && height === ${H}) vf = new VideoFrame(video);
        } catch {
          // no frame to read (yet)
        }
        const meta = {
          t: performance.timeOrigin + entry, entry, now,
          receiveTime: md.receiveTime ?? null, expectedDisplayTime: md.expectedDisplayTime, processingDuration: md.processingDuration ?? null,
          presentedFrames: md.presentedFrames, width, height,
        };
        // Reported in callback order, also if a read takes longer than the next callback's wait.
        reports = reports.then(async () => {
          let got = { space: 'none', px: [] };
          if (vf) {
            try {
              got = await sample(vf);
            } catch (e) {
              console.error('bench sampler: ' + e);
            } finally {
              vf.close();
            }
          }
          void window.__benchFrame({ ...meta, ...got, sampleMs: performance.now() - entry });
        });
      };
      video.requestVideoFrameCallback(onFrame);
    })()`);
    for (let i = 0; i < 200 && this.latest.space === "none"; i++) await sleep(50);
    if (this.latest.space === "none") throw new Error("no video frame callback with the remote screen in the console page");
  }

  /** Polls an expression in the page (page.waitForFunction evaluates strings, which the console's CSP forbids). */
  private async until(expr: string, what: string, timeoutMs = 20_000): Promise<void> {
    const end = now() + timeoutMs;
    while (!(await this.page.evaluate(expr))) {
      if (now() > end) throw new Error(`timed out waiting for ${what} in the console page`);
      await sleep(50);
    }
  }

  /**
   * Both clocks are epoch ms (timeOrigin + now()); checks how well they agree: the page's clock read
   * between two reads of ours, 10 times; keeps the reading with the shortest round trip. The offset
   * is applied when it is larger than that round trip (otherwise it is noise).
   */
  private async calibrateClock(): Promise<void> {
    let best = { rtt: Infinity, offset: 0 };
    for (let i = 0; i < 10; i++) {
      const t0 = now();
      const tp = (await this.page.evaluate("performance.timeOrigin + performance.now()")) as number;
      const t1 = now();
      if (t1 - t0 < best.rtt) best = { rtt: t1 - t0, offset: tp - (t0 + t1) / 2 };
    }
    this.clockRttMs = best.rtt;
    this.clockOffsetMs = best.offset;
    this.clockCorrectionMs = Math.abs(best.offset) > best.rtt ? best.offset : 0;
    console.error(
      `  page clock − bench clock ${best.offset.toFixed(2)} ms (round trip ${best.rtt.toFixed(2)} ms)${this.clockCorrectionMs ? ", corrected" : ""}`,
    );
  }

  private onPageFrame(f: PageFrame): void {
    if (this.closed) return;
    const t = f.t - this.clockCorrectionMs;
    const { px, ...meta } = f;
    if (this.meta.length < 100_000) this.meta.push(meta);
    this.latest = { space: f.space, px };
    this.frames++;
    this.onFrame?.(t);
  }

  shows(points: Pt[], rgb: number): boolean {
    const { space, px } = this.latest;
    if (space === "none") return false;
    // The decoded I420 planes (VP8, BT.601 limited range as the agent encodes it): ±16 like the Node
    // receiver. RGB from a canvas (Chromium's conversion on top): ±40 per channel. Either way the
    // palette's colours differ by far more in some component.
    const want = space === "yuv" ? yuv(rgb) : [(rgb >> 16) & 255, (rgb >> 8) & 255, rgb & 255];
    const tolerance = space === "yuv" ? 16 : 40;
    for (const [x, y] of points) {
      const i = this.index.get(`${x},${y}`);
      if (i === undefined) {
        if (!this.unknownPoint) console.error(`  (${x},${y} is not sampled in the page)`);
        this.unknownPoint = true;
        return false;
      }
      for (let k = 0; k < 3; k++) if (Math.abs(px[i * 3 + k]! - want[k]!) > tolerance) return false;
    }
    return true;
  }

  /** The page's inbound video RTP stats (the console's RTCPeerConnection). */
  async inbound(): Promise<Record<string, number>> {
    const script = `(async () => {
      const pc = ${PAGE_PC};
      if (!pc) return null;
      let out = null;
      let transport = 0;
      (await pc.getStats()).forEach((v) => {
        if (v.type === 'inbound-rtp' && v.kind === 'video') out = v;
        if (v.type === 'transport') transport += v.bytesReceived ?? 0;
      });
      return out && { ...JSON.parse(JSON.stringify(out)), transportBytesReceived: transport };
    })()`;
    const report = await Promise.race([this.page.evaluate(script).catch(() => null), sleep(2000).then(() => undefined)]);
    if (report === undefined) console.error("  (getStats in the page did not answer within 2 s)");
    if (report) this.lastInbound = report as Record<string, number>;
    return this.lastInbound;
  }

  /** Everything the viewer's transport received (video with its padding, RTCP, data channels). */
  async bytesReceived(): Promise<number> {
    const s = await this.inbound();
    return s["transportBytesReceived"] ?? s["bytesReceived"] ?? 0;
  }

  click(x: number, y: number): void {
    const b = this.box;
    const cdp = this.cdp;
    if (!b || !cdp) throw new Error("viewer not started");
    // The centre of remote pixel (x, y) on the page; the console maps it back the same way. Press
    // and release go out together as raw input events (Input.dispatchMouseEvent, as a real mouse
    // would deliver them), not page.mouse.click, which first moves and waits for each step's ack.
    const at = { x: b.left + ((x + 0.5) * b.width) / W, y: b.top + ((y + 0.5) * b.height) / H, button: "left" as const, clickCount: 1 };
    for (const type of ["mousePressed", "mouseReleased"] as const) {
      cdp
        .send("Input.dispatchMouseEvent", { type, ...at, buttons: type === "mousePressed" ? 1 : 0 })
        .catch((e: unknown) => console.error(`  click: ${(e as Error).message}`));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await within(this.browser.close(), 10_000, "closing Chromium").catch((e: unknown) => console.error(`  ${(e as Error).message}`));
  }
}
