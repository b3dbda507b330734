/**
 * The numbers: percentiles, a process's CPU time, and the per-stage profile of Tether from the
 * agent's trace and the sender's and receiver's RTP stats.
 */
import { readFileSync } from "node:fs";

import type { ChromiumViewer } from "./receiver-chromium.js";
import type { ScenarioResult } from "./scenarios.js";
import type { AgentTrace } from "./systems.js";

const CLK_TCK = 100; // USER_HZ on Linux

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
export const median = (v: number[]) => percentile(v, 50);

/** CPU seconds (user + sys) of a process and its threads so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / CLK_TCK; // fields 14 and 15 (utime, stime)
}

// ---------------------------------------------------------------------------------------------
// Per-stage profile of Tether from the agent's trace and the receiver's stats.

export interface Stages {
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
export interface StageStats {
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

export function stageStats(
  a: { inbound: Record<string, number>; sender: Record<string, number> | undefined },
  b: { inbound: Record<string, number>; sender: Record<string, number> | undefined },
): StageStats {
  const frames = (b.sender?.["framesEncoded"] ?? 0) - (a.sender?.["framesEncoded"] ?? 0);
  const packets = (b.sender?.["packetsSent"] ?? 0) - (a.sender?.["packetsSent"] ?? 0);
  const est = b.sender?.["availableOutgoingBitrate"];
  type Am = { frames: number; mappedFrames: number; activeMbs: number; totalMbs: number; compareMs: number; encodeMs: number };
  const am0 = (a.sender as unknown as { activeMap?: Am } | undefined)?.activeMap;
  const am1 = (b.sender as unknown as { activeMap?: Am } | undefined)?.activeMap;
  const amFrames = am0 && am1 ? am1.frames - am0.frames : 0;
  return {
    activeMbPct:
      amFrames > 0
        ? (100 *
            (am1!.activeMbs -
              am0!.activeMbs +
              ((amFrames - (am1!.mappedFrames - am0!.mappedFrames)) * (am1!.totalMbs - am0!.totalMbs)) / amFrames)) /
          (am1!.totalMbs - am0!.totalMbs)
        : null,
    compareMs: amFrames > 0 ? (am1!.compareMs - am0!.compareMs) / amFrames : null,
    vpxEncodeMs: amFrames > 0 ? (am1!.encodeMs - am0!.encodeMs) / amFrames : null,
    encodeMs: rtpDelta(a.sender, b.sender, "totalEncodeTime", "framesEncoded"),
    packetSendDelayMs: rtpDelta(a.sender, b.sender, "totalPacketSendDelay", "packetsSent"),
    packetsPerFrame: frames > 0 ? packets / frames : null,
    decodeMs: rtpDelta(a.inbound, b.inbound, "totalDecodeTime", "framesDecoded"),
    estimateKbps: typeof est === "number" ? est / 1000 : null,
  };
}

export function stages(name: string, r: ScenarioResult, trace: AgentTrace, st?: StageStats): Stages | null {
  const rows: Array<Omit<Stages, "scenario" | "n" | "stats">> = [];
  for (const c of r.changes ?? []) {
    // The first frame handed to the encoder whose grab started after the painter's write. Not after
    // its XSync returned: the agent's capture wakes on the X server's damage event, and that grab
    // often starts a few tenths of a millisecond before the XSync reply reaches the painter (then
    // "wait for capture" is slightly negative); matching on tSync picked the next frame instead.
    const f = trace.frames.find((fr) => fr.ct - fr.g >= c.tWrite - 0.05);
    if (!f || f.s > c.tFrame + 1) continue;
    rows.push({
      waitForCapture: f.ct - f.g - c.tSync,
      grab: f.g,
      convert: f.c,
      handoff: f.s - (f.ct + f.c),
      wake: f.b - (f.ct + f.c),
      onFrame: f.s - f.b,
      sendToDecoded: c.tFrame - f.s,
      total: c.tFrame - c.tSync,
    });
  }
  if (rows.length === 0) return null;
  const m = (k: keyof (typeof rows)[number]) => median(rows.map((x) => x[k]));
  return {
    scenario: name,
    n: rows.length,
    waitForCapture: m("waitForCapture"),
    grab: m("grab"),
    convert: m("convert"),
    handoff: m("handoff"),
    wake: m("wake"),
    onFrame: m("onFrame"),
    sendToDecoded: m("sendToDecoded"),
    total: m("total"),
    ...(st && { stats: st }),
  };
}

/** What the console page's requestVideoFrameCallback metadata says about the frames it showed (medians, ms). */
export function pageProfile(v: ChromiumViewer): Record<string, number | null> {
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

export function rtpDelta(
  a: Record<string, number> | undefined,
  b: Record<string, number> | undefined,
  sum: string,
  count: string,
): number | null {
  if (!a || !b) return null;
  const n = (b[count] ?? 0) - (a[count] ?? 0);
  return n > 0 ? (((b[sum] ?? 0) - (a[sum] ?? 0)) / n) * 1000 : null;
}

type Stats = Record<string, number> | undefined;
/** A field of the stats that is not a number (the implementation names, the quality limit, the active-map counters). */
const field = <T>(s: Stats, key: string) => (s as unknown as Record<string, T | undefined> | undefined)?.[key];

/** One Tether system's profile in latency.json (and the lines under its table in latency.md). */
export interface TetherProfile {
  fieldTrials: { trials: string; outcome: string } | null;
  webrtcCores: { cores: number; outcome: string } | null;
  vp8ActiveMap: { outcome: string } | null;
  minTransmit: { bps: number; outcome: string } | null;
  vp8Encoder: { encoder: string; outcome: string; tetherEncoders: number | null } | null;
  vp8Profile: { profile: number; outcome: string; frameVersion: number | null } | null;
  stages: Stages[];
  receiver: Record<string, unknown>;
  sender: Record<string, unknown>;
  page?: Record<string, number | null>;
}

/**
 * The profile of one Tether system: the tuning outcomes from the agent's trace, the per-stage rows,
 * and the receiver's (in0 → in1) and sender's (st0 → st1) stats over the whole run.
 */
export function tetherProfile(
  trace: AgentTrace,
  stageRows: Stages[],
  in0: Record<string, number>,
  in1: Record<string, number>,
  st0: Stats,
  st1: Stats,
  page?: ChromiumViewer,
): TetherProfile {
  const activeMap = field<{ tetherEncoders?: number; lastVersion?: number }>(st1, "activeMap");
  return {
    fieldTrials: trace.fieldTrials ?? null,
    webrtcCores: trace.cores ?? null,
    vp8ActiveMap: trace.activeMap ?? null,
    minTransmit: trace.minTransmit ?? null,
    vp8Encoder: trace.vp8Encoder ? { ...trace.vp8Encoder, tetherEncoders: activeMap?.tetherEncoders ?? null } : null,
    vp8Profile: trace.vp8Profile ? { ...trace.vp8Profile, frameVersion: activeMap?.lastVersion ?? null } : null,
    stages: stageRows,
    receiver: {
      decodeMsPerFrame: rtpDelta(in0, in1, "totalDecodeTime", "framesDecoded"),
      jitterBufferMsPerFrame: rtpDelta(in0, in1, "jitterBufferDelay", "jitterBufferEmittedCount"),
      framesDecoded: (in1["framesDecoded"] ?? 0) - (in0["framesDecoded"] ?? 0),
      framesDropped: in1["framesDropped"] ?? null,
      decoder: field<string>(in1, "decoderImplementation") ?? null,
      raw: in1,
    },
    sender: {
      encodeMsPerFrame: rtpDelta(st0, st1, "totalEncodeTime", "framesEncoded"),
      packetSendDelayMsPerPacket: rtpDelta(st0, st1, "totalPacketSendDelay", "packetsSent"),
      framesEncoded: (st1?.["framesEncoded"] ?? 0) - (st0?.["framesEncoded"] ?? 0),
      framesSentToEncoder: trace.frames.length,
      encoder: field<string>(st1, "encoderImplementation") ?? null,
      qualityLimitationReason: field<string>(st1, "qualityLimitationReason") ?? null,
      frameSize: st1 ? `${st1["frameWidth"]}x${st1["frameHeight"]}` : null,
      raw: st1 ?? null,
    },
    ...(page && { page: pageProfile(page) }),
  };
}
