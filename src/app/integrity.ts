/**
 * Integrity of the single-file support app. Its "image" is every byte before the signed trailer:
 * the Node binary, the bundled JavaScript, the native addon and wrtc.node. The broker computes the
 * image's SHA-256 when it loads the prebuilt file and signs it into each download's trailer; the
 * app, before it does anything else, hashes its own file up to the trailer and compares.
 *
 * What this can and cannot do (README, "Security"): a damaged download or a naive edit (a changed
 * string, a patched function, a flipped byte) refuses to run; anyone who can rewrite the file can
 * also rewrite this check, so the protection against a deliberate attacker is HTTPS delivery and
 * operating-system code signing, not this.
 */
import { createHash } from "node:crypto";
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { MAX_TRAILER_BYTES, parseTrailer, trailerLength, type AppPayload } from "../link/trailer.js";

/** Read size while hashing: large enough that syscalls cost nothing next to SHA-256. */
const CHUNK = 1 << 20;

/** Fills `buf` from `fd` at `position`; fewer bytes only at the end of the file. */
function readFully(fd: number, buf: Buffer, position: number): number {
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/**
 * SHA-256 (lowercase hex) of the first `size` bytes of an open file, read synchronously in 1 MiB
 * chunks. Throws if the file is shorter.
 */
export function digestSync(fd: number, size: number): string {
  const hash = createHash("sha256");
  const buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(size, 1)));
  for (let pos = 0; pos < size;) {
    const want = Math.min(buf.length, size - pos);
    const n = readFully(fd, buf.subarray(0, want), pos);
    if (n < want) throw new Error("the file is shorter than its image");
    hash.update(buf.subarray(0, n));
    pos += n;
  }
  return hash.digest("hex");
}

/** The same without blocking the event loop (the broker serves others meanwhile). */
export async function digest(fh: FileHandle, size: number): Promise<string> {
  const hash = createHash("sha256");
  const buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(size, 1)));
  for (let pos = 0; pos < size;) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - pos), pos);
    if (bytesRead === 0) throw new Error("the file is shorter than its image");
    hash.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
  return hash.digest("hex");
}

export type SelfCheck =
  | { ok: true; payload: AppPayload; /** bytes hashed */ imageBytes: number; /** time the whole check took */ ms: number }
  | { ok: false; reason: "missing" | "tampered" };

/** The file the running app was loaded from: the inode itself on Linux, even if the path was replaced since. */
export function ownFile(): string {
  return process.platform === "linux" ? "/proc/self/exe" : process.execPath;
}

/**
 * The app's check of its own file: the trailer's signature (the key the app was built with), then
 * that the image before the trailer has exactly the length and SHA-256 the signed payload names.
 * "missing": no trailer at all (the prebuilt file, not a download); "tampered": anything else wrong.
 */
export function checkOwnFile(file: string, publicKeyB64: string): SelfCheck {
  const started = performance.now();
  const fd = openSync(file, "r");
  try {
    const size = fstatSync(fd).size;
    const tail = Buffer.alloc(Math.min(size, MAX_TRAILER_BYTES));
    if (readFully(fd, tail, size - tail.length) !== tail.length) return { ok: false, reason: "tampered" };
    const t = parseTrailer(tail, publicKeyB64);
    if (!t.ok) return t;
    const imageBytes = size - trailerLength(tail);
    if (t.payload.image.size !== imageBytes || digestSync(fd, imageBytes) !== t.payload.image.sha256) {
      return { ok: false, reason: "tampered" };
    }
    return { ok: true, payload: t.payload, imageBytes, ms: performance.now() - started };
  } finally {
    closeSync(fd);
  }
}
