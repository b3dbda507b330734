/**
 * The Windows build (build-win/: tether-window.exe, the addon, the test programs), made once before
 * any test process starts: several test files use it (window-tools, windows-app, windows-native),
 * in whatever order the run schedules them, and two of them building it at once in one folder
 * would race. Incremental: about a second when nothing changed, ~40 s in a fresh clone.
 *
 * One temporary folder per test run: every test process, and every broker, support app and
 * browser it starts, inherits TMPDIR pointing into it, and it is removed when the run ends, so
 * that the run leaves nothing behind (a downloaded support app is 150 MB, and a run downloads
 * several). Runs in vitest's main process, before the test processes start.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export default function setup(): () => void {
  const root = resolve(import.meta.dirname, "..", "..");
  const built = spawnSync(process.execPath, [join(root, "scripts", "build-native-win.mjs")], { encoding: "utf8", timeout: 600_000 });
  if (built.status !== 0) throw new Error(`npm run build:native:win failed:\n${built.stdout}\n${built.stderr}`);
  const dir = mkdtempSync(join(tmpdir(), "tether-run-"));
  const before = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  return () => {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    rmSync(dir, { recursive: true, force: true });
  };
}
