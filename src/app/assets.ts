/**
 * Native parts carried inside the single-file support app (Node SEA assets): written to a private
 * cache folder and loaded from there, because a shared library can only be loaded from a file:
 * Linux `$XDG_CACHE_HOME/tether/app-<hash>` (default `~/.cache/…`, mode 0700), Windows
 * `%LOCALAPPDATA%\Tether\cache\app-<hash>` (the user's own profile). A file already in the cache
 * is used only if it holds exactly the bytes the app carries (which its image check covered).
 */
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, win32 } from "node:path";

/** The SEA API (node:sea, Node ≥ 20.12); null when not running as a single executable. */
interface SeaApi {
  isSea(): boolean;
  getAsset(key: string): ArrayBuffer;
}

export function seaApi(load: (id: string) => unknown): SeaApi | null {
  try {
    const sea = load("node:sea") as SeaApi;
    return sea.isSea() ? sea : null;
  } catch {
    return null;
  }
}

export function cacheDir(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): string {
  if (platform === "win32") {
    const local =
      env["LOCALAPPDATA"] && win32.isAbsolute(env["LOCALAPPDATA"]) ? env["LOCALAPPDATA"] : win32.join(homedir(), "AppData", "Local");
    return win32.join(local, "Tether", "cache");
  }
  const base = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith("/") ? env.XDG_CACHE_HOME : join(homedir(), ".cache");
  return join(base, "tether");
}

/** Whether `file` is a regular file holding exactly `bytes` (false when missing or unreadable). */
function holds(file: string, bytes: Buffer): boolean {
  try {
    const st = statSync(file);
    return st.isFile() && st.size === bytes.length && readFileSync(file).equals(bytes);
  } catch {
    return false;
  }
}

/**
 * Writes each named asset to the cache unless the file there already holds exactly its bytes (a
 * damaged or edited one is written again), and returns name → file path.
 */
export function extractAssets(sea: SeaApi, names: readonly string[], env: NodeJS.ProcessEnv): Record<string, string> {
  const blobs = names.map((n) => Buffer.from(sea.getAsset(n)));
  const hash = createHash("sha256");
  for (const b of blobs) hash.update(b);
  const dir = join(cacheDir(env), `app-${hash.digest("hex").slice(0, 16)}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const out: Record<string, string> = {};
  names.forEach((name, i) => {
    const file = join(dir, name);
    if (!holds(file, blobs[i]!)) {
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, blobs[i]!, { mode: 0o700 });
      renameSync(tmp, file); // atomic: a second app starting at once never sees half a file
    }
    out[name] = file;
  });
  return out;
}
