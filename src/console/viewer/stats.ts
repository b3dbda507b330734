/**
 * The viewer's overlay numbers from RTCPeerConnection.getStats(), as a pure function of two
 * successive samples: frames per second, bitrate from the bytesReceived delta, and a latency
 * estimate (half the ICE round trip + the jitter buffer's average delay + average decode time).
 */

import { selectedPath, type IcePath } from "../../session/ice-path.js";

/** The fields used from one getStats() call (inbound video RTP and the selected candidate pair). */
export interface StatsSample {
  atMs: number;
  bytesReceived: number;
  framesDecoded: number;
  framesPerSecond?: number;
  jitterBufferDelay?: number; // seconds, cumulative
  jitterBufferEmittedCount?: number;
  totalDecodeTime?: number; // seconds, cumulative
  roundTripTime?: number; // seconds, current
  frameWidth?: number;
  frameHeight?: number;
  /** Through a TURN relay or not (the selected candidate pair). */
  path?: IcePath;
}

export interface Overlay {
  fps: number | null;
  /** kbit/s */
  kbps: number | null;
  /** milliseconds, estimate */
  latencyMs: number | null;
}

function delta(a: number | undefined, b: number | undefined): number | null {
  return a === undefined || b === undefined ? null : b - a;
}

export function overlay(prev: StatsSample | null, cur: StatsSample): Overlay {
  const dt = prev ? (cur.atMs - prev.atMs) / 1000 : 0;
  let fps: number | null = cur.framesPerSecond ?? null;
  let kbps: number | null = null;
  if (prev && dt > 0) {
    const bytes = cur.bytesReceived - prev.bytesReceived;
    if (bytes >= 0) kbps = (bytes * 8) / 1000 / dt;
    if (fps === null) {
      const frames = cur.framesDecoded - prev.framesDecoded;
      if (frames >= 0) fps = frames / dt;
    }
  }
  // Per-frame averages over the last interval when possible (what the user feels now), else overall.
  const perFrame = (total: "jitterBufferDelay" | "totalDecodeTime", count: "jitterBufferEmittedCount" | "framesDecoded") => {
    const dTotal = prev ? delta(prev[total], cur[total]) : null;
    const dCount = prev ? delta(prev[count], cur[count]) : null;
    if (dTotal !== null && dCount !== null && dCount > 0) return dTotal / dCount;
    const t = cur[total];
    const c = cur[count];
    return t !== undefined && c !== undefined && c > 0 ? t / c : null;
  };
  const jitter = perFrame("jitterBufferDelay", "jitterBufferEmittedCount");
  const decode = perFrame("totalDecodeTime", "framesDecoded");
  const parts = [cur.roundTripTime !== undefined ? cur.roundTripTime / 2 : null, jitter, decode].filter((v): v is number => v !== null);
  const latencyMs = parts.length ? parts.reduce((a, b) => a + b, 0) * 1000 : null;
  return { fps, kbps, latencyMs };
}

/** "24 fps · ≈ 35 ms · 1.2 Mbit/s" with dashes for what is not known yet. */
export function overlayText(o: Overlay): string {
  const fps = o.fps === null ? "– fps" : `${Math.round(o.fps)} fps`;
  const lat = o.latencyMs === null ? "≈ – ms" : `≈ ${Math.round(o.latencyMs)} ms`;
  const rate = o.kbps === null ? "– kbit/s" : o.kbps >= 1000 ? `${(o.kbps / 1000).toFixed(1)} Mbit/s` : `${Math.round(o.kbps)} kbit/s`;
  return `${fps} · ${lat} · ${rate}`;
}

/** Picks the fields out of a getStats() report (entries as plain records). */
export function sampleFrom(entries: Iterable<Record<string, unknown>>, atMs: number): StatsSample | null {
  const list = [...entries];
  let inbound: Record<string, unknown> | undefined;
  let rtt: number | undefined;
  const pairs: Record<string, unknown>[] = [];
  let selectedPairId: string | undefined;
  for (const e of list) {
    if (e["type"] === "inbound-rtp" && e["kind"] === "video") inbound = e;
    else if (e["type"] === "candidate-pair") pairs.push(e);
    else if (e["type"] === "transport" && typeof e["selectedCandidatePairId"] === "string") selectedPairId = e["selectedCandidatePairId"];
  }
  const pair = pairs.find((p) => p["id"] === selectedPairId) ?? pairs.find((p) => p["nominated"] === true && p["state"] === "succeeded");
  if (pair && typeof pair["currentRoundTripTime"] === "number") rtt = pair["currentRoundTripTime"];
  if (!inbound) return null;
  const num = (k: string) => (typeof inbound![k] === "number" ? (inbound![k] as number) : undefined);
  const s: StatsSample = { atMs, bytesReceived: num("bytesReceived") ?? 0, framesDecoded: num("framesDecoded") ?? 0 };
  const copy = [
    "framesPerSecond",
    "jitterBufferDelay",
    "jitterBufferEmittedCount",
    "totalDecodeTime",
    "frameWidth",
    "frameHeight",
  ] as const;
  for (const k of copy) {
    const v = num(k);
    if (v !== undefined) s[k] = v;
  }
  if (rtt !== undefined) s.roundTripTime = rtt;
  const path = selectedPath(list)?.path;
  if (path) s.path = path;
  return s;
}
