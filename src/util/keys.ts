/** Ed25519 keys kept in PEM files that only their owner can read. */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/**
 * Loads the private key in `file`, or creates it (folder 0700, file 0600). Two processes creating it
 * at once end up with the same key: the loser of the exclusive create reads the winner's file.
 */
export function loadOrCreateEd25519(file: string): KeyObject {
  try {
    return createPrivateKey(readFileSync(file, "utf8"));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const key = generateKeyPairSync("ed25519").privateKey;
  try {
    writeFileSync(file, key.export({ type: "pkcs8", format: "pem" }), { mode: 0o600, flag: "wx" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    return createPrivateKey(readFileSync(file, "utf8"));
  }
  chmodSync(file, 0o600);
  return key;
}

/** The raw 32-byte public key of an Ed25519 private key. */
export function rawPublicKey(key: KeyObject): Buffer {
  return Buffer.from(createPublicKey(key).export({ format: "jwk" }).x ?? "", "base64url");
}
