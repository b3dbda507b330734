// The WebRTC tuning: libwebrtc inside @roamhq/wrtc's module, which offers no API for it. How each
// setting reaches into the module, what fails safe, and what to check when wrtc or libvpx is
// upgraded: native/INTEGRATION.md. The agent's settings and their environment overrides:
// src/agent/webrtc-tuning.ts.
import type {
  NativeSendStreamStats,
  NativeVp8Stats,
  NativeWebRtcOutcome,
  NativeWebRtcResult,
  NativeWebRtcStats,
  NativeWebRtcTuning,
  NativeWebRtcTuningResult,
} from './addon.js';
import { loadNative, type LoadOptions } from './loader.js';

/** The end of @roamhq/wrtc's binary path, in a source checkout and in the support app's cache. */
export const WRTC_MODULE_SUFFIX = '/wrtc.node';

/** What applying one setting answered: 'ok', or why the module could not take it. */
export type WebRtcResult = NativeWebRtcResult;
/** One setting's answer: `result`, and `detail` saying why in one line ('' when ok). */
export type WebRtcOutcome = NativeWebRtcOutcome;
/** The settings; each one absent (or undefined) is left as it is. */
export type WebRtcTuning = NativeWebRtcTuning;
/** The name of one setting: 'trials', 'vp8ActiveMap', 'vp8Profile', 'vp8Encoder', 'minTransmitBps', 'cores'. */
export type WebRtcSetting = keyof WebRtcTuning;
/** One outcome per setting given. */
export type WebRtcTuningResult = NativeWebRtcTuningResult;
export type WebRtcStats = NativeWebRtcStats;
export type Vp8EncoderStats = NativeVp8Stats;
export type SendStreamStats = NativeSendStreamStats;

export interface WebRtcOptions extends LoadOptions {
  /** Which loaded module to change (default: @roamhq/wrtc's). */
  moduleSuffix?: string;
}

/**
 * Applies each setting given to an already loaded WebRTC module (import "@roamhq/wrtc" first),
 * process-wide and for the life of the process. Call it before the module creates its first
 * RTCPeerConnection, so that every object that reads a setting sees it.
 *
 * Never throws for a module it cannot change: each setting's outcome says why ('module-not-loaded',
 * 'symbol-not-found', 'module-mismatch', 'unsupported-platform'), and libwebrtc keeps its own
 * behaviour for that setting. Throws ERR_BAD_ARGUMENT, with `setting` naming the key, for a value
 * out of range, before anything is applied: the addon is the one layer that checks the values
 * (native/src/binding/webrtc_wrap.cc). ERR_NATIVE_NOT_FOUND when the addon cannot be loaded.
 */
export function configureWebRtc(settings: WebRtcTuning, options: WebRtcOptions = {}): WebRtcTuningResult {
  return loadNative(options).configureWebRtc(options.moduleSuffix ?? WRTC_MODULE_SUFFIX, settings);
}

/**
 * Asks every VP8 encoder of the module for a key frame with its next frame (after a broken path,
 * the viewer can decode nothing until one comes). False where the VP8 hooks are not installed:
 * then libwebrtc sends one only when the viewer asks for it.
 */
export function requestKeyFrame(options: LoadOptions = {}): boolean {
  return loadNative(options).requestKeyFrame();
}

/** What the WebRTC hooks have done in this process so far (all zero before they are installed). Cheap: counters only. */
export function webRtcStats(options: LoadOptions = {}): WebRtcStats {
  return loadNative(options).webRtcStats();
}
