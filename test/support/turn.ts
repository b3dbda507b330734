// coturn (Debian's `turnserver`) for the network tests, configured as production guides recommend:
// time-limited REST credentials (use-auth-secret, the broker's --turn-secret), no CLI, no TLS here,
// and no relaying to private, loopback, link-local, CGNAT or multicast addresses (denied-peer-ip).
import { join } from "node:path";
import { spawnProc, tempDir, type Proc } from "./procs.js";

/** Address ranges a relay must never reach (RFC 1918, loopback, link-local, CGNAT, multicast and reserved). */
export const DENIED_PEER_RANGES = [
  "0.0.0.0-0.255.255.255",
  "10.0.0.0-10.255.255.255",
  "100.64.0.0-100.127.255.255",
  "127.0.0.0-127.255.255.255",
  "169.254.0.0-169.254.255.255",
  "172.16.0.0-172.31.255.255",
  "192.168.0.0-192.168.255.255",
  "224.0.0.0-255.255.255.255",
];

export interface Turn {
  url: string;
  secret: string;
  proc: Proc;
  stop(): Promise<void>;
}

export interface TurnOptions {
  netns: string;
  address: string;
  secret: string;
  realm?: string;
  /** coturn's --max-allocate-lifetime (seconds; its default 3600): short, so that tests see refreshes. */
  maxAllocateLifetimeS?: number;
  /** coturn's --verbose: a log line per request (ALLOCATE, REFRESH … with the user and the outcome). */
  verbose?: boolean;
}

export async function startTurn(opts: TurnOptions): Promise<Turn> {
  const dir = tempDir("tether-turn-");
  const args = [
    "netns",
    "exec",
    opts.netns,
    "turnserver",
    "-n", // no configuration file: everything is here
    `--listening-ip=${opts.address}`,
    `--relay-ip=${opts.address}`,
    "--listening-port=3478",
    "--min-port=49152",
    "--max-port=49999",
    "--use-auth-secret",
    `--static-auth-secret=${opts.secret}`,
    `--realm=${opts.realm ?? "tether.test"}`,
    "--fingerprint",
    "--no-cli",
    "--no-tls",
    "--no-dtls",
    "--no-multicast-peers",
    ...DENIED_PEER_RANGES.map((r) => `--denied-peer-ip=${r}`),
    ...(opts.maxAllocateLifetimeS ? [`--max-allocate-lifetime=${opts.maxAllocateLifetimeS}`] : []),
    ...(opts.verbose ? ["--verbose"] : []),
    "--log-file=stdout",
    "--simple-log",
    `--pidfile=${join(dir, "turnserver.pid")}`,
    `--userdb=${join(dir, "turndb")}`,
  ];
  const proc = spawnProc("ip", args, process.env);
  await Promise.race([
    proc.out.waitFor(/Total General servers/, 10_000),
    proc.exited.then(({ code }) => {
      throw new Error(`turnserver exited with ${code}: ${proc.out.text()}${proc.err.text()}`);
    }),
  ]);
  return {
    url: `turn:${opts.address}:3478?transport=udp`,
    secret: opts.secret,
    proc,
    async stop() {
      if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill("SIGTERM");
      await proc.exited;
    },
  };
}
