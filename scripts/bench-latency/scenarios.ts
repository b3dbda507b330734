/**
 * The scenarios: what the painter (test/support/x11-client.ts's TestXClient, drawing on the
 * benchmark's Xvfb) changes on the screen, and how long each change takes to show at a viewer.
 * Every change comes after the previous one was seen, plus a random 15–50 ms gap; its latency runs
 * from the X server having drawn it (the painter's XSync returned) to the first frame at the viewer
 * whose pixels show the new colour.
 */
import type { TestXClient } from "../../test/support/x11-client.js";
import { ANIMATION_S, CHANGES, FREEZE_MS, H, IDLE_S, IDLE_SETTLE_MS, TIMEOUT_MS, W } from "./config.js";
import { now, sleep, within } from "./harness.js";
import { fmt, fmtBps } from "./report.js";
import { cpuSeconds, median, percentile } from "./statistics.js";
import type { Pt, Viewer } from "./viewer.js";

/** The X client that paints: its fills resolve with the write time and the time the X server had drawn it. */
export type Painter = TestXClient;

/** Watches one viewer for the first frame that shows the expected colour. */
class Watch {
  private want: { points: Pt[]; rgb: number; resolve: (t: number) => void } | null = null;
  /** Called with every frame's arrival time (the animation's gaps). */
  tap: ((t: number) => void) | null = null;
  constructor(private readonly v: Viewer) {
    v.onFrame = (t) => {
      this.tap?.(t);
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

export interface Change {
  tWrite: number;
  tSync: number;
  tFrame: number;
}

export interface ScenarioResult {
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
  /** CPU of the viewer's helperPid (tether-window: the window program), % of one core. */
  helperCpuPct?: number;
  /**
   * Freezes (FREEZE_MS): changes not seen within FREEZE_MS of the X server drawing them, missed ones
   * included (input round trip: its paint → seen leg); in the animation, gaps of more than
   * FREEZE_MS between frames at the viewer while it runs. Absent for idle.
   */
  freezes?: number;
  /** The longest of those waits: a change's latency (missed: TIMEOUT_MS), or the animation's longest gap. */
  longestWaitMs?: number;
  changes?: Change[];
  extra?: Record<string, number | null>;
}

interface Region {
  rect: (i: number) => [number, number, number, number];
  points: (i: number) => Pt[];
}

// Left of the centre, which the support app's own window covers (tether-window: about 440x220
// around it); 560 px left of where it used to be (860, 440): the same phase against VP8's 16x16
// macroblocks, so it is coded alike.
const SQUARE: Region = {
  rect: () => [300, 440, 200, 200],
  points: () => [
    [400, 540],
    [320, 460],
    [480, 460],
    [320, 620],
    [480, 620],
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
/** The dark strip the typing line is typed into. */
const TYPING_LINE: [number, number, number, number] = [190, 890, TYPING_CELLS * 12 + 20, 38];
/** Where the input round trip clicks: around the square's centre, a pixel further each time. */
const CLICKS: [number, number, number, number] = [375, 525, 50, 30];
const FULL: Region = {
  rect: () => [0, 0, W, H],
  points: () => [
    [960, 800], // below the support app's window (tether-window), which is in the centre
    [20, 20],
    [W - 20, 20],
    [20, H - 20],
    [W - 20, H - 20],
  ],
};

export async function paintBackground(p: Painter): Promise<void> {
  await p.fill(0, 0, W, H, 0x202428);
  for (let i = 0; i < 64; i++) await p.fill((i * 97) % W, (i * 53) % H, 300, 200, (i * 2654435761) & 0xffffff);
  await p.fill(SQUARE.rect(0)[0], SQUARE.rect(0)[1], 200, 200, 0x000000);
  await p.fill(...TYPING_LINE, 0x101010);
}

async function measureWindow<T>(
  v: Viewer,
  fn: () => Promise<T>,
): Promise<{ out: T; seconds: number; frames: number; cpuPct: number; bps: number; helperCpuPct?: number }> {
  const b0 = await v.bytesReceived();
  const f0 = v.frames;
  const c0 = cpuSeconds(v.serverPid);
  const h0 = v.helperPid === undefined ? 0 : cpuSeconds(v.helperPid);
  const t0 = now();
  const out = await fn();
  const seconds = (now() - t0) / 1000;
  const c1 = cpuSeconds(v.serverPid);
  const h1 = v.helperPid === undefined ? 0 : cpuSeconds(v.helperPid);
  const b1 = await v.bytesReceived();
  return {
    out,
    seconds,
    frames: v.frames - f0,
    cpuPct: ((c1 - c0) / seconds) * 100,
    bps: ((b1 - b0) * 8) / seconds,
    ...(v.helperPid === undefined ? {} : { helperCpuPct: ((h1 - h0) / seconds) * 100 }),
  };
}

function summary(
  system: string,
  scenario: string,
  lat: number[],
  missed: number,
  w: { seconds: number; frames: number; cpuPct: number; bps: number; helperCpuPct?: number },
  fillAck: number[],
): ScenarioResult {
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
    ...(w.helperCpuPct === undefined ? {} : { helperCpuPct: w.helperCpuPct }),
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
          console.error(`  ${system}: ${name} stopped after 10 misses in a row${v.diagnose ? `; the viewer: ${await v.diagnose()}` : ""}`);
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
  Object.assign(r, freezesOf(lat, missed));
  return r;
}

/** Freezes among changes: those seen after more than FREEZE_MS, and the missed ones. */
function freezesOf(lat: number[], missed: number): { freezes: number; longestWaitMs: number } {
  return {
    freezes: lat.filter((l) => l > FREEZE_MS).length + missed,
    longestWaitMs: missed ? TIMEOUT_MS : lat.length ? Math.max(...lat) : 0,
  };
}

/**
 * The square changes at 120 Hz for a few seconds: the frame rate the viewer gets, and its gaps
 * (from the first change to the first frame, between frames, from the last frame to the last change).
 */
async function animationScenario(system: string, v: Viewer, watch: Watch, p: Painter): Promise<ScenarioResult> {
  const gaps: number[] = [];
  let last = now();
  let lastChange = last;
  const w = await measureWindow(v, async () => {
    last = now();
    watch.tap = (t) => {
      gaps.push(t - last);
      last = t;
    };
    const end = last + ANIMATION_S * 1000;
    let next = now();
    let i = 0;
    while (now() < end) {
      const [x, y, rw, rh] = SQUARE.rect(i);
      await p.fill(x, y, rw, rh, PALETTE[i++ % PALETTE.length]!);
      lastChange = now();
      next += 1000 / 120;
      const wait = next - now();
      if (wait > 0) await sleep(wait);
    }
  });
  watch.tap = null;
  gaps.push(Math.max(0, lastChange - last));
  await sleep(300);
  const r = summary(system, "small square animated at 120 changes/s (fps)", [], 0, w, []);
  r.freezes = gaps.filter((g) => g > FREEZE_MS).length;
  r.longestWaitMs = Math.max(...gaps);
  return r;
}

async function idleScenario(system: string, v: Viewer): Promise<ScenarioResult> {
  await sleep(IDLE_SETTLE_MS);
  const w = await measureWindow(v, () => sleep(IDLE_S * 1000));
  return summary(system, "idle (no change)", [], 0, w, []);
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
    if (e.event !== "ButtonPress" || !pending) return;
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
      v.click(CLICKS[0] + (i % CLICKS[2]), CLICKS[1] + (i % CLICKS[3]));
      const [tFrame, pr] = await within(
        Promise.all([seen, painted]),
        4 * TIMEOUT_MS,
        `input round trip ${i}: seen ${String(seenDone)}, painted ${String(paintedDone)}`,
      );
      if (!pr || Number.isNaN(tFrame)) {
        missed++;
        if (!pr) noPress++;
        if (++streak >= 10) {
          console.error(
            `  ${system}: input round trip stopped after 10 misses in a row (${noPress} without a ButtonPress)${v.diagnose ? `; the viewer: ${await v.diagnose()}` : ""}`,
          );
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
  const r = summary(system, "input round trip (click → paint seen)", lat, missed, w, acks);
  Object.assign(r, freezesOf(outLeg, missed));
  r.extra = { clickToButtonPressP50: inLeg.length ? median(inLeg) : null, paintToSeenP50: outLeg.length ? median(outLeg) : null };
  return r;
}

/** Called after each scenario, outside its measured window (Tether: the sender and receiver stats at that point). */
export type AfterScenario = (r: ScenarioResult) => Promise<void>;

export async function runScenarios(
  system: string,
  v: Viewer,
  p: Painter,
  withInput: boolean,
  after?: AfterScenario,
): Promise<ScenarioResult[]> {
  const watch = new Watch(v);
  const out: ScenarioResult[] = [];
  const log = async (r: ScenarioResult) => {
    if (after) await after(r);
    out.push(r);
    console.error(
      `  ${system} · ${r.scenario}: p50 ${fmt(r.p50)} p95 ${fmt(r.p95)} max ${fmt(r.max)} ms, ${r.fps.toFixed(1)} fps, CPU ${r.cpuPct.toFixed(1)} %${r.helperCpuPct === undefined ? "" : ` (window program ${r.helperCpuPct.toFixed(1)} %)`}, ${fmtBps(r.bps)}${r.missed ? `, ${r.missed} missed` : ""}${r.freezes ? `, ${r.freezes} freezes (longest ${fmt(r.longestWaitMs, 0)} ms)` : ""}`,
    );
  };
  await log(await changeScenario(system, "small change (200x200 square)", v, watch, p, SQUARE));
  await log(await changeScenario(system, "typing-sized change (one 10x18 character cell)", v, watch, p, TYPING));
  await log(await animationScenario(system, v, watch, p));
  if (withInput) await log(await inputScenario(system, v, watch, p));
  await log(await changeScenario(system, "full-screen change", v, watch, p, FULL));
  await log(await idleScenario(system, v));
  return out;
}

/** What the scenarios draw, check or click, as screen rectangles (x, y, w, h): nothing else may cover them. */
export function measuredAreas(): Array<{ what: string; rect: [number, number, number, number] }> {
  return [
    { what: "the small-change square", rect: SQUARE.rect(0) },
    { what: "the typing line", rect: TYPING_LINE },
    { what: "the input round trip's clicks", rect: CLICKS },
    ...FULL.points(0).map(([x, y]) => ({
      what: `the full-screen change's point ${x},${y}`,
      rect: [x, y, 1, 1] as [number, number, number, number],
    })),
  ];
}

/** Every point a scenario checks (the console page samples exactly these on every frame). */
export function samplePoints(): Pt[] {
  const all = [...SQUARE.points(0), ...FULL.points(0)];
  for (let i = 0; i < TYPING_CELLS; i++) all.push(...TYPING.points(i));
  const byKey = new Map<string, Pt>();
  for (const [x, y] of all) byKey.set(`${x},${y}`, [x, y]);
  return [...byKey.values()];
}
