/**
 * The results: a markdown table of every scenario of every system (p50 against x11vnc's from the
 * same run), each Tether system's tuning outcomes and per-stage table, printed and written to
 * bench-results/<BENCH_OUT>.md (keeping the hand-written history below HISTORY_MARKER) and
 * bench-results/<BENCH_OUT>.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { ROOT } from "../../test/support/procs.js";
import { CHANGES, H, HISTORY_MARKER, IDLE_S, IDLE_SETTLE_MS, NOTE, OUT, W } from "./config.js";
import { now } from "./harness.js";
import type { ScenarioResult } from "./scenarios.js";
import type { TetherProfile } from "./statistics.js";

export const fmt = (n: number | null | undefined, d = 1): string => (n === null || n === undefined || Number.isNaN(n) ? "–" : n.toFixed(d));
export const fmtBps = (b: number): string => (b >= 1e6 ? `${(b / 1e6).toFixed(2)} Mbit/s` : `${(b / 1e3).toFixed(1)} kbit/s`);

/** Prints the run's results and writes them to bench-results/ (`started`: the run's start, for its duration). */
export function writeReport(date: string, started: number, results: ScenarioResult[], profile: Record<string, TetherProfile>): void {
  const cores = os.cpus().length;
  const model = os.cpus()[0]?.model ?? "cpu";
  const base = (scenario: string, sys = "x11vnc") => results.find((r) => r.system === sys && r.scenario === scenario);
  const lines: string[] = [];
  lines.push(
    `Latency benchmark, ${date.slice(0, 10)} (${date}), ${cores} cores (${model}), Node ${process.version}, ${W}x${H}x24 Xvfb, loopback.`,
  );
  lines.push(
    `${CHANGES} changes per scenario, each after the previous was seen plus a random 15–50 ms gap; latency = X server drew the change (painter's XSync returned) → decoded frame at the viewer whose pixels show the new colour (tether-chromium: the console page's requestVideoFrameCallback for that frame). CPU = the agent (or x11vnc) process, user+sys from /proc/<pid>/stat over the scenario, % of one core. bit/s = everything the viewer's transport received for Tether (getStats transport bytesReceived: video and its padding, RTCP, data channels), socket bytes for RFB. Idle: after ${IDLE_SETTLE_MS / 1000} s without change, over ${IDLE_S} s.`,
  );
  if (NOTE) lines.push(`Note: ${NOTE}`);
  lines.push("");
  lines.push(
    "| system | scenario | p50 ms | p95 ms | max ms | n (missed) | fps | CPU % of a core | bit/s | p50 vs x11vnc | p50 vs x11vnc tuned |",
  );
  lines.push("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const r of results) {
    const b = base(r.scenario);
    const bt = base(r.scenario, "x11vnc-tuned");
    const ratio = (x: ScenarioResult | undefined) => (r.p50 !== null && x?.p50 ? `${(r.p50 / x.p50).toFixed(2)}×` : "");
    lines.push(
      `| ${r.system} | ${r.scenario} | ${fmt(r.p50)} | ${fmt(r.p95)} | ${fmt(r.max)} | ${r.p50 === null ? "" : `${r.n} (${r.missed})`} | ${fmt(r.fps)} | ${fmt(r.cpuPct)} | ${fmtBps(r.bps)} | ${r.system.startsWith("tether") ? ratio(b) : ""} | ${r.system.startsWith("tether") ? ratio(bt) : ""} |`,
    );
  }
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
