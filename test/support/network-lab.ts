/**
 * The network tests' lab (issue 20): the small internet of internet.ts with coturn on its public
 * network, an Xvfb screen the user's app shares, brokers ("sites") on the public network, the
 * technician's receiver in the office network (remote-receiver.mjs), the support app at home and
 * the tether CLI on the public network. Shared by the network test files, each with a lab of its own.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { buildInternet, PUBLIC_ADDRESS, type Internet, type InternetOptions } from "./internet.js";
import { addTechnician, newComputer, ROOT, run, spawnProc, startAgent, startBroker, type Broker, type Proc } from "./procs.js";
import { yuv } from "./receiver.js";
import { startTurn, type Turn, type TurnOptions } from "./turn.js";
import type { TestCa } from "./certs.js";
import { startXvfb, type Xvfb } from "./xvfb.js";
import { TestXClient } from "./x11-client.js";

export const TURN_SECRET = "tether-test-turn-secret";
/** The issue's bound for the stream to resume after the network comes back or changes (measured ≈ 1.2 s after a drop, ≈ 1.8 s after an address change). */
export const RESUME_MS = 5000;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Runs a command and waits for it (ip, nft …). */
export const sh = promisify(execFile);

/** Whether a Y, U, V pixel shows `rgb` (within video coding's tolerance). */
export const near = (yuvNow: [number, number, number] | null | undefined, rgb: number) =>
  !!yuvNow && yuv(rgb).every((v, i) => Math.abs(yuvNow[i]! - v) <= 14);

export interface Site {
  broker: Broker;
  token: string;
  /** The CA the site's certificate comes from (HTTPS), for the clients to trust. */
  caFile?: string;
}

export interface Status {
  state: string;
  frames: number;
  size: [number, number] | null;
  path: { local: string; remote: string } | null;
  centre: [number, number, number] | null;
  /** TURN credential renewals the receiver took from the broker. */
  renewals: number;
}

export class NetworkLab {
  readonly running: Proc[] = [];

  private constructor(
    readonly net: Internet,
    readonly turn: Turn,
    readonly xvfb: Xvfb,
    readonly xclient: TestXClient,
  ) {}

  /** Builds the internet, starts coturn on its public network and a 320×240 screen painted green. */
  static async start(opts: { internet?: InternetOptions; turn?: Partial<TurnOptions> } = {}): Promise<NetworkLab> {
    const net = await buildInternet(opts.internet ?? { symmetric: ["office"] });
    let turn: Turn | undefined;
    let xvfb: Xvfb | undefined;
    try {
      turn = await startTurn({ netns: net.pub, address: PUBLIC_ADDRESS, secret: TURN_SECRET, ...opts.turn });
      xvfb = await startXvfb({ width: 320, height: 240 });
      const xclient = await TestXClient.start(xvfb.display);
      await xclient.fill(0, 0, 320, 240, 0x20a040);
      return new NetworkLab(net, turn, xvfb, xclient);
    } catch (err) {
      await xvfb?.stop();
      await turn?.stop();
      await net.stop();
      throw err;
    }
  }

  /** --stun and --turn arguments for a broker using this lab's coturn. */
  iceArgs(secret = TURN_SECRET): string[] {
    return ["--stun", `stun:${PUBLIC_ADDRESS}:3478`, "--turn", this.turn.url, "--turn-secret", secret];
  }

  /** A broker on the public network; `args`: its ICE and other arguments. */
  async site(port: number, args: string[], tls?: TestCa): Promise<Site> {
    const url = `${tls ? "https" : "http"}://${PUBLIC_ADDRESS}:${port}`;
    const cert = tls?.issue(`broker-${port}`, [PUBLIC_ADDRESS]);
    const all = ["--public-url", url, ...args, ...(cert ? ["--tls-cert", cert.certFile, "--tls-key", cert.keyFile] : [])];
    const broker = await startBroker({ netns: this.net.pub, host: PUBLIC_ADDRESS, port, args: all });
    const token = await addTechnician(broker.dataDir, "jane", "Jane Doe");
    return { broker, token, ...(tls && { caFile: tls.caFile }) };
  }

  /** The tether CLI on the public network (the API as a technician's script would use it). */
  async tether(s: Site, args: string[]): Promise<any> {
    const p = run([...args, "--broker", s.broker.url, "--token", s.token, "--json"], {
      prefix: this.net.inNs(this.net.pub),
      ...(s.caFile && { env: { NODE_EXTRA_CA_CERTS: s.caFile } }),
    });
    p.child.stdin!.end();
    const { code } = await p.exited;
    if (code !== 0) throw new Error(`tether ${args.join(" ")}: exit ${code}: ${p.err.text()}`);
    return JSON.parse(p.out.text());
  }

  /** The technician's receiver in the office network. */
  officeReceiver(s: Site, extra: string[] = []) {
    const env = s.caFile ? { ...process.env, NODE_EXTRA_CA_CERTS: s.caFile } : process.env;
    const p = spawnProc(
      "ip",
      [
        ...this.net.inNs(this.net.office).slice(1),
        process.execPath,
        join(ROOT, "test", "support", "remote-receiver.mjs"),
        s.broker.url,
        s.token,
        ...extra,
      ],
      env,
    );
    this.running.push(p);
    const latest = (): Status | null => {
      for (let i = p.out.all.length - 1; i >= 0; i--) {
        const m = JSON.parse(p.out.all[i]!) as { status?: Status };
        if (m.status) return m.status;
      }
      return null;
    };
    return { p, latest, watch: (id: string) => p.child.stdin!.write(JSON.stringify({ watch: id }) + "\n") };
  }

  /** The support app at home, on this lab's screen (TETHER_TRACE_PEER on). */
  app(s: Site, link: string, computer = newComputer()): Proc {
    const a = startAgent(link, computer, {
      netns: this.net.home,
      env: { DISPLAY: this.xvfb.display, TETHER_TRACE_PEER: "1" },
      ...(s.caFile && { args: ["--ca", s.caFile] }),
    });
    this.running.push(a);
    return a;
  }

  /** A session, its app at home (answers y), and a view request the office receiver answers. */
  async share(s: Site, receiverArgs: string[] = []) {
    const session = await this.tether(s, ["session", "create", "--expires", "1h"]);
    const rx = this.officeReceiver(s, receiverArgs);
    await rx.p.out.waitFor(/"ready":true/, 15_000);
    const a = this.app(s, session.link);
    await a.out.waitFor(/^Connected\./, 20_000);
    const req = await this.tether(s, ["session", "request-access", session.id, "--scope", "view"]);
    rx.watch(req.id);
    await a.out.waitFor(/requests to view your screen/);
    a.child.stdin!.write("y\n");
    return { session, rx, a, requestId: req.id as string };
  }

  /** Takes the user's link down (`down`) or up again with its default route. */
  async homeLink(up: boolean): Promise<void> {
    await sh("ip", ["-n", this.net.home, "link", "set", "eth0", up ? "up" : "down"]);
    if (up) await sh("ip", ["-n", this.net.home, "route", "replace", "default", "via", "192.168.1.1"]);
  }

  /** Gives the user's computer another address (a new DHCP lease, another Wi-Fi): sockets on the old one are dead. */
  async homeAddress(address: string): Promise<void> {
    const current = (await sh("ip", ["-n", this.net.home, "-4", "-o", "addr", "show", "dev", "eth0"])).stdout;
    for (const m of current.matchAll(/inet (\S+)/g)) await sh("ip", ["-n", this.net.home, "addr", "del", m[1]!, "dev", "eth0"]);
    await sh("ip", ["-n", this.net.home, "addr", "add", `${address}/24`, "dev", "eth0"]);
    await sh("ip", ["-n", this.net.home, "route", "replace", "default", "via", "192.168.1.1"]);
  }

  async stop(sites: (Site | undefined)[] = []): Promise<void> {
    for (const p of this.running) p.child.kill("SIGKILL");
    for (const s of sites) await s?.broker.stop();
    await this.turn.stop();
    await this.xclient.stop();
    await this.xvfb.stop();
    await this.net.stop();
  }
}
