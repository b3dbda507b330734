import { Exit } from "../util/exit.js";
import { cleanName, MAX_ORGANIZATION, redactUrlPassword } from "../util/text.js";
import { serveBroker } from "../broker/server.js";
import { parseBusUrl, type BusAddress } from "../broker/bus.js";
import { readFileSync } from "node:fs";
import { CliError, intOption, parse, UsageError } from "./args.js";
import { isIP } from "node:net";

export const brokerHelp = `Usage: tether broker [--host 127.0.0.1] [--port 8080] [--data ./data] [options]

Runs the broker: the technician HTTP API, the agents' and consoles' WebSockets, and the store
(<data>/tether.db). On the first start it creates the technician "admin" and prints its password once.

Options:
  --host ADDR              address to listen on (default 127.0.0.1)
  --port N                 port (default 8080; 0 picks a free one)
  --data DIR               data folder (default ./data)
  --public-url URL         base URL put into support links (default http://<host>:<port>)
  --activation-limit N     agent connection (activation) attempts per client address per minute (default 60)
  --login-limit N          login attempts per client address per minute (default 10)
  --consent-timeout S      seconds an access request waits for the user's answer (default 120)
  --grant-grace S          seconds a granted access outlives its app's connection (a network drop, a
                           broker restart) before it ends (default 30)
  --access-request-limit N access requests per session per minute (default 10)
  --organization NAME      your organisation's name, shown on link pages and named in their scam
                           warning (without it they say "your support desk")
  --app FILE               the prebuilt support app offered on link pages to Linux browsers
                           (default dist/app/tether-support-linux-x64, made by npm run build:app;
                           looked at on each request: a new build needs no restart)
  --app-windows FILE       the same for Windows browsers (default tether-support-windows-x64.exe
                           in the folder of --app)
  --stun URL               a STUN server for WebRTC, e.g. stun:stun.example.org:3478 (repeatable)
  --turn URL               a TURN server, e.g. turn:turn.example.org:3478 (repeatable; needs --turn-secret)
  --turn-secret S          coturn's static-auth-secret: each peer gets time-limited credentials
                           (default: no ICE servers, fine on one network or loopback)
  --max-file-mb N          largest file a transfer between a technician and a user may carry, in MB
                           (default 1024; the app and the console decline larger ones before any byte moves)
  --turn-ttl S             lifetime of those credentials in seconds (default 3600); connected apps and
                           consoles get new ones every half of it, and a relayed connection moves to
                           them without a break
  --tls-cert FILE          serve HTTPS and WSS with this certificate (PEM, with its chain) ...
  --tls-key FILE           ... and this key; SIGHUP reads both again (a renewed certificate, no
                           restart). Without them: plain HTTP, for a TLS proxy in front
  --trust-proxy LIST       behind a reverse proxy: its addresses or ranges, comma-separated (e.g.
                           127.0.0.1 or 10.0.0.0/8); X-Forwarded-For from them gives the client
                           address the rate limits count (without it every user would be the proxy)
  --log-level LEVEL        fatal, error, warn, info (default), debug, or silent

Cluster mode (any number of nodes behind a load balancer; see the README, "Running a cluster"):
  --store URL              PostgreSQL for the state, e.g. postgres://tether:PW@db.example.org/tether
                           (or TETHER_STORE); instead of <data>/tether.db
  --bus URL                NATS between the nodes, e.g. nats://tether:PW@nats.example.org:4222, or
                           tls://… for TLS (or TETHER_BUS); several servers comma-separated;
                           --store and --bus go together
  --bus-ca FILE            the CA (PEM) that signed the NATS servers' certificates, when not one
                           the system trusts (or TETHER_BUS_CA); implies TLS
  --history-key-file FILE  the history's key, the same file on every node (default <data>/history.key)`;

export async function brokerCommand(args: string[]): Promise<number> {
  const { values } = parse(
    args,
    {
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string" },
      data: { type: "string", default: "./data" },
      "public-url": { type: "string" },
      "activation-limit": { type: "string" },
      "login-limit": { type: "string" },
      "consent-timeout": { type: "string" },
      "grant-grace": { type: "string" },
      "access-request-limit": { type: "string" },
      "log-level": { type: "string", default: "info" },
      organization: { type: "string" },
      stun: { type: "string", multiple: true },
      turn: { type: "string", multiple: true },
      "turn-secret": { type: "string" },
      "turn-ttl": { type: "string" },
      "max-file-mb": { type: "string" },
      app: { type: "string" },
      "app-windows": { type: "string" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      "trust-proxy": { type: "string" },
      store: { type: "string" },
      bus: { type: "string" },
      "bus-ca": { type: "string" },
      "history-key-file": { type: "string" },
    },
    false,
  );
  const publicUrl = values["public-url"];
  if (!values["tls-cert"] !== !values["tls-key"]) throw new UsageError("--tls-cert and --tls-key go together");
  const store = values.store ?? process.env.TETHER_STORE ?? "";
  const bus = values.bus ?? process.env.TETHER_BUS ?? "";
  if (!store !== !bus) throw new UsageError("--store and --bus go together (cluster mode: PostgreSQL and NATS)");
  if (store && !/^postgres(ql)?:\/\//.test(store))
    throw new UsageError(`--store needs a postgres:// URL, not "${redactUrlPassword(store)}"`);
  let busAddress: BusAddress | undefined;
  if (bus) {
    try {
      busAddress = parseBusUrl(bus);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  const busCa = values["bus-ca"] ?? process.env.TETHER_BUS_CA;
  if (busCa !== undefined && !busAddress) throw new UsageError("--bus-ca goes with --bus (cluster mode)");
  if (busCa !== undefined) {
    let pem: string;
    try {
      pem = readFileSync(busCa, "utf8");
    } catch (err) {
      throw new CliError(`cannot read the NATS CA ${busCa} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    if (!pem.includes("-----BEGIN CERTIFICATE-----")) throw new CliError(`the NATS CA ${busCa} holds no PEM certificate`);
  }
  const historyKeyFile = values["history-key-file"];
  const server = await serveBroker({
    host: values.host!,
    port: intOption(values.port, "--port", 8080),
    dataDir: values.data!,
    ...(store &&
      busAddress && {
        cluster: {
          store,
          bus: busAddress,
          ...(busCa !== undefined && { busCa }),
          ...(historyKeyFile !== undefined && { historyKeyFile }),
        },
      }),
    ...(publicUrl !== undefined && { publicUrl }),
    activationLimitPerMinute: intOption(values["activation-limit"], "--activation-limit", 60, 1, 1_000_000),
    loginLimitPerMinute: intOption(values["login-limit"], "--login-limit", 10, 1, 1_000_000),
    consentTimeoutMs: intOption(values["consent-timeout"], "--consent-timeout", 120, 1, 3600) * 1000,
    grantGraceMs: intOption(values["grant-grace"], "--grant-grace", 30, 1, 3600) * 1000,
    accessRequestLimitPerMinute: intOption(values["access-request-limit"], "--access-request-limit", 10, 1, 10_000),
    logLevel: values["log-level"]!,
    maxFileBytes: intOption(values["max-file-mb"], "--max-file-mb", 1024, 1, 1024 * 1024) * 1_000_000,
    ...(values.organization !== undefined && { organization: cleanName(values.organization, MAX_ORGANIZATION) }),
    ...(values.app !== undefined && { appFile: values.app }),
    ...(values["app-windows"] !== undefined && { windowsAppFile: values["app-windows"] }),
    ...(values["tls-cert"] && values["tls-key"] && { tls: { certFile: values["tls-cert"], keyFile: values["tls-key"] } }),
    ...(values["trust-proxy"] !== undefined && { trustProxy: proxyList(values["trust-proxy"]) }),
    ice: iceOptions(
      values.stun ?? [],
      values.turn ?? [],
      values["turn-secret"],
      intOption(values["turn-ttl"], "--turn-ttl", 3600, 20, 7 * 24 * 3600),
    ),
    out: (line) => process.stdout.write(line + "\n"),
  });
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      void server.stop().then(resolve);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  return Exit.OK;
}

function iceOptions(stun: string[], turn: string[], turnSecret: string | undefined, turnTtlS: number) {
  for (const u of stun) if (!/^stuns?:/.test(u)) throw new UsageError(`--stun needs a stun: URL, not "${u}"`);
  for (const u of turn) if (!/^turns?:/.test(u)) throw new UsageError(`--turn needs a turn: or turns: URL, not "${u}"`);
  if (turn.length && !turnSecret) throw new UsageError("--turn needs --turn-secret (coturn's static-auth-secret)");
  return { stun, turn, turnTtlS, ...(turnSecret !== undefined && { turnSecret }) };
}

/** "127.0.0.1, 10.0.0.0/8" → addresses and CIDR ranges; anything else is a usage error. */
function proxyList(value: string): string[] {
  const list = value
    .split(",")
    .map((v) => v.trim())
    .filter(Boolean);
  for (const v of list) {
    const [addr, bits, ...rest] = v.split("/");
    const okBits = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (addr!.includes(":") ? 128 : 32));
    if (rest.length || !okBits || !isIP(addr!)) throw new UsageError(`--trust-proxy needs addresses or CIDR ranges, not "${v}"`);
  }
  if (!list.length) throw new UsageError("--trust-proxy needs at least one address");
  return list;
}
