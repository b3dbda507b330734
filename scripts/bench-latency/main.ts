// Latency benchmark: `npm run bench:latency` (runs dist/scripts/bench-latency/main.js after the build).
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
// headless Chromium (receiver-chromium.ts): CPU is still the agent's; Chromium's own load is not
// counted (it competes for the same cores). The per-stage table uses the agent's trace as for tether.
//
// tether-window: the same as tether, but the support app shows its app window (`--window`,
// TETHER_TRACE_UI=1); the consent is a click (XTest) on the dialog's Allow, found in the window's
// accessibility trace, so that the sharing bar (top centre) is on the captured screen throughout,
// and the app window in the centre. The run stops if either covers what the scenarios draw, check or
// click. The window program's CPU is reported apart from the agent's.
//
// tether-before: the same broker (this checkout's) and Node receiver, but the support app of
// another checkout, BENCH_BEFORE_ROOT (built with npm ci; `node $BENCH_BEFORE_ROOT/bin/tether.js
// agent <link>` with its own defaults): an A/B of two versions of the code in the same run.
//
// The parts: config.ts (parameters, environment), harness.ts (clock, teardown), scenarios.ts,
// statistics.ts, report.ts, systems.ts (starting each system), one file per receiver
// (receiver-node.ts, receiver-chromium.ts, receiver-rfb.ts). Processes, Xvfb, the X client, the
// Node receiver and Chromium's flags are test/support/'s, shared with the tests.
//
// tether-transfer: the same as tether, but from the moment the stream runs the technician sends a
// file of random bytes (BENCH_TRANSFER_MB, default 100 MB) to the user over the "files" data channel,
// with the viewer's FileEndpoint; the support app (HOME in a temporary folder) is answered "y" on
// its stdin, saves it to its Downloads folder, and the file goes again as each one completes, for the
// whole run (transfer.ts). Each received file's SHA-256 is checked on disk, then it is deleted. The
// report compares it with tether of the same run and gives the file's MB/s.
//
// tether-net, x11vnc-net: the network profile (network.ts): tether and x11vnc (defaults) with the
// support app / x11vnc on the user's computer behind a home router whose WAN link has random loss,
// a bottleneck and an added delay (defaults: 1 % each way, 20 Mbit/s each way, 20 ms one way each
// way), the broker and coturn on a public network, the technician (this process: painter and
// receivers, one clock) behind an office router's symmetric NAT; Tether through the TURN relay,
// x11vnc through a port forward on the home router. Network namespaces: needs root, iproute2,
// nftables, coturn, python3. With either in BENCH_SYSTEMS the whole run (loopback systems too, on
// the office namespace's own loopback) runs in the office namespace, as a child of this process.
// The report adds freezes (a change not seen within 200 ms, or a gap over 200 ms in the animation),
// the link's measured loss and queue drops, and the targets for the network profile (met or
// not, with the figures).
//
// Everything started here is stopped on the way out, also on failure and on Ctrl+C (the network's
// namespaces too).
//
// Environment: BENCH_CHANGES (changes per scenario, default 200), BENCH_IDLE_S (default 8),
// BENCH_SYSTEMS (comma list of tether,tether-chromium,tether-window,tether-before,tether-transfer,tether-webrtc-defaults,tether-no-active-map,tether-profile-0,
// tether-padding,tether-libwebrtc-vp8,tether-no-burst,tether-libwebrtc-cores,tether-alr-60s,tether-net,x11vnc,x11vnc-tuned,x11vnc-net; default
// tether,tether-chromium,x11vnc; tether-libwebrtc-vp8 runs VP8 on the libvpx inside @roamhq/wrtc instead of Tether's;
// tether-no-active-map runs the agent with TETHER_VP8_ACTIVE_MAP=0, tether-profile-0 with libwebrtc's VP8 profile 0 (loop
// filter on; the active map is then unused) instead of 2, tether-padding with libwebrtc's 100 kbit/s padding floor for
// screen shares, tether-no-burst without WebRTC-BurstyPacer, tether-alr-60s with libwebrtc's
// bandwidth probing on a still screen once a minute instead of every 5 s, tether-libwebrtc-cores with TETHER_WEBRTC_CORES=""
// (A/B of one tuning in the same run; each variant's environment comes from src/agent/webrtc-tuning.ts);
// tether-webrtc-defaults runs the agent with TETHER_WEBRTC_FIELD_TRIALS="", TETHER_WEBRTC_CORES="", TETHER_VP8_ACTIVE_MAP=0,
// TETHER_VP8_PROFILE="", TETHER_WEBRTC_MIN_TRANSMIT_KBPS="" and TETHER_VP8_ENCODER=libwebrtc (libwebrtc's defaults: no
// zero playout delay, one VP8 thread on 2 cores); x11vnc-tuned adds x11vnc with -defer 0 -wait 1 -nowait_bog),
// BENCH_BEFORE_ROOT (the other checkout, for tether-before), BENCH_TRANSFER_MB (tether-transfer's file, default 100), BENCH_NOTE (a line recorded with the results), BENCH_OUT (file
// stem, default latency), BENCH_DEBUG=1 (stack traces), BENCH_TRACE_FILE (append the agent's trace lines to this file, for
// timelines with perf), BENCH_DEADLINE_S (limit for the whole run, default 1800: then everything it started is stopped and
// it exits 1), BENCH_NET_LOSS_PCT, BENCH_NET_RATE_MBIT, BENCH_NET_DELAY_MS (the network profile: random loss in % each
// way, default 1; the bottleneck each way, default 20; the added one-way delay each way, default 20, 0 = none).
import { startXvfb } from "../../test/support/xvfb.js";
import { TestXClient } from "../../test/support/x11-client.js";
import { DEADLINE_S, DEBUG, H, SYSTEMS, W } from "./config.js";
import { cleanup, killAll, now, onCleanup, sleep } from "./harness.js";
import { ChromiumViewer } from "./receiver-chromium.js";
import { writeReport } from "./report.js";
import { paintBackground, runScenarios, type Painter, type ScenarioResult } from "./scenarios.js";
import { stages, stageStats, tetherProfile, type StageStats, type Stages, type TetherProfile } from "./statistics.js";
import { agentStats, checkSystems, startTether, startX11vnc, TETHER_SYSTEMS } from "./systems.js";
import { isNetSystem, NET, NET_DISPLAY, netRun, netSnapshot, runInOfficeNamespace, setUpProfile, type NetRun } from "./network.js";
import { NodeViewer } from "./receiver-node.js";
import type { TransferRun } from "./transfer.js";

/** Runs every scenario on one Tether system, with the sender and receiver stats around each; returns its results and profile. */
async function measureTether(
  system: string,
  display: string,
  painter: Painter,
): Promise<{ results: ScenarioResult[]; profile: TetherProfile; path?: string; transfer?: TransferRun }> {
  const receiver = system === "tether-chromium" ? "console in headless Chromium" : "Node receiver";
  console.error(
    `${system}: broker, agent${system === "tether-before" ? " (BENCH_BEFORE_ROOT's)" : system === "tether-window" ? " in its app window" : ""}, ${receiver}${system === "tether-transfer" ? ", a file to the user throughout" : ""}…`,
  );
  const { viewer, trace, stop, check, transfer } = await startTether(system, display);
  const in0 = await viewer.inbound();
  const st0 = await agentStats(trace, viewer.serverPid);
  // Sender and receiver stats between the scenarios, so that encode, pacing and decode can be
  // told apart per scenario (the stats are cumulative; the deltas are taken outside the windows).
  const perScenario = new Map<string, StageStats>();
  let prev = { inbound: in0, sender: st0 };
  // tether-transfer: the file's MB/s from one scenario's end to the next's (so with the stats between them).
  let file = { t: now(), bytes: transfer?.bytes() ?? 0 };
  const results = await runScenarios(system, viewer, painter, true, async (r) => {
    if (transfer) {
      const cur = { t: now(), bytes: transfer.bytes() };
      r.extra = { ...r.extra, fileMBps: (cur.bytes - file.bytes) / 1e3 / (cur.t - file.t) };
      file = cur;
    }
    const cur = { inbound: await viewer.inbound(), sender: await agentStats(trace, viewer.serverPid) };
    perScenario.set(r.scenario, stageStats(prev, cur));
    prev = cur;
  });
  const transferRun = await transfer?.stop();
  if (transferRun) console.error(`  ${system}: the file: ${JSON.stringify(transferRun)}`);
  await sleep(1100);
  await check?.();
  const in1 = await viewer.inbound();
  const st1 = await agentStats(trace, viewer.serverPid);
  const stageRows = results.map((r) => stages(r.scenario, r, trace, perScenario.get(r.scenario))).filter((s): s is Stages => s !== null);
  const profile = tetherProfile(trace, stageRows, in0, in1, st0, st1, viewer instanceof ChromiumViewer ? viewer : undefined);
  // Which way the stream went (tether-net: expected through the relay), at the technician's end.
  const pair = viewer instanceof NodeViewer ? await viewer.receiver.path().catch(() => null) : null;
  await viewer.close();
  // Stop the agent and broker now so that they do not load the machine during the next system.
  stop();
  await sleep(500);
  return {
    results,
    profile,
    ...(pair && { path: `technician ${pair.local} ↔ app ${pair.remote}` }),
    ...(transferRun && { transfer: transferRun }),
  };
}

/** Runs every scenario on x11vnc (x11vnc-tuned: with -defer 0 -wait 1 -nowait_bog) through the RFB viewer. */
async function measureX11vnc(system: string, display: string, painter: Painter): Promise<ScenarioResult[]> {
  const flags = system === "x11vnc-tuned" ? ["-defer", "0", "-wait", "1", "-nowait_bog"] : [];
  console.error(`${system}: x11vnc ${flags.join(" ")}…`);
  const { viewer, stop } = await startX11vnc(display, system, flags);
  // The first update is the whole screen, raw: 8 MB, over 3 s through x11vnc-net's bottleneck (up to 30 s then, 5 s on loopback).
  for (let i = 0; i < (isNetSystem(system) ? 600 : 100) && viewer.frames === 0; i++) await sleep(50);
  await sleep(2000); // x11vnc settles (its first scans) before the clock runs
  if (isNetSystem(system)) {
    // Across the lossy link TCP carries about 3.5 Mbit/s (1 % loss, 40 ms round trip), and the
    // screen's first picture (and the background painted just before) takes its time: the clock
    // starts once no update came for 1.5 s (at most 60 s).
    let seen = viewer.frames;
    for (let quiet = 0, i = 0; quiet < 6 && i < 240; i++) {
      await sleep(250);
      quiet = viewer.frames === seen ? quiet + 1 : 0;
      seen = viewer.frames;
    }
  }
  const results = await runScenarios(system, viewer, painter, true);
  await stop();
  return results;
}

async function main(): Promise<void> {
  checkSystems();
  const started = now();
  const date = new Date().toISOString();
  const results: ScenarioResult[] = [];
  const profile: Record<string, TetherProfile> = {};
  const network: Record<string, NetRun> = {};
  const transfers: Record<string, TransferRun> = {};
  try {
    // The network profile first (shaping, delay line, coturn), so that a failure there costs no run.
    const net = NET && (await setUpProfile(NET));
    // The network profile's run uses its parent's Xvfb (network.ts says why).
    const xvfb = NET_DISPLAY ? { display: NET_DISPLAY } : await startXvfb({ width: W, height: H });
    if ("stop" in xvfb) onCleanup(() => xvfb.stop());
    const painter = await TestXClient.start(xvfb.display);
    onCleanup(() => painter.stop());

    for (const system of SYSTEMS) {
      await paintBackground(painter);
      const before = net && isNetSystem(system) ? await netSnapshot(net) : undefined;
      let path: string | undefined;
      if (TETHER_SYSTEMS.includes(system)) {
        const run = await measureTether(system, xvfb.display, painter);
        results.push(...run.results);
        profile[system] = run.profile;
        path = run.path;
        if (run.transfer) transfers[system] = run.transfer;
      } else {
        results.push(...(await measureX11vnc(system, xvfb.display, painter)));
      }
      if (net && before) {
        network[system] = { ...(await netRun(net, before, await netSnapshot(net))), ...(path && { path }) };
        console.error(`  ${system}: the user's link: ${JSON.stringify(network[system])}`);
      }
    }
  } finally {
    await cleanup();
  }
  writeReport(date, started, results, profile, network, transfers);
}

// Exit explicitly: letting Node tear the environment down runs @roamhq/wrtc's finalizers outside a
// HandleScope, which aborts the process after the results are written (the agent exits the same way).
// A whole-run deadline: whatever hangs (an agent whose real-time encoder threads spin and starve
// everything else once did), the run ends with one line and everything it started is killed.
// The parent of a run in the network profile allows its child a minute beyond the child's own deadline.
const parent = SYSTEMS.some(isNetSystem) && !NET;
setTimeout(
  () => {
    console.error(`bench:latency: gave up after ${DEADLINE_S} s (BENCH_DEADLINE_S); everything it started is stopped`);
    killAll();
    void cleanup().finally(() => process.exit(1));
  },
  (DEADLINE_S + (parent ? 60 : 0)) * 1000,
).unref();

// With a network system, this process builds the namespaces and runs the benchmark in the office one.
const run = parent
  ? async () => {
      checkSystems();
      const code = await runInOfficeNamespace().finally(() => cleanup());
      if (code !== 0) throw new Error(`the run in the office namespace exited with ${code}`);
    }
  : main;

run().then(
  () => process.exit(0),
  async (error: unknown) => {
    // One readable line; the stack only when asked for (BENCH_DEBUG=1).
    console.error(DEBUG ? error : `bench:latency: ${error instanceof Error ? error.message : String(error)}`);
    await cleanup();
    process.exit(1);
  },
);
