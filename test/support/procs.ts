/**
 * Real processes for integration tests and the benchmarks: a broker (`tether broker`) on a free
 * loopback port with its own data folder, and support apps (`tether agent`) each on a "computer" of
 * its own: a separate state folder and, through `unshare -m` with a bind mount over
 * /etc/machine-id, a separate machine id. Nothing here fakes the behaviour under test.
 *
 * Also compiled into dist/test/support/ (scripts/bench-latency/ imports it), so ROOT is found from
 * either place.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";

/** The repository: two folders up from test/support/, three from dist/test/support/. */
export const ROOT = [resolve(import.meta.dirname, "..", ".."), resolve(import.meta.dirname, "..", "..", "..")].find((dir) =>
  existsSync(join(dir, "bin", "tether.js")),
)!;
export const BIN = join(ROOT, "bin", "tether.js");

/** A temporary folder (inside the test run's own folder, see test/support/global-setup.ts). */
export function tempDir(prefix = "tether-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Collects a process's output lines and lets a test wait for one. */
export class Lines {
  readonly all: string[] = [];
  /** When set, each line goes here instead of into `all` (a trace too long to keep); waitFor still sees it. */
  onLine: ((line: string) => void) | null = null;
  private waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  private buf = "";
  push(chunk: string) {
    this.buf += chunk;
    let i;
    while ((i = this.buf.indexOf("\n")) >= 0) {
      const line = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 1);
      if (this.onLine) this.onLine(line);
      else this.all.push(line);
      this.waiters = this.waiters.filter((w) => (w.re.test(line) ? (w.resolve(line), false) : true));
    }
  }
  /**
   * Resolves with the first line (seen already or later) that matches; with `from`, only lines from
   * that index of `all` on count (a line that comes again, e.g. the same question a second time).
   */
  waitFor(re: RegExp, timeoutMs = 10_000, from = 0): Promise<string> {
    const seen = this.all.slice(from).find((l) => re.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${re}; output so far:\n${this.all.join("\n")}`)), timeoutMs);
      this.waiters.push({ re, resolve: (l) => (clearTimeout(t), resolve(l)) });
    });
  }
  text() {
    return this.all.join("\n");
  }
}

export interface Proc {
  child: ChildProcess;
  out: Lines;
  err: Lines;
  /** Resolves with the exit code (or 128+signal) and the time of exit (performance.now()). */
  exited: Promise<{ code: number; at: number }>;
}

/** Spawns a process with piped stdio, collecting its output lines and its exit. */
export function spawnProc(cmd: string, args: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ["pipe", "pipe", "pipe"] });
  const out = new Lines();
  const err = new Lines();
  child.stdout!.setEncoding("utf8").on("data", (d: string) => out.push(d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => err.push(d));
  // Resolved once its output is read to the end ("close": a test that reads `out` after the exit
  // sees the last line), at most 2 s after "exit" (a grandchild that kept the pipes open, say), with
  // the time of "exit" (timing checks measure the process, not the pipes).
  const exited = new Promise<{ code: number; at: number }>((resolve) => {
    child.on("exit", (code, signal) => {
      const result = { code: code ?? 128 + (signal === "SIGKILL" ? 9 : 15), at: performance.now() };
      if (child.stdout!.readableEnded && child.stderr!.readableEnded) return resolve(result);
      const t = setTimeout(() => resolve(result), 2000);
      child.once("close", () => (clearTimeout(t), resolve(result)));
    });
  });
  return { child, out, err, exited };
}

/** Runs `tether <args>` (optionally behind a command prefix such as unshare). */
export function run(args: string[], opts: { env?: NodeJS.ProcessEnv; prefix?: string[] } = {}): Proc {
  const [cmd, ...pre] = opts.prefix ?? [process.execPath];
  return spawnProc(cmd!, [...pre, ...(opts.prefix ? [process.execPath] : []), BIN, ...args], { ...process.env, ...opts.env });
}

/** Runs the CLI to completion. */
export async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = run(args, { env });
  p.child.stdin!.end();
  const { code } = await p.exited;
  await new Promise((r) => setImmediate(r));
  return { code, stdout: p.out.text(), stderr: p.err.text() };
}

export interface Broker {
  url: string;
  port: number;
  dataDir: string;
  proc: Proc;
  stop(signal?: NodeJS.Signals): Promise<number>;
}

/**
 * Starts `tether broker` on a free port (`netns`/`host`: in that network namespace, on that address,
 * see test/support/internet.ts).
 */
export async function startBroker(
  opts: { dataDir?: string; port?: number; args?: string[]; netns?: string; host?: string; prefix?: string[] } = {},
): Promise<Broker> {
  const dataDir = opts.dataDir ?? tempDir("tether-broker-");
  const host = opts.host ?? "127.0.0.1";
  const args = [
    "broker",
    "--port",
    String(opts.port ?? 0),
    "--data",
    dataDir,
    "--log-level",
    "warn",
    ...(opts.host ? ["--host", host] : []),
    ...(opts.args ?? []),
  ];
  const proc = run(args, opts.netns ? { prefix: ["ip", "netns", "exec", opts.netns] } : opts.prefix ? { prefix: opts.prefix } : {});
  const line = await Promise.race([
    proc.out.waitFor(new RegExp(`listening on https?://${host.replace(/\./g, "\\.")}:\\d+`), 15_000),
    proc.exited.then(({ code }) => {
      throw new Error(`broker exited with ${code}: ${proc.err.text()}`);
    }),
  ]).catch((err: unknown) => {
    proc.child.kill("SIGKILL"); // a broker that never said it listens is not left behind
    throw err;
  });
  const [, scheme, portText] = /(https?):\/\/[^\s]*:(\d+)/.exec(line)!;
  const port = Number(portText);
  return {
    url: `${scheme}://${host}:${port}`,
    port,
    dataDir,
    proc,
    async stop(signal = "SIGTERM") {
      if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill(signal);
      return (await proc.exited).code;
    },
  };
}

/** Adds a technician to the broker's data folder with the real CLI; returns the API token. */
export async function addTechnician(dataDir: string, name: string, displayName = name): Promise<string> {
  const r = await cli(["technician", "add", name, "--display-name", displayName, "--data", dataDir]);
  if (r.code !== 0) throw new Error(`technician add failed: ${r.stderr}`);
  return r.stdout.trim().split("\n").at(-1)!;
}

/** A small client for the technician API. */
export function api(base: string, token: string) {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { "content-type": "application/json" }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, json: (text ? JSON.parse(text) : null) as any };
  };
  return {
    call,
    createSession: async (expiresIn = 3600) => {
      const r = await call("POST", "/api/sessions", { expiresIn });
      if (r.status !== 201) throw new Error(`create failed: ${r.status} ${JSON.stringify(r.json)}`);
      return r.json as { id: string; link: string; expiresAt: string; state: string };
    },
    session: async (id: string) => (await call("GET", `/api/sessions/${id}`)).json,
    close: (id: string) => call("POST", `/api/sessions/${id}/close`),
    remove: (id: string) => call("DELETE", `/api/sessions/${id}`),
    requestAccess: (id: string, scope: string) => call("POST", `/api/sessions/${id}/access-requests`, { scope }),
    accessStatus: async (id: string, rid: string) => (await call("GET", `/api/sessions/${id}/access-requests/${rid}`)).json,
  };
}

/** A computer for the support app: its own machine id and its own user state folder. */
export interface Computer {
  machineIdFile: string;
  stateHome: string;
  /** The computer's host name (its own UTS namespace), if not this machine's. */
  hostname?: string;
}

export function newComputer(hostname?: string): Computer {
  const dir = tempDir("tether-computer-");
  const machineIdFile = join(dir, "machine-id");
  writeFileSync(machineIdFile, randomBytes(16).toString("hex") + "\n");
  return { machineIdFile, stateHome: join(dir, "state"), ...(hostname !== undefined && { hostname }) };
}

let unshareChecked = false;
function checkUnshare() {
  if (unshareChecked) return;
  const r = spawnSync("unshare", ["-m", "true"]);
  if (r.status !== 0) throw new Error(`these tests need 'unshare -m' (root, util-linux): ${r.stderr}`);
  unshareChecked = true;
}

/**
 * Starts `tether agent <link>` on a computer: under `unshare -m`, /etc/machine-id is bind-mounted
 * from the computer's own file, and XDG_STATE_HOME points at its state folder.
 */
export function startAgent(
  link: string,
  computer: Computer,
  opts: { env?: NodeJS.ProcessEnv; args?: string[]; netns?: string } = {},
): Proc {
  checkUnshare();
  const computerPrefix =
    computer.hostname === undefined
      ? ["unshare", "-m", "sh", "-c", 'mount --bind "$0" /etc/machine-id && exec "$@"', computer.machineIdFile]
      : [
          "unshare",
          "-m",
          "-u",
          "sh",
          "-c",
          'hostname "$1" && mount --bind "$0" /etc/machine-id && shift && exec "$@"',
          computer.machineIdFile,
          computer.hostname,
        ];
  const prefix = opts.netns ? ["ip", "netns", "exec", opts.netns, ...computerPrefix] : computerPrefix;
  return run(["agent", link, ...(opts.args ?? [])], {
    prefix,
    env: { LANG: "C.UTF-8", LC_ALL: "", LC_MESSAGES: "", ...opts.env, XDG_STATE_HOME: computer.stateHome },
  });
}

/** Polls until `check` returns a truthy value (for state the API reports). */
type Falsy = null | undefined | false | 0 | "";
export async function until<T>(check: () => Promise<T | Falsy> | T | Falsy, timeoutMs = 10_000, what = "condition"): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as T;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A loopback port with nothing listening on it (right after the call). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/**
 * Runs a downloaded single-file support app the way an end user would: on its own "computer"
 * (machine id bind-mounted under unshare), with an empty HOME and a PATH that holds no node.
 */
export function startApp(file: string, computer: Computer & { home: string }, args: string[] = [], env: NodeJS.ProcessEnv = {}): Proc {
  checkUnshare();
  return spawnProc(
    "/usr/bin/unshare",
    ["-m", "/bin/sh", "-c", '/bin/mount --bind "$0" /etc/machine-id && exec "$@"', computer.machineIdFile, file, ...args],
    { PATH: tempDir("tether-nopath-"), HOME: computer.home, LANG: "C.UTF-8", ...env },
  );
}

/** A computer whose user has an empty home folder (no state, no cache, no node). */
export function newUserComputer(): Computer & { home: string } {
  const c = newComputer();
  const home = tempDir("tether-home-");
  return { ...c, stateHome: join(home, ".local", "state"), home };
}
