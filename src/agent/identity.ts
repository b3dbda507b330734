/**
 * The support app's identity on this computer: an Ed25519 key pair kept in the state folder and a
 * fingerprint derived from the machine id. The broker binds a session to both.
 *
 * Linux: `$XDG_STATE_HOME/tether`, default `~/.local/state/tether` (mode 0700, the key file 0600),
 * the machine id from /etc/machine-id. Windows: `%LOCALAPPDATA%\Tether`, the key file readable by
 * the user alone (a protected DACL with one entry, set by the native addon), the machine GUID.
 */
import { createHmac, sign } from "node:crypto";
import { chmodSync, readFileSync } from "node:fs";
import { loadOrCreateEd25519, rawPublicKey } from "../util/keys.js";
import { homedir } from "node:os";
import { join, win32 } from "node:path";

export interface Identity {
  /** Raw 32-byte Ed25519 public key. */
  publicKey: Buffer;
  sign(data: Buffer): Buffer;
}

export function defaultStateDir(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): string {
  if (platform === "win32") {
    const local =
      env["LOCALAPPDATA"] && win32.isAbsolute(env["LOCALAPPDATA"]) ? env["LOCALAPPDATA"] : win32.join(homedir(), "AppData", "Local");
    return win32.join(local, "Tether");
  }
  const base = env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith("/") ? env.XDG_STATE_HOME : join(homedir(), ".local", "state");
  return join(base, "tether");
}

/**
 * Loads the key pair from `dir/identity.pem`, creating it (and the folder) if missing, and makes
 * the file readable by its owner alone again (a copied state folder may have come with looser
 * rights): mode 0600 on Linux; on Windows `restrictToOwner` (the native addon's), which throws if
 * it cannot, so the key is never used from a file others could read.
 */
export function loadOrCreateIdentity(dir: string, restrictToOwner?: (file: string) => void): Identity {
  const file = join(dir, "identity.pem");
  const key = loadOrCreateEd25519(file);
  if (restrictToOwner) restrictToOwner(file);
  else chmodSync(file, 0o600);
  return { publicKey: rawPublicKey(key), sign: (data) => sign(null, data, key) };
}

export const MACHINE_ID_FILES = ["/etc/machine-id", "/var/lib/dbus/machine-id"];

/** The fingerprint of a 128-bit machine id given as 32 hex digits (any case); null for anything else. */
function fingerprintOf(id: string): Buffer | null {
  if (!/^[0-9a-f]{32}$/i.test(id)) return null;
  return createHmac("sha256", id.toLowerCase()).update("tether machine fingerprint v1").digest();
}

/**
 * 32 bytes that identify this computer without revealing its machine id: HMAC-SHA256 keyed with
 * the machine id over a fixed application label (as systemd recommends for app-specific ids).
 * Returns null if no machine id can be read.
 */
export function machineFingerprint(files: readonly string[] = MACHINE_ID_FILES): Buffer | null {
  for (const f of files) {
    try {
      const fingerprint = fingerprintOf(readFileSync(f, "utf8").trim());
      if (fingerprint) return fingerprint;
    } catch {
      // try the next file
    }
  }
  return null;
}

/**
 * The same fingerprint on Windows, from the machine GUID Windows setup writes once per installation
 * (HKLM\SOFTWARE\Microsoft\Cryptography\MachineGuid; the native addon's machineId() reads it).
 * The GUID's 32 hex digits are the machine id, so a GUID and a machine-id file with the same digits
 * give the same fingerprint. `readGuid` throws or returns something else than a GUID: null.
 */
export function windowsMachineFingerprint(readGuid: () => string): Buffer | null {
  try {
    const m = /^\{?([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})\}?$/i.exec(readGuid().trim());
    return m ? fingerprintOf(m.slice(1).join("")) : null;
  } catch {
    return null;
  }
}
