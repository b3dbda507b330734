/**
 * The remote cursor's shape: the agent sends it premultiplied RGBA (row-major, width × height);
 * canvas ImageData wants straight alpha. Pure, so it is tested in Node.
 */

/** Premultiplied RGBA → straight RGBA (a new array). Returns null if the size does not match. */
export function unpremultiply(rgba: Uint8Array, width: number, height: number): Uint8ClampedArray<ArrayBuffer> | null {
  if (width <= 0 || height <= 0 || width > 512 || height > 512 || rgba.length !== width * height * 4) return null;
  const out = new Uint8ClampedArray(rgba.length);
  for (let i = 0; i < rgba.length; i += 4) {
    const a = rgba[i + 3]!;
    out[i + 3] = a;
    if (a === 0) continue;
    const k = 255 / a;
    out[i] = rgba[i]! * k;
    out[i + 1] = rgba[i + 1]! * k;
    out[i + 2] = rgba[i + 2]! * k;
  }
  return out;
}
