/**
 * One temporary folder per test run: every test process, and every broker, support app and
 * browser it starts, inherits TMPDIR pointing into it, and it is removed when the run ends, so
 * that the run leaves nothing behind (a downloaded support app is 150 MB, and a run downloads
 * several). Runs in vitest's main process, before the test processes start.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), "tether-run-"));
  const before = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  return () => {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    rmSync(dir, { recursive: true, force: true });
  };
}
