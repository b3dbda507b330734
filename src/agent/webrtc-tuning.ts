/**
 * The agent's WebRTC tuning: what it asks of libwebrtc inside @roamhq/wrtc (the defaults below, each
 * with why), how the environment overrides each setting, and how each outcome is reported: the
 * `TETHER_TRACE_FRAMES=1` line on stderr (scripts/bench-latency/ reads them: keep names and
 * fields) and the `tether-support --check` line. The agent (src/cli/agent.ts), the support app's
 * `--check` (src/app/main.ts) and the latency benchmark's variants all go through here. How the
 * addon applies a setting: src/native/webrtc.ts and native/INTEGRATION.md.
 *
 * Environment: unset = the agent's default; "" = libwebrtc's own (the setting is not applied; for
 * TETHER_WEBRTC_FIELD_TRIALS, the empty string); anything else = that value. This module only
 * parses the strings; whether a value is valid is checked in one layer, the addon's
 * configureWebRtc (native/src/binding/webrtc_wrap.cc), which refuses it with ERR_BAD_ARGUMENT
 * naming the setting; applyWebRtcTuning then reports that setting as refused and applies the others.
 *
 * Pure: no native code is loaded here (configureWebRtc is passed in), so the agent loads the addon
 * only when a technician asks for the screen, and this module can be tested on its own.
 */
import type { WebRtcSetting, WebRtcTuning, WebRtcTuningResult } from "../native/webrtc.js";

/**
 * The field trials the agent sets before its first peer connection:
 * - WebRTC-ForceSendPlayoutDelay 0/0: every video frame carries the playout-delay header
 *   extension with min = max = 0, which tells the receiver (Chromium, or libwebrtc in Node) to
 *   render each frame as soon as it is decoded instead of holding it in its jitter buffer.
 *   Remote support is interactive: a frame shown late is worse than an occasional uneven one.
 * - WebRTC-BurstyPacer burst:20ms: the pacer may send what the pacing rate allows over 20 ms at
 *   once. Without it, after each packet the pacer waits for its next wake-up, and those wake-ups
 *   are whole milliseconds (a delayed task rounded up to 1 ms): every further packet of a frame
 *   left ≈1 ms after the one before (traced with perf on the agent's threads: the two packets of a
 *   small change went 1.03 ms apart; with the burst, 0.07 ms). A screen change is a burst of
 *   packets that the viewer needs all of before it can show anything.
 */
export const AGENT_FIELD_TRIALS = "WebRTC-ForceSendPlayoutDelay/min_ms:0,max_ms:0/WebRTC-BurstyPacer/burst:20ms/";

/**
 * The CPU core count the agent makes libwebrtc assume (null: leave libwebrtc's own), given the
 * machine's online cores. libwebrtc gives libvpx VP8 one encoder thread for 1080p below 3 cores;
 * on a 2-core machine that one thread is the longest stage of the pipeline (≈ 9–11 ms per 1080p
 * frame), two threads roughly halve it. Never more threads than cores: libvpx's VP8 row threads
 * spin-wait on each other, and with 3 threads on 2 cores the encoder stalled (measured).
 */
export function agentWebRtcCores(onlineCores: number): number | null {
  return onlineCores === 2 ? 3 : null;
}

/**
 * The VP8 bitstream profile the agent's encoder writes. libwebrtc always writes profile 0 (six-tap
 * motion filter, loop filter). Profile 2 has no loop filter and bilinear motion filters (RFC 6386
 * 9.1; every VP8 decoder must accept profiles 0–3): on screen content the loop filter buys little
 * (sharp edges at fine quantizers), and skipping it saves the encoder and every decoder a pass over
 * the whole frame. The active map is used only without the loop filter. Measured in the same run
 * (scripts/bench-latency/, variant tether-profile-0): see the README's latency section.
 */
export const AGENT_VP8_PROFILE = 2;

/**
 * The libvpx the agent's VP8 encoder runs on: Tether's ("tether"), libvpx 1.12 with Tether's
 * patches (native/libvpx/) linked into the native addon, instead of the one inside @roamhq/wrtc.
 * Its encoder codes the macroblocks the active map marks inactive without mode search or copies;
 * stock libvpx still searches and copies all 8160 macroblocks of a 1080p frame when one text cell
 * changed. Measured in the same run (variant tether-libwebrtc-vp8): see the README's latency section.
 */
export const AGENT_VP8_ENCODER = "tether" as const;

/**
 * The min transmit bitrate the agent gives its video stream: 0. libwebrtc pads a screen-share
 * stream up to 100 kbit/s whatever the screen does: on a still screen a 258-byte padding packet
 * every 24 ms (traced with perf on the agent's sendto calls), which keeps libwebrtc's pacer,
 * network and transport threads busy (most of the idle agent's CPU). The bandwidth estimate stays
 * fresh without it: libwebrtc still probes a screen share in ALR every 5 s.
 */
export const AGENT_MIN_TRANSMIT_BPS = 0;

/**
 * What the agent asks of libwebrtc on a machine with `onlineCores` cores, before any override:
 * the field trials above, VP8 with an active map (only the changed macroblocks are encoded),
 * profile 2, on Tether's libvpx, no padding floor, and on 2 cores a core count of 3.
 */
export function agentWebRtcTuning(onlineCores: number): WebRtcTuning {
  const cores = agentWebRtcCores(onlineCores);
  return {
    trials: AGENT_FIELD_TRIALS,
    vp8ActiveMap: true,
    vp8Profile: AGENT_VP8_PROFILE,
    vp8Encoder: AGENT_VP8_ENCODER,
    minTransmitBps: AGENT_MIN_TRANSMIT_BPS,
    ...(cores !== null && { cores }),
  };
}

/** One setting's outcome, as the agent reports it. */
export interface TuningReport {
  setting: WebRtcSetting;
  /** The value asked for. */
  value: NonNullable<WebRtcTuning[WebRtcSetting]>;
  ok: boolean;
  /** "ok", "ok (detected N)" for the core count, "<result>: <detail>", or the error that refused the value. */
  outcome: string;
  /** cores, when ok: the count libwebrtc had detected itself. */
  detected?: number;
}

/** Everything this module knows about one setting. */
interface SettingSpec<V> {
  /** The environment variable that replaces the agent's value. */
  env: string;
  /** Its value as read ("" included) → the setting (undefined: libwebrtc's own). Parses only. */
  fromEnv(raw: string): V | undefined;
  /** The setting → the environment value that asks for it (for the benchmark's variants). */
  toEnv(value: V): string;
  /** The name of its TETHER_TRACE_FRAMES line and the fields before `outcome`. */
  trace: string;
  fields(value: V): Record<string, unknown>;
  /** Its `tether-support --check` line; `report` undefined: the setting was left to libwebrtc. */
  check(value: V | undefined, report: TuningReport | undefined): string;
}

const unavailable = (r: TuningReport, consequence: string) => `unavailable (${r.outcome}); ${consequence}`;
const number = (raw: string): number | undefined => (raw === "" ? undefined : Number(raw));

/** The settings, in the order the addon applies them (and the reports, trace and check lines list them). */
const SETTINGS: { [K in WebRtcSetting]-?: SettingSpec<NonNullable<WebRtcTuning[K]>> } = {
  trials: {
    env: "TETHER_WEBRTC_FIELD_TRIALS",
    fromEnv: (raw) => raw,
    toEnv: (v) => v,
    trace: "TETHER_FIELD_TRIALS",
    fields: (v) => ({ trials: v }),
    check: (_, r) => `webrtc tuning: ${!r ? "libwebrtc's defaults" : r.ok ? "available" : unavailable(r, "WebRTC runs with its defaults")}`,
  },
  vp8ActiveMap: {
    env: "TETHER_VP8_ACTIVE_MAP",
    fromEnv: (raw) => (raw === "0" || raw === "" ? undefined : true),
    toEnv: (v) => (v ? "1" : "0"),
    trace: "TETHER_VP8_ACTIVE_MAP",
    fields: () => ({}),
    check: (v, r) =>
      `vp8 active map: ${!r ? "off; VP8 encodes whole frames" : !r.ok ? unavailable(r, "VP8 encodes whole frames") : v ? "available" : "off"}`,
  },
  vp8Profile: {
    env: "TETHER_VP8_PROFILE",
    fromEnv: number,
    toEnv: String,
    trace: "TETHER_VP8_PROFILE",
    fields: (v) => ({ profile: v }),
    check: (v, r) =>
      !r ? "vp8 profile: libwebrtc's (0)" : `vp8 profile ${v}: ${r.ok ? "available" : unavailable(r, "VP8 keeps libwebrtc's profile 0")}`,
  },
  vp8Encoder: {
    env: "TETHER_VP8_ENCODER",
    // Passed as given: the addon names the two it knows when it refuses another.
    fromEnv: (raw) => (raw === "" ? undefined : (raw as "tether" | "libwebrtc")),
    toEnv: (v) => v,
    trace: "TETHER_VP8_ENCODER",
    fields: (v) => ({ encoder: v }),
    check: (v, r) =>
      `vp8 encoder: ${!r ? "libwebrtc's libvpx" : !r.ok ? unavailable(r, "VP8 runs on libwebrtc's libvpx") : v === "tether" ? "Tether's libvpx" : "libwebrtc's libvpx"}`,
  },
  minTransmitBps: {
    // In kbit/s, like libwebrtc's own settings.
    env: "TETHER_WEBRTC_MIN_TRANSMIT_KBPS",
    fromEnv: (raw) => (raw === "" ? undefined : Number(raw) * 1000),
    toEnv: (v) => String(v / 1000),
    trace: "TETHER_WEBRTC_MIN_TRANSMIT",
    fields: (v) => ({ bps: v }),
    check: (v, r) =>
      `padding floor: ${
        !r
          ? "libwebrtc's (100 kbit/s)"
          : !r.ok
            ? unavailable(r, "a still screen costs 100 kbit/s of padding")
            : v === 0
              ? "can be removed"
              : v === -1
                ? "libwebrtc's (100 kbit/s)"
                : `${v! / 1000} kbit/s`
      }`,
  },
  cores: {
    env: "TETHER_WEBRTC_CORES",
    fromEnv: number,
    toEnv: String,
    trace: "TETHER_WEBRTC_CORES",
    fields: (v) => ({ cores: v }),
    check: (v, r) =>
      `webrtc core count: ${!r ? "libwebrtc's own" : r.ok ? `${v} (libwebrtc detected ${r.detected})` : unavailable(r, "VP8's encoder threads follow libwebrtc's own count")}`,
  },
};

const ORDER = Object.keys(SETTINGS) as WebRtcSetting[];
/** The spec of `k`, for code that iterates over every setting (the value types no longer line up by key there). */
const spec = (k: WebRtcSetting) => SETTINGS[k] as SettingSpec<unknown>;

/** Each setting's environment variable (unset = the agent's default, "" = libwebrtc's own). */
export const WEBRTC_TUNING_ENV: Readonly<Record<WebRtcSetting, string>> = Object.fromEntries(
  ORDER.map((k) => [k, SETTINGS[k].env]),
) as Record<WebRtcSetting, string>;

/**
 * The settings the agent applies: `agentWebRtcTuning(onlineCores)`, each replaced by its
 * environment variable when that is set ("" = libwebrtc's own: left out). Parses only: a value out
 * of range is passed on, for the addon to refuse (see the top of this file).
 */
export function webRtcTuningFromEnv(env: Readonly<Record<string, string | undefined>>, onlineCores: number): WebRtcTuning {
  const tuning: Record<string, unknown> = { ...agentWebRtcTuning(onlineCores) };
  for (const k of ORDER) {
    const raw = env[SETTINGS[k].env];
    if (raw === undefined) continue;
    const value = spec(k).fromEnv(raw);
    if (value === undefined) delete tuning[k];
    else tuning[k] = value;
  }
  return tuning as WebRtcTuning;
}

/**
 * The environment that makes an agent apply `overrides` instead of its defaults (null: libwebrtc's
 * own), for the latency benchmark's A/B variants: webRtcTuningFromEnv reads it back.
 */
export function webRtcTuningEnv(overrides: { [K in WebRtcSetting]?: WebRtcTuning[K] | null }): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of ORDER) {
    const v = overrides[k];
    if (v !== undefined) env[SETTINGS[k].env] = v === null ? "" : spec(k).toEnv(v);
  }
  return env;
}

const firstLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split("\n")[0]!;

/**
 * Applies `tuning` with `configure` (the addon's configureWebRtc) and reports every setting given,
 * in the addon's order. Never throws: a value the addon refuses (ERR_BAD_ARGUMENT with `setting`)
 * is reported with that error and the other settings are applied without it; any other error (no
 * addon) is reported for every setting not applied yet.
 */
export function applyWebRtcTuning(tuning: WebRtcTuning, configure: (tuning: WebRtcTuning) => WebRtcTuningResult): TuningReport[] {
  const refused = new Map<string, string>();
  const rest: Record<string, unknown> = Object.fromEntries(Object.entries(tuning).filter(([, v]) => v !== undefined));
  let results: WebRtcTuningResult = {};
  for (;;) {
    try {
      results = configure(rest as WebRtcTuning);
      break;
    } catch (err) {
      const setting = (err as { setting?: unknown }).setting;
      if (typeof setting === "string" && setting in rest) {
        refused.set(setting, firstLine(err));
        delete rest[setting]; // one fewer each time: this ends
        continue;
      }
      for (const k of Object.keys(rest)) refused.set(k, firstLine(err));
      break;
    }
  }
  const reports: TuningReport[] = [];
  for (const setting of ORDER) {
    const value = tuning[setting];
    if (value === undefined) continue;
    const r = results[setting];
    const why = refused.get(setting);
    if (why !== undefined || r === undefined) reports.push({ setting, value, ok: false, outcome: why ?? "not applied" });
    else if (r.result !== "ok") reports.push({ setting, value, ok: false, outcome: `${r.result}: ${r.detail}` });
    else {
      const detected = setting === "cores" ? results.cores?.detected : undefined;
      reports.push({
        setting,
        value,
        ok: true,
        outcome: detected === undefined ? "ok" : `ok (detected ${detected})`,
        ...(detected !== undefined && { detected }),
      });
    }
  }
  return reports;
}

/** The `TETHER_TRACE_FRAMES=1` line for one report: `<name> {...fields, outcome}`. */
export function tuningTraceLine(r: TuningReport): string {
  const s = spec(r.setting);
  return `${s.trace} ${JSON.stringify({ ...s.fields(r.value), outcome: r.outcome })}`;
}

/** A tuning trace line read back: which setting, and its fields (with `outcome`); null for any other line. */
export function parseTuningTrace(line: string): { setting: WebRtcSetting; fields: Record<string, unknown> } | null {
  const space = line.indexOf(" ");
  if (space < 0) return null;
  const setting = ORDER.find((k) => SETTINGS[k].trace === line.slice(0, space));
  return setting === undefined ? null : { setting, fields: JSON.parse(line.slice(space + 1)) as Record<string, unknown> };
}

/** The `tether-support --check` lines: one per setting, applied or left to libwebrtc. */
export function tuningCheckLines(reports: readonly TuningReport[]): string[] {
  return ORDER.map((k) => {
    const r = reports.find((x) => x.setting === k);
    return spec(k).check(r?.value, r);
  });
}
