/** Random secrets and their hashes. Every secret is stored only as a hash. */
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";

const scrypt = promisify(scryptCb) as (pw: string, salt: Buffer, len: number) => Promise<Buffer>;

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

/** scrypt for passwords, "scrypt$<salt b64>$<hash b64>". */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, 32);
  return `scrypt$${salt.toString("base64")}$${hash.toString("base64")}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, saltB64, hashB64] = stored.split("$");
  if (kind !== "scrypt" || !saltB64 || !hashB64) return false;
  const expected = Buffer.from(hashB64, "base64");
  const actual = await scrypt(password, Buffer.from(saltB64, "base64"), expected.length);
  return timingSafeEqual(actual, expected);
}
