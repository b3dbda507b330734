/**
 * The support app's identity on this computer: an Ed25519 key pair kept in the state folder
 * (`$XDG_STATE_HOME/tether`, default `~/.local/state/tether`, mode 0700, the key file 0600) and a
 * fingerprint derived from the machine id. The broker binds a session to both.
 */
import { createHmac, sign } from "node:crypto";
import { chmodSync, readFileSync } from "node:fs";
import { loadOrCreateEd25519, rawPublicKey } from "../util/keys.js";
import { homedir } from "node:os";
import { join } from "node:path";

export interface Identity {
  /** Raw 32-byte Ed25519 public key. */
  publicKey: Buffer;
  sign(data: Buffer): Buffer;
}

export function defaultStateDir(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith("/") ? env.XDG_STATE_HOME : join(homedir(), ".local", "state");
  return join(base, "tether");
}

/** Loads the key pair from `dir/identity.pem`, creating it (and the folder) if missing. */
export function loadOrCreateIdentity(dir: string): Identity {
  const file = join(dir, "identity.pem");
  const key = loadOrCreateEd25519(file);
  chmodSync(file, 0o600); // a copied state folder may have come with looser modes
  return { publicKey: rawPublicKey(key), sign: (data) => sign(null, data, key) };
}

export const MACHINE_ID_FILES = ["/etc/machine-id", "/var/lib/dbus/machine-id"];

/**
 * 32 bytes that identify this computer without revealing its machine id: HMAC-SHA256 keyed with
 * the machine id over a fixed application label (as systemd recommends for app-specific ids).
 * Returns null if no machine id can be read.
 */
export function machineFingerprint(files: readonly string[] = MACHINE_ID_FILES): Buffer | null {
  for (const f of files) {
    try {
      const id = readFileSync(f, "utf8").trim();
      if (/^[0-9a-f]{32}$/i.test(id)) return createHmac("sha256", id.toLowerCase()).update("tether machine fingerprint v1").digest();
    } catch {
      // try the next file
    }
  }
  return null;
}
