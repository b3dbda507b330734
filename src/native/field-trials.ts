// libwebrtc "field trials" in @roamhq/wrtc's module: process-wide tuning switches that the module
// offers no API for (see native/include/tether/webrtc_field_trials.h for how they are set).
import type { NativeFieldTrialsResult, NativeMinTransmitBitrateStats, NativeVp8ActiveMapStats } from './addon.js';
import { nativeError } from './errors.js';
import { loadNative, type LoadOptions } from './loader.js';

/** The end of @roamhq/wrtc's binary path, in a source checkout and in the support app's cache. */
export const WRTC_MODULE_SUFFIX = '/wrtc.node';

/**
 * What the agent sets before its first peer connection:
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
export const AGENT_FIELD_TRIALS = 'WebRTC-ForceSendPlayoutDelay/min_ms:0,max_ms:0/WebRTC-BurstyPacer/burst:20ms/';

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

/** A field-trial string in libwebrtc's format: "Name/value/" pairs, no spaces or control characters. */
const TRIALS_FORMAT = /^(?:[A-Za-z0-9][A-Za-z0-9_.-]*\/[^/\s]*\/)*$/;

export interface FieldTrialsOptions extends LoadOptions {
  /** Which loaded module to change (default: @roamhq/wrtc's). */
  moduleSuffix?: string;
}

/**
 * Sets the field-trial string of an already loaded WebRTC module (import "@roamhq/wrtc" first).
 * Must run before that module creates its first RTCPeerConnection to take effect everywhere.
 * Never throws for a module it cannot change: the result says why ('module-not-loaded',
 * 'symbol-not-found', …) and WebRTC then simply runs with its defaults.
 */
export function setWebRtcFieldTrials(trials: string, options: FieldTrialsOptions = {}): NativeFieldTrialsResult {
  if (!TRIALS_FORMAT.test(trials)) {
    throw nativeError('ERR_BAD_ARGUMENT', `not a WebRTC field-trial string ("Name/value/" pairs): ${JSON.stringify(trials)}`);
  }
  return loadNative(options).setWebRtcFieldTrials(options.moduleSuffix ?? WRTC_MODULE_SUFFIX, trials);
}

/** Reads the field-trial string of a loaded WebRTC module (result 'ok' with `trials`, or why not). */
export function webRtcFieldTrials(options: FieldTrialsOptions = {}): NativeFieldTrialsResult {
  return loadNative(options).webRtcFieldTrials(options.moduleSuffix ?? WRTC_MODULE_SUFFIX);
}

/**
 * Makes libwebrtc in a loaded WebRTC module believe the machine has `cores` CPU cores (it caches
 * the count once per process and sizes its encoder threads by it: libvpx VP8 at 1080p gets one
 * thread below 3 cores, two from 3). Same rules as setWebRtcFieldTrials: call before the first
 * RTCPeerConnection; never throws for a module it cannot change (the result says why).
 */
export function setWebRtcCoreCount(cores: number, options: FieldTrialsOptions = {}): NativeFieldTrialsResult {
  if (!Number.isInteger(cores) || cores < 1 || cores > 1024) {
    throw nativeError('ERR_BAD_ARGUMENT', `not a core count (a whole number from 1 to 1024): ${String(cores)}`);
  }
  return loadNative(options).setWebRtcCoreCount(options.moduleSuffix ?? WRTC_MODULE_SUFFIX, cores);
}

/**
 * Makes libwebrtc's VP8 encoder in a loaded WebRTC module encode only the macroblocks that changed
 * (a libvpx active map per frame, computed from the frame itself by comparing it with the last
 * one; see native/include/tether/vp8_active_map.h). On a screen where a text cell changed, libvpx
 * then decides modes for a few macroblocks instead of all 8160 of a 1080p frame. Maps are used only
 * while the encoder writes VP8 profile 2 or 3 (no loop filter, see setVp8Profile): with libwebrtc's
 * profile 0 the frames stay whole. Same rules as
 * setWebRtcFieldTrials: call before the first RTCPeerConnection; never throws for a module it
 * cannot hook (the result says why, and VP8 then encodes whole frames as before).
 */
export function enableVp8ActiveMap(options: FieldTrialsOptions = {}): NativeFieldTrialsResult {
  return loadNative(options).enableVp8ActiveMap(options.moduleSuffix ?? WRTC_MODULE_SUFFIX);
}

/**
 * The VP8 bitstream profile the agent's encoder writes. libwebrtc always writes profile 0 (six-tap
 * motion filter, loop filter). Profile 2 has no loop filter and bilinear motion filters (RFC 6386
 * 9.1; every VP8 decoder must accept profiles 0–3): on screen content the loop filter buys little
 * (sharp edges at fine quantizers), and skipping it saves the encoder and every decoder a pass over
 * the whole frame. Measured in the same run (scripts/bench-latency.ts, variant tether-profile-0):
 * see the README's latency section.
 */
export const AGENT_VP8_PROFILE = 2;

/**
 * Makes libwebrtc's VP8 encoders in a loaded WebRTC module write bitstream profile `profile`
 * (0–3; -1 gives the choice back to libwebrtc) by the same hooks as enableVp8ActiveMap (installed
 * if not yet). Needs libvpx 1.12 in the module (the result says why not otherwise). Same rules as
 * setWebRtcFieldTrials: call before the first RTCPeerConnection; never throws for a module it
 * cannot hook.
 */
export function setVp8Profile(profile: number, options: FieldTrialsOptions = {}): NativeFieldTrialsResult {
  if (![-1, 0, 1, 2, 3].includes(profile)) {
    throw nativeError('ERR_BAD_ARGUMENT', `not a VP8 profile (0, 1, 2 or 3; -1: libwebrtc's): ${String(profile)}`);
  }
  return loadNative(options).setVp8Profile(options.moduleSuffix ?? WRTC_MODULE_SUFFIX, profile);
}

/**
 * The libvpx the agent's VP8 encoder runs on: Tether's ("tether"), libvpx 1.12 with Tether's
 * patches (native/libvpx/) linked into the native addon, instead of the one inside @roamhq/wrtc.
 * Its encoder codes the macroblocks the active map marks inactive without mode search or copies
 * (of their source, and of their pixels when the reused frame buffer holds them already); stock
 * libvpx still searches and copies all 8160 macroblocks of a 1080p frame when one text cell
 * changed. Measured in the same run (scripts/bench-latency.ts, variant tether-libwebrtc-vp8): see
 * the README's latency section.
 */
export const AGENT_VP8_ENCODER = 'tether' as const;

/**
 * Gives libwebrtc's VP8 encoders in a loaded WebRTC module that are created from now on Tether's
 * libvpx ("tether") or the module's own ("libwebrtc"), by the same hooks as enableVp8ActiveMap
 * (installed if not yet). Needs libvpx 1.12 in the module (the result says why not otherwise).
 * Same rules as setWebRtcFieldTrials: call before the first RTCPeerConnection; never throws for a
 * module it cannot hook (the encoder then stays the module's).
 */
export function setVp8Encoder(encoder: 'tether' | 'libwebrtc', options: FieldTrialsOptions = {}): NativeFieldTrialsResult {
  if (encoder !== 'tether' && encoder !== 'libwebrtc') {
    throw nativeError('ERR_BAD_ARGUMENT', `not a VP8 encoder ("tether" or "libwebrtc"): ${String(encoder)}`);
  }
  return loadNative(options).setVp8Encoder(options.moduleSuffix ?? WRTC_MODULE_SUFFIX, encoder);
}

/**
 * The min transmit bitrate the agent gives its video stream: 0. libwebrtc pads a screen-share
 * stream up to 100 kbit/s whatever the screen does: on a still screen a 258-byte padding packet
 * every 24 ms (traced with perf on the agent's sendto calls), which keeps libwebrtc's pacer,
 * network and transport threads busy (most of the idle agent's CPU). The bandwidth estimate stays
 * fresh without it: libwebrtc still probes a screen share in ALR every 5 s.
 */
export const AGENT_MIN_TRANSMIT_BPS = 0;

/**
 * Replaces the "min transmit bitrate" (libwebrtc's padding floor) of video send streams that a
 * loaded WebRTC module configures from now on (bits/s; -1 gives libwebrtc's back). Same rules as
 * setWebRtcFieldTrials: call before the first RTCPeerConnection; never throws for a module it
 * cannot hook (the result says why).
 */
export function setMinTransmitBitrate(bps: number, options: FieldTrialsOptions = {}): NativeFieldTrialsResult {
  if (!(bps === -1 || (Number.isInteger(bps) && bps >= 0 && bps <= 1e9))) {
    throw nativeError('ERR_BAD_ARGUMENT', `not a bitrate (a whole number of bits/s from 0 to 1e9; -1: libwebrtc's): ${String(bps)}`);
  }
  return loadNative(options).setMinTransmitBitrate(options.moduleSuffix ?? WRTC_MODULE_SUFFIX, bps);
}

/** What the min-transmit-bitrate hook has done in this process so far. */
export function minTransmitBitrateStats(options: LoadOptions = {}): NativeMinTransmitBitrateStats {
  return loadNative(options).minTransmitBitrateStats();
}

/** What the VP8 active-map hooks have done in this process so far (all zero when not enabled). */
export function vp8ActiveMapStats(options: LoadOptions = {}): NativeVp8ActiveMapStats {
  return loadNative(options).vp8ActiveMapStats();
}
