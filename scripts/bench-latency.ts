// Latency benchmark: `npm run bench:latency` (runs dist/scripts/bench-latency.js after the build).
//
// Starts its own Xvfb (1920x1080x24), a broker, a support app (`tether agent <link>`) on that display
// and a technician receiver in this process (console WebSocket signaling, @roamhq/wrtc
// RTCPeerConnection + RTCVideoSink), and a test X client that paints at known times. For every
// change it measures from the moment the X server has drawn it (the drawing client's XSync
// returned) to the moment the technician holds a decoded frame whose pixels show it. The baseline,
// on the same display in the same run: x11vnc (Debian) with a minimal RFB 3.8 client written here
// (no auth, raw encoding, incremental FramebufferUpdateRequest after every update), measured the
// same way. Prints a markdown table, writes bench-results/latency.json and bench-results/latency.md.
//
// tether-chromium: the same broker and agent, but the technician is the real web console in
// headless Chromium (/usr/bin/chromium via playwright-core, loaded only for this system): it signs
// in with the console password, clicks "Request control" in the session row (the agent is told y on
// stdin), and the console's own viewer opens. A requestVideoFrameCallback loop in the page reads
// the sample points of every frame the page composites (VideoFrame.copyTo of the decoded planes;
// see ChromiumViewer.start) and reports them to this process; a frame's time is the callback's
// entry (page epoch ms = the bench's clock, checked at start), so the latency is what a
// technician's browser has on screen, the number users see. Clicks are raw mouse events on the
// <video> (Chromium's input path and the console's input mapping). CPU is still the agent's;
// Chromium's own load is not counted (it competes for the same cores). The per-stage table uses
// the agent's trace as for tether; receiver stats come from the console's RTCPeerConnection
// (kept by an init script), plus the callbacks' metadata.
//
// Everything started here is stopped on the way out, also on failure and on Ctrl+C. Loopback only.
//
// Environment: BENCH_CHANGES (changes per scenario, default 200), BENCH_IDLE_S (default 8),
// BENCH_SYSTEMS (comma list of tether,tether-chromium,tether-webrtc-defaults,tether-no-active-map,tether-profile-0,
// tether-padding,tether-libwebrtc-vp8,tether-no-burst,tether-libwebrtc-cores,tether-alr-60s,x11vnc,x11vnc-tuned; default
// tether,tether-chromium,x11vnc; tether-libwebrtc-vp8 runs VP8 on the libvpx inside @roamhq/wrtc instead of Tether's;
// tether-no-active-map runs the agent with TETHER_VP8_ACTIVE_MAP=0, tether-profile-0 with libwebrtc's VP8 profile 0 (loop
// filter on; the active map is then unused) instead of 2, tether-padding with libwebrtc's 100 kbit/s padding floor for
// screen shares, tether-no-burst without WebRTC-BurstyPacer, tether-alr-60s with libwebrtc's
// bandwidth probing on a still screen once a minute instead of every 5 s, tether-libwebrtc-cores with TETHER_WEBRTC_CORES=""
// (A/B of one tuning in the same run);
// tether-webrtc-defaults runs the agent with TETHER_WEBRTC_FIELD_TRIALS="", TETHER_WEBRTC_CORES="", TETHER_VP8_ACTIVE_MAP=0,
// TETHER_VP8_PROFILE="", TETHER_WEBRTC_MIN_TRANSMIT_KBPS="" and TETHER_VP8_ENCODER=libwebrtc (libwebrtc's defaults: no
// zero playout delay, one VP8 thread on 2 cores); x11vnc-tuned adds x11vnc with -defer 0 -wait 1 -nowait_bog),
// BENCH_NOTE (a line recorded with the results), BENCH_OUT (file stem, default latency), BENCH_DEBUG=1 (stack traces),
// BENCH_TRACE_FILE (append the agent's trace lines to this file, for timelines with perf), BENCH_DEADLINE_S (limit for the
// whole run, default 1800: then everything it started is stopped and it exits 1).
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import wrtcModule from '@roamhq/wrtc';
import type { Browser, CDPSession, Page } from 'playwright-core';
import WebSocket from 'ws';

import { pb, type BrokerToConsole } from '../src/proto/wire.js';
import { AGENT_FIELD_TRIALS, parseTuningTrace, webRtcTuningEnv } from '../src/agent/webrtc-tuning.js';
import { startXvfb, type Xvfb } from '../test/support/xvfb.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const wrtc = wrtcModule as any;

const W = 1920;
const H = 1080;
const CHANGES = Number(process.env['BENCH_CHANGES'] ?? 200);
const IDLE_S = Number(process.env['BENCH_IDLE_S'] ?? 8);
const SYSTEMS = (process.env['BENCH_SYSTEMS'] ?? 'tether,tether-chromium,x11vnc').split(',').map((s) => s.trim());
const OUT = process.env['BENCH_OUT'] ?? 'latency';
const TIMEOUT_MS = 3000;
const HISTORY_MARKER = '<!-- history: kept across runs -->';
const ANIMATION_S = 4;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..'); // dist/scripts/../..
const BIN = path.join(ROOT, 'bin', 'tether.js');
const TEST_CLIENT = path.join(ROOT, 'build', 'Release', 'tether_test_client');
const CLK_TCK = 100; // USER_HZ on Linux

/** Milliseconds since the epoch with sub-millisecond resolution: comparable across processes. */
const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** `p`, or an error after `ms` (for steps that have no timeout of their own). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------------
// Cleanup: everything started registers its teardown here; it runs once, in reverse order.

const cleanups: Array<() => Promise<void> | void> = [];
const children = new Set<ChildProcess>();
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch {
        // keep going: everything else must still be stopped
      }
    }
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  })();
  return cleaning;
}
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    void cleanup().finally(() => process.exit(130));
  });
}

/** Spawns a child that is killed (TERM, then KILL) on cleanup. */
function track(child: ChildProcess, name: string): ChildProcess {
  children.add(child);
  const exited = new Promise<void>((r) => {
    if (child.exitCode !== null || child.signalCode !== null) r();
    else child.once('exit', () => r());
  });
  child.once('exit', () => children.delete(child));
  cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  });
  child.once('error', (e) => console.error(`${name}: ${e.message}`));
  return child;
}

/** Collects a child's output lines; waitFor resolves with the first line that matches. */
class Lines {
  readonly all: string[] = [];
  private buf = '';
  private waiters: Array<{ re: RegExp; resolve: (l: string) => void }> = [];
  onLine: ((line: string) => void) | null = null;
  constructor(stream: NodeJS.ReadableStream | null) {
    stream?.setEncoding('utf8');
    stream?.on('data', (d: string) => {
      this.buf += d;
      let i;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        if (this.onLine) this.onLine(line);
        else if (this.all.length < 10_000) this.all.push(line);
        this.waiters = this.waiters.filter((w) => (w.re.test(line) ? (w.resolve(line), false) : true));
      }
    });
  }
  waitFor(re: RegExp, timeoutMs = 20_000): Promise<string> {
    const seen = this.all.find((l) => re.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${re}; so far:\n${this.all.slice(-20).join('\n')}`)), timeoutMs);
      this.waiters.push({ re, resolve: (l) => (clearTimeout(t), resolve(l)) });
    });
  }
}

// ---------------------------------------------------------------------------------------------
// The X client that paints (build/Release/tether_test_client), driven directly so that its input
// events reach us the moment it prints them.

interface XEvent {
  event: string;
  button?: number;
  x?: number;
  y?: number;
}

class Painter {
  private acks: Array<(t: number) => void> = [];
  onEvent: ((e: XEvent, t: number) => void) | null = null;
  private constructor(private readonly child: ChildProcess) {
    const lines = new Lines(child.stdout);
    lines.onLine = (line) => {
      const t = now();
      const msg = JSON.parse(line) as { ok?: string; event?: string };
      if (msg.ok !== undefined) this.acks.shift()?.(t);
      else if (msg.event !== undefined) this.onEvent?.(msg as XEvent, t);
    };
  }
  static async start(display: string): Promise<Painter> {
    const child = track(spawn(TEST_CLIENT, [display], { stdio: ['pipe', 'pipe', 'inherit'] }), 'test client');
    const p = new Painter(child);
    // Stopped by the cleanup (e.g. on Ctrl+C) while a scenario may still write: no unhandled EPIPE.
    child.stdin!.on('error', () => {});
    await new Promise<number>((r) => p.acks.push(r)); // {"ok":"ready"}
    return p;
  }
  /** Fills a rectangle; resolves with the write time and the time the X server had drawn it. */
  fill(x: number, y: number, w: number, h: number, rgb: number): Promise<{ tWrite: number; tSync: number }> {
    const tWrite = now();
    const done = new Promise<number>((r) => this.acks.push(r));
    this.child.stdin!.write(`fill ${x} ${y} ${w} ${h} ${rgb.toString(16).padStart(6, '0')}\n`);
    return done.then((tSync) => ({ tWrite, tSync }));
  }
}

// ---------------------------------------------------------------------------------------------
// Viewers: something that holds the remote screen and can tell whether it shows a colour.

type Pt = [number, number];

interface Viewer {
  name: string;
  /** The process whose CPU is charged (the agent / x11vnc). */
  serverPid: number;
  /** Called with the arrival time of every complete frame (after it was stored). */
  onFrame: ((t: number) => void) | null;
  frames: number;
  /** Whether the latest frame shows `rgb` at every point. */
  shows(points: Pt[], rgb: number): boolean;
  bytesReceived(): Promise<number>;
  /** A left click (down and up) at screen pixel (x, y). */
  click(x: number, y: number): void;
  close(): Promise<void>;
}

/** BT.601 limited-range Y, U, V (what libyuv's ARGBToI420 computes). */
function yuv(rgb: number): [number, number, number] {
  const r = (rgb >> 16) & 255,
    g = (rgb >> 8) & 255,
    b = rgb & 255;
  return [
    Math.round(0.257 * r + 0.504 * g + 0.098 * b + 16),
    Math.round(-0.148 * r - 0.291 * g + 0.439 * b + 128),
    Math.round(0.439 * r - 0.368 * g - 0.071 * b + 128),
  ];
}

interface I420 {
  width: number;
  height: number;
  data: Uint8Array;
}

/** The technician in Node: console WebSocket for signaling, wrtc peer connection, RTCVideoSink. */
class NodeReceiver implements Viewer {
  name = 'tether (Node receiver)';
  serverPid = -1;
  onFrame: ((t: number) => void) | null = null;
  frames = 0;
  latest: I420 | null = null;
  accessRequestId = '';
  private lastInbound: Record<string, number> = {};
  readonly pc: any;
  private ws!: WebSocket;
  private input: { send(d: Uint8Array): void; readyState: string } | null = null;
  private sink: any;

  constructor() {
    this.pc = new wrtc.RTCPeerConnection({ iceServers: [] });
    this.pc.onicecandidate = (e: { candidate: { candidate: string; sdpMid: string; sdpMLineIndex: number } | null }) => {
      if (e.candidate) this.signal({ type: 'candidate', candidate: { candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex } });
    };
    this.pc.ondatachannel = (e: { channel: { label: string; binaryType: string; readyState: string; send(d: Uint8Array): void } }) => {
      e.channel.binaryType = 'arraybuffer';
      if (e.channel.label === 'input') this.input = e.channel;
    };
    this.pc.ontrack = (e: { track: unknown; receiver?: { jitterBufferTarget?: number; playoutDelayHint?: number } }) => {
      try {
        // Ask for no jitter-buffer target where the implementation knows the knob.
        if (e.receiver && 'jitterBufferTarget' in e.receiver) e.receiver.jitterBufferTarget = 0;
        if (e.receiver && 'playoutDelayHint' in e.receiver) e.receiver.playoutDelayHint = 0;
      } catch {
        // not supported here
      }
      this.sink = new wrtc.nonstandard.RTCVideoSink(e.track);
      this.sink.onframe = ({ frame }: { frame: I420 }) => {
        const t = now();
        this.latest = frame;
        this.frames++;
        this.onFrame?.(t);
      };
    };
  }

  async attach(brokerUrl: string, token: string): Promise<void> {
    const ws = new WebSocket(brokerUrl.replace('http', 'ws') + '/ws/console', { headers: { authorization: `Bearer ${token}` } });
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    ws.on('message', (d) => void this.onMessage(pb.BrokerToConsole.decode(d as Buffer)));
    this.ws = ws;
  }

  private signal(obj: unknown): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(pb.ConsoleToBroker.encode({ signal: { accessRequestId: this.accessRequestId, payload: Buffer.from(JSON.stringify(obj)) } }).finish());
  }

  private async onMessage(m: BrokerToConsole): Promise<void> {
    if (m.body !== 'signal') return;
    const sig = JSON.parse(Buffer.from(m.signal!.payload!).toString());
    if (sig.type === 'offer') {
      await this.pc.setRemoteDescription(sig);
      const answer = await this.pc.createAnswer();
      await this.pc.setLocalDescription(answer);
      this.signal({ type: 'answer', sdp: answer.sdp });
    } else if (sig.candidate) {
      await this.pc.addIceCandidate(sig.candidate).catch(() => {});
    }
  }

  shows(points: Pt[], rgb: number): boolean {
    const f = this.latest;
    if (!f || f.width !== W || f.height !== H) return false;
    const want = yuv(rgb);
    const cw = Math.ceil(f.width / 2),
      ch = Math.ceil(f.height / 2),
      u0 = f.width * f.height;
    for (const [x, y] of points) {
      const i = Math.floor(y / 2) * cw + Math.floor(x / 2);
      const got = [f.data[y * f.width + x]!, f.data[u0 + i]!, f.data[u0 + cw * ch + i]!];
      for (let k = 0; k < 3; k++) if (Math.abs(got[k]! - want[k]!) > 16) return false;
    }
    return true;
  }

  /** The receiver's inbound video RTP stats. */
  async inbound(): Promise<Record<string, number>> {
    // getStats can stall under load in wrtc: give up after 2 s and report the last answer.
    const report = await Promise.race([this.pc.getStats(), sleep(2000).then(() => null)]);
    if (report === null) {
      console.error('  (getStats did not answer within 2 s)');
      return this.lastInbound;
    }
    let out: Record<string, number> = {};
    let transport = 0;
    report.forEach((v: Record<string, unknown>) => {
      if (v['type'] === 'inbound-rtp' && (v['kind'] === 'video' || v['mediaType'] === 'video')) out = v as Record<string, number>;
      if (v['type'] === 'transport') transport += Number(v['bytesReceived'] ?? 0);
    });
    out = { ...out, transportBytesReceived: transport };
    this.lastInbound = out;
    return out;
  }

  /** Everything the viewer's transport received (video with its padding, RTCP, data channels). */
  async bytesReceived(): Promise<number> {
    const s = await this.inbound();
    return s['transportBytesReceived'] ?? s['bytesReceived'] ?? 0;
  }

  click(x: number, y: number): void {
    if (!this.input || this.input.readyState !== 'open') throw new Error('input channel not open');
    const at = { x: (x + 0.5) / W, y: (y + 0.5) / H };
    this.input.send(pb.InputEvent.encode({ button: { button: pb.MouseButton.MOUSE_BUTTON_LEFT, down: true, ...at } }).finish());
    this.input.send(pb.InputEvent.encode({ button: { button: pb.MouseButton.MOUSE_BUTTON_LEFT, down: false, ...at } }).finish());
  }

  get inputOpen(): boolean {
    return this.input?.readyState === 'open';
  }

  async close(): Promise<void> {
    if (this.sink) this.sink.stop();
    this.pc.close();
    this.ws?.close();
  }
}

/** Chromium as the e2e test launches it (test/console-ui.test.ts). */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

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
interface PageFrame {
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
  space: 'yuv' | 'rgb' | 'none';
  px: number[];
}

/**
 * The technician in the real console, in headless Chromium: signs in with the console password,
 * requests control from the session row (so the console's own viewer opens and its <video> shows
 * the stream), and samples the remote screen in the page on every requestVideoFrameCallback. What
 * is measured is thus what a technician's browser has on its <video>, decoded and handed to the
 * compositor (the number users see), not only what a decoder produced.
 */
class ChromiumViewer implements Viewer {
  name = 'tether (Chromium console)';
  serverPid = -1;
  onFrame: ((t: number) => void) | null = null;
  frames = 0;
  /** Page clock − bench clock (ms) as measured at start, and the part subtracted from the page's times. */
  clockOffsetMs = 0;
  clockCorrectionMs = 0;
  clockRttMs = 0;
  /** rVFC metadata of recent frames (for the profile). */
  readonly meta: Array<Omit<PageFrame, 'px'>> = [];
  private latest: Pick<PageFrame, 'space' | 'px'> = { space: 'none', px: [] };
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
    const { chromium } = await import('playwright-core');
    // Signals are this script's: Playwright's own SIGINT handler would exit at once (130) and cut
    // the cleanup short (Xvfb left running); the browser is closed by the cleanup list instead, and
    // Playwright still kills it if the process exits some other way.
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, timeout: 30_000, handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false });
    // The remote screen at one CSS pixel per remote pixel: the stage (below the viewer bar) must
    // be at least W×H, then "fit" scales by min(stageW / W, stageH / H) = 1.
    const page = await browser.newPage({ viewport: { width: W, height: H + 160 } });
    const v = new ChromiumViewer(browser, page, points);
    cleanups.push(() => v.close());
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (e) => console.error(`console page: ${e.message}`));
    page.on('crash', () => console.error('console page crashed'));
    await page.exposeFunction('__benchFrame', (f: PageFrame) => v.onPageFrame(f));
    await page.addInitScript(PC_SPY);
    await page.goto(url + '/');
    await page.locator('#login-name').fill(name);
    await page.locator('#login-password').fill(password);
    await page.locator('#login-form button[type=submit]').click();
    await page.locator('#who').waitFor();
    await page.locator('#link-state', { hasText: 'live' }).waitFor();
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
    await page.locator('#viewer').waitFor();
    await page.locator('#viewer-scope', { hasText: 'control' }).waitFor();
    await this.until(`document.getElementById('video').videoWidth === ${W} && document.getElementById('video').videoHeight === ${H}`, 'the remote screen in the <video>', 30_000);
    await this.until(`(window.__benchChannels || []).some((c) => c.label === 'input' && c.readyState === 'open')`, 'the input channel open');
    this.box = (await page.evaluate(`(() => { const r = document.getElementById('video').getBoundingClientRect(); return { left: r.left, top: r.top, width: r.width, height: r.height }; })()`)) as {
      left: number;
      top: number;
      width: number;
      height: number;
    };
    if (Math.abs(this.box.width - W) > 0.5 || Math.abs(this.box.height - H) > 0.5) console.error(`  (the console shows the remote screen at ${this.box.width}x${this.box.height}, not 1:1; clicks are scaled)`);
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
    for (let i = 0; i < 200 && this.latest.space === 'none'; i++) await sleep(50);
    if (this.latest.space === 'none') throw new Error('no video frame callback with the remote screen in the console page');
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
      const tp = (await this.page.evaluate('performance.timeOrigin + performance.now()')) as number;
      const t1 = now();
      if (t1 - t0 < best.rtt) best = { rtt: t1 - t0, offset: tp - (t0 + t1) / 2 };
    }
    this.clockRttMs = best.rtt;
    this.clockOffsetMs = best.offset;
    this.clockCorrectionMs = Math.abs(best.offset) > best.rtt ? best.offset : 0;
    console.error(`  page clock − bench clock ${best.offset.toFixed(2)} ms (round trip ${best.rtt.toFixed(2)} ms)${this.clockCorrectionMs ? ', corrected' : ''}`);
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
    if (space === 'none') return false;
    // The decoded I420 planes (VP8, BT.601 limited range as the agent encodes it): ±16 like the Node
    // receiver. RGB from a canvas (Chromium's conversion on top): ±40 per channel. Either way the
    // palette's colours differ by far more in some component.
    const want = space === 'yuv' ? yuv(rgb) : [(rgb >> 16) & 255, (rgb >> 8) & 255, rgb & 255];
    const tolerance = space === 'yuv' ? 16 : 40;
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
    if (report === undefined) console.error('  (getStats in the page did not answer within 2 s)');
    if (report) this.lastInbound = report as Record<string, number>;
    return this.lastInbound;
  }

  /** Everything the viewer's transport received (video with its padding, RTCP, data channels). */
  async bytesReceived(): Promise<number> {
    const s = await this.inbound();
    return s['transportBytesReceived'] ?? s['bytesReceived'] ?? 0;
  }

  click(x: number, y: number): void {
    const b = this.box;
    const cdp = this.cdp;
    if (!b || !cdp) throw new Error('viewer not started');
    // The centre of remote pixel (x, y) on the page; the console maps it back the same way. Press
    // and release go out together as raw input events (Input.dispatchMouseEvent, as a real mouse
    // would deliver them), not page.mouse.click, which first moves and waits for each step's ack.
    const at = { x: b.left + ((x + 0.5) * b.width) / W, y: b.top + ((y + 0.5) * b.height) / H, button: 'left' as const, clickCount: 1 };
    for (const type of ['mousePressed', 'mouseReleased'] as const) {
      cdp.send('Input.dispatchMouseEvent', { type, ...at, buttons: type === 'mousePressed' ? 1 : 0 }).catch((e: unknown) => console.error(`  click: ${(e as Error).message}`));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await within(this.browser.close(), 10_000, 'closing Chromium').catch((e: unknown) => console.error(`  ${(e as Error).message}`));
  }
}

/** Buffered reads of exact byte counts from a socket. */
class SockReader {
  private chunks: Buffer[] = [];
  private len = 0;
  private wake: (() => void) | null = null;
  private ended: Error | null = null;
  total = 0;
  constructor(sock: net.Socket) {
    sock.on('data', (b: Buffer) => {
      this.chunks.push(b);
      this.len += b.length;
      this.total += b.length;
      const w = this.wake;
      this.wake = null;
      w?.();
    });
    const end = (e?: Error) => {
      this.ended = e ?? new Error('connection closed');
      const w = this.wake;
      this.wake = null;
      w?.();
    };
    sock.on('close', () => end());
    sock.on('error', end);
  }
  async read(n: number): Promise<Buffer> {
    if (n === 0) return Buffer.alloc(0);
    while (this.len < n) {
      if (this.ended) throw this.ended;
      await new Promise<void>((r) => (this.wake = r));
    }
    let out: Buffer;
    const first = this.chunks[0]!;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let off = 0;
      while (off < n) {
        const c = this.chunks[0]!;
        const take = Math.min(c.length, n - off);
        c.copy(out, off, 0, take);
        off += take;
        if (take === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(take);
      }
    }
    this.len -= n;
    return out;
  }
}

/** A minimal RFB 3.8 viewer: security None, raw encoding, 32 bpp BGRX, incremental updates. */
class RfbViewer implements Viewer {
  serverPid = -1;
  onFrame: ((t: number) => void) | null = null;
  frames = 0;
  private fb = Buffer.alloc(W * H * 4);
  private fbW = 0;
  private closed = false;
  private lastUpdate = now();
  private constructor(
    readonly name: string,
    private readonly sock: net.Socket,
    private readonly rd: SockReader,
  ) {}

  static async connect(name: string, port: number): Promise<RfbViewer> {
    const sock = net.connect({ host: '127.0.0.1', port });
    sock.setNoDelay(true);
    const rd = new SockReader(sock);
    await new Promise<void>((r, j) => (sock.once('connect', r), sock.once('error', j)));
    const v = new RfbViewer(name, sock, rd);
    const version = (await rd.read(12)).toString('latin1');
    if (!version.startsWith('RFB ')) throw new Error(`not an RFB server: ${JSON.stringify(version)}`);
    sock.write('RFB 003.008\n');
    const nTypes = (await rd.read(1))[0]!;
    if (nTypes === 0) throw new Error('RFB: server refused the connection');
    const types = [...(await rd.read(nTypes))];
    if (!types.includes(1)) throw new Error(`RFB: no "None" security type (${types.join(',')})`);
    sock.write(Buffer.from([1]));
    if ((await rd.read(4)).readUInt32BE(0) !== 0) throw new Error('RFB: security handshake failed');
    sock.write(Buffer.from([1])); // ClientInit: shared
    const init = await rd.read(24);
    v.fbW = init.readUInt16BE(0);
    const fbH = init.readUInt16BE(2);
    await rd.read(init.readUInt32BE(20)); // desktop name
    if (v.fbW !== W || fbH !== H) throw new Error(`RFB: framebuffer ${v.fbW}x${fbH}, expected ${W}x${H}`);
    // SetPixelFormat: 32 bpp, depth 24, little endian, true colour, 255/255/255, shifts 16/8/0.
    const spf = Buffer.alloc(20);
    spf[0] = 0;
    spf.set([32, 24, 0, 1], 4);
    spf.writeUInt16BE(255, 8);
    spf.writeUInt16BE(255, 10);
    spf.writeUInt16BE(255, 12);
    spf.set([16, 8, 0], 14);
    sock.write(spf);
    const enc = Buffer.alloc(8); // SetEncodings: raw only
    enc[0] = 2;
    enc.writeUInt16BE(1, 2);
    enc.writeInt32BE(0, 4);
    sock.write(enc);
    v.request(false);
    void v.loop();
    // x11vnc sometimes leaves a request unanswered and the stream stalls: ask again after 200 ms
    // without an update (as viewers do; a surplus request is harmless).
    const watchdog = setInterval(() => {
      if (!v.closed && now() - v.lastUpdate > 200) v.request(true);
    }, 50);
    v.sock.once('close', () => clearInterval(watchdog));
    return v;
  }

  private request(incremental: boolean): void {
    const b = Buffer.alloc(10);
    b[0] = 3;
    b[1] = incremental ? 1 : 0;
    b.writeUInt16BE(W, 6);
    b.writeUInt16BE(H, 8);
    this.sock.write(b);
  }

  private async loop(): Promise<void> {
    try {
      for (;;) {
        const type = (await this.rd.read(1))[0]!;
        if (type === 0) {
          const hdr = await this.rd.read(3);
          const n = hdr.readUInt16BE(1);
          for (let i = 0; i < n; i++) {
            const r = await this.rd.read(12);
            const x = r.readUInt16BE(0),
              y = r.readUInt16BE(2),
              w = r.readUInt16BE(4),
              h = r.readUInt16BE(6),
              e = r.readInt32BE(8);
            if (e !== 0) throw new Error(`RFB: unexpected encoding ${e}`);
            const px = await this.rd.read(w * h * 4);
            for (let row = 0; row < h; row++) px.copy(this.fb, ((y + row) * this.fbW + x) * 4, row * w * 4, (row + 1) * w * 4);
          }
          const t = now();
          this.lastUpdate = t;
          this.request(true);
          this.frames++;
          this.onFrame?.(t);
        } else if (type === 1) {
          const h = await this.rd.read(5);
          await this.rd.read(h.readUInt16BE(3) * 6);
        } else if (type === 2) {
          // bell
        } else if (type === 3) {
          const h = await this.rd.read(7);
          await this.rd.read(h.readUInt32BE(3));
        } else {
          throw new Error(`RFB: unknown server message ${type}`);
        }
      }
    } catch (e) {
      if (!this.closed) console.error(`${this.name}: ${(e as Error).message}`);
    }
  }

  shows(points: Pt[], rgb: number): boolean {
    const r = (rgb >> 16) & 255,
      g = (rgb >> 8) & 255,
      b = rgb & 255;
    for (const [x, y] of points) {
      const i = (y * this.fbW + x) * 4;
      if (Math.abs(this.fb[i]! - b) > 4 || Math.abs(this.fb[i + 1]! - g) > 4 || Math.abs(this.fb[i + 2]! - r) > 4) return false;
    }
    return true;
  }

  async bytesReceived(): Promise<number> {
    return this.rd.total;
  }

  click(x: number, y: number): void {
    const ev = (mask: number) => {
      const b = Buffer.alloc(6);
      b[0] = 5;
      b[1] = mask;
      b.writeUInt16BE(x, 2);
      b.writeUInt16BE(y, 4);
      return b;
    };
    this.sock.write(Buffer.concat([ev(1), ev(0)]));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.sock.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// Measuring.

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
const median = (v: number[]) => percentile(v, 50);

/** CPU seconds (user + sys) of a process and its threads so far. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK; // fields 14 and 15 (utime, stime)
}

/** Watches one viewer for the first frame that shows the expected colour. */
class Watch {
  private want: { points: Pt[]; rgb: number; resolve: (t: number) => void } | null = null;
  constructor(private readonly v: Viewer) {
    v.onFrame = (t) => {
      const w = this.want;
      if (w && v.shows(w.points, w.rgb)) {
        this.want = null;
        w.resolve(t);
      }
    };
  }
  /** Resolves with the arrival time of the first frame showing rgb at points (NaN on timeout). */
  expect(points: Pt[], rgb: number, timeoutMs = TIMEOUT_MS): Promise<number> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.want = null;
        resolve(Number.NaN);
      }, timeoutMs);
      this.want = { points, rgb, resolve: (tf) => (clearTimeout(t), resolve(tf)) };
    });
  }
}

const PALETTE = [0xe03030, 0x30c030, 0x3030e0, 0xe0e030, 0x30e0e0, 0xe030e0, 0xf0f0f0];

interface Change {
  tWrite: number;
  tSync: number;
  tFrame: number;
}

interface ScenarioResult {
  system: string;
  scenario: string;
  n: number;
  missed: number;
  p50: number | null;
  p95: number | null;
  max: number | null;
  fps: number;
  cpuPct: number;
  bps: number;
  seconds: number;
  /** How long the painter's fill took to be acknowledged (write → XSync returned), p50. */
  fillAckP50: number | null;
  changes?: Change[];
  extra?: Record<string, number | null>;
}

interface Region {
  rect: (i: number) => [number, number, number, number];
  points: (i: number) => Pt[];
}

const SQUARE: Region = {
  rect: () => [860, 440, 200, 200],
  points: () => [
    [960, 540],
    [880, 460],
    [1040, 460],
    [880, 620],
    [1040, 620],
  ],
};
// A line of text: each change is one character cell (10x18) typed at the next position.
const TYPING_CELLS = 120;
const TYPING: Region = {
  rect: (i) => [200 + (i % TYPING_CELLS) * 12, 900, 10, 18],
  points: (i) => {
    const x = 200 + (i % TYPING_CELLS) * 12;
    return [
      [x + 4, 908],
      [x + 6, 910],
    ];
  },
};
const FULL: Region = {
  rect: () => [0, 0, W, H],
  points: () => [
    [960, 540],
    [20, 20],
    [W - 20, 20],
    [20, H - 20],
    [W - 20, H - 20],
  ],
};

async function paintBackground(p: Painter): Promise<void> {
  await p.fill(0, 0, W, H, 0x202428);
  for (let i = 0; i < 64; i++) await p.fill((i * 97) % W, (i * 53) % H, 300, 200, (i * 2654435761) & 0xffffff);
  await p.fill(SQUARE.rect(0)[0], SQUARE.rect(0)[1], 200, 200, 0x000000);
  await p.fill(190, 890, TYPING_CELLS * 12 + 20, 38, 0x101010);
}

async function measureWindow<T>(v: Viewer, fn: () => Promise<T>): Promise<{ out: T; seconds: number; frames: number; cpuPct: number; bps: number }> {
  const b0 = await v.bytesReceived();
  const f0 = v.frames;
  const c0 = cpuSeconds(v.serverPid);
  const t0 = now();
  const out = await fn();
  const seconds = (now() - t0) / 1000;
  const c1 = cpuSeconds(v.serverPid);
  const b1 = await v.bytesReceived();
  return { out, seconds, frames: v.frames - f0, cpuPct: ((c1 - c0) / seconds) * 100, bps: ((b1 - b0) * 8) / seconds };
}

function summary(system: string, scenario: string, lat: number[], missed: number, w: { seconds: number; frames: number; cpuPct: number; bps: number }, fillAck: number[]): ScenarioResult {
  return {
    system,
    scenario,
    n: lat.length,
    missed,
    p50: lat.length ? median(lat) : null,
    p95: lat.length ? percentile(lat, 95) : null,
    max: lat.length ? Math.max(...lat) : null,
    fps: w.frames / w.seconds,
    cpuPct: w.cpuPct,
    bps: w.bps,
    seconds: w.seconds,
    fillAckP50: fillAck.length ? median(fillAck) : null,
  };
}

/** ≥ CHANGES changes of a region, each after the previous one was seen (plus a random gap). */
async function changeScenario(system: string, name: string, v: Viewer, watch: Watch, p: Painter, region: Region): Promise<ScenarioResult> {
  const changes: Change[] = [];
  const lat: number[] = [];
  const acks: number[] = [];
  let missed = 0;
  let streak = 0;
  const w = await measureWindow(v, async () => {
    for (let i = 0; i < CHANGES; i++) {
      await sleep(15 + Math.random() * 35); // random phase against any capture tick
      const rgb = PALETTE[i % PALETTE.length]!;
      const [x, y, rw, rh] = region.rect(i);
      const seen = watch.expect(region.points(i), rgb);
      const { tWrite, tSync } = await p.fill(x, y, rw, rh, rgb);
      const tFrame = await seen;
      acks.push(tSync - tWrite);
      if (Number.isNaN(tFrame)) {
        missed++;
        if (++streak >= 10) {
          console.error(`  ${system}: ${name} stopped after 10 misses in a row`);
          break;
        }
        continue;
      }
      streak = 0;
      // A frame processed before the painter's ack: the draw happened between write and ack.
      const l = tFrame - (tFrame < tSync ? tWrite : tSync);
      changes.push({ tWrite, tSync, tFrame });
      lat.push(l);
    }
  });
  const r = summary(system, name, lat, missed, w, acks);
  r.changes = changes;
  return r;
}

/** The square changes at 120 Hz for a few seconds: the frame rate the viewer gets. */
async function animationScenario(system: string, v: Viewer, p: Painter): Promise<ScenarioResult> {
  const w = await measureWindow(v, async () => {
    const end = now() + ANIMATION_S * 1000;
    let next = now();
    let i = 0;
    while (now() < end) {
      const [x, y, rw, rh] = SQUARE.rect(i);
      await p.fill(x, y, rw, rh, PALETTE[i++ % PALETTE.length]!);
      next += 1000 / 120;
      const wait = next - now();
      if (wait > 0) await sleep(wait);
    }
  });
  await sleep(300);
  return summary(system, 'small square animated at 120 changes/s (fps)', [], 0, w, []);
}

/** Idle is the steady state: measured once the screen has been still this long (an agent may wind down after changes). */
const IDLE_SETTLE_MS = 6000;

async function idleScenario(system: string, v: Viewer): Promise<ScenarioResult> {
  await sleep(IDLE_SETTLE_MS);
  const w = await measureWindow(v, () => sleep(IDLE_S * 1000));
  return summary(system, 'idle (no change)', [], 0, w, []);
}

/**
 * Input round trip: the viewer clicks; the painter reports the ButtonPress the X server delivered,
 * and this script answers it at once with a fill of the square; measured until the viewer sees it.
 */
async function inputScenario(system: string, v: Viewer, watch: Watch, p: Painter): Promise<ScenarioResult> {
  const lat: number[] = [];
  const inLeg: number[] = [];
  const outLeg: number[] = [];
  const acks: number[] = [];
  let missed = 0;
  let noPress = 0;
  let streak = 0;
  let i = 0;
  let pending: { rgb: number; resolve: (r: { tPress: number; tWrite: number; tSync: number } | null) => void } | null = null;
  p.onEvent = (e, t) => {
    if (e.event !== 'ButtonPress' || !pending) return;
    const { rgb, resolve } = pending;
    pending = null;
    const [x, y, rw, rh] = SQUARE.rect(0);
    // Bounded like every other wait here: a fill the painter never acknowledges counts as missed.
    void Promise.race([p.fill(x, y, rw, rh, rgb), sleep(TIMEOUT_MS).then(() => null)]).then((r) => {
      if (r === null) console.error(`  ${system}: the painter did not acknowledge a fill within ${TIMEOUT_MS} ms`);
      resolve(r && { tPress: t, tWrite: r.tWrite, tSync: r.tSync });
    });
  };
  const w = await measureWindow(v, async () => {
    for (; i < CHANGES; i++) {
      await sleep(15 + Math.random() * 35);
      const rgb = PALETTE[i % PALETTE.length]!;
      const seen = watch.expect(SQUARE.points(0), rgb);
      const painted = new Promise<{ tPress: number; tWrite: number; tSync: number } | null>((resolve) => {
        const mine = { rgb, resolve };
        pending = mine;
        // By identity, not colour: an earlier change's timer (the palette repeats every 7 changes)
        // must not clear this one's pending press, which then waited forever. And resolved in any
        // case (a no-op if the press already came), so that no change waits longer than this.
        setTimeout(() => {
          if (pending === mine) pending = null;
          resolve(null);
        }, TIMEOUT_MS);
      });
      if (i % 50 === 0) console.error(`  ${system}: input round trip ${i}/${CHANGES}`);
      let seenDone = false;
      let paintedDone = false;
      void seen.then(() => (seenDone = true));
      void painted.then(() => (paintedDone = true));
      const tClick = now();
      v.click(960 + (i % 50) - 25, 540 + (i % 30) - 15);
      const [tFrame, pr] = await within(Promise.all([seen, painted]), 4 * TIMEOUT_MS, `input round trip ${i}: seen ${String(seenDone)}, painted ${String(paintedDone)}`);
      if (!pr || Number.isNaN(tFrame)) {
        missed++;
        if (!pr) noPress++;
        if (++streak >= 10) {
          console.error(`  ${system}: input round trip stopped after 10 misses in a row (${noPress} without a ButtonPress)`);
          break;
        }
        continue;
      }
      streak = 0;
      acks.push(pr.tSync - pr.tWrite);
      lat.push(tFrame - tClick);
      inLeg.push(pr.tPress - tClick);
      outLeg.push(tFrame - pr.tSync);
    }
  });
  p.onEvent = null;
  const r = summary(system, 'input round trip (click → paint seen)', lat, missed, w, acks);
  r.extra = { clickToButtonPressP50: inLeg.length ? median(inLeg) : null, paintToSeenP50: outLeg.length ? median(outLeg) : null };
  return r;
}

/** Called after each scenario, outside its measured window (Tether: the sender and receiver stats at that point). */
type AfterScenario = (r: ScenarioResult) => Promise<void>;

async function runScenarios(system: string, v: Viewer, p: Painter, withInput: boolean, after?: AfterScenario): Promise<ScenarioResult[]> {
  const watch = new Watch(v);
  const out: ScenarioResult[] = [];
  const log = async (r: ScenarioResult) => {
    if (after) await after(r);
    out.push(r);
    console.error(`  ${system} · ${r.scenario}: p50 ${fmt(r.p50)} p95 ${fmt(r.p95)} max ${fmt(r.max)} ms, ${r.fps.toFixed(1)} fps, CPU ${r.cpuPct.toFixed(1)} %, ${fmtBps(r.bps)}${r.missed ? `, ${r.missed} missed` : ''}`);
  };
  await log(await changeScenario(system, 'small change (200x200 square)', v, watch, p, SQUARE));
  await log(await changeScenario(system, 'typing-sized change (one 10x18 character cell)', v, watch, p, TYPING));
  await log(await animationScenario(system, v, p));
  if (withInput) await log(await inputScenario(system, v, watch, p));
  await log(await changeScenario(system, 'full-screen change', v, watch, p, FULL));
  await log(await idleScenario(system, v));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Systems under test.

async function startBroker(): Promise<{ url: string; dataDir: string }> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tether-bench-broker-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const child = track(spawn(process.execPath, [BIN, 'broker', '--host', '127.0.0.1', '--port', '0', '--data', dataDir, '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] }), 'broker');
  const out = new Lines(child.stdout);
  new Lines(child.stderr);
  const line = await out.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/);
  return { url: `http://127.0.0.1:${/127\.0\.0\.1:(\d+)/.exec(line)![1]}`, dataDir };
}

async function cliOut(args: string[]): Promise<string> {
  const child = track(spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }), 'tether');
  const out = new Lines(child.stdout);
  const err = new Lines(child.stderr);
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`tether ${args[0]} failed: ${err.all.join('\n')}`);
  return out.all.join('\n');
}

/** Where each of the agent's tuning trace lines (src/agent/webrtc-tuning.ts) goes in AgentTrace. */
const TUNING_TRACE = { trials: 'fieldTrials', cores: 'cores', vp8ActiveMap: 'activeMap', vp8Profile: 'vp8Profile', vp8Encoder: 'vp8Encoder', minTransmitBps: 'minTransmit' } as const;

interface AgentTrace {
  frames: Array<{ t0: number; ct: number; g: number; c: number; b: number; s: number; r: number }>;
  stats: Array<Record<string, number>>;
  fieldTrials?: { trials: string; outcome: string };
  cores?: { cores: number; outcome: string };
  activeMap?: { outcome: string };
  vp8Profile?: { profile: number; outcome: string };
  vp8Encoder?: { encoder: string; outcome: string };
  minTransmit?: { bps: number; outcome: string };
}

/** Every point a scenario checks (the console page samples exactly these on every frame). */
function samplePoints(): Pt[] {
  const all = [...SQUARE.points(0), ...FULL.points(0)];
  for (let i = 0; i < TYPING_CELLS; i++) all.push(...TYPING.points(i));
  const byKey = new Map<string, Pt>();
  for (const [x, y] of all) byKey.set(`${x},${y}`, [x, y]);
  return [...byKey.values()];
}

/**
 * Broker, technician, session and support app; then the technician's side: `node` = NodeReceiver
 * in this process (access requested through the API), `chromium` = the console in headless
 * Chromium (signed in with the console password, control requested with the row's button).
 */
async function startTether(display: string, extraEnv: Record<string, string>, kind: 'node' | 'chromium'): Promise<{ viewer: NodeReceiver | ChromiumViewer; trace: AgentTrace }> {
  const broker = await startBroker();
  const added = (await cliOut(['technician', 'add', 'bench', '--display-name', 'Bench', '--data', broker.dataDir])).trim();
  const token = added.split('\n').at(-1)!;
  const password = /Console password: (\S+)/.exec(added)?.[1];
  const call = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(broker.url + p, { method, headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) }, ...(body !== undefined && { body: JSON.stringify(body) }) });
    return (await res.json()) as Record<string, string>;
  };
  // Signed in before the app starts: the session row turns online live, as a technician sees it.
  let chromiumViewer: ChromiumViewer | undefined;
  if (kind === 'chromium') {
    if (!password) throw new Error(`no console password in the output of tether technician add:\n${added}`);
    chromiumViewer = await within(ChromiumViewer.signIn(broker.url, 'bench', password, samplePoints()), 90_000, 'Chromium and the console sign-in');
  }
  const session = await call('POST', '/api/sessions', { expiresIn: 3600 });
  const stateHome = mkdtempSync(path.join(os.tmpdir(), 'tether-bench-agent-'));
  cleanups.push(() => rmSync(stateHome, { recursive: true, force: true }));
  const agent = track(
    spawn(process.execPath, [BIN, 'agent', session['link']!], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, DISPLAY: display, XDG_STATE_HOME: stateHome, LANG: 'C.UTF-8', LC_ALL: '', LC_MESSAGES: '', TETHER_TRACE_FRAMES: '1', ...extraEnv },
    }),
    'agent',
  );
  const out = new Lines(agent.stdout);
  const err = new Lines(agent.stderr);
  const trace: AgentTrace = { frames: [], stats: [] };
  const traceFile = process.env['BENCH_TRACE_FILE'];
  err.onLine = (line) => {
    if (traceFile) appendFileSync(traceFile, `${line}\n`);
    const tuned = parseTuningTrace(line); // TETHER_FIELD_TRIALS, TETHER_VP8_PROFILE, …
    if (line.startsWith('TETHER_TRACE ')) trace.frames.push(JSON.parse(line.slice(13)));
    else if (line.startsWith('TETHER_TRACE_STATS ')) trace.stats.push(JSON.parse(line.slice(19)));
    else if (tuned) (trace as unknown as Record<string, unknown>)[TUNING_TRACE[tuned.setting]] = tuned.fields;
    else console.error(`agent: ${line}`);
  };
  await out.waitFor(/^Connected\./);
  if (chromiumViewer) {
    const viewer = chromiumViewer;
    viewer.serverPid = agent.pid!;
    await viewer.requestControl(session['id']!);
    await out.waitFor(/requests to control your screen/);
    agent.stdin!.write('y\n');
    await out.waitFor(/is now viewing and controlling your screen/);
    await within(viewer.start(), 60_000, 'the console viewer and its first frames');
    return { viewer, trace };
  }
  const viewer = new NodeReceiver();
  viewer.serverPid = agent.pid!;
  await viewer.attach(broker.url, token);
  cleanups.push(() => viewer.close());
  const req = await call('POST', `/api/sessions/${session['id']}/access-requests`, { scope: 'control' });
  viewer.accessRequestId = req['id']!;
  await out.waitFor(/requests to control your screen/);
  agent.stdin!.write('y\n');
  await out.waitFor(/is now viewing and controlling your screen/);
  for (let i = 0; i < 200 && !(viewer.latest && viewer.inputOpen); i++) await sleep(50);
  if (!viewer.latest) throw new Error('no video frame from the agent');
  return { viewer, trace };
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function startX11vnc(display: string, name: string, extra: string[]): Promise<{ viewer: RfbViewer; stop: () => Promise<void> }> {
  const port = await freePort();
  const child = track(
    spawn('x11vnc', ['-display', display, '-rfbport', String(port), '-localhost', '-nopw', '-forever', '-shared', '-noipv6', '-quiet', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] }),
    'x11vnc',
  );
  const err = new Lines(child.stderr);
  new Lines(child.stdout);
  let viewer: RfbViewer | undefined;
  for (let i = 0; i < 100 && !viewer; i++) {
    if (child.exitCode !== null) throw new Error(`x11vnc exited with ${child.exitCode}: ${err.all.slice(-10).join('\n')}`);
    await sleep(100);
    viewer = await RfbViewer.connect(name, port).catch(() => undefined);
  }
  if (!viewer) throw new Error(`cannot connect to x11vnc: ${err.all.slice(-10).join('\n')}`);
  viewer.serverPid = child.pid!;
  const v = viewer;
  return {
    viewer: v,
    stop: async () => {
      await v.close();
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Per-stage profile of Tether from the agent's trace and the receiver's stats.

interface Stages {
  scenario: string;
  n: number;
  waitForCapture: number;
  grab: number;
  convert: number;
  handoff: number;
  /** Part of the handoff: convert end → the agent's JavaScript has the frame (worker completion, event loop). */
  wake: number;
  /** Part of the handoff: RTCVideoSource.onFrame itself (wrtc copies the frame). */
  onFrame: number;
  sendToDecoded: number;
  total: number;
  stats?: StageStats;
}

/** Per-scenario deltas of the cumulative RTP stats (ms per frame or per packet). */
interface StageStats {
  encodeMs: number | null;
  packetSendDelayMs: number | null;
  packetsPerFrame: number | null;
  decodeMs: number | null;
  /** The sender's bandwidth estimate at the end of the scenario (candidate pair availableOutgoingBitrate). */
  estimateKbps: number | null;
  /** VP8 active map (agent's encoder hooks): share of macroblocks encoded, compare and libvpx ms per frame. */
  activeMbPct: number | null;
  compareMs: number | null;
  vpxEncodeMs: number | null;
}

function stageStats(a: { inbound: Record<string, number>; sender: Record<string, number> | undefined }, b: { inbound: Record<string, number>; sender: Record<string, number> | undefined }): StageStats {
  const frames = (b.sender?.['framesEncoded'] ?? 0) - (a.sender?.['framesEncoded'] ?? 0);
  const packets = (b.sender?.['packetsSent'] ?? 0) - (a.sender?.['packetsSent'] ?? 0);
  const est = b.sender?.['availableOutgoingBitrate'];
  type Am = { frames: number; mappedFrames: number; activeMbs: number; totalMbs: number; compareMs: number; encodeMs: number };
  const am0 = (a.sender as unknown as { activeMap?: Am } | undefined)?.activeMap;
  const am1 = (b.sender as unknown as { activeMap?: Am } | undefined)?.activeMap;
  const amFrames = am0 && am1 ? am1.frames - am0.frames : 0;
  return {
    activeMbPct: amFrames > 0 ? (100 * (am1!.activeMbs - am0!.activeMbs + (amFrames - (am1!.mappedFrames - am0!.mappedFrames)) * (am1!.totalMbs - am0!.totalMbs) / amFrames)) / (am1!.totalMbs - am0!.totalMbs) : null,
    compareMs: amFrames > 0 ? (am1!.compareMs - am0!.compareMs) / amFrames : null,
    vpxEncodeMs: amFrames > 0 ? (am1!.encodeMs - am0!.encodeMs) / amFrames : null,
    encodeMs: rtpDelta(a.sender, b.sender, 'totalEncodeTime', 'framesEncoded'),
    packetSendDelayMs: rtpDelta(a.sender, b.sender, 'totalPacketSendDelay', 'packetsSent'),
    packetsPerFrame: frames > 0 ? packets / frames : null,
    decodeMs: rtpDelta(a.inbound, b.inbound, 'totalDecodeTime', 'framesDecoded'),
    estimateKbps: typeof est === 'number' ? est / 1000 : null,
  };
}

function stages(name: string, r: ScenarioResult, trace: AgentTrace, st?: StageStats): Stages | null {
  const rows: Array<Omit<Stages, 'scenario' | 'n' | 'stats'>> = [];
  for (const c of r.changes ?? []) {
    // The first frame handed to the encoder whose grab started after the painter's write. Not after
    // its XSync returned: the agent's capture wakes on the X server's damage event, and that grab
    // often starts a few tenths of a millisecond before the XSync reply reaches the painter (then
    // "wait for capture" is slightly negative); matching on tSync picked the next frame instead.
    const f = trace.frames.find((fr) => fr.ct - fr.g >= c.tWrite - 0.05);
    if (!f || f.s > c.tFrame + 1) continue;
    rows.push({ waitForCapture: f.ct - f.g - c.tSync, grab: f.g, convert: f.c, handoff: f.s - (f.ct + f.c), wake: f.b - (f.ct + f.c), onFrame: f.s - f.b, sendToDecoded: c.tFrame - f.s, total: c.tFrame - c.tSync });
  }
  if (rows.length === 0) return null;
  const m = (k: keyof (typeof rows)[number]) => median(rows.map((x) => x[k]));
  return { scenario: name, n: rows.length, waitForCapture: m('waitForCapture'), grab: m('grab'), convert: m('convert'), handoff: m('handoff'), wake: m('wake'), onFrame: m('onFrame'), sendToDecoded: m('sendToDecoded'), total: m('total'), ...(st && { stats: st }) };
}

/** What the console page's requestVideoFrameCallback metadata says about the frames it showed (medians, ms). */
function pageProfile(v: ChromiumViewer): Record<string, number | null> {
  const m = v.meta;
  const med = (xs: number[]) => (xs.length ? median(xs) : null);
  let skipped = 0;
  for (let i = 1; i < m.length; i++) skipped += Math.max(0, m[i]!.presentedFrames - m[i - 1]!.presentedFrames - 1);
  return {
    callbacks: m.length,
    framesPresentedWithoutCallback: skipped,
    receiveToCallbackMs: med(m.filter((f) => f.receiveTime !== null).map((f) => f.entry - f.receiveTime!)),
    processingMs: med(m.filter((f) => f.processingDuration !== null).map((f) => f.processingDuration! * 1000)),
    renderStepToCallbackMs: med(m.map((f) => f.entry - f.now)),
    callbackToExpectedDisplayMs: med(m.map((f) => f.expectedDisplayTime - f.entry)),
    sampleMs: med(m.map((f) => f.sampleMs)),
    clockOffsetMs: v.clockOffsetMs,
    clockCorrectionMs: v.clockCorrectionMs,
    clockRttMs: v.clockRttMs,
  };
}

/**
 * The agent's sender stats: it prints them (TETHER_TRACE_STATS) when the stream starts and on
 * SIGUSR2, so they are taken here, outside the measured windows. Waits up to 2 s for the line.
 */
async function agentStats(trace: AgentTrace, pid: number): Promise<Record<string, number> | undefined> {
  const n = trace.stats.length;
  try {
    process.kill(pid, 'SIGUSR2');
  } catch {
    return trace.stats.at(-1);
  }
  for (let i = 0; i < 40 && trace.stats.length === n; i++) await sleep(50);
  if (trace.stats.length === n) console.error('  (no sender stats from the agent within 2 s)');
  return trace.stats.at(-1);
}

function rtpDelta(a: Record<string, number> | undefined, b: Record<string, number> | undefined, sum: string, count: string): number | null {
  if (!a || !b) return null;
  const n = (b[count] ?? 0) - (a[count] ?? 0);
  return n > 0 ? (((b[sum] ?? 0) - (a[sum] ?? 0)) / n) * 1000 : null;
}

// ---------------------------------------------------------------------------------------------

const fmt = (n: number | null | undefined, d = 1): string => (n === null || n === undefined || Number.isNaN(n) ? '–' : n.toFixed(d));
const fmtBps = (b: number): string => (b >= 1e6 ? `${(b / 1e6).toFixed(2)} Mbit/s` : `${(b / 1e3).toFixed(1)} kbit/s`);

/** Agent variants for an A/B in the same run: the tuning each one's agent gets instead of its defaults (null: libwebrtc's own), as environment. */
const AGENT_VARIANTS: Record<string, Record<string, string>> = {
  'tether-webrtc-defaults': webRtcTuningEnv({ trials: '', cores: null, vp8ActiveMap: false, vp8Profile: null, minTransmitBps: null, vp8Encoder: 'libwebrtc' }),
  'tether-no-active-map': webRtcTuningEnv({ vp8ActiveMap: false }),
  'tether-profile-0': webRtcTuningEnv({ vp8Profile: 0 }),
  'tether-padding': webRtcTuningEnv({ minTransmitBps: null }),
  'tether-libwebrtc-vp8': webRtcTuningEnv({ vp8Encoder: 'libwebrtc' }),
  'tether-libwebrtc-cores': webRtcTuningEnv({ cores: null }),
  'tether-no-burst': webRtcTuningEnv({ trials: AGENT_FIELD_TRIALS.replace(/WebRTC-BurstyPacer\/[^/]*\//, '') }),
  'tether-alr-60s': webRtcTuningEnv({ trials: `${AGENT_FIELD_TRIALS}WebRTC-Bwe-ProbingConfiguration/alr_interval:60s/` }),
};

/** What each system needs from Debian, checked before anything starts: one readable line if missing. */
function checkSystems(): void {
  const known = ['tether', 'tether-chromium', ...Object.keys(AGENT_VARIANTS), 'x11vnc', 'x11vnc-tuned'];
  const unknown = SYSTEMS.filter((s) => !known.includes(s));
  if (unknown.length) throw new Error(`BENCH_SYSTEMS: unknown ${unknown.join(', ')} (known: ${known.join(', ')})`);
  if (SYSTEMS.includes('tether-chromium') && !existsSync('/usr/bin/chromium')) {
    throw new Error('tether-chromium needs Debian chromium (/usr/bin/chromium): apt-get install chromium, or leave it out of BENCH_SYSTEMS');
  }
  const path_ = (process.env['PATH'] ?? '').split(':');
  if (SYSTEMS.some((s) => s.startsWith('x11vnc')) && !path_.some((d) => existsSync(path.join(d, 'x11vnc')))) {
    throw new Error('the x11vnc baseline needs Debian x11vnc: apt-get install x11vnc, or leave it out of BENCH_SYSTEMS');
  }
}

async function main(): Promise<void> {
  checkSystems();
  const started = now();
  const date = new Date().toISOString();
  const results: ScenarioResult[] = [];
  const profile: Record<string, unknown> = {};
  let xvfb: Xvfb | undefined;
  try {
    xvfb = await startXvfb({ width: W, height: H });
    const x = xvfb;
    cleanups.push(() => x.stop());
    const painter = await Painter.start(xvfb.display);

    for (const system of SYSTEMS) {
      await paintBackground(painter);
      if (system === 'tether' || system === 'tether-chromium' || system in AGENT_VARIANTS) {
        const kind = system === 'tether-chromium' ? 'chromium' : 'node';
        console.error(`${system}: broker, agent, ${kind === 'chromium' ? 'console in headless Chromium' : 'Node receiver'}…`);
        const { viewer, trace } = await startTether(xvfb.display, AGENT_VARIANTS[system] ?? {}, kind);
        const in0 = await viewer.inbound();
        const st0 = await agentStats(trace, viewer.serverPid);
        // Sender and receiver stats between the scenarios, so that encode, pacing and decode can be
        // told apart per scenario (the stats are cumulative; the deltas are taken outside the windows).
        const perScenario = new Map<string, StageStats>();
        let prev = { inbound: in0, sender: st0 };
        const rs = await runScenarios(system, viewer, painter, true, async (r) => {
          const cur = { inbound: await viewer.inbound(), sender: await agentStats(trace, viewer.serverPid) };
          perScenario.set(r.scenario, stageStats(prev, cur));
          prev = cur;
        });
        await sleep(1100);
        const in1 = await viewer.inbound();
        const st1 = await agentStats(trace, viewer.serverPid);
        results.push(...rs);
        const stageRows = rs.map((r) => stages(r.scenario, r, trace, perScenario.get(r.scenario))).filter((s): s is Stages => s !== null);
        profile[system] = {
          fieldTrials: trace.fieldTrials ?? null,
          webrtcCores: trace.cores ?? null,
          vp8ActiveMap: trace.activeMap ?? null,
          minTransmit: trace.minTransmit ?? null,
          vp8Encoder: trace.vp8Encoder
            ? { ...trace.vp8Encoder, tetherEncoders: (st1 as unknown as { activeMap?: { tetherEncoders?: number } } | undefined)?.activeMap?.tetherEncoders ?? null }
            : null,
          vp8Profile: trace.vp8Profile ? { ...trace.vp8Profile, frameVersion: (st1 as unknown as { activeMap?: { lastVersion?: number } } | undefined)?.activeMap?.lastVersion ?? null } : null,
          stages: stageRows,
          receiver: {
            decodeMsPerFrame: rtpDelta(in0, in1, 'totalDecodeTime', 'framesDecoded'),
            jitterBufferMsPerFrame: rtpDelta(in0, in1, 'jitterBufferDelay', 'jitterBufferEmittedCount'),
            framesDecoded: (in1['framesDecoded'] ?? 0) - (in0['framesDecoded'] ?? 0),
            framesDropped: in1['framesDropped'] ?? null,
            decoder: (in1 as unknown as Record<string, string>)['decoderImplementation'] ?? null,
            raw: in1,
          },
          sender: {
            encodeMsPerFrame: rtpDelta(st0, st1, 'totalEncodeTime', 'framesEncoded'),
            packetSendDelayMsPerPacket: rtpDelta(st0, st1, 'totalPacketSendDelay', 'packetsSent'),
            framesEncoded: (st1?.['framesEncoded'] ?? 0) - (st0?.['framesEncoded'] ?? 0),
            framesSentToEncoder: trace.frames.length,
            encoder: (st1 as unknown as Record<string, string> | undefined)?.['encoderImplementation'] ?? null,
            qualityLimitationReason: (st1 as unknown as Record<string, string> | undefined)?.['qualityLimitationReason'] ?? null,
            frameSize: st1 ? `${st1['frameWidth']}x${st1['frameHeight']}` : null,
            raw: st1 ?? null,
          },
          ...(viewer instanceof ChromiumViewer && { page: pageProfile(viewer) }),
        };
        await viewer.close();
        // Stop the agent and broker now so that they do not load the machine during the baseline.
        for (const c of [...children]) if (c !== (painter as unknown as { child: ChildProcess }).child && c.spawnargs[1] === BIN) c.kill('SIGTERM');
        await sleep(500);
      } else {
        const tuned = system === 'x11vnc-tuned';
        const flags = tuned ? ['-defer', '0', '-wait', '1', '-nowait_bog'] : [];
        console.error(`${system}: x11vnc ${flags.join(' ')}…`);
        const { viewer, stop } = await startX11vnc(xvfb.display, system, flags);
        for (let i = 0; i < 100 && viewer.frames === 0; i++) await sleep(50);
        await sleep(2000); // x11vnc settles (its first scans) before the clock runs
        results.push(...(await runScenarios(system, viewer, painter, true)));
        await stop();
      }
    }
  } finally {
    await cleanup();
  }

  // ---- Output ----
  const cores = os.cpus().length;
  const model = os.cpus()[0]?.model ?? 'cpu';
  const base = (scenario: string, sys = 'x11vnc') => results.find((r) => r.system === sys && r.scenario === scenario);
  const lines: string[] = [];
  lines.push(`Latency benchmark, ${date.slice(0, 10)} (${date}), ${cores} cores (${model}), Node ${process.version}, ${W}x${H}x24 Xvfb, loopback.`);
  lines.push(`${CHANGES} changes per scenario, each after the previous was seen plus a random 15–50 ms gap; latency = X server drew the change (painter's XSync returned) → decoded frame at the viewer whose pixels show the new colour (tether-chromium: the console page's requestVideoFrameCallback for that frame). CPU = the agent (or x11vnc) process, user+sys from /proc/<pid>/stat over the scenario, % of one core. bit/s = everything the viewer's transport received for Tether (getStats transport bytesReceived: video and its padding, RTCP, data channels), socket bytes for RFB. Idle: after ${IDLE_SETTLE_MS / 1000} s without change, over ${IDLE_S} s.`);
  if (process.env['BENCH_NOTE']) lines.push(`Note: ${process.env['BENCH_NOTE']}`);
  lines.push('');
  lines.push('| system | scenario | p50 ms | p95 ms | max ms | n (missed) | fps | CPU % of a core | bit/s | p50 vs x11vnc | p50 vs x11vnc tuned |');
  lines.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    const b = base(r.scenario);
    const bt = base(r.scenario, 'x11vnc-tuned');
    const ratio = (x: ScenarioResult | undefined) => (r.p50 !== null && x?.p50 ? `${(r.p50 / x.p50).toFixed(2)}×` : '');
    lines.push(
      `| ${r.system} | ${r.scenario} | ${fmt(r.p50)} | ${fmt(r.p95)} | ${fmt(r.max)} | ${r.p50 === null ? '' : `${r.n} (${r.missed})`} | ${fmt(r.fps)} | ${fmt(r.cpuPct)} | ${fmtBps(r.bps)} | ${r.system.startsWith('tether') ? ratio(b) : ''} | ${r.system.startsWith('tether') ? ratio(bt) : ''} |`,
    );
  }
  for (const [system, p] of Object.entries(profile)) {
    const prof = p as { fieldTrials?: { trials: string; outcome: string } | null; webrtcCores?: { cores: number; outcome: string } | null; vp8ActiveMap?: { outcome: string } | null; vp8Profile?: { profile: number; outcome: string; frameVersion: number | null } | null; vp8Encoder?: { encoder: string; outcome: string; tetherEncoders: number | null } | null; minTransmit?: { bps: number; outcome: string } | null; stages?: Stages[]; receiver?: Record<string, unknown>; sender?: Record<string, unknown>; page?: Record<string, number | null> };
    const sender = prof.sender ?? {};
    const receiver = prof.receiver ?? {};
    const str = (v: unknown) => (v === null || v === undefined ? '–' : String(v));
    lines.push('');
    lines.push(
      `${system}: WebRTC field trials ${prof.fieldTrials ? `"${prof.fieldTrials.trials}" (${prof.fieldTrials.outcome})` : 'not reported'}; ` +
        `core count for libwebrtc ${prof.webrtcCores ? `${prof.webrtcCores.cores} (${prof.webrtcCores.outcome})` : "its own"}; ` +
        `VP8 active map ${prof.vp8ActiveMap ? prof.vp8ActiveMap.outcome : 'off'}; ` +
        `VP8 profile ${prof.vp8Profile ? `${prof.vp8Profile.profile} (${prof.vp8Profile.outcome}; the last frame's header said ${str(prof.vp8Profile.frameVersion)})` : "libwebrtc's (0)"}; ` +
        `VP8 encoder ${prof.vp8Encoder ? `${prof.vp8Encoder.encoder === 'tether' ? "Tether's libvpx" : "libwebrtc's libvpx"} (${prof.vp8Encoder.outcome}; encoders on Tether's libvpx: ${str(prof.vp8Encoder.tetherEncoders)})` : "libwebrtc's libvpx"}; ` +
        `padding floor ${prof.minTransmit ? `${prof.minTransmit.bps / 1000} kbit/s (${prof.minTransmit.outcome})` : "libwebrtc's (100 kbit/s)"}.`,
    );
    lines.push('');
    lines.push(
      `${system} per stage (medians over the changes, ms): wait = X drew it → the grab that caught it started (capture pacing; slightly negative when the agent woke on the damage event before the painter's XSync returned); grab and convert from the native frame (grabMs, convertMs); handoff = convert end → RTCVideoSource.onFrame returned (wake = until the agent's JavaScript has the frame; onFrame = the call itself); send→decoded = onFrame → decoded frame at the receiver (encode + pacing + network + jitter buffer + decode${prof.page ? '; in Chromium up to the requestVideoFrameCallback that had it, so also the wait to be composited' : ''}).`,
    );
    lines.push('');
    lines.push('| scenario | n | wait for capture | grab | convert | handoff (wake + onFrame) | send→decoded | total | encode ms/frame | macroblocks encoded | active-map compare ms | packets/frame | send delay ms/packet | decode ms/frame | estimate kbit/s |');
    lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const s of prof.stages ?? []) {
      const t = s.stats;
      lines.push(`| ${s.scenario} | ${s.n} | ${fmt(s.waitForCapture, 2)} | ${fmt(s.grab, 2)} | ${fmt(s.convert, 2)} | ${fmt(s.handoff, 2)} (${fmt(s.wake, 2)} + ${fmt(s.onFrame, 2)}) | ${fmt(s.sendToDecoded, 2)} | ${fmt(s.total, 2)} | ${fmt(t?.encodeMs, 2)} | ${t?.activeMbPct === null || t?.activeMbPct === undefined ? '–' : `${fmt(t.activeMbPct, 1)} %`} | ${fmt(t?.compareMs, 2)} | ${fmt(t?.packetsPerFrame, 1)} | ${fmt(t?.packetSendDelayMs, 2)} | ${fmt(t?.decodeMs, 2)} | ${fmt(t?.estimateKbps, 0)} |`);
    }
    lines.push('');
    lines.push(
      `Within send→decoded, over the whole run: encode ${fmt(sender['encodeMsPerFrame'] as number, 2)} ms/frame (${str(sender['encoder'])}, ${str(sender['frameSize'])}, quality limited by: ${str(sender['qualityLimitationReason'])}), packet send delay ${fmt(sender['packetSendDelayMsPerPacket'] as number, 2)} ms/packet, decode ${fmt(receiver['decodeMsPerFrame'] as number, 2)} ms/frame (${str(receiver['decoder'])}), jitter buffer ${fmt(receiver['jitterBufferMsPerFrame'] as number, 2)} ms/frame; frames to the encoder ${str(sender['framesSentToEncoder'])}, encoded ${str(sender['framesEncoded'])}, decoded ${str(receiver['framesDecoded'])}.`,
    );
    const pg = prof.page;
    if (pg) {
      lines.push('');
      lines.push(
        `${system} in the page (requestVideoFrameCallback metadata, medians, ms): last packet received → callback ${fmt(pg['receiveToCallbackMs'], 2)} (of which decode ${fmt(pg['processingMs'], 2)}), rendering step start → callback ${fmt(pg['renderStepToCallbackMs'], 2)}, callback → expected display ${fmt(pg['callbackToExpectedDisplayMs'], 2)}, sampling ${fmt(pg['sampleMs'], 2)} per frame; ${str(pg['callbacks'])} callbacks, ${str(pg['framesPresentedWithoutCallback'])} frames presented without one; page clock − bench clock ${fmt(pg['clockOffsetMs'], 2)} (round trip ${fmt(pg['clockRttMs'], 2)}; corrected by ${fmt(pg['clockCorrectionMs'], 2)}).`,
      );
    }
  }
  lines.push('');
  lines.push(`Run took ${((now() - started) / 1000).toFixed(0)} s.`);
  const md = lines.join('\n');
  console.log(md);

  const outDir = path.join(ROOT, 'bench-results');
  mkdirSync(outDir, { recursive: true });
  const slim = results.map(({ changes, ...r }) => ({ ...r, latenciesMs: changes?.map((c) => Math.round((c.tFrame - c.tSync) * 100) / 100) }));
  writeFileSync(
    path.join(outDir, `${OUT}.json`),
    JSON.stringify({ date, cores, cpuModel: model, node: process.version, width: W, height: H, changesPerScenario: CHANGES, note: process.env['BENCH_NOTE'] ?? null, results: slim, profile }, null, 2),
  );
  // latency.md: this run's tables, then whatever follows the history marker in the existing file
  // (the tuning notes, kept by hand).
  const mdFile = path.join(outDir, `${OUT}.md`);
  let history = '';
  try {
    const old = readFileSync(mdFile, 'utf8');
    const at = old.indexOf(HISTORY_MARKER);
    if (at >= 0) history = old.slice(at);
  } catch {
    // first run
  }
  writeFileSync(mdFile, `# Latency benchmark (npm run bench:latency)\n\n${md}\n\n${history || `${HISTORY_MARKER}\n`}`);
  console.log(`\nwritten to bench-results/${OUT}.json and bench-results/${OUT}.md`);
}

// Exit explicitly: letting Node tear the environment down runs @roamhq/wrtc's finalizers outside a
// HandleScope, which aborts the process after the results are written (the agent exits the same way).
// A whole-run deadline: whatever hangs (an agent whose real-time encoder threads spin and starve
// everything else once did), the run ends with one line and everything it started is killed.
const DEADLINE_S = Number(process.env['BENCH_DEADLINE_S'] ?? 1800);
setTimeout(() => {
  console.error(`bench:latency: gave up after ${DEADLINE_S} s (BENCH_DEADLINE_S); everything it started is stopped`);
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  void cleanup().finally(() => process.exit(1));
}, DEADLINE_S * 1000).unref();

main().then(
  () => process.exit(0),
  async (error: unknown) => {
    // One readable line; the stack only when asked for (BENCH_DEBUG=1).
    console.error(process.env['BENCH_DEBUG'] === '1' ? error : `bench:latency: ${error instanceof Error ? error.message : String(error)}`);
    await cleanup();
    process.exit(1);
  },
);
