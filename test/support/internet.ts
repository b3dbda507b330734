// A small internet for the tests (issue 20), built from network namespaces, veth pairs and nftables:
//
//   home (192.168.1.2) ── home router (NAT) ──┐
//                                               ├── public 203.0.113.0/24 (a bridge): broker and
//   office (10.1.0.2) ── office router (NAT) ──┘    TURN server at 203.0.113.1
//
// The routers masquerade what leaves them; a router made "symmetric" does so with fully random
// ports (an address- and port-dependent mapping), so that a direct path between the two private
// networks cannot form. Only addresses inside these namespaces are ever used (TEST-NET-3 and private
// ranges). Every name carries a random prefix, so test files can build their own at once; stop()
// removes everything, and so does the process's exit.
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";

const run = promisify(execFile);

export const PUBLIC_ADDRESS = "203.0.113.1";

export interface Internet {
  /** Namespace names. */
  pub: string;
  home: string;
  office: string;
  homeRouter: string;
  officeRouter: string;
  /** A command prefix that runs a program inside `ns` (ip netns exec). */
  inNs(ns: string): string[];
  stop(): Promise<void>;
}

export interface InternetOptions {
  /** Which routers map with fully random ports (symmetric NAT). Default: the office's. */
  symmetric?: ("home" | "office")[];
}

/** Throws one readable line where namespaces cannot be made (not root, no iproute2 or nftables). */
export function checkNamespaces(): void {
  const probe = `tn${randomBytes(3).toString("hex")}`;
  try {
    execFileSync("ip", ["netns", "add", probe], { stdio: "pipe" });
    execFileSync("ip", ["netns", "exec", probe, "nft", "list", "ruleset"], { stdio: "pipe" });
  } catch (err) {
    throw new Error(
      `the network tests need root, iproute2 and nftables (apt-get install iproute2 nftables): ${
        String((err as { stderr?: Buffer }).stderr ?? err)
          .trim()
          .split("\n")[0]
      }`,
      { cause: err },
    );
  } finally {
    try {
      execFileSync("ip", ["netns", "del", probe], { stdio: "pipe" });
    } catch {
      // it was never made
    }
  }
}

export async function buildInternet(opts: InternetOptions = {}): Promise<Internet> {
  checkNamespaces();
  const id = randomBytes(3).toString("hex");
  const ns = { pub: `tn${id}-pub`, home: `tn${id}-home`, office: `tn${id}-off`, homeRouter: `tn${id}-hr`, officeRouter: `tn${id}-or` };
  const all = Object.values(ns);
  const ip = (...args: string[]) => run("ip", args);
  const inNs = (n: string) => ["ip", "netns", "exec", n];
  const exec = (n: string, cmd: string, ...args: string[]) => run("ip", ["netns", "exec", n, cmd, ...args]);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.off("exit", stopSync);
    await Promise.all(all.map((n) => ip("netns", "del", n).catch(() => {})));
  };
  const stopSync = () => {
    for (const n of all) {
      try {
        execFileSync("ip", ["netns", "del", n], { stdio: "ignore" });
      } catch {
        // already gone
      }
    }
  };
  process.on("exit", stopSync);
  try {
    for (const n of all) {
      await ip("netns", "add", n);
      await ip("-n", n, "link", "set", "lo", "up");
    }
    // The public network: a bridge in its namespace, with the servers' address on it.
    await ip("-n", ns.pub, "link", "add", "br0", "type", "bridge");
    await ip("-n", ns.pub, "addr", "add", `${PUBLIC_ADDRESS}/24`, "dev", "br0");
    await ip("-n", ns.pub, "link", "set", "br0", "up");
    const symmetric = new Set(opts.symmetric ?? ["office"]);
    const sites = [
      { router: ns.homeRouter, host: ns.home, wan: "203.0.113.2", lan: "192.168.1", tag: "h", symmetric: symmetric.has("home") },
      { router: ns.officeRouter, host: ns.office, wan: "203.0.113.3", lan: "10.1.0", tag: "o", symmetric: symmetric.has("office") },
    ];
    for (const s of sites) {
      // WAN: router ↔ public bridge
      const wanPub = `${s.tag}${id}p`;
      await ip("link", "add", wanPub, "type", "veth", "peer", "name", `${s.tag}${id}w`);
      await ip("link", "set", wanPub, "netns", ns.pub);
      await ip("link", "set", `${s.tag}${id}w`, "netns", s.router);
      await ip("-n", ns.pub, "link", "set", wanPub, "master", "br0");
      await ip("-n", ns.pub, "link", "set", wanPub, "up");
      await ip("-n", s.router, "link", "set", `${s.tag}${id}w`, "name", "wan");
      await ip("-n", s.router, "addr", "add", `${s.wan}/24`, "dev", "wan");
      await ip("-n", s.router, "link", "set", "wan", "up");
      // LAN: router ↔ host
      await ip("link", "add", `${s.tag}${id}l`, "type", "veth", "peer", "name", `${s.tag}${id}h`);
      await ip("link", "set", `${s.tag}${id}l`, "netns", s.router);
      await ip("link", "set", `${s.tag}${id}h`, "netns", s.host);
      await ip("-n", s.router, "link", "set", `${s.tag}${id}l`, "name", "lan");
      await ip("-n", s.router, "addr", "add", `${s.lan}.1/24`, "dev", "lan");
      await ip("-n", s.router, "link", "set", "lan", "up");
      await ip("-n", s.host, "link", "set", `${s.tag}${id}h`, "name", "eth0");
      await ip("-n", s.host, "addr", "add", `${s.lan}.2/24`, "dev", "eth0");
      await ip("-n", s.host, "link", "set", "eth0", "up");
      await ip("-n", s.host, "route", "add", "default", "via", `${s.lan}.1`);
      await exec(s.router, "sysctl", "-qw", "net.ipv4.ip_forward=1");
      // The NAT: everything from the LAN leaves with the router's address; nothing comes in
      // unasked (replies only, by connection tracking).
      const rules = [
        "table ip nat {",
        "  chain post {",
        "    type nat hook postrouting priority srcnat;",
        `    oifname "wan" masquerade${s.symmetric ? " fully-random" : ""}`,
        "  }",
        "}",
        "table ip filter {",
        "  chain forward {",
        "    type filter hook forward priority filter; policy drop;",
        '    iifname "lan" oifname "wan" accept',
        '    iifname "wan" oifname "lan" ct state established,related accept',
        "  }",
        "}",
      ].join("\n");
      await new Promise<void>((resolve, reject) => {
        const child = execFile("ip", ["netns", "exec", s.router, "nft", "-f", "-"], (err) => (err ? reject(err) : resolve()));
        child.stdin!.end(rules + "\n");
      });
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { ...ns, inNs, stop };
}

// ── For the latency benchmark's network profile (scripts/bench-latency/network.ts): shaping a
// site's WAN link, a port forward on its router, and a tap in the WAN link for a forwarding
// process (a delay line, where the kernel has no netem). The names and addresses below are
// buildInternet's.

/** A site's namespaces, addresses and the public-side end of its WAN veth (on the bridge br0). */
export function siteOf(net: Internet, name: "home" | "office") {
  const id = net.pub.slice(2, -"-pub".length);
  const home = name === "home";
  return {
    router: home ? net.homeRouter : net.officeRouter,
    host: home ? net.home : net.office,
    /** The router's public address (its "wan" interface). */
    wanAddress: home ? "203.0.113.2" : "203.0.113.3",
    /** The host's address on the LAN (its "eth0"). */
    hostAddress: home ? "192.168.1.2" : "10.1.0.2",
    /** In the public namespace: the WAN veth's other end. */
    bridgePort: `${home ? "h" : "o"}${id}p`,
  };
}

export interface WanShape {
  /** Random loss, in % of the packets, each way (nftables numgen on the router's forward path). */
  lossPct: number;
  /** The bottleneck each way (tbf on the router's wan egress, upstream, and lan egress, downstream). */
  rateMbit: number;
  /** tbf's bucket (bytes sent at once at line rate) and its queue, as the time to drain it at the rate. */
  burstBytes: number;
  queueMs: number;
}

/**
 * Makes a site's WAN link lossy and slow: `lossPct` % of the packets the router forwards, each way,
 * are dropped (nftables `numgen random`, in a chain of its own ahead of the NAT's filter, with
 * counters: wanCounters), and each way is limited to `rateMbit` by tbf. The host and the public
 * bridge send every packet as one (gso_max_segs 1), so that loss and rate apply to wire-sized
 * packets, not to 64 KiB GSO aggregates.
 */
export async function shapeWan(net: Internet, name: "home" | "office", shape: WanShape): Promise<void> {
  const s = siteOf(net, name);
  const per10k = Math.round(shape.lossPct * 100);
  const rules = [
    "table ip shape {",
    "  chain forward {",
    "    type filter hook forward priority filter - 10; policy accept;",
    `    iifname "lan" oifname "wan" counter comment "up"`,
    `    iifname "lan" oifname "wan" numgen random mod 10000 < ${per10k} counter drop comment "up-lost"`,
    `    iifname "wan" oifname "lan" counter comment "down"`,
    `    iifname "wan" oifname "lan" numgen random mod 10000 < ${per10k} counter drop comment "down-lost"`,
    "  }",
    "}",
  ].join("\n");
  await new Promise<void>((resolve, reject) => {
    const child = execFile("ip", ["netns", "exec", s.router, "nft", "-f", "-"], (err) => (err ? reject(err) : resolve()));
    child.stdin!.end(rules + "\n");
  });
  const limit = Math.round((shape.rateMbit * 1e6 * shape.queueMs) / 8000) + shape.burstBytes;
  for (const dev of ["wan", "lan"]) {
    await run("ip", [
      "netns",
      "exec",
      s.router,
      "tc",
      "qdisc",
      "replace",
      "dev",
      dev,
      "root",
      "tbf",
      "rate",
      `${shape.rateMbit}mbit`,
      "burst",
      String(shape.burstBytes),
      "limit",
      String(limit),
    ]);
  }
  await run("ip", ["-n", s.host, "link", "set", "eth0", "gso_max_segs", "1"]);
  await run("ip", ["-n", net.pub, "link", "set", "br0", "gso_max_segs", "1"]);
}

export interface WanCounters {
  /** Packets the router forwarded from the LAN to the WAN (before the loss), and those it dropped as lost. */
  up: { packets: number; lost: number };
  down: { packets: number; lost: number };
  /** Packets tbf dropped because its queue was full: upstream (wan), downstream (lan). */
  queueDrops: { up: number; down: number };
}

/** The counters of shapeWan's loss rules and queues (cumulative since shapeWan). */
export async function wanCounters(net: Internet, name: "home" | "office"): Promise<WanCounters> {
  const s = siteOf(net, name);
  const nft = JSON.parse((await run("ip", ["netns", "exec", s.router, "nft", "-j", "list", "table", "ip", "shape"])).stdout) as {
    nftables: Array<{ rule?: { comment?: string; expr: Array<{ counter?: { packets: number } }> } }>;
  };
  const count = (comment: string) =>
    nft.nftables.find((e) => e.rule?.comment === comment)?.rule?.expr.find((x) => x.counter)?.counter?.packets ?? 0;
  const drops = async (dev: string) => {
    const q = JSON.parse((await run("ip", ["netns", "exec", s.router, "tc", "-s", "-j", "qdisc", "show", "dev", dev])).stdout) as Array<{
      kind: string;
      drops?: number;
    }>;
    return q.find((x) => x.kind === "tbf")?.drops ?? 0;
  };
  return {
    up: { packets: count("up"), lost: count("up-lost") },
    down: { packets: count("down"), lost: count("down-lost") },
    queueDrops: { up: await drops("wan"), down: await drops("lan") },
  };
}

/**
 * A port forward on a site's router, as a user sets one up for a server at home: TCP to the
 * router's public address and `port` goes to the host's `port` (DNAT), and the router's filter lets
 * such connections in. Returns where to connect from outside.
 */
export async function forwardPort(net: Internet, name: "home" | "office", port: number): Promise<{ host: string; port: number }> {
  const s = siteOf(net, name);
  const rules = [
    "table ip portforward {",
    "  chain pre {",
    "    type nat hook prerouting priority dstnat;",
    `    iifname "wan" tcp dport ${port} dnat to ${s.hostAddress}:${port}`,
    "  }",
    "}",
    // The NAT's own filter (buildInternet) drops new connections from the WAN: this one is let in.
    `add rule ip filter forward iifname "wan" oifname "lan" ct status dnat tcp dport ${port} accept`,
  ].join("\n");
  await new Promise<void>((resolve, reject) => {
    const child = execFile("ip", ["netns", "exec", s.router, "nft", "-f", "-"], (err) => (err ? reject(err) : resolve()));
    child.stdin!.end(rules + "\n");
  });
  return { host: s.wanAddress, port };
}

/**
 * Cuts a site's WAN link open for a forwarding process: its veth end in the public namespace leaves
 * the bridge, and a new veth pair joins the bridge with its other end free. Nothing passes until a
 * process in `ns` copies frames between `routerSide` and `bridgeSide` (both up, promiscuous, no
 * IPv6 of their own).
 */
export async function tapWan(net: Internet, name: "home" | "office"): Promise<{ ns: string; routerSide: string; bridgeSide: string }> {
  const s = siteOf(net, name);
  const bridgeSide = `${s.bridgePort.slice(0, -1)}t`;
  const onBridge = `${s.bridgePort.slice(0, -1)}b`;
  const ip = (...args: string[]) => run("ip", ["-n", net.pub, ...args]);
  await ip("link", "set", s.bridgePort, "nomaster");
  await ip("link", "add", onBridge, "type", "veth", "peer", "name", bridgeSide);
  await ip("link", "set", onBridge, "master", "br0");
  for (const dev of [s.bridgePort, bridgeSide, onBridge]) {
    await run("ip", ["netns", "exec", net.pub, "sysctl", "-qw", `net.ipv6.conf.${dev}.disable_ipv6=1`]);
    await ip("link", "set", dev, "promisc", "on");
    await ip("link", "set", dev, "up");
  }
  return { ns: net.pub, routerSide: s.bridgePort, bridgeSide };
}
