/**
 * A broker cluster for tests and the broker benchmark: a PostgreSQL of its own (Debian's
 * `postgresql`: initdb into a temporary folder, run as the unprivileged user `nobody`, on a free
 * loopback port, its socket in that folder), a `nats-server` of its own on a free port, broker nodes
 * (`tether broker --store … --bus …`, each with its own data folder and the one shared history key),
 * and a small TCP load balancer (round robin, skipping a node that refuses) to put in front of them.
 *
 * TETHER_TEST_POSTGRES (a postgres:// URL) and TETHER_TEST_NATS (a nats:// URL) point the tests at
 * existing servers instead; a test that restarts a server needs its own.
 */
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, rmSync, statSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { dirname, join } from "node:path";
import { tmpdir } from "node:os";
import { freePort, Lines, spawnProc, startBroker, tempDir, type Broker, type Proc } from "./procs.js";
import { makeCa } from "./certs.js";

const PG_BIN = "/usr/lib/postgresql/15/bin";

/**
 * A server process the test owns: `stop` ends it for good (and can be called twice); `down` stops
 * the process only and `up` starts it again on the same port with the same data; `restart` is both.
 */
export interface OwnedServer {
  url: string;
  port: number;
  stop(): Promise<void>;
  down(): Promise<void>;
  up(): Promise<void>;
  restart(): Promise<void>;
}

const cannot = (what: string) => async () => {
  throw new Error(`${what} is not the test's own: it cannot be stopped or restarted by the test`);
};

function idOf(user: string): { uid: number; gid: number } {
  return {
    uid: Number(execFileSync("id", ["-u", user], { encoding: "utf8" }).trim()),
    gid: Number(execFileSync("id", ["-g", user], { encoding: "utf8" }).trim()),
  };
}

/** Lets `nobody` through the folders above `dir` inside the test run's temporary folder (search only, no listing). */
function traversable(dir: string): void {
  const top = tmpdir();
  for (let d = dirname(dir); d.startsWith(top) && d.length >= top.length; d = dirname(d)) {
    const mode = statSync(d).mode & 0o777;
    if ((mode & 0o001) === 0) chmodSync(d, mode | 0o001);
    if (d === top) break;
  }
}

async function waitExit(p: Proc, ms: number): Promise<void> {
  await Promise.race([p.exited, new Promise((r) => setTimeout(r, ms))]);
  if (p.child.exitCode === null && p.child.signalCode === null) {
    p.child.kill("SIGKILL");
    await p.exited;
  }
}

/** A PostgreSQL of the test's own (or TETHER_TEST_POSTGRES, which cannot restart). */
export async function startPostgres(): Promise<OwnedServer> {
  const existing = process.env.TETHER_TEST_POSTGRES;
  if (existing) {
    const no = cannot("TETHER_TEST_POSTGRES");
    return { url: existing, port: Number(new URL(existing).port || 5432), stop: async () => {}, down: no, up: no, restart: no };
  }
  const dir = tempDir("tether-pg-");
  traversable(dir);
  const nobody = idOf("nobody");
  chmodSync(dir, 0o700);
  execFileSync("chown", ["-R", `${nobody.uid}:${nobody.gid}`, dir]);
  const data = join(dir, "data");
  execFileSync(join(PG_BIN, "initdb"), ["-D", data, "-U", "tether", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"], {
    ...nobody,
    cwd: dir,
    stdio: "ignore",
  });
  const port = await freePort();
  let proc: Proc | null = null;
  const start = async () => {
    const p = spawnPostgres(data, dir, port, nobody);
    proc = p;
    await Promise.race([
      p.err.waitFor(/database system is ready to accept connections/, 20_000),
      p.exited.then(({ code }) => {
        throw new Error(`postgres exited with ${code}: ${p.err.text()}`);
      }),
    ]);
  };
  await start();
  const stop = async () => {
    const p = proc;
    proc = null;
    if (!p) return;
    p.child.kill("SIGINT"); // fast shutdown: clients are disconnected
    await waitExit(p, 10_000);
  };
  return {
    url: `postgres://tether@127.0.0.1:${port}/postgres`,
    port,
    stop: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
    down: stop,
    up: start,
    restart: async () => {
      await stop();
      await start();
    },
  };
}

function spawnPostgres(data: string, dir: string, port: number, user: { uid: number; gid: number }): Proc {
  const child = spawn(
    join(PG_BIN, "postgres"),
    [
      "-D",
      data,
      "-p",
      String(port),
      "-k",
      dir,
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "fsync=off",
      "-c",
      "synchronous_commit=off",
      "-c",
      "full_page_writes=off",
      "-c",
      "max_connections=200",
    ],
    { ...user, cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
  );
  const out = new Lines();
  const err = new Lines();
  child.stdout.setEncoding("utf8").on("data", (d: string) => out.push(d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => err.push(d));
  const exited = new Promise<{ code: number; at: number }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code: code ?? 128 + (signal === "SIGKILL" ? 9 : 15), at: performance.now() })),
  );
  return { child, out, err, exited };
}

/**
 * A nats-server of the test's own (or TETHER_TEST_NATS, which cannot restart). `secure` (the
 * default): as a cluster should run it, with a user and password and TLS only, its certificate
 * from a CA of the test's (`caFile`, which the nodes get with --bus-ca); the URL carries the
 * credentials.
 */
export async function startNats(o: { secure?: boolean } = {}): Promise<OwnedServer & { caFile?: string; password?: string }> {
  const existing = process.env.TETHER_TEST_NATS;
  if (existing) {
    const no = cannot("TETHER_TEST_NATS");
    return {
      url: existing,
      port: Number(new URL(existing.replace(/^nats:/, "http:")).port || 4222),
      stop: async () => {},
      down: no,
      up: no,
      restart: no,
    };
  }
  const port = await freePort();
  const secure = o.secure ?? true;
  const password = randomBytes(18).toString("base64url");
  const ca = secure ? makeCa("Tether Test NATS CA") : null;
  const served = ca?.issue("nats", ["localhost", "127.0.0.1"]);
  const args = ["-a", "127.0.0.1", "-p", String(port)];
  if (served) args.push("--user", "tether", "--pass", password, "--tls", "--tlscert", served.certFile, "--tlskey", served.keyFile);
  let proc: Proc | null = null;
  const start = async () => {
    const p = spawnProc("nats-server", args, { PATH: process.env.PATH });
    proc = p;
    await Promise.race([
      p.err.waitFor(/Server is ready/, 10_000),
      p.exited.then(({ code }) => {
        throw new Error(`nats-server exited with ${code}: ${p.err.text()}`);
      }),
    ]);
  };
  await start();
  const stop = async () => {
    const p = proc;
    proc = null;
    if (!p) return;
    p.child.kill("SIGTERM");
    await waitExit(p, 5000);
  };
  return {
    url: ca ? `tls://tether:${password}@localhost:${port}` : `nats://127.0.0.1:${port}`,
    port,
    ...(ca && { caFile: ca.caFile, password }),
    stop,
    down: stop,
    up: start,
    restart: async () => (await stop(), await start()),
  };
}

/** The key file every node of one cluster shares. */
export function sharedHistoryKey(): string {
  const file = join(tempDir("tether-cluster-key-"), "history.key");
  writeFileSync(file, randomBytes(32).toString("base64") + "\n", { mode: 0o600 });
  return file;
}

/** Starts one broker node of the cluster (its own data folder). */
export function startNode(
  pg: OwnedServer,
  nats: OwnedServer & { caFile?: string },
  keyFile: string,
  args: string[] = [],
  prefix?: string[],
): Promise<Broker> {
  return startBroker({
    args: ["--store", pg.url, "--bus", nats.url, ...(nats.caFile ? ["--bus-ca", nats.caFile] : []), "--history-key-file", keyFile, ...args],
    ...(prefix && { prefix }),
  });
}

/**
 * A TCP load balancer on loopback: each new connection goes to the next backend in turn; a backend
 * that refuses is skipped (the next one is tried), as a balancer with health checks would.
 */
export class Balancer {
  private server: Server | null = null;
  private next = 0;
  readonly sockets = new Set<Socket>();
  port = 0;
  constructor(public backends: number[]) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((client) => this.route(client, 0));
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  private route(client: Socket, tried: number): void {
    if (tried >= this.backends.length) return void client.destroy();
    const port = this.backends[this.next++ % this.backends.length]!;
    const upstream = createConnection({ host: "127.0.0.1", port });
    let connected = false;
    upstream.once("connect", () => {
      connected = true;
      this.sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
    });
    upstream.on("error", () => {
      if (!connected) this.route(client, tried + 1);
      else client.destroy();
    });
    client.on("error", () => upstream.destroy());
    client.on("close", () => (upstream.destroy(), this.sockets.delete(client)));
    upstream.on("close", () => {
      this.sockets.delete(upstream);
      if (connected) client.destroy();
    });
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => (this.server ? this.server.close(r) : r(undefined)));
  }
}
