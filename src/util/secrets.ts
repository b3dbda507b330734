/** Random secrets and their hashes. Every secret is stored only as a hash. */
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual } from "node:crypto";

/** A session code: 192 bits from the CSPRNG, base64url (32 characters). */
export const SESSION_CODE_BYTES = 24;
export const SESSION_CODE_PATTERN = /^[A-Za-z0-9_-]{32}$/;

export function newSessionCode(): string {
  return randomBytes(SESSION_CODE_BYTES).toString("base64url");
}

/** API tokens: "tt_" + 256 bits, base64url. */
export function newApiToken(): string {
  return "tt_" + randomBytes(32).toString("base64url");
}

/** A short public identifier (not a secret): 64 bits, base64url. */
export function newId(prefix: string): string {
  return prefix + randomBytes(8).toString("base64url");
}

/** Human-typeable random password: 20 characters from an unambiguous alphabet (~115 bits). */
export function newPassword(): string {
  const alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
  let out = "";
  while (out.length < 20) {
    for (const b of randomBytes(32)) {
      if (b < 54 * 4 && out.length < 20) out += alphabet[b % 54];
    }
  }
  return out;
}

/** SHA-256 for high-entropy secrets (codes, tokens): a slow hash adds nothing there. */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/**
 * Password hashing: scrypt at the cost OWASP's Password Storage Cheat Sheet recommends
 * (N = 2^17, r = 8, p = 1: 128 MiB and ≈0.35 s per hash on the 2-core VM this was measured on).
 * Stored as "scrypt$<log2 N>$<r>$<p>$<salt b64>$<hash b64>", so the cost can rise again later.
 * Hashes from before had no parameters, "scrypt$<salt b64>$<hash b64>": Node's defaults then,
 * N = 2^14, r = 8, p = 1. Both verify; `passwordNeedsRehash` says which to replace at sign-in.
 */
export const PASSWORD_COST = { log2N: 17, r: 8, p: 1 } as const;
const LEGACY_COST = { log2N: 14, r: 8, p: 1 } as const;

interface Cost {
  log2N: number;
  r: number;
  p: number;
}

interface ParsedHash extends Cost {
  salt: Buffer;
  hash: Buffer;
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

function scryptHash(password: string, salt: Buffer, length: number, cost: Cost): Promise<Buffer> {
  const N = 2 ** cost.log2N;
  // Node refuses above 32 MiB by default; scrypt needs 128·N·r bytes (+128·r·p), so allow twice that.
  const maxmem = 2 * 128 * N * cost.r + 128 * cost.r * cost.p;
  return new Promise((resolve, reject) =>
    scryptCb(password, salt, length, { N, r: cost.r, p: cost.p, maxmem }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** Reads a stored hash of either format; undefined for anything else (or parameters out of bounds). */
function parseHash(stored: string): ParsedHash | undefined {
  const parts = stored.split("$");
  let cost: Cost;
  let saltB64: string | undefined;
  let hashB64: string | undefined;
  if (parts[0] !== "scrypt") return undefined;
  if (parts.length === 3) {
    cost = LEGACY_COST;
    [, saltB64, hashB64] = parts;
  } else if (parts.length === 6) {
    const [log2N, r, p] = parts.slice(1, 4).map((x) => (/^\d{1,2}$/.test(x!) ? Number(x) : NaN)) as [number, number, number];
    // Bounds keep a damaged or hostile row from asking for gigabytes: N ≤ 2^20, r ≤ 32, p ≤ 16.
    if (!(log2N >= 10 && log2N <= 20 && r >= 1 && r <= 32 && p >= 1 && p <= 16)) return undefined;
    cost = { log2N, r, p };
    [, , , , saltB64, hashB64] = parts;
  } else {
    return undefined;
  }
  if (!saltB64 || !hashB64 || !B64.test(saltB64) || !B64.test(hashB64)) return undefined;
  const hash = Buffer.from(hashB64, "base64");
  if (hash.length < 16) return undefined;
  return { ...cost, salt: Buffer.from(saltB64, "base64"), hash };
}

/** Hashes a password at today's cost, "scrypt$17$8$1$<salt b64>$<hash b64>". */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptHash(password, salt, 32, PASSWORD_COST);
  const { log2N, r, p } = PASSWORD_COST;
  return `scrypt$${log2N}$${r}$${p}$${salt.toString("base64")}$${hash.toString("base64")}`;
}

/** Checks a password against a stored hash of either format, at the cost the hash records. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseHash(stored);
  if (!parsed) return false;
  const actual = await scryptHash(password, parsed.salt, parsed.hash.length, parsed);
  return timingSafeEqual(actual, parsed.hash);
}

/** True when a stored hash is not at today's cost (an older format or cheaper parameters). */
export function passwordNeedsRehash(stored: string): boolean {
  const parsed = parseHash(stored);
  return (
    !parsed ||
    stored.split("$").length !== 6 ||
    parsed.log2N !== PASSWORD_COST.log2N ||
    parsed.r !== PASSWORD_COST.r ||
    parsed.p !== PASSWORD_COST.p
  );
}
