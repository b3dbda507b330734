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
