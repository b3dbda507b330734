// Broker benchmark: `npm run bench:broker` (runs dist/scripts/bench-broker.js after the build).
// In one run: a single node (embedded SQLite, the default) and a cluster of three nodes (PostgreSQL +
// NATS, started here as the tests start them), each loaded by a generator in a process of its own
// (scripts/bench-broker-load.ts) on loopback. Prints a markdown table; JSON to bench-results/broker.json.
//
// BENCH_APPS (default 19800) apps on the single node; BENCH_CLUSTER_APPS (default 6000) in the cluster;
// BENCH_SIGNAL_ROUNDS (default 300).
import { readFileSync, readdirSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { cli, spawnProc, startBroker, tempDir, type Broker, type Proc } from "../test/support/procs.js";
import { sharedHistoryKey, startNats, startNode, startPostgres } from "../test/support/cluster.js";

const APPS = Number(process.env["BENCH_APPS"] ?? 19_800);
const CLUSTER_APPS = Number(process.env["BENCH_CLUSTER_APPS"] ?? 6000);
const ROUNDS = Number(process.env["BENCH_SIGNAL_ROUNDS"] ?? 300);
/**
 * Each process may hold at most RLIMIT_NOFILE descriptors (20,000 on the machine the README's figures
 * come from, and no raising it there): the default leaves the node and the generator room for their
 * own files and the API's connections.
 */
const NODE_ARGS = ["--activation-limit", "1000000", "--login-limit", "1000000", "--log-level", "warn"];

/** CPU time (ms) of a process, user + system, from /proc; 0 once it is gone. */
function cpuMs(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return 0;
  }
}
/** This process's descendants, by command name (the generator, the nodes, postgres, nats-server). */
function descendants(): { pid: number; comm: string }[] {
  const all = readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .flatMap((d) => {
      try {
        const st = readFileSync(`/proc/${d}/stat`, "utf8");
        return [
          {
            pid: Number(d),
            comm: st.slice(st.indexOf("(") + 1, st.lastIndexOf(")")),
            ppid: Number(st.slice(st.lastIndexOf(")") + 2).split(" ")[1]),
          },
        ];
      } catch {
        return [];
      }
    });
  const mine = new Set([process.pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const p of all) {
      if (!mine.has(p.pid) && mine.has(p.ppid)) {
        mine.add(p.pid);
        grew = true;
      }
    }
  }
  return all.filter((p) => p.pid !== process.pid && mine.has(p.pid));
}
/** CPU of each group of processes over a phase, in % of one core (the machine has os.availableParallelism() cores). */
function cpuSampler(groups: () => Record<string, number[]>) {
  const take = () => {
    const g = groups();
    const d = descendants();
    const byName = (n: string) => d.filter((p) => p.comm === n).map((p) => p.pid);
    const all: Record<string, number[]> = { ...g, postgres: byName("postgres"), "nats-server": byName("nats-server") };
    return {
      at: performance.now(),
      ms: Object.fromEntries(Object.entries(all).map(([k, pids]) => [k, pids.reduce((a, p) => a + cpuMs(p), 0)])),
    };
  };
  const a = take();
  return () => {
    const b = take();
    const wall = b.at - a.at;
    return Object.fromEntries(Object.entries(b.ms).map(([k, v]) => [k, Math.round(((v - (a.ms[k] ?? 0)) / wall) * 100)]));
  };
}

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;

interface Result {
  mode: string;
  nodes: number;
  api?: { creates: number; createsPerSec: number; reads: number; readsPerSec: number };
  activations?: { activated: number; failed: number; perSec: number; perNode: number[] };
  rssMb?: number[];
  signaling?: { p50: number; p95: number; sameNode: boolean };
  recovery?: { apps: number; back: number; p50: number; max: number };
  /** CPU during the activation phase, % of one core per group (the generator, each node, postgres, nats-server). */
  activationCpu?: Record<string, number>;
  /** CPU from the kill until the victims are back, % of one core per group. */
  recoveryCpu?: Record<string, number>;
}

/** Runs the generator against `urls`; `kill` ends the node it names (and, single node, starts it again). */
async function load(
  urls: string[],
  token: string,
  apps: number,
  cluster: boolean,
  nodes: () => Broker[],
  kill: () => Promise<void>,
): Promise<Result> {
  const r: Result = { mode: cluster ? "cluster (PostgreSQL + NATS)" : "single node (SQLite)", nodes: urls.length };
  const gen: Proc = spawnProc(
    process.execPath,
    [
      path.join(import.meta.dirname, "bench-broker-load.js"),
      JSON.stringify({ urls, token, apps, signalRounds: ROUNDS, killNode: 0, cluster }),
    ],
    process.env,
  );
  const groups = () => ({ generator: [gen.child.pid!], ...Object.fromEntries(nodes().map((b, i) => [`node${i}`, [b.proc.child.pid!]])) });
  let sample: (() => Record<string, number>) | null = null;
  gen.out.onLine = (line) => {
    let m: { phase?: string; message?: string } & Record<string, unknown>;
    try {
      m = JSON.parse(line);
    } catch {
      return;
    }
    process.stderr.write(`  ${line}\n`);
    if (m.phase === "activations-start") sample = cpuSampler(groups);
    if (m.phase === "api") r.api = m as unknown as Result["api"];
    if (m.phase === "activations") {
      r.activations = m as unknown as Result["activations"];
      r.rssMb = nodes().map((b) => rssMb(b.proc.child.pid!));
      r.activationCpu = sample?.();
    }
    if (m.phase === "signaling") r.signaling = m as unknown as Result["signaling"];
    if (m.phase === "recovery") {
      r.recovery = m as unknown as Result["recovery"];
      r.recoveryCpu = sample?.();
    }
    if (m.phase === "ready-to-kill") {
      void kill().then(() => {
        sample = cpuSampler(groups);
        gen.child.stdin!.write("go\n");
      });
    }
    if (m.phase === "error") process.stderr.write(`generator failed: ${m.message}\n`);
  };
  await gen.exited;
  return r;
}

async function token(args: string[]): Promise<string> {
  const t = await cli(["technician", "add", "bench", ...args]);
  if (t.code !== 0) throw new Error(t.stderr);
  return t.stdout.trim().split("\n").at(-1)!;
}

async function single(): Promise<Result> {
  const dataDir = tempDir("tether-bench-broker-");
  const start = () => startBroker({ dataDir, args: NODE_ARGS });
  let node = await start();
  const port = node.port;
  const tok = await token(["--data", dataDir]);
  try {
    return await load(
      [node.url],
      tok,
      APPS,
      false,
      () => [node],
      async () => {
        node.proc.child.kill("SIGKILL");
        await node.proc.exited;
        node = await startBroker({ dataDir, port, args: NODE_ARGS }); // as a supervisor would
      },
    );
  } finally {
    await node.stop();
  }
}

async function cluster(): Promise<Result> {
  // Plain NATS (no TLS, no password), as the figures in the README were measured.
  const [pg, nats] = await Promise.all([startPostgres(), startNats({ secure: false })]);
  const key = sharedHistoryKey();
  let nodes: Broker[] = [];
  try {
    nodes = await Promise.all([0, 1, 2].map(() => startNode(pg, nats, key, NODE_ARGS)));
    const tok = await token(["--store", pg.url]);
    return await load(
      nodes.map((n) => n.url),
      tok,
      CLUSTER_APPS,
      true,
      () => nodes.filter((n) => n.proc.child.exitCode === null),
      async () => {
        nodes[0]!.proc.child.kill("SIGKILL");
        await nodes[0]!.proc.exited;
      },
    );
  } finally {
    await Promise.all(nodes.map((n) => n.stop("SIGKILL")));
    await Promise.all([nats.stop(), pg.stop()]);
  }
}

const f = (n: number | undefined, d = 0) => (n === undefined || !Number.isFinite(n) ? "–" : n.toFixed(d));

async function main() {
  process.stderr.write(`bench:broker — single node, ${APPS} apps\n`);
  const one = await single();
  process.stderr.write(`bench:broker — three nodes, ${CLUSTER_APPS} apps\n`);
  const three = await cluster();
  const rows = [
    ["connected idle apps per node", (r: Result) => (r.activations ? r.activations.perNode.join(" / ") : "–"), "≥ 20,000 on one node"],
    ["broker RSS per node (MiB, all apps connected)", (r: Result) => (r.rssMb ?? []).map((m) => f(m)).join(" / "), "< 1024"],
    ["activations per second (total)", (r: Result) => f(r.activations?.perSec), "≥ 1,000"],
    [
      "CPU during activations, % of one core",
      (r: Result) =>
        Object.entries(r.activationCpu ?? {})
          .map(([k, v]) => `${k} ${v}`)
          .join(", "),
      "",
    ],
    ["API: session creations per second", (r: Result) => f(r.api?.createsPerSec), ""],
    ["API: session reads per second", (r: Result) => f(r.api?.readsPerSec), ""],
    [
      "signaling round trip app ↔ console, p50 / p95 (ms)",
      (r: Result) => `${f(r.signaling?.p50, 2)} / ${f(r.signaling?.p95, 2)}${r.signaling?.sameNode ? " (same node)" : " (across nodes)"}`,
      "p50 ≤ 5",
    ],
    [
      "recovery after kill -9: apps back, p50 / max (s)",
      (r: Result) =>
        r.recovery ? `${r.recovery.back}/${r.recovery.apps}, ${f(r.recovery.p50 / 1000, 1)} / ${f(r.recovery.max / 1000, 1)}` : "–",
      "≤ 10",
    ],
  ] as const;
  const out = [
    "| figure | single node (SQLite) | three nodes (PostgreSQL + NATS) | target |",
    "| --- | --- | --- | --- |",
    ...rows.map(([name, get, target]) => `| ${name} | ${get(one)} | ${get(three)} | ${target} |`),
  ].join("\n");
  process.stdout.write(out + "\n");
  mkdirSync("bench-results", { recursive: true });
  writeFileSync(
    "bench-results/broker.json",
    JSON.stringify({ single: one, cluster: three, apps: APPS, clusterApps: CLUSTER_APPS }, null, 2) + "\n",
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
