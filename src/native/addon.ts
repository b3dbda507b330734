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

export type NativeFieldTrialsStatus =
  | 'ok'
  | 'module-not-loaded'
  | 'symbol-not-found'
  | 'module-mismatch'
  | 'unsupported-platform';

export interface NativeFieldTrialsResult {
  result: NativeFieldTrialsStatus;
  /** Why it failed, in one line ('' when ok). */
  detail: string;
  /** webRtcFieldTrials() only, when ok: the module's current string ('' when none was set). */
  trials?: string;
  /** setWebRtcCoreCount() only, when ok: the core count libwebrtc had detected itself. */
  detected?: number;
}

/** What the VP8 active-map hooks have done in this process (vp8ActiveMapStats()). */
export interface NativeVp8ActiveMapStats {
  /** The hooks are in place in the WebRTC module. */
  hooked: boolean;
  enabled: boolean;
  /** VP8 frames the hook saw. */
  frames: number;
  /** Of them, encoded with an active map (the others: every macroblock: first frame, key frame, new size). */
  mappedFrames: number;
  /** Macroblocks marked active in the mapped frames. */
  activeMbs: number;
  /** Macroblocks in all frames seen. */
  totalMbs: number;
  /** Maps libvpx refused (those frames were encoded whole). */
  errors: number;
  /** Total time spent comparing frames and setting maps (ms). */
  compareMs: number;
  /** Total time in libvpx's encode call for the frames seen (ms). */
  encodeMs: number;
  /** Quantizer index (0–127) of the last encoded frame (-1: none yet). */
  lastQuantizer: number;
  /** After the last encoded frame, macroblocks still waiting for frames at a fine quantizer (a repeat refines them). */
  pendingMbs: number;
  /** The bitstream profile setVp8Profile() gives every VP8 encoder (-1: libwebrtc's, 0). */
  profile: number;
  /** Times the hook gave an encoder that profile again (libwebrtc resets it on every rate change). */
  profileSets: number;
  /** The version (profile) field of the last VP8 frame encoded, read from its header (-1: none yet). */
  lastVersion: number;
  /** Which libvpx new VP8 encoders get (setVp8Encoder): Tether's, or the module's own. */
  encoder: 'tether' | 'libwebrtc';
  /** VP8 encoders created with Tether's libvpx so far. */
  tetherEncoders: number;
}

/** What the min-transmit-bitrate hook has done in this process (minTransmitBitrateStats()). */
export interface NativeMinTransmitBitrateStats {
  hooked: boolean;
  /** The value set (bits/s; -1: libwebrtc's). */
  bps: number;
  /** Video send stream configurations seen. */
  calls: number;
  /** The highest floor libwebrtc asked for (-1: none yet; a stopped track is configured with 0). */
  libwebrtcMaxBps: number;
}

export interface NativeAddon {
  /** Sets libwebrtc's field-trial string in the loaded module whose path ends with moduleSuffix. */
  setWebRtcFieldTrials(moduleSuffix: string, trials: string): NativeFieldTrialsResult;
  webRtcFieldTrials(moduleSuffix: string): NativeFieldTrialsResult;
  /** Makes libwebrtc's cached CPU core count (which sizes its encoder threads) answer `cores`. */
  setWebRtcCoreCount(moduleSuffix: string, cores: number): NativeFieldTrialsResult;
  /** Hooks libwebrtc's libvpx calls so that VP8 encodes only the changed macroblocks. */
  enableVp8ActiveMap(moduleSuffix: string): NativeFieldTrialsResult;
  /** Makes libwebrtc's VP8 encoders write bitstream profile `profile` (0–3; -1: libwebrtc's). */
  setVp8Profile(moduleSuffix: string, profile: number): NativeFieldTrialsResult;
  /** Gives libwebrtc's VP8 encoders created from now on Tether's libvpx ("tether") or the module's ("libwebrtc"). */
  setVp8Encoder(moduleSuffix: string, encoder: 'tether' | 'libwebrtc'): NativeFieldTrialsResult;
  vp8ActiveMapStats(): NativeVp8ActiveMapStats;
  /** Replaces the min transmit bitrate (padding floor) of libwebrtc's video send streams (-1: libwebrtc's). */
  setMinTransmitBitrate(moduleSuffix: string, bps: number): NativeFieldTrialsResult;
  minTransmitBitrateStats(): NativeMinTransmitBitrateStats;
  Capturer: new (options?: NativeCapturerOptions) => NativeCapturer;
  Injector: new (options?: { display?: string; monitor?: string }) => NativeInjector;
  backend: 'x11' | 'unsupported';
  napiVersion: number;
}
