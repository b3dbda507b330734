// Tether native core: screen capture, colour conversion and input injection.
export { ScreenCapturer, i420Size } from './capturer.js';
export type {
  BgraFrame,
  CaptureOptions,
  CaptureResult,
  CapturerOptions,
  CursorState,
  Frame,
  I420Frame,
  Monitor,
  PixelFormat,
  Rect,
} from './capturer.js';
export { InputInjector } from './injector.js';
export type { InjectorOptions, KeyAction, Modifiers, MouseButton } from './injector.js';
export { NATIVE_ERROR_CODES, isNativeError, nativeError } from './errors.js';
export type { NativeError, NativeErrorCode } from './errors.js';
export { candidatePaths, loadNative } from './loader.js';
export type { AddonVariant, LoadOptions } from './loader.js';
export { AGENT_FIELD_TRIALS, WRTC_MODULE_SUFFIX, agentWebRtcCores, AGENT_MIN_TRANSMIT_BPS, AGENT_VP8_ENCODER, AGENT_VP8_PROFILE, enableVp8ActiveMap, minTransmitBitrateStats, setMinTransmitBitrate, setVp8Encoder, setVp8Profile, setWebRtcCoreCount, setWebRtcFieldTrials, vp8ActiveMapStats, webRtcFieldTrials } from './field-trials.js';
export type { FieldTrialsOptions } from './field-trials.js';
export type { NativeFieldTrialsResult, NativeFieldTrialsStatus } from './addon.js';
