// Starts a private Xvfb on a free display number (chosen by Xvfb itself via -displayfd) and
// stops it again. Used by the native tests and the capture benchmark.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface XvfbOptions {
  width?: number;
  height?: number;
  /** Extensions to disable, e.g. ['DAMAGE'] or ['MIT-SHM']. */
  disable?: string[];
  /** Milliseconds to wait for the server to come up. */
  timeoutMs?: number;
}

export interface Xvfb {
  /** e.g. ":12" */
  display: string;
  pid: number;
  /** Runs an X utility (xrandr, xdpyinfo, xmodmap ...) against this display. */
  x(command: string, args: string[]): Promise<string>;
  /** Kills the server (SIGTERM, then SIGKILL) and waits for it. Idempotent. */
  stop(): Promise<void>;
}

export async function startXvfb(options: XvfbOptions = {}): Promise<Xvfb> {
  const width = options.width ?? 1920;
  const height = options.height ?? 1080;
  const args = [
    "-displayfd",
    "3",
    "-screen",
    "0",
    `${width}x${height}x24`,
    "-nolisten",
    "tcp",
    // Without -noreset the server resets (dropping monitors, modes, keymap changes) whenever its
    // last client disconnects, e.g. after each xrandr call.
    "-noreset",
    ...(options.disable ?? []).flatMap((ext) => ["-extension", ext]),
  ];
  const child: ChildProcess = spawn("Xvfb", args, { stdio: ["ignore", "ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const fd3 = child.stdio[3];
  if (fd3 === null || fd3 === undefined || !("on" in fd3)) throw new Error("Xvfb: no -displayfd pipe");
  const display = await new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`Xvfb did not start within ${options.timeoutMs ?? 10000} ms: ${stderr}`));
    }, options.timeoutMs ?? 10000);
    fd3.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split("\n")[0];
      if (out.includes("\n") && line !== undefined && /^\d+$/.test(line.trim())) {
        clearTimeout(timer);
        resolve(`:${line.trim()}`);
      }
    });
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run Xvfb (apt-get install xvfb): ${error.message}`));
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Xvfb exited with ${String(code)} before it was ready: ${stderr}`));
    });
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  let stopping: Promise<void> | undefined;
  return {
    display,
    pid: child.pid ?? -1,
    async x(command: string, cmdArgs: string[]): Promise<string> {
      const { stdout } = await run(command, cmdArgs, { env: { ...process.env, DISPLAY: display } });
      return stdout;
    },
    stop(): Promise<void> {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill("SIGTERM");
          const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
          await exited;
          clearTimeout(timer);
        }
      })();
      return stopping;
    },
  };
}
