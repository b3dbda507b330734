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
