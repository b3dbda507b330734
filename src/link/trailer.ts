/**
 * The session data built into each support-app download: a signed trailer appended to the
 * prebuilt single-file executable (the "image"). Layout at the end of the file:
 *
 *   … image … | payload (JSON, UTF-8) | signature (64 bytes, Ed25519) | payload length (u32 BE) | MAGIC (12 bytes)
 *
 * The broker signs `CONTEXT || payload` with its app-signing key (<data>/app-signing.pem); the app
 * verifies it against the public key it was built with. The payload names the broker and the code,
 * and (format v2) the SHA-256 and length of the image it is appended to, so the signature covers
 * every byte that runs: the Node binary, the bundled JavaScript, the native addon and wrtc.node
 * (src/app/integrity.ts checks them). ELF and PE loaders ignore bytes after the image, so appending
 * is safe. A signed Windows app has a slot of fixed size for it inside its signature instead
 * (src/app/authenticode-slot.ts): there the payload is padded with spaces (JSON allows them after
 * the value) to fill the slot exactly.
 */
import { createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import { join } from "node:path";
import { loadOrCreateEd25519, rawPublicKey } from "../util/keys.js";

export const TRAILER_MAGIC = Buffer.from("TETHER-APP\u0001\u0000", "latin1"); // 12 bytes
/** v2: a v1 trailer (signed over another context, without the image digest) fails as "tampered". */
const CONTEXT = Buffer.from("tether-app-trailer-v2\0", "utf8");
const SIG_BYTES = 64;
const MAX_PAYLOAD = 4096;

export interface AppPayload {
  v: 2;
  /** Broker base URL, e.g. "https://help.example.org". */
  broker: string;
  /** The session code (secret). */
  code: string;
  /** The session id, for the file name and messages. */
  session: string;
  /** Issue time, ms since the epoch. */
  issuedAt: number;
  /** The prebuilt image this trailer is appended to: every byte of the file before the trailer. */
  image: ImageDigest;
}

export interface ImageDigest {
  /** Bytes. */
  size: number;
  /** SHA-256, lowercase hex. */
  sha256: string;
}

/**
 * The trailer bytes to append for a payload; with `padTo`, exactly that many (the payload padded
 * with spaces). Throws if the payload does not fit.
 */
export function makeTrailer(payload: AppPayload, key: KeyObject, padTo?: number): Buffer {
  let body = Buffer.from(JSON.stringify(payload), "utf8");
  if (padTo !== undefined) {
    const room = padTo - SIG_BYTES - 4 - TRAILER_MAGIC.length;
    if (room < body.length || room > MAX_PAYLOAD)
      throw new RangeError(`the session data (${body.length} bytes) does not fit a ${padTo}-byte trailer`);
    body = Buffer.concat([body, Buffer.alloc(room - body.length, 0x20)]);
  }
  const sig = sign(null, Buffer.concat([CONTEXT, body]), key);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([body, sig, len, TRAILER_MAGIC]);
}

export type TrailerResult = { ok: true; payload: AppPayload } | { ok: false; reason: "missing" | "tampered" };

/** The most a trailer can take at the end of a file: read this many bytes for parseTrailer. */
export const MAX_TRAILER_BYTES = MAX_PAYLOAD + SIG_BYTES + 4 + TRAILER_MAGIC.length;

/** The byte length of the trailer at the end of `tail` (one parseTrailer accepted). */
export function trailerLength(tail: Buffer): number {
  return tail.readUInt32BE(tail.length - TRAILER_MAGIC.length - 4) + SIG_BYTES + 4 + TRAILER_MAGIC.length;
}

/**
 * Parses and verifies a trailer from the last bytes of a file (its signature and payload only: the
 * image it claims is checked by src/app/integrity.ts).
 */
export function parseTrailer(tail: Buffer, publicKeyB64: string): TrailerResult {
  const m = TRAILER_MAGIC.length;
  if (tail.length < m + 4 + SIG_BYTES || !tail.subarray(tail.length - m).equals(TRAILER_MAGIC)) return { ok: false, reason: "missing" };
  const len = tail.readUInt32BE(tail.length - m - 4);
  const start = tail.length - m - 4 - SIG_BYTES - len;
  if (len > MAX_PAYLOAD || start < 0) return { ok: false, reason: "tampered" };
  const body = tail.subarray(start, start + len);
  const sig = tail.subarray(start + len, start + len + SIG_BYTES);
  const key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: publicKeyB64 }, format: "jwk" });
  if (!verify(null, Buffer.concat([CONTEXT, body]), key, sig)) return { ok: false, reason: "tampered" };
  try {
    const p = JSON.parse(body.toString("utf8")) as AppPayload;
    if (p.v !== 2 || typeof p.broker !== "string" || typeof p.code !== "string" || typeof p.session !== "string") {
      return { ok: false, reason: "tampered" };
    }
    const img = p.image as Partial<ImageDigest> | undefined;
    if (!img || !Number.isSafeInteger(img.size) || img.size! < 0 || typeof img.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(img.sha256)) {
      return { ok: false, reason: "tampered" };
    }
    return { ok: true, payload: p };
  } catch {
    return { ok: false, reason: "tampered" };
  }
}

/** The broker's app-signing key, `<dataDir>/app-signing.pem` (0600), created on first use. */
export function loadOrCreateSigningKey(dataDir: string): { privateKey: KeyObject; publicKeyB64: string } {
  const privateKey = loadOrCreateEd25519(join(dataDir, "app-signing.pem"));
  return { privateKey, publicKeyB64: rawPublicKey(privateKey).toString("base64url") };
}
