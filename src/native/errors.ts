// Stable error codes of the native core: one registry, each with what a user or operator can do.

export const NATIVE_ERROR_CODES = {
  ERR_CLOSED: 'The capturer or injector was closed; open a new one.',
  ERR_NO_DISPLAY:
    'No display to connect to, or it went away: check that an X server runs and DISPLAY / XAUTHORITY are set.',
  ERR_NO_XSHM: 'The X server lacks MIT-SHM (e.g. a remote display); screen capture needs a local X server.',
  ERR_NO_EXTENSION: 'The X server lacks a required extension (XTEST for input).',
  ERR_BAD_ARGUMENT: 'A caller error: a coordinate, key code, option or buffer size is out of range.',
  ERR_UNSUPPORTED_PLATFORM: 'Screen capture and input are not implemented on this platform yet.',
  ERR_UNSUPPORTED_FORMAT: 'The display uses a pixel format or keymap this backend does not handle.',
  ERR_BUSY: 'A capture is already in flight on this capturer; await it before starting another.',
  ERR_INTERNAL: 'An unexpected failure in the native core; see the message.',
  ERR_NATIVE_NOT_FOUND: 'The native addon is not built: run `npm run build:native`.',
} as const;

export type NativeErrorCode = keyof typeof NATIVE_ERROR_CODES;

/** An Error raised by the native core or its loader, with a stable `code`. */
export interface NativeError extends Error {
  code: NativeErrorCode;
}

export function isNativeError(value: unknown): value is NativeError {
  if (!(value instanceof Error)) return false;
  const code: unknown = (value as Error & { code?: unknown }).code;
  return typeof code === 'string' && code in NATIVE_ERROR_CODES;
}

export function nativeError(code: NativeErrorCode, message: string): NativeError {
  const error = new Error(message) as NativeError;
  error.code = code;
  return error;
}
