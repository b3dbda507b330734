// libwebrtc "field trials" in @roamhq/wrtc's module: process-wide tuning switches that the module
// offers no API for (see native/include/tether/webrtc_field_trials.h for how they are set).
import type { NativeFieldTrialsResult } from './addon.js';
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
 */
export const AGENT_FIELD_TRIALS = 'WebRTC-ForceSendPlayoutDelay/min_ms:0,max_ms:0/';

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
