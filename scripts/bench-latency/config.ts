/**
 * The benchmark's fixed parameters and everything it reads from the environment (listed in
 * main.ts's header), in one place.
 */

/** The Xvfb screen, and the frame size every viewer must show. */
export const W = 1920;
export const H = 1080;

/** Changes per scenario. */
export const CHANGES = Number(process.env["BENCH_CHANGES"] ?? 200);
/** Seconds of the idle measurement, after IDLE_SETTLE_MS without change. */
export const IDLE_S = Number(process.env["BENCH_IDLE_S"] ?? 8);
/** Idle is the steady state: measured once the screen has been still this long (an agent may wind down after changes). */
export const IDLE_SETTLE_MS = 6000;
/** Seconds of the 120 changes/s animation. */
export const ANIMATION_S = 4;
/** How long a change may take to be seen before it counts as missed. */
export const TIMEOUT_MS = 3000;
/** A freeze: a change not seen within this long, or (animation) a gap this long between frames (report.ts says it in full). */
export const FREEZE_MS = 200;

export const SYSTEMS = (process.env["BENCH_SYSTEMS"] ?? "tether,tether-chromium,x11vnc").split(",").map((s) => s.trim());
/** File stem of the results in bench-results/. */
export const OUT = process.env["BENCH_OUT"] ?? "latency";
/** A line recorded with the results. */
export const NOTE = process.env["BENCH_NOTE"];
/** Where the agent's trace lines are appended (for timelines with perf). */
export const TRACE_FILE = process.env["BENCH_TRACE_FILE"];
/** Limit for the whole run, in seconds. */
export const DEADLINE_S = Number(process.env["BENCH_DEADLINE_S"] ?? 1800);
/** Stack traces on failure. */
export const DEBUG = process.env["BENCH_DEBUG"] === "1";
/** tether-transfer: the size of the file sent to the user, again and again, while the scenarios run (transfer.ts). */
export const TRANSFER_BYTES = Number(process.env["BENCH_TRANSFER_MB"] ?? 100) * 1_000_000;
/** Another checkout of the project (built with npm ci), whose support app the system tether-before runs. */
export const BEFORE_ROOT = process.env["BENCH_BEFORE_ROOT"];

/**
 * The network profile (network.ts), on the user's link (the home router's WAN), each way: random
 * loss in %, the bottleneck in Mbit/s (tbf, with its bucket in bytes and its queue in ms at that
 * rate), and the added one-way delay in ms (0: no delay line).
 */
export const NET_LOSS_PCT = Number(process.env["BENCH_NET_LOSS_PCT"] ?? 1);
export const NET_RATE_MBIT = Number(process.env["BENCH_NET_RATE_MBIT"] ?? 20);
export const NET_BURST_BYTES = 15_140; // ten full-size frames: 6 ms at 20 Mbit/s
export const NET_QUEUE_MS = 50;
export const NET_DELAY_MS = Number(process.env["BENCH_NET_DELAY_MS"] ?? 20);

/** latency.md: what follows this line in the existing file is kept (the tuning history, by hand). */
export const HISTORY_MARKER = "<!-- history: kept across runs -->";
