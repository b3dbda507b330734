// The shape of the compiled addon (native/src/binding). Internal: use capturer.ts / injector.ts.

export interface NativeRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface NativeMonitor extends NativeRect {
  name: string;
  primary: boolean;
}

export interface NativeCursorShape {
  width: number;
  height: number;
  hotX: number;
  hotY: number;
  serial: number;
  /** BGRA, premultiplied alpha, width * 4 bytes per row. */
  data: Buffer;
}

export interface NativeCursor {
  x: number;
  y: number;
  visible: boolean;
  shape?: NativeCursorShape;
}

export interface NativeFrameResult {
  status: 'ok';
  format: 'bgra' | 'i420';
  width: number;
  height: number;
  x: number;
  y: number;
  stride: number;
  sequence: number;
  captureTimeUs: number;
  grabMs: number;
  convertMs: number;
  full: boolean;
  updatedRects: NativeRect[];
  /** bgra: an ArrayBuffer over the pooled frame buffer; i420: the `into` view given. */
  data: ArrayBuffer | Uint8Array;
  cursor?: NativeCursor;
}

export type NativeCaptureResult =
  | NativeFrameResult
  | { status: 'temporary-error' | 'permanent-error'; code: string; message: string }
  | { status: 'display-changed'; message: string; area: NativeRect };

export interface NativeCaptureOptions {
  format?: 'bgra' | 'i420';
  into?: Uint8Array;
  incremental?: boolean;
  cursor?: boolean;
  waitMs?: number;
}

export interface NativeCapturer {
  captureFrame(options?: NativeCaptureOptions): Promise<NativeCaptureResult>;
  releaseFrame(data: ArrayBuffer): void;
  monitors(): NativeMonitor[];
  selectMonitor(name: string | null): NativeRect;
  /** Cuts short a capture waiting for a change (or the next one). */
  wake(): void;
  close(): void;
  stats(): { captures: number; cpuMs: number };
  readonly area: NativeRect;
  readonly damageTracking: boolean;
  /** The display reports pointer motion (XInput 2): a capture wait also ends when the pointer moved. */
  readonly pointerEvents: boolean;
  readonly closed: boolean;
}

export interface NativeCapturerOptions {
  display?: string;
  monitor?: string;
  damage?: boolean;
  maxBuffers?: number;
}

export type NativeKeyAction = 'press' | 'down' | 'up';

export interface NativeInjector {
  moveMouse(x: number, y: number): void;
  button(button: string, action?: NativeKeyAction): void;
  wheel(dx: number, dy: number): void;
  key(
    code: string,
    action?: NativeKeyAction,
    modifiers?: { shift?: boolean; ctrl?: boolean; alt?: boolean; meta?: boolean },
  ): void;
  text(text: string): void;
  restoreKeymap(): void;
  releaseAll(): void;
  selectMonitor(name: string | null): void;
  close(): void;
  readonly area: NativeRect;
  readonly closed: boolean;
}

/** What applying one WebRTC setting answered (native/include/tether/webrtc_tuning.h). */
export type NativeWebRtcResult = 'ok' | 'module-not-loaded' | 'symbol-not-found' | 'module-mismatch' | 'unsupported-platform';

export interface NativeWebRtcOutcome {
  result: NativeWebRtcResult;
  /** Why it failed, in one line ('' when ok). */
  detail: string;
}

/**
 * configureWebRtc's settings; an absent (or undefined) one is left as it is. The addon checks
 * every value (the one layer that does) and throws ERR_BAD_ARGUMENT, with `setting` naming the
 * key, for one out of range: nothing is applied then.
 */
export interface NativeWebRtcTuning {
  /** libwebrtc's field-trial string, "Name/value/" pairs ('' = none). */
  trials?: string;
  /** VP8 encodes only the changed macroblocks (used while the profile is 2 or 3). */
  vp8ActiveMap?: boolean;
  /** The VP8 bitstream profile: 0–3, -1: libwebrtc's (0). */
  vp8Profile?: number;
  /** The libvpx of VP8 encoders created from now on. */
  vp8Encoder?: 'tether' | 'libwebrtc';
  /** The padding floor of video send streams configured from now on, bits/s: 0–1e9, -1: libwebrtc's. */
  minTransmitBps?: number;
  /** What libwebrtc's cached CPU core count answers: 1–1024. */
  cores?: number;
}

/** One outcome per setting given. */
export interface NativeWebRtcTuningResult {
  /** When ok, `readBack`: the module's field-trial string read back after setting it. */
  trials?: NativeWebRtcOutcome & { readBack?: string };
  vp8ActiveMap?: NativeWebRtcOutcome;
  vp8Profile?: NativeWebRtcOutcome;
  vp8Encoder?: NativeWebRtcOutcome;
  minTransmitBps?: NativeWebRtcOutcome;
  /** When ok, `detected`: the core count libwebrtc had detected itself. */
  cores?: NativeWebRtcOutcome & { detected?: number };
}

/** What the VP8 encoder hooks have done in this process (webRtcStats().vp8). */
export interface NativeVp8Stats {
  /** The hooks are in place in the WebRTC module. */
  hooked: boolean;
  /** The active map is on. */
  enabled: boolean;
  /** VP8 frames the hook saw. */
  frames: number;
  /** Of them, encoded with an active map (the others: every macroblock: first frame, key frame, new size). */
  mappedFrames: number;
  /** Macroblocks marked active in the mapped frames. */
  activeMbs: number;
  /** Macroblocks in all frames seen. */
  totalMbs: number;
  /** Maps or profiles libvpx refused (those frames were encoded whole, or kept their profile). */
  errors: number;
  /** Total time spent comparing frames and setting maps (ms). */
  compareMs: number;
  /** Total time in libvpx's encode call for the frames seen (ms). */
  encodeMs: number;
  /** Quantizer index (0–127) of the last encoded frame (-1: none yet). */
  lastQuantizer: number;
  /** After the last encoded frame, macroblocks still waiting for frames at a fine quantizer (a repeat refines them). */
  pendingMbs: number;
  /** The bitstream profile every VP8 encoder is given (-1: libwebrtc's, 0). */
  profile: number;
  /** Times the hook gave an encoder that profile again (libwebrtc resets it on every rate change). */
  profileSets: number;
  /** The version (profile) field of the last VP8 frame encoded, read from its header (-1: none yet). */
  lastVersion: number;
  /** Which libvpx new VP8 encoders get: Tether's, or the module's own. */
  encoder: 'tether' | 'libwebrtc';
  /** VP8 encoders created with Tether's libvpx so far. */
  tetherEncoders: number;
  /** Key frames asked for with requestKeyFrame(), and frames the encoders made key frames for them. */
  keyRequests: number;
  forcedKeyFrames: number;
}

/** What the send-stream hook (the padding floor) has done in this process (webRtcStats().sendStream). */
export interface NativeSendStreamStats {
  hooked: boolean;
  /** The value set (bits/s; -1: libwebrtc's). */
  bps: number;
  /** Video send stream configurations seen. */
  calls: number;
  /** The highest floor libwebrtc asked for (-1: none yet; a stopped track is configured with 0). */
  libwebrtcMaxBps: number;
}

export interface NativeWebRtcStats {
  vp8: NativeVp8Stats;
  sendStream: NativeSendStreamStats;
}

export interface NativeAddon {
  /** Applies each setting given to the loaded module whose path ends with moduleSuffix; one outcome per setting. */
  configureWebRtc(moduleSuffix: string, settings: NativeWebRtcTuning): NativeWebRtcTuningResult;
  /** What the WebRTC hooks have done in this process so far (counters only: cheap). */
  webRtcStats(): NativeWebRtcStats;
  /** Every VP8 encoder's next frame is a key frame; false where the VP8 hooks are not installed. */
  requestKeyFrame(): boolean;
  Capturer: new (options?: NativeCapturerOptions) => NativeCapturer;
  Injector: new (options?: { display?: string; monitor?: string }) => NativeInjector;
  /** The OS's identifier of this computer: Windows' machine GUID. Throws ERR_UNSUPPORTED_PLATFORM elsewhere. */
  machineId(): string;
  /** Windows: the user's UI language (GetUserDefaultUILanguage) as a BCP 47 tag, e.g. 'de-DE'. Throws ERR_UNSUPPORTED_PLATFORM elsewhere. */
  uiLanguage(): string;
  /** Windows: only the user this process runs as may open `path` (a protected DACL with that one entry). Throws ERR_UNSUPPORTED_PLATFORM elsewhere. */
  restrictToOwner(path: string): void;
  /** Windows: hides the console window if this process alone is attached to it (started from Explorer); says whether it did. */
  hideOwnConsole(): boolean;
  backend: 'x11' | 'windows' | 'unsupported';
  napiVersion: number;
}
