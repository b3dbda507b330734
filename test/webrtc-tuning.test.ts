// The agent's WebRTC tuning (src/agent/webrtc-tuning.ts), in-process with a fake configureWebRtc:
// its defaults, the environment overrides and their inverse for the benchmark's variants, a value
// the addon refuses, the trace lines the latency benchmark reads and the --check lines.
import { describe, expect, it } from "vitest";

import {
  AGENT_FIELD_TRIALS,
  agentWebRtcCores,
  agentWebRtcTuning,
  applyWebRtcTuning,
  parseTuningTrace,
  tuningCheckLines,
  tuningTraceLine,
  WEBRTC_TUNING_ENV,
  webRtcTuningEnv,
  webRtcTuningFromEnv,
} from "../src/agent/webrtc-tuning.js";
import type { WebRtcTuning, WebRtcTuningResult } from "../src/native/index.js";

/** A configureWebRtc that answers ok to every setting and records what it was asked. */
function okConfigure(calls: WebRtcTuning[] = []) {
  return (t: WebRtcTuning): WebRtcTuningResult => {
    calls.push(t);
    const ok = { result: "ok" as const, detail: "" };
    return Object.fromEntries(
      Object.keys(t).map((k) => [k, k === "cores" ? { ...ok, detected: 2 } : k === "trials" ? { ...ok, readBack: t.trials } : ok]),
    );
  };
}

describe("the agent's WebRTC tuning", () => {
  it("asks for its settings, and a second VP8 encoder thread on 2-core machines only", () => {
    expect(agentWebRtcCores(2)).toBe(3);
    for (const n of [1, 3, 4, 8, 64]) expect(agentWebRtcCores(n), String(n)).toBeNull();
    expect(agentWebRtcTuning(2)).toEqual({
      trials: AGENT_FIELD_TRIALS,
      vp8ActiveMap: true,
      vp8Profile: 2,
      vp8Encoder: "tether",
      minTransmitBps: 0,
      cores: 3,
    });
    expect(agentWebRtcTuning(4)).not.toHaveProperty("cores");
    expect(webRtcTuningFromEnv({}, 2)).toEqual(agentWebRtcTuning(2));
  });

  it('reads each override from its variable: "" = libwebrtc\'s own, anything else passed on for the addon to check', () => {
    expect(WEBRTC_TUNING_ENV).toEqual({
      trials: "TETHER_WEBRTC_FIELD_TRIALS",
      vp8ActiveMap: "TETHER_VP8_ACTIVE_MAP",
      vp8Profile: "TETHER_VP8_PROFILE",
      vp8Encoder: "TETHER_VP8_ENCODER",
      minTransmitBps: "TETHER_WEBRTC_MIN_TRANSMIT_KBPS",
      cores: "TETHER_WEBRTC_CORES",
    });
    const none = {
      TETHER_WEBRTC_FIELD_TRIALS: "",
      TETHER_VP8_ACTIVE_MAP: "0",
      TETHER_VP8_PROFILE: "",
      TETHER_VP8_ENCODER: "",
      TETHER_WEBRTC_MIN_TRANSMIT_KBPS: "",
      TETHER_WEBRTC_CORES: "",
    };
    expect(webRtcTuningFromEnv(none, 2)).toEqual({ trials: "" });
    expect(
      webRtcTuningFromEnv(
        { TETHER_VP8_PROFILE: "0", TETHER_WEBRTC_MIN_TRANSMIT_KBPS: "50", TETHER_WEBRTC_CORES: "4", TETHER_VP8_ENCODER: "libwebrtc" },
        8,
      ),
    ).toEqual({
      ...agentWebRtcTuning(8),
      vp8Profile: 0,
      minTransmitBps: 50_000,
      cores: 4,
      vp8Encoder: "libwebrtc",
    });
    expect(webRtcTuningFromEnv({ TETHER_VP8_PROFILE: "two", TETHER_VP8_ENCODER: "vp9" }, 2)).toMatchObject({
      vp8Profile: Number.NaN,
      vp8Encoder: "vp9",
    });
  });

  it("writes the benchmark's variants as the environment it reads back", () => {
    expect(
      webRtcTuningEnv({ trials: "", cores: null, vp8ActiveMap: false, vp8Profile: null, minTransmitBps: null, vp8Encoder: "libwebrtc" }),
    ).toEqual({
      TETHER_WEBRTC_FIELD_TRIALS: "",
      TETHER_WEBRTC_CORES: "",
      TETHER_VP8_ACTIVE_MAP: "0",
      TETHER_VP8_PROFILE: "",
      TETHER_WEBRTC_MIN_TRANSMIT_KBPS: "",
      TETHER_VP8_ENCODER: "libwebrtc",
    });
    const variant = { vp8Profile: 0, minTransmitBps: 20_000, cores: 4, trials: "A/b/" };
    expect(webRtcTuningFromEnv(webRtcTuningEnv(variant), 2)).toEqual({ ...agentWebRtcTuning(2), ...variant });
    const { vp8ActiveMap: _, cores: __, ...rest } = agentWebRtcTuning(2);
    expect(webRtcTuningFromEnv(webRtcTuningEnv({ vp8ActiveMap: false, cores: null }), 2)).toEqual(rest);
  });

  it("applies all settings in one call and reports each, with the trace lines the benchmark reads", () => {
    const calls: WebRtcTuning[] = [];
    const reports = applyWebRtcTuning(agentWebRtcTuning(2), okConfigure(calls));
    expect(calls).toHaveLength(1);
    expect(reports.map(tuningTraceLine)).toEqual([
      `TETHER_FIELD_TRIALS {"trials":"${AGENT_FIELD_TRIALS}","outcome":"ok"}`,
      'TETHER_VP8_ACTIVE_MAP {"outcome":"ok"}',
      'TETHER_VP8_PROFILE {"profile":2,"outcome":"ok"}',
      'TETHER_VP8_ENCODER {"encoder":"tether","outcome":"ok"}',
      'TETHER_WEBRTC_MIN_TRANSMIT {"bps":0,"outcome":"ok"}',
      'TETHER_WEBRTC_CORES {"cores":3,"outcome":"ok (detected 2)"}',
    ]);
    expect(parseTuningTrace('TETHER_VP8_PROFILE {"profile":2,"outcome":"ok"}')).toEqual({
      setting: "vp8Profile",
      fields: { profile: 2, outcome: "ok" },
    });
    expect(parseTuningTrace('TETHER_TRACE {"t0":1}')).toBeNull();
    expect(tuningCheckLines(reports)).toEqual([
      "webrtc tuning: available",
      "vp8 active map: available",
      "vp8 profile 2: available",
      "vp8 encoder: Tether's libvpx",
      "padding floor: can be removed",
      "webrtc core count: 3 (libwebrtc detected 2)",
    ]);
  });

  it("reports a module that cannot be changed per setting, and what was left to libwebrtc", () => {
    const failing = (t: WebRtcTuning): WebRtcTuningResult =>
      Object.fromEntries(Object.keys(t).map((k) => [k, { result: "symbol-not-found", detail: "stripped" }]));
    const reports = applyWebRtcTuning({ trials: "", vp8Profile: 2, vp8Encoder: "tether", minTransmitBps: 0 }, failing);
    expect(reports.map((r) => r.outcome)).toEqual(Array(4).fill("symbol-not-found: stripped"));
    expect(tuningCheckLines(reports)).toEqual([
      "webrtc tuning: unavailable (symbol-not-found: stripped); WebRTC runs with its defaults",
      "vp8 active map: off; VP8 encodes whole frames",
      "vp8 profile 2: unavailable (symbol-not-found: stripped); VP8 keeps libwebrtc's profile 0",
      "vp8 encoder: unavailable (symbol-not-found: stripped); VP8 runs on libwebrtc's libvpx",
      "padding floor: unavailable (symbol-not-found: stripped); a still screen costs 100 kbit/s of padding",
      "webrtc core count: libwebrtc's own",
    ]);
  });

  it("applies the other settings when the addon refuses one value, and never throws", () => {
    const calls: WebRtcTuning[] = [];
    const inner = okConfigure(calls);
    const refusing = (t: WebRtcTuning): WebRtcTuningResult => {
      if (t.vp8Profile !== undefined && ![-1, 0, 1, 2, 3].includes(t.vp8Profile)) {
        throw Object.assign(
          new Error(`configureWebRtc: vp8Profile: not a VP8 profile (0, 1, 2 or 3; -1: libwebrtc's): ${t.vp8Profile}\nsecond line`),
          {
            code: "ERR_BAD_ARGUMENT",
            setting: "vp8Profile",
          },
        );
      }
      return inner(t);
    };
    const reports = applyWebRtcTuning(webRtcTuningFromEnv({ TETHER_VP8_PROFILE: "7" }, 4), refusing);
    expect(calls).toEqual([{ trials: AGENT_FIELD_TRIALS, vp8ActiveMap: true, vp8Encoder: "tether", minTransmitBps: 0 }]);
    expect(reports.find((r) => r.setting === "vp8Profile")).toEqual({
      setting: "vp8Profile",
      value: 7,
      ok: false,
      outcome: "configureWebRtc: vp8Profile: not a VP8 profile (0, 1, 2 or 3; -1: libwebrtc's): 7",
    });
    expect(reports.filter((r) => r.ok)).toHaveLength(4);
    // No addon at all: every setting says so.
    const missing = applyWebRtcTuning(agentWebRtcTuning(4), () => {
      throw Object.assign(new Error("the Tether native addon could not be loaded"), { code: "ERR_NATIVE_NOT_FOUND" });
    });
    expect(missing.map((r) => [r.ok, r.outcome])).toEqual(Array(5).fill([false, "the Tether native addon could not be loaded"]));
  });
});
