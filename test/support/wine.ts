// Windows programs under Wine, for the tests of the Windows build: a private Wine prefix per test
// file (Windows 10 mode, which node.exe needs), node.exe scripts whose results come back through
// files (Node's stdout and stderr to a pipe fail under Wine with EBADF; to a file they work), and
// Win32 test programs started in the background. Needs Debian's wine64 (the launcher is
// /usr/lib/wine/wine64, not on PATH).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Lines, type Proc } from "./procs.js";

export const WINE64 = "/usr/lib/wine/wine64";
export const WINESERVER = "/usr/lib/wine/wineserver";

/** Throws, saying what to install, when Wine is missing. */
export function requireWine(): void {
  if (!existsSync(WINE64) || !existsSync(WINESERVER)) {
    throw new Error(`${WINE64} is missing: apt-get install wine64 (see native/INTEGRATION.md, "The Windows build")`);
  }
}

/** The Windows path of a file of this machine (Wine maps / to drive Z:). */
export function winPath(file: string): string {
  return `Z:${path.resolve(file).replace(/\//g, "\\")}`;
}

export interface WinePrefix {
  dir: string;
  env: NodeJS.ProcessEnv;
  /** Runs a Windows program to its end; stdout and stderr go to files and are returned. */
  run(exe: string, args: string[], timeoutMs?: number): { status: number | null; stdout: string; stderr: string };
  /** Starts a Windows program in the background (its output to files under the prefix). */
  start(exe: string, args: string[]): ChildProcess;
  /**
   * Starts a Windows program with more environment, as a Proc: its stdout and stderr go to files
   * (pipes fail under Wine), which are followed into `out` and `err` line by line.
   */
  launch(exe: string, args: string[], env?: NodeJS.ProcessEnv): Proc;
  /** Where this prefix's drive C: is on this machine. */
  driveC: string;
  /** Stops every program of this prefix (wineserver -k) and removes the prefix. Idempotent. */
  destroy(): void;
}

/** A new prefix in a temporary folder, on `display`, in Windows 10 mode (≈5–60 s). */
export function createWinePrefix(display: string): WinePrefix {
  requireWine();
  const prefix = prefixIn(mkdtempSync(path.join(tmpdir(), "tether-wine-")), display);
  const boot = prefix.run("wineboot", ["-i"], 180_000);
  if (boot.status !== 0) throw new Error(`wineboot -i failed (${String(boot.status)}): ${boot.stderr}`);
  // Without it node.exe refuses to start ("only supported on Windows 8.1 ... or higher").
  const cfg = prefix.run("winecfg", ["-v", "win10"]);
  if (cfg.status !== 0) throw new Error(`winecfg -v win10 failed (${String(cfg.status)}): ${cfg.stderr}`);
  spawnSync(WINESERVER, ["-w"], { env: prefix.env, timeout: 60_000 });
  return prefix;
}

/**
 * Another "computer": a copy of `from` (its Wine server must be idle: createWinePrefix waits for
 * that) with a machine GUID of its own, as Windows setup gives every installation (≈1 s instead of
 * a new prefix's 10 s).
 */
export function cloneWinePrefix(from: WinePrefix, display: string): WinePrefix & { machineGuid: string } {
  const dir = mkdtempSync(path.join(tmpdir(), "tether-wine-"));
  const cp = spawnSync("cp", ["-a", path.join(from.dir, "prefix"), path.join(dir, "prefix")], { encoding: "utf8" });
  if (cp.status !== 0) throw new Error(`copying the Wine prefix failed: ${cp.stderr}`);
  const prefix = prefixIn(dir, display);
  const machineGuid = randomUUID();
  const reg = prefix.run("reg", [
    "add",
    "HKLM\\SOFTWARE\\Microsoft\\Cryptography",
    "/v",
    "MachineGuid",
    "/t",
    "REG_SZ",
    "/d",
    machineGuid,
    "/f",
  ]);
  if (reg.status !== 0) throw new Error(`reg add MachineGuid failed: ${reg.stdout}${reg.stderr}`);
  spawnSync(WINESERVER, ["-w"], { env: prefix.env, timeout: 60_000 });
  return Object.assign(prefix, { machineGuid });
}

function prefixIn(dir: string, display: string): WinePrefix {
  const logs = path.join(dir, "logs");
  mkdirSync(logs);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    WINEPREFIX: path.join(dir, "prefix"),
    WINEDEBUG: "-all",
    // No Mono or Gecko installer dialogs while the prefix is made.
    WINEDLLOVERRIDES: "mscoree,mshtml=",
    DISPLAY: display,
  };
  let count = 0;
  const outputs = () => {
    count += 1;
    return [path.join(logs, `${count}.out`), path.join(logs, `${count}.err`)] as const;
  };
  const run: WinePrefix["run"] = (exe, args, timeoutMs = 60_000) => {
    const [out, err] = outputs();
    const fds = [openSync(out, "w"), openSync(err, "w")] as const;
    try {
      const r = spawnSync(WINE64, [exe, ...args], { env, stdio: ["ignore", fds[0], fds[1]], timeout: timeoutMs });
      return { status: r.status, stdout: readFileSync(out, "utf8"), stderr: readFileSync(err, "utf8") };
    } finally {
      closeSync(fds[0]);
      closeSync(fds[1]);
    }
  };
  let destroyed = false;
  return {
    dir,
    env,
    run,
    driveC: path.join(dir, "prefix", "drive_c"),
    start(exe, args) {
      const [out, err] = outputs();
      const fds = [openSync(out, "w"), openSync(err, "w")] as const;
      const child = spawn(WINE64, [exe, ...args], { env, stdio: ["ignore", fds[0], fds[1]] });
      closeSync(fds[0]);
      closeSync(fds[1]);
      return child;
    },
    launch(exe, args, more = {}) {
      const files = outputs();
      const fds = [openSync(files[0], "w"), openSync(files[1], "w")] as const;
      const child = spawn(WINE64, [exe, ...args], { env: { ...env, ...more }, stdio: ["ignore", fds[0], fds[1]] });
      closeSync(fds[0]);
      closeSync(fds[1]);
      const lines = [new Lines(), new Lines()] as const;
      const read = [0, 0];
      const follow = () => {
        for (const i of [0, 1] as const) {
          if (!existsSync(files[i])) return; // the prefix is gone (destroyed while it ran)
          const fd = openSync(files[i], "r");
          try {
            const buf = Buffer.alloc(1 << 16);
            for (let n; (n = readSync(fd, buf, 0, buf.length, read[i]!)) > 0;) {
              read[i]! += n;
              lines[i].push(buf.subarray(0, n).toString("utf8"));
            }
          } finally {
            closeSync(fd);
          }
        }
      };
      const timer = setInterval(follow, 100);
      const exited = new Promise<{ code: number; at: number }>((resolve) =>
        child.on("exit", (code, signal) => {
          clearInterval(timer);
          follow();
          resolve({ code: code ?? 128 + (signal === "SIGKILL" ? 9 : 15), at: performance.now() });
        }),
      );
      return { child, out: lines[0], err: lines[1], exited };
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      spawnSync(WINESERVER, ["-k"], { env, timeout: 30_000 });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Runs `script` (CommonJS) in `nodeExe` under Wine with `args` after the script's path. The script
 * writes its answer as JSON to the file named by process.argv[2] (a Windows path); that is returned.
 */
export function runNodeScript(prefix: WinePrefix, nodeExe: string, script: string, args: string[], timeoutMs = 60_000): unknown {
  const dir = mkdtempSync(path.join(prefix.dir, "script-"));
  const file = path.join(dir, "script.cjs");
  const answer = path.join(dir, "answer.json");
  writeFileSync(file, script);
  const r = prefix.run(nodeExe, [winPath(file), winPath(answer), ...args], timeoutMs);
  if (!existsSync(answer)) {
    throw new Error(`${path.basename(nodeExe)} wrote no answer (exit ${String(r.status)}):\n${r.stdout}\n${r.stderr}`);
  }
  return JSON.parse(readFileSync(answer, "utf8")) as unknown;
}
