/**
 * The safety code: six digits both ends of a remote-access connection show, so that the user and
 * the technician can compare them on the phone. It is derived from the two DTLS certificate
 * fingerprints of the connection, which each end reads from its own certificate and from the SDP of
 * the other. The broker relays that SDP: a broker that put itself in the middle would have to
 * present its own certificates, and then the two ends compute different codes.
 *
 * Pure: the same two fingerprints give the same code, in either order. Runs in Node and in the
 * browser (WebCrypto; in a browser only in a secure context, i.e. HTTPS or localhost).
 */

/** A fingerprint as "sha-256 AB:CD:…" (SDP `a=fingerprint`), normalized, or null if it is not one. */
export function normalizeFingerprint(text: string): string | null {
  const m = /^\s*(sha-(?:1|224|256|384|512))\s+((?:[0-9a-f]{2}:)*[0-9a-f]{2})\s*$/i.exec(text);
  if (!m) return null;
  const hex = m[2]!.replace(/:/g, "");
  if (hex.length < 40 || hex.length > 128) return null;
  return `${m[1]!.toLowerCase()} ${m[2]!.toUpperCase()}`;
}

/** The fingerprint of an SDP (session or first media level), normalized, or null. */
export function sdpFingerprint(sdp: string): string | null {
  const m = /^a=fingerprint:(.+?)\r?$/m.exec(sdp);
  return m ? normalizeFingerprint(m[1]!) : null;
}

const CONTEXT = "tether-safety-code-v1";

interface Subtle {
  digest(alg: string, data: Uint8Array): Promise<ArrayBuffer>;
}

/**
 * "123 456" from two fingerprints (any order), or null when either is not a fingerprint or this
 * runtime has no WebCrypto (a browser page served over plain HTTP from another host).
 */
export async function safetyCode(a: string, b: string): Promise<string | null> {
  const fa = normalizeFingerprint(a);
  const fb = normalizeFingerprint(b);
  const subtle = (globalThis as { crypto?: { subtle?: Subtle } }).crypto?.subtle;
  if (!fa || !fb || !subtle) return null;
  const [x, y] = fa < fb ? [fa, fb] : [fb, fa];
  const digest = new Uint8Array(await subtle.digest("SHA-256", new TextEncoder().encode(`${CONTEXT}\n${x}\n${y}`)));
  const n = ((digest[0]! << 24) | (digest[1]! << 16) | (digest[2]! << 8) | digest[3]!) >>> 0;
  const six = String(n % 1_000_000).padStart(6, "0");
  return `${six.slice(0, 3)} ${six.slice(3)}`;
}
