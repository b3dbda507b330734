// Tether native core: screen capture, colour conversion, input injection and the WebRTC tuning.
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
export { WRTC_MODULE_SUFFIX, configureWebRtc, requestKeyFrame, webRtcStats } from './webrtc.js';
export type {
  SendStreamStats,
  Vp8EncoderStats,
  WebRtcOptions,
  WebRtcOutcome,
  WebRtcResult,
  WebRtcSetting,
  WebRtcStats,
  WebRtcTuning,
  WebRtcTuningResult,
} from './webrtc.js';
