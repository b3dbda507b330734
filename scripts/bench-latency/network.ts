/**
 * The network profile (issue 20, "lossy links"): tether-net and x11vnc-net run across the small
 * internet of test/support/internet.ts instead of loopback.
 *
 *   home 192.168.1.2: the agent / x11vnc ── home router (NAT; port 5900 forwarded to the home host)
 *        │  the user's link, shaped: NET_LOSS_PCT % random loss each way (nftables numgen), a
 *        │  NET_RATE_MBIT bottleneck each way (tbf), NET_DELAY_MS one-way delay each way
 *        │  (delay-link.py, an AF_PACKET delay line in the public namespace: the kernel has no netem)
 *   public 203.0.113.0/24: broker and coturn at 203.0.113.1
 *        │
 *   office 10.1.0.2 (behind a symmetric NAT): this process, i.e. the painter and the receivers
 *   (Xvfb stays in the root namespace, its parent's: see runInOfficeNamespace)
 *
 * Tether's stream goes through the TURN relay (no direct path forms across the symmetric NAT);
 * x11vnc's RFB through the port forward, as a user would set it up. Both cross the user's link
 * upstream, the same way.
 *
 * One clock: the measuring process itself runs in the office namespace. When BENCH_SYSTEMS holds a
 * network system, main.ts (in the root namespace) builds the internet and runs the whole benchmark
 * again as a child, `ip netns exec <office> node main.js` (runInOfficeNamespace), which finds the
 * namespaces in BENCH_NET_NAMESPACES; the loopback systems then use the office namespace's own
 * loopback, which is the same kernel path as the root namespace's; the parent's Xvfb serves them
 * all (through its socket file in /tmp/.X11-unix, which reaches across namespaces). The child
 * shapes the link and starts the delay line and coturn (setUpProfile); what it starts it stops;
 * the parent then ends anything left in the namespaces and removes them (also on failure, Ctrl+C
 * and the deadline).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";

import {
  buildInternet,
  checkNamespaces,
  forwardPort,
  PUBLIC_ADDRESS,
  shapeWan,
  siteOf,
  tapWan,
  wanCounters,
  type Internet,
  type WanCounters,
} from "../../test/support/internet.js";
import { ROOT, spawnProc, type Proc } from "../../test/support/procs.js";
import { startTurn, type Turn } from "../../test/support/turn.js";
import { startXvfb } from "../../test/support/xvfb.js";
import { H, W, NET_BURST_BYTES, NET_DELAY_MS, NET_LOSS_PCT, NET_QUEUE_MS, NET_RATE_MBIT } from "./config.js";
import { onCleanup, sleep, track } from "./harness.js";
import { cpuSeconds } from "./statistics.js";

const run = promisify(execFile);

/** The systems that run across the network. */
export const NET_SYSTEMS = ["tether-net", "x11vnc-net"];
export const isNetSystem = (system: string): boolean => NET_SYSTEMS.includes(system);

/** The namespaces, as the parent hands them to the child. */
type Namespaces = Pick<Internet, "pub" | "home" | "office" | "homeRouter" | "officeRouter">;
const ENV = "BENCH_NET_NAMESPACES";
const DISPLAY_ENV = "BENCH_NET_DISPLAY";

/** In the child: the parent's Xvfb (see runInOfficeNamespace). */
export const NET_DISPLAY = process.env[DISPLAY_ENV];

/** In the child (the benchmark in the office namespace): the internet the parent built. */
export const NET: Internet | undefined = (() => {
  const json = process.env[ENV];
  if (!json) return undefined;
  const ns = JSON.parse(json) as Namespaces;
  return { ...ns, inNs: (n: string) => ["ip", "netns", "exec", n], stop: async () => {} };
})();

/** The broker's port on the public network (a fresh namespace: nothing else listens there). */
const BROKER_PORT = 8080;
/** x11vnc's port in the home network, forwarded on the home router. */
const RFB_PORT = 5900;
const TURN_SECRET = "tether-bench-turn-secret";

// ---------------------------------------------------------------------------------------------
// The parent (root namespace).

/**
 * Builds the internet, runs this benchmark again in its office namespace (same arguments and
 * environment, plus BENCH_NET_NAMESPACES) and waits for it; returns its exit code. The teardown
 * (harness.ts's cleanup, also on Ctrl+C and the deadline) stops the child (it stops what it
 * started; SIGKILL after 20 s), then ends any process still in the namespaces, then removes them.
 */
export async function runInOfficeNamespace(): Promise<number> {
  checkNamespaces();
  const net = await buildInternet({ symmetric: ["office"] });
  onCleanup(() => net.stop());
  onCleanup(() => endProcessesIn(net));
  const ns: Namespaces = { pub: net.pub, home: net.home, office: net.office, homeRouter: net.homeRouter, officeRouter: net.officeRouter };
  // Xvfb stays in the root namespace: its abstract socket there keeps any other X server started
  // there (tests running meanwhile) off its display number. Started in the office namespace, another
  // server in the root one took the same number, replaced /tmp/.X11-unix/X<n> and, finding the lock
  // file, gave up and removed it: the home namespace, which reaches the display only through that
  // file, lost it. Every namespace reaches this one through the file.
  const xvfb = await startXvfb({ width: W, height: H });
  onCleanup(() => xvfb.stop());
  console.error(`network profile: namespaces ${Object.values(ns).join(", ")}; the benchmark runs in ${net.office}, Xvfb ${xvfb.display}`);
  const child: ChildProcess = spawn("ip", ["netns", "exec", net.office, process.execPath, ...process.execArgv, process.argv[1]!], {
    stdio: "inherit",
    env: { ...process.env, [ENV]: JSON.stringify(ns), [DISPLAY_ENV]: xvfb.display },
  });
  const exited = new Promise<number>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? 128 + (signal === "SIGKILL" ? 9 : signal === "SIGINT" ? 2 : 15))),
  );
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 20_000);
      await exited;
      clearTimeout(t);
    }
    process.off("exit", killOnExit);
  });
  return exited;
}

/** SIGKILL to every process still in one of the namespaces (all of them started by this run). */
async function endProcessesIn(net: Internet): Promise<void> {
  const names = [net.pub, net.home, net.office, net.homeRouter, net.officeRouter];
  for (const n of names) {
    const pids = await run("ip", ["netns", "pids", n]).then(
      (r) => r.stdout.split("\n").filter(Boolean).map(Number),
      () => [],
    );
    for (const pid of pids) {
      if (pid === process.pid) continue;
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone meanwhile
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The child (office namespace).

export interface NetProfile {
  lossPct: number;
  rateMbit: number;
  burstBytes: number;
  queueMs: number;
  /** Added one-way delay, each way (0: no delay line). */
  delayMs: number;
}

export const PROFILE: NetProfile = {
  lossPct: NET_LOSS_PCT,
  rateMbit: NET_RATE_MBIT,
  burstBytes: NET_BURST_BYTES,
  queueMs: NET_QUEUE_MS,
  delayMs: NET_DELAY_MS,
};

/** What the child set up once: coturn, the delay line (if any), the port forward's outside address. */
export interface NetSetup {
  net: Internet;
  turn: Turn;
  delayLine: Proc | null;
  /** How the delay line is scheduled (SCHED_FIFO, or why not). */
  delayLineScheduling: string | null;
  rfb: { host: string; port: number };
}

let setup: NetSetup | undefined;

/**
 * Shapes the user's link (the home router's WAN), puts the delay line into it, forwards x11vnc's
 * port and starts coturn on the public network. Once per run; everything is stopped by cleanup().
 */
export async function setUpProfile(net: Internet): Promise<NetSetup> {
  if (setup) return setup;
  await shapeWan(net, "home", PROFILE);
  let delayLine: Proc | null = null;
  let delayLineScheduling: string | null = null;
  if (PROFILE.delayMs > 0) {
    const tap = await tapWan(net, "home");
    delayLine = track(
      spawnProc(
        "ip",
        [
          "netns",
          "exec",
          tap.ns,
          "python3",
          path.join(ROOT, "scripts", "bench-latency", "delay-link.py"),
          tap.routerSide,
          tap.bridgeSide,
          String(PROFILE.delayMs),
        ],
        process.env,
      ),
      "delay-link",
    );
    const ready = await Promise.race([
      delayLine.out.waitFor(/^ready /, 10_000),
      delayLine.exited.then(({ code }) => {
        throw new Error(`delay-link.py exited with ${code}: ${delayLine!.err.text()}`);
      }),
    ]);
    delayLineScheduling = ready.slice("ready ".length);
  }
  const rfb = await forwardPort(net, "home", RFB_PORT);
  const turn = await startTurn({ netns: net.pub, address: PUBLIC_ADDRESS, secret: TURN_SECRET });
  track(turn.proc, "turnserver");
  setup = { net, turn, delayLine, delayLineScheduling, rfb };
  return setup;
}

/** The broker's place and arguments on the public network (with coturn's REST secret). */
export function brokerOnPublicNet(s: NetSetup): { netns: string; host: string; port: number; args: string[] } {
  const url = `http://${PUBLIC_ADDRESS}:${BROKER_PORT}`;
  return {
    netns: s.net.pub,
    host: PUBLIC_ADDRESS,
    port: BROKER_PORT,
    args: ["--public-url", url, "--stun", `stun:${PUBLIC_ADDRESS}:3478`, "--turn", s.turn.url, "--turn-secret", TURN_SECRET],
  };
}

/** A command prefix that runs a program on the user's computer (the home namespace). */
export const atHome = (s: NetSetup): string[] => ["ip", "netns", "exec", s.net.home];

/** x11vnc's port in the home namespace, and where the RFB client reaches it (the port forward). */
export const rfbAtHome = (s: NetSetup) => ({ listenPort: RFB_PORT, connect: s.rfb, hostAddress: siteOf(s.net, "home").hostAddress });

/** The link's counters and the delay line's CPU at one moment (taken around each network system). */
export interface NetSnapshot {
  counters: WanCounters;
  delayLineCpuS: number | null;
  at: number;
}

export async function netSnapshot(s: NetSetup): Promise<NetSnapshot> {
  const pid = s.delayLine?.child.pid;
  let cpu: number | null = null;
  try {
    if (pid !== undefined) cpu = cpuSeconds(pid);
  } catch {
    // ended
  }
  return { counters: await wanCounters(s.net, "home"), delayLineCpuS: cpu, at: performance.now() };
}

/** What happened on the user's link while one network system ran. */
export interface NetRun {
  /** Packets forwarded upstream (home → internet) and downstream, and the share lost (the random loss). */
  upPackets: number;
  upLostPct: number | null;
  downPackets: number;
  downLostPct: number | null;
  /** Packets tbf dropped for a full queue. */
  queueDropsUp: number;
  queueDropsDown: number;
  /** The delay line's CPU, % of one core (null without one). */
  delayLineCpuPct: number | null;
  /** The delay line's own counts since the start (frames forwarded, sent more than 1 ms late, worst lateness), its scheduling. */
  delayLine: string | null;
  /** Tether: the selected candidate pair's types at the technician's end (expected: through the relay). */
  path?: string;
}

export async function netRun(s: NetSetup, a: NetSnapshot, b: NetSnapshot): Promise<NetRun> {
  const pct = (lost: number, n: number) => (n > 0 ? (100 * lost) / n : null);
  const up = { n: b.counters.up.packets - a.counters.up.packets, lost: b.counters.up.lost - a.counters.up.lost };
  const down = { n: b.counters.down.packets - a.counters.down.packets, lost: b.counters.down.lost - a.counters.down.lost };
  let delayLine: string | null = null;
  if (s.delayLine && s.delayLine.child.exitCode === null) {
    const n = s.delayLine.out.all.length;
    s.delayLine.child.kill("SIGUSR1");
    for (let i = 0; i < 20 && s.delayLine.out.all.length === n; i++) await sleep(50);
    const m = /forwarded (\d+) dropped (\d+) late (\d+) worst_late_ms ([\d.]+)/.exec(s.delayLine.out.all.slice(n).join("\n"));
    delayLine = m
      ? `${m[1]} frames, ${m[3]} late > 1 ms, worst ${m[4]} ms${m[2] !== "0" ? `, ${m[2]} failed to send` : ""}; ${s.delayLineScheduling}`
      : null;
  }
  return {
    upPackets: up.n,
    upLostPct: pct(up.lost, up.n),
    downPackets: down.n,
    downLostPct: pct(down.lost, down.n),
    queueDropsUp: b.counters.queueDrops.up - a.counters.queueDrops.up,
    queueDropsDown: b.counters.queueDrops.down - a.counters.queueDrops.down,
    delayLineCpuPct:
      a.delayLineCpuS !== null && b.delayLineCpuS !== null ? ((b.delayLineCpuS - a.delayLineCpuS) / ((b.at - a.at) / 1000)) * 100 : null,
    delayLine,
  };
}
