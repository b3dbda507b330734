/**
 * The results: a markdown table of every scenario of every system (p50 against x11vnc's from the
 * same run; a network system's against x11vnc-net's), the network profile with what happened on
 * the link and the issue's targets for it, tether-transfer against tether with the file's figures,
 * each Tether system's tuning outcomes and per-stage table, printed and written to
 * bench-results/<BENCH_OUT>.md (keeping the hand-written history below HISTORY_MARKER) and
 * bench-results/<BENCH_OUT>.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { CHANNEL_HIGH_WATER, CHANNEL_LOW_WATER, FILE_WINDOW_BYTES } from "../../src/session/file-transfer.js";
import { ROOT } from "../../test/support/procs.js";
import { CHANGES, FREEZE_MS, H, HISTORY_MARKER, IDLE_S, IDLE_SETTLE_MS, NOTE, OUT, TIMEOUT_MS, W } from "./config.js";
import { now } from "./harness.js";
import { isNetSystem, PROFILE, type NetRun } from "./network.js";
import type { ScenarioResult } from "./scenarios.js";
import type { TetherProfile } from "./statistics.js";
import type { TransferRun } from "./transfer.js";

export const fmt = (n: number | null | undefined, d = 1): string => (n === null || n === undefined || Number.isNaN(n) ? "–" : n.toFixed(d));
export const fmtBps = (b: number): string => (b >= 1e6 ? `${(b / 1e6).toFixed(2)} Mbit/s` : `${(b / 1e3).toFixed(1)} kbit/s`);

/** The network profile's parameters, in words. */
export function profileText(): string {
  return `${PROFILE.lossPct} % random loss each way, ${PROFILE.rateMbit} Mbit/s each way, ${PROFILE.delayMs ? `${PROFILE.delayMs} ms added one-way delay each way` : "no added delay"}`;
}

/** Prints the run's results and writes them to bench-results/ (`started`: the run's start, for its duration). */
export function writeReport(
  date: string,
  started: number,
  results: ScenarioResult[],
  profile: Record<string, TetherProfile>,
  network: Record<string, NetRun> = {},
  transfers: Record<string, TransferRun> = {},
): void {
  const cores = os.cpus().length;
  const model = os.cpus()[0]?.model ?? "cpu";
  const base = (scenario: string, sys = "x11vnc") => results.find((r) => r.system === sys && r.scenario === scenario);
  const withNet = results.some((r) => isNetSystem(r.system));
  const lines: string[] = [];
  lines.push(
    `Latency benchmark, ${date.slice(0, 10)} (${date}), ${cores} cores (${model}), Node ${process.version}, ${W}x${H}x24 Xvfb, loopback${withNet ? `; tether-net and x11vnc-net across the network profile (${profileText()} on the user's link; see below)` : ""}.`,
  );
  lines.push(
    `${CHANGES} changes per scenario, each after the previous was seen plus a random 15–50 ms gap; latency = X server drew the change (painter's XSync returned) → decoded frame at the viewer whose pixels show the new colour (tether-chromium: the console page's requestVideoFrameCallback for that frame). CPU = the agent (or x11vnc) process, user+sys from /proc/<pid>/stat over the scenario, % of one core. bit/s = everything the viewer's transport received for Tether (getStats transport bytesReceived: video and its padding, RTCP, data channels), socket bytes for RFB. Idle: after ${IDLE_SETTLE_MS / 1000} s without change, over ${IDLE_S} s.`,
  );
  lines.push(
    `Freezes: a change not seen within ${FREEZE_MS} ms of the X server drawing it (latency > ${FREEZE_MS} ms, or missed: not seen within ${TIMEOUT_MS / 1000} s; input round trip: its paint → seen leg), and in the animation a gap of more than ${FREEZE_MS} ms between two frames at the viewer while changes were pending; "longest" is the longest such wait (a missed change counts ${TIMEOUT_MS} ms).`,
  );
  if (NOTE) lines.push(`Note: ${NOTE}`);
  lines.push("");
  lines.push(
    "| system | scenario | p50 ms | p95 ms | max ms | n (missed) | freezes > 200 ms (longest ms) | fps | CPU % of a core | bit/s | p50 vs x11vnc (-net: vs x11vnc-net) | p50 vs x11vnc tuned |",
  );
  lines.push("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const r of results) {
    const b = base(r.scenario, isNetSystem(r.system) ? "x11vnc-net" : "x11vnc");
    const bt = isNetSystem(r.system) ? undefined : base(r.scenario, "x11vnc-tuned");
    const ratio = (x: ScenarioResult | undefined) => (r.p50 !== null && x?.p50 ? `${(r.p50 / x.p50).toFixed(2)}×` : "");
    const freezes = r.freezes === undefined ? "" : `${r.freezes} (${fmt(r.longestWaitMs, 0)})`;
    lines.push(
      `| ${r.system} | ${r.scenario} | ${fmt(r.p50)} | ${fmt(r.p95)} | ${fmt(r.max)} | ${r.p50 === null ? "" : `${r.n} (${r.missed})`} | ${freezes} | ${fmt(r.fps)} | ${fmt(r.cpuPct)} | ${fmtBps(r.bps)} | ${r.system.startsWith("tether") ? ratio(b) : ""} | ${r.system.startsWith("tether") ? ratio(bt) : ""} |`,
    );
  }
  if (withNet) lines.push("", ...networkSection(results, network));
  for (const [system, t] of Object.entries(transfers)) lines.push("", ...transferSection(system, t, results));
  for (const system of new Set(results.filter((r) => r.helperCpuPct !== undefined).map((r) => r.system))) {
    const cpu = results.filter((r) => r.system === system).map((r) => `${r.scenario} ${fmt(r.helperCpuPct)}`);
    lines.push("");
    lines.push(`${system}: the window program (tether_window; not in the CPU column), % of a core: ${cpu.join("; ")}.`);
  }
  for (const [system, prof] of Object.entries(profile)) {
    const sender = prof.sender ?? {};
    const receiver = prof.receiver ?? {};
    const str = (v: unknown) => (v === null || v === undefined ? "–" : String(v));
    lines.push("");
    lines.push(
      `${system}: WebRTC field trials ${prof.fieldTrials ? `"${prof.fieldTrials.trials}" (${prof.fieldTrials.outcome})` : "not reported"}; ` +
        `core count for libwebrtc ${prof.webrtcCores ? `${prof.webrtcCores.cores} (${prof.webrtcCores.outcome})` : "its own"}; ` +
        `VP8 active map ${prof.vp8ActiveMap ? prof.vp8ActiveMap.outcome : "off"}; ` +
        `VP8 profile ${prof.vp8Profile ? `${prof.vp8Profile.profile} (${prof.vp8Profile.outcome}; the last frame's header said ${str(prof.vp8Profile.frameVersion)})` : "libwebrtc's (0)"}; ` +
        `VP8 encoder ${prof.vp8Encoder ? `${prof.vp8Encoder.encoder === "tether" ? "Tether's libvpx" : "libwebrtc's libvpx"} (${prof.vp8Encoder.outcome}; encoders on Tether's libvpx: ${str(prof.vp8Encoder.tetherEncoders)})` : "libwebrtc's libvpx"}; ` +
        `padding floor ${prof.minTransmit ? `${prof.minTransmit.bps / 1000} kbit/s (${prof.minTransmit.outcome})` : "libwebrtc's (100 kbit/s)"}.`,
    );
    lines.push("");
    lines.push(
      `${system} per stage (medians over the changes, ms): wait = X drew it → the grab that caught it started (capture pacing; slightly negative when the agent woke on the damage event before the painter's XSync returned); grab and convert from the native frame (grabMs, convertMs); handoff = convert end → RTCVideoSource.onFrame returned (wake = until the agent's JavaScript has the frame; onFrame = the call itself); send→decoded = onFrame → decoded frame at the receiver (encode + pacing + network + jitter buffer + decode${prof.page ? "; in Chromium up to the requestVideoFrameCallback that had it, so also the wait to be composited" : ""}).`,
    );
    lines.push("");
    lines.push(
      "| scenario | n | wait for capture | grab | convert | handoff (wake + onFrame) | send→decoded | total | encode ms/frame | macroblocks encoded | active-map compare ms | packets/frame | send delay ms/packet | decode ms/frame | estimate kbit/s |",
    );
    lines.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const s of prof.stages ?? []) {
      const t = s.stats;
      lines.push(
        `| ${s.scenario} | ${s.n} | ${fmt(s.waitForCapture, 2)} | ${fmt(s.grab, 2)} | ${fmt(s.convert, 2)} | ${fmt(s.handoff, 2)} (${fmt(s.wake, 2)} + ${fmt(s.onFrame, 2)}) | ${fmt(s.sendToDecoded, 2)} | ${fmt(s.total, 2)} | ${fmt(t?.encodeMs, 2)} | ${t?.activeMbPct === null || t?.activeMbPct === undefined ? "–" : `${fmt(t.activeMbPct, 1)} %`} | ${fmt(t?.compareMs, 2)} | ${fmt(t?.packetsPerFrame, 1)} | ${fmt(t?.packetSendDelayMs, 2)} | ${fmt(t?.decodeMs, 2)} | ${fmt(t?.estimateKbps, 0)} |`,
      );
    }
    lines.push("");
    lines.push(
      `Within send→decoded, over the whole run: encode ${fmt(sender["encodeMsPerFrame"] as number, 2)} ms/frame (${str(sender["encoder"])}, ${str(sender["frameSize"])}, quality limited by: ${str(sender["qualityLimitationReason"])}), packet send delay ${fmt(sender["packetSendDelayMsPerPacket"] as number, 2)} ms/packet, decode ${fmt(receiver["decodeMsPerFrame"] as number, 2)} ms/frame (${str(receiver["decoder"])}), jitter buffer ${fmt(receiver["jitterBufferMsPerFrame"] as number, 2)} ms/frame; frames to the encoder ${str(sender["framesSentToEncoder"])}, encoded ${str(sender["framesEncoded"])}, decoded ${str(receiver["framesDecoded"])}.`,
    );
    const pg = prof.page;
    if (pg) {
      lines.push("");
      lines.push(
        `${system} in the page (requestVideoFrameCallback metadata, medians, ms): last packet received → callback ${fmt(pg["receiveToCallbackMs"], 2)} (of which decode ${fmt(pg["processingMs"], 2)}), rendering step start → callback ${fmt(pg["renderStepToCallbackMs"], 2)}, callback → expected display ${fmt(pg["callbackToExpectedDisplayMs"], 2)}, sampling ${fmt(pg["sampleMs"], 2)} per frame; ${str(pg["callbacks"])} callbacks, ${str(pg["framesPresentedWithoutCallback"])} frames presented without one; page clock − bench clock ${fmt(pg["clockOffsetMs"], 2)} (round trip ${fmt(pg["clockRttMs"], 2)}; corrected by ${fmt(pg["clockCorrectionMs"], 2)}).`,
      );
    }
  }
  lines.push("");
  lines.push(`Run took ${((now() - started) / 1000).toFixed(0)} s.`);
  const md = lines.join("\n");
  console.log(md);

  const outDir = path.join(ROOT, "bench-results");
  mkdirSync(outDir, { recursive: true });
  const slim = results.map(({ changes, ...r }) => ({
    ...r,
    latenciesMs: changes?.map((c) => Math.round((c.tFrame - c.tSync) * 100) / 100),
  }));
  writeFileSync(
    path.join(outDir, `${OUT}.json`),
    JSON.stringify(
      {
        date,
        cores,
        cpuModel: model,
        node: process.version,
        width: W,
        height: H,
        changesPerScenario: CHANGES,
        note: NOTE ?? null,
        freezeMs: FREEZE_MS,
        ...(withNet && { networkProfile: PROFILE, network, targets: targets(results) }),
        ...(Object.keys(transfers).length && { transfers }),
        results: slim,
        profile,
      },
      null,
      2,
    ),
  );
  // latency.md: this run's tables, then whatever follows the history marker in the existing file
  // (the tuning notes, kept by hand).
  const mdFile = path.join(outDir, `${OUT}.md`);
  let history = "";
  try {
    const old = readFileSync(mdFile, "utf8");
    const at = old.indexOf(HISTORY_MARKER);
    if (at >= 0) history = old.slice(at);
  } catch {
    // first run
  }
  writeFileSync(mdFile, `# Latency benchmark (npm run bench:latency)\n\n${md}\n\n${history || `${HISTORY_MARKER}\n`}`);
  console.log(`\nwritten to bench-results/${OUT}.json and bench-results/${OUT}.md`);
}

/** One of the issue's targets for the network profile, checked on this run's figures. */
export interface Target {
  target: string;
  scenario: string;
  figures: string;
  met: boolean | null;
}

const SMALL = "small change (200x200 square)";

/**
 * Issue 20's targets for the lossy link: tether-net's small-change p50 within 15 ms of tether's
 * (loopback, same run) plus the added one-way delay; no freeze in any of tether-net's scenarios;
 * tether-net ÷ x11vnc-net p50 ≤ 0.5 in every latency scenario both measured (null: not measured).
 */
export function targets(results: ScenarioResult[]): Target[] {
  const get = (system: string, scenario: string) => results.find((r) => r.system === system && r.scenario === scenario);
  const out: Target[] = [];
  const loop = get("tether", SMALL);
  const net = get("tether-net", SMALL);
  const bound = loop?.p50 != null ? loop.p50 + 15 + PROFILE.delayMs : null;
  out.push({
    target: `small-change p50 within 15 ms of loopback + the added one-way delay (${PROFILE.delayMs} ms)`,
    scenario: SMALL,
    figures:
      net?.p50 != null && bound !== null
        ? `tether-net ${fmt(net.p50)} ms vs tether ${fmt(loop!.p50)} + 15 + ${PROFILE.delayMs} = ${fmt(bound)} ms`
        : "needs tether and tether-net in BENCH_SYSTEMS",
    met: net?.p50 != null && bound !== null ? net.p50 <= bound : null,
  });
  const netRows = results.filter((r) => r.system === "tether-net" && r.freezes !== undefined);
  const frozen = netRows.filter((r) => (r.freezes ?? 0) > 0);
  out.push({
    target: `no freeze over ${FREEZE_MS} ms at ${PROFILE.lossPct} % loss`,
    scenario: "all of tether-net's",
    figures: netRows.length
      ? frozen.length
        ? frozen.map((r) => `${r.scenario}: ${r.freezes} (longest ${fmt(r.longestWaitMs, 0)} ms)`).join("; ")
        : `0 freezes; longest wait ${fmt(Math.max(...netRows.map((r) => r.longestWaitMs ?? 0)), 0)} ms`
      : "needs tether-net in BENCH_SYSTEMS",
    met: netRows.length ? frozen.length === 0 : null,
  });
  for (const t of results.filter((r) => r.system === "tether-net" && r.p50 !== null)) {
    const x = get("x11vnc-net", t.scenario);
    const ratio = x?.p50 ? t.p50! / x.p50 : null;
    out.push({
      target: "Tether ÷ x11vnc p50 ≤ 0.5, same conditions",
      scenario: t.scenario,
      figures:
        ratio !== null
          ? `tether-net ${fmt(t.p50)} ms ÷ x11vnc-net ${fmt(x!.p50)} ms = ${ratio.toFixed(2)}`
          : x
            ? `x11vnc-net saw ${x.n} of the changes (${x.missed} missed): no p50`
            : "needs x11vnc-net in BENCH_SYSTEMS",
      met: ratio !== null ? ratio <= 0.5 : null,
    });
  }
  return out;
}

/** The network profile: topology and shaping, what each network system's traffic met on the link, and the targets. */
function networkSection(results: ScenarioResult[], network: Record<string, NetRun>): string[] {
  const lines: string[] = [];
  lines.push(
    `Network profile (tether-net, x11vnc-net; scripts/bench-latency/network.ts): the user's computer (the agent, or x11vnc, on the same Xvfb) in a home network behind a NAT router; its link (the home router's WAN) has ${PROFILE.lossPct} % random loss each way (nftables \`numgen random\` on the router's forward path), a ${PROFILE.rateMbit} Mbit/s bottleneck each way (tbf on the router's WAN and LAN egress, bucket ${PROFILE.burstBytes} bytes, queue ${PROFILE.queueMs} ms at the rate, tail drop) and ${PROFILE.delayMs ? `${PROFILE.delayMs} ms added one-way delay each way (scripts/bench-latency/delay-link.py, an AF_PACKET delay line in the WAN link: the kernel has no netem)` : "no added delay"}. Broker and coturn on the public network; the technician (this process: painter, receivers and clock) in an office network behind a symmetric NAT. Tether through the TURN relay (the broker's REST credentials); x11vnc through a port forward on the home router (DNAT of port 5900), the same RFB client as on loopback. Both cross the user's link upstream the same way. The loopback systems ran in the same run on the office namespace's own loopback.`,
  );
  lines.push("");
  lines.push(
    "| system | path | packets up (lost) | packets down (lost) | queue drops up / down | delay line CPU % of a core | delay line since the run began |",
  );
  lines.push("| --- | --- | ---: | ---: | ---: | ---: | --- |");
  for (const [system, n] of Object.entries(network)) {
    const lost = (p: number | null) => (p === null ? "–" : `${p.toFixed(2)} %`);
    lines.push(
      `| ${system} | ${n.path ?? (system.startsWith("x11vnc") ? "TCP via the port forward" : "–")} | ${n.upPackets} (${lost(n.upLostPct)}) | ${n.downPackets} (${lost(n.downLostPct)}) | ${n.queueDropsUp} / ${n.queueDropsDown} | ${fmt(n.delayLineCpuPct)} | ${n.delayLine ?? "–"} |`,
    );
  }
  lines.push("");
  lines.push("Targets for the network profile (issue 20), from this run:");
  lines.push("");
  lines.push("| target | scenario | figures | met? |");
  lines.push("| --- | --- | --- | --- |");
  for (const t of targets(results)) {
    lines.push(`| ${t.target} | ${t.scenario} | ${t.figures} | ${t.met === null ? "not measured" : t.met ? "met" : "**not met**"} |`);
  }
  return lines;
}

/** tether-transfer: what the file did, and each scenario against tether's in the same run. */
function transferSection(system: string, t: TransferRun, results: ScenarioResult[]): string[] {
  const lines: string[] = [];
  const mb = (b: number) => `${(b / 1e6).toFixed(0)} MB`;
  lines.push(
    `${system}: a ${mb(t.fileBytes)} file of random bytes sent by the technician to the user over the "files" data channel (FileEndpoint, as the console's viewer), from the first frame to the end of the scenarios, again as each completed: ${mb(t.bytes)} acknowledged by the app in ${t.seconds.toFixed(0)} s = **${t.mbPerSecond.toFixed(2)} MB/s**; ${t.completed} files completed, ${t.checked} checked on disk, ${t.matched} with the right SHA-256${t.failed.length ? `; ended otherwise: ${t.failed.join(", ")}` : ""}. Flow control: at most ${FILE_WINDOW_BYTES / 1024} KB beyond the app's acknowledgements, and the channel's buffer above ${CHANNEL_HIGH_WATER / 1024} KB waits until ${CHANNEL_LOW_WATER / 1024} KB; those waits ended by the bufferedamountlow event ${t.drainsByEvent}, by the 20 ms poll ${t.drainsByPoll} times. bit/s in the table is what the technician received, so it has the file's acknowledgements (SCTP's and the app's Acks), not the file; the agent's CPU has the file's receiving, hashing and writing.`,
  );
  lines.push("");
  lines.push(
    `| scenario | tether p50 / p95 ms | ${system} p50 / p95 ms | p50 difference ms | agent CPU % tether / ${system} | file MB/s |`,
  );
  lines.push("| --- | ---: | ---: | ---: | ---: | ---: |");
  for (const r of results.filter((x) => x.system === system)) {
    const b = results.find((x) => x.system === "tether" && x.scenario === r.scenario);
    const lat = (x: ScenarioResult | undefined) => (!x ? "–" : x.p50 === null ? `${fmt(x.fps)} fps` : `${fmt(x.p50)} / ${fmt(x.p95)}`);
    const diff = r.p50 !== null && b?.p50 != null ? (r.p50 - b.p50).toFixed(1) : r.p50 === null && b ? `${fmt(r.fps - b.fps)} fps` : "–";
    lines.push(
      `| ${r.scenario} | ${lat(b)} | ${lat(r)} | ${diff} | ${fmt(b?.cpuPct)} / ${fmt(r.cpuPct)} | ${fmt(r.extra?.["fileMBps"], 2)} |`,
    );
  }
  if (!results.some((x) => x.system === "tether")) lines.push("", `(tether was not in BENCH_SYSTEMS: no comparison in this run.)`);
  return lines;
}
