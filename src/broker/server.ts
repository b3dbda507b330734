/**
 * `tether broker`: opens the store, creates the first technician on first start, listens, and
 * shuts down cleanly on SIGINT/SIGTERM (agents are told 1001 "going away" and reconnect).
 */
import { Store } from "./store.js";
import { PgStore } from "./pg-store.js";
import { ClusterNode } from "./cluster.js";
import { connectBus, type BusAddress } from "./bus.js";
import { redactUrlPassword } from "../util/text.js";
import { historyKey, readHistoryKeyFile } from "./history.js";
import { buildBroker } from "./app.js";
import { hashPassword, newPassword } from "../util/secrets.js";
import { loadOrCreateSigningKey } from "../link/trailer.js";
import { defaultAppFile, WINDOWS_APP_NAME } from "../util/paths.js";
import { basename, dirname, join, resolve } from "node:path";
import { describeSupportApp, SupportAppSource } from "./downloads.js";
import { readFileSync } from "node:fs";
import type { Server as HttpsServer } from "node:https";
import { createSecureContext } from "node:tls";
import { CliError } from "../cli/args.js";

export interface ServeOptions {
  host: string;
  port: number;
  dataDir: string;
  /**
   * Cluster mode: PostgreSQL for the state (postgres://…) and NATS between the nodes (nats://…),
   * both or neither. Without them the store is <data>/tether.db and the broker is one process.
   */
  cluster?: { store: string; bus: BusAddress; busCa?: string; historyKeyFile?: string };
  publicUrl?: string;
  activationLimitPerMinute?: number;
  loginLimitPerMinute?: number;
  consentTimeoutMs?: number;
  grantGraceMs?: number;
  accessRequestLimitPerMinute?: number;
  logLevel?: string;
  organization?: string;
  /** The largest file a transfer may carry (bytes; default 1024 MB). */
  maxFileBytes?: number;
  ice?: import("./app.js").IceOptions;
  /** The prebuilt support app; default dist/app/tether-support-linux-x64. */
  appFile?: string;
  /** The prebuilt Windows app; default tether-support-windows-x64.exe beside appFile. */
  windowsAppFile?: string;
  /** Reverse proxies whose forwarded headers are believed (see BrokerOptions.trustProxy). */
  trustProxy?: string[];
  /** Serve HTTPS with these PEM files; SIGHUP reads them again (a renewed certificate, no restart). */
  tls?: { certFile: string; keyFile: string };
  out: (line: string) => void;
}

/** Reads a certificate and its key; a CliError with one line saying which file and why. */
function readTls(tls: { certFile: string; keyFile: string }): { cert: Buffer; key: Buffer } {
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new CliError(`cannot read the TLS ${what} ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  };
  const pair = { cert: read(tls.certFile, "certificate"), key: read(tls.keyFile, "key") };
  try {
    createSecureContext(pair); // a key that does not match, or a file that is not PEM, fails here
  } catch (err) {
    throw new CliError(`the TLS certificate ${tls.certFile} and key ${tls.keyFile} cannot be used together (${(err as Error).message})`);
  }
  return pair;
}

/** What an admin runs to build the support app for this broker, at the path the broker looks for it. */
function buildCommand(file: string, dataDir: string, built: string): string {
  const q = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);
  const cmd = `npm run build:app -- --data ${q(dataDir)}`;
  if (resolve(file) === built) return cmd;
  if (basename(file) === basename(built)) return `${cmd} --out ${q(dirname(resolve(file)))}`;
  return `${cmd}, then copy ${built} and its .json to ${q(file)} and ${q(file + ".json")}`;
}

/**
 * The support app to offer for download: looked at again on every link-page and download request
 * (src/broker/downloads.ts), so `npm run build:app` while the broker runs needs no restart. Offered
 * only when its manifest (`<file>.json`) names this broker's key and the file's SHA-256.
 */
function supportApp(file: string, dataDir: string, out: (line: string) => void, built = defaultAppFile()): SupportAppSource {
  const key = loadOrCreateSigningKey(dataDir);
  return new SupportAppSource({
    file,
    signingKey: key.privateKey,
    publicKeyB64: key.publicKeyB64,
    buildCommand: buildCommand(file, dataDir, built),
    onChange: (state) => out(`Support app ${file}: ${describeSupportApp(state)}`),
  });
}

/**
 * Opens the cluster's store and bus. The history key is shared by every node (one chain per
 * database): from --history-key-file, else <data>/history.key; the store refuses a node whose key
 * differs from the cluster's.
 */
async function openCluster(
  c: { store: string; bus: BusAddress; busCa?: string; historyKeyFile?: string },
  dataDir: string,
  out: (line: string) => void,
) {
  const key = c.historyKeyFile ? readHistoryKeyFile(c.historyKeyFile) : historyKey(dataDir, true)!;
  const log = {
    info: (_o: object, m: string) => out(m),
    warn: (o: object, m: string) => out(`${m} ${JSON.stringify(o)}`),
  };
  let store: PgStore;
  try {
    store = await PgStore.open(c.store, key, (err) => log.warn({ err: err.message }, "PostgreSQL connection lost"));
  } catch (err) {
    throw new CliError(`cannot open the cluster store ${redactUrlPassword(c.store)}: ${(err as Error).message}`);
  }
  // What NATS carries (sign-in ends, signaling, where each app is) is the cluster's business only.
  const open = [
    ...(c.bus.user === undefined && c.bus.token === undefined ? ["no credentials"] : []),
    ...(!c.bus.tls && !c.busCa ? ["no TLS unless the server requires it"] : []),
  ];
  if (open.length) {
    out(
      `warning: the NATS bus has ${open.join(" and ")}: whoever reaches it can read and send the nodes' messages (see the README, "Running a cluster")`,
    );
  }
  let bus;
  try {
    bus = await connectBus(c.bus, "tether-broker", log, c.busCa);
  } catch (err) {
    await store.close();
    throw new CliError(`cannot connect to NATS at ${c.bus.shown}: ${(err as Error).message}`);
  }
  return { store, cluster: new ClusterNode(store, bus, log) };
}

/** The longest a shutdown waits for open connections, ms. */
const SHUTDOWN_LIMIT_MS = 3000;

export async function serveBroker(o: ServeOptions): Promise<{ url: string; stop: () => Promise<void> }> {
  const { store, cluster } = o.cluster
    ? await openCluster(o.cluster, o.dataDir, o.out)
    : { store: Store.open(o.dataDir), cluster: undefined };
  const appFile = o.appFile ?? defaultAppFile();
  const app = supportApp(appFile, o.dataDir, o.out);
  const windowsApp = supportApp(
    o.windowsAppFile ?? join(dirname(resolve(appFile)), WINDOWS_APP_NAME),
    o.dataDir,
    o.out,
    defaultAppFile(WINDOWS_APP_NAME),
  );
  const checked = Promise.all([app.current(), windowsApp.current()]); // hashes built apps while the broker sets up
  let publicUrl = o.publicUrl ?? "";
  const https = o.tls ? readTls(o.tls) : undefined;
  const { app: server } = await buildBroker({
    ...(https && { https }),
    ...(o.trustProxy && { trustProxy: o.trustProxy }),
    store,
    ...(cluster && { cluster }),
    publicUrl: () => publicUrl,
    logLevel: o.logLevel ?? "info",
    ...(o.activationLimitPerMinute !== undefined && { activationLimitPerMinute: o.activationLimitPerMinute }),
    ...(o.loginLimitPerMinute !== undefined && { loginLimitPerMinute: o.loginLimitPerMinute }),
    ...(o.consentTimeoutMs !== undefined && { consentTimeoutMs: o.consentTimeoutMs }),
    ...(o.grantGraceMs !== undefined && { grantGraceMs: o.grantGraceMs }),
    ...(o.accessRequestLimitPerMinute !== undefined && { accessRequestLimitPerMinute: o.accessRequestLimitPerMinute }),
    ...(o.organization !== undefined && { organization: o.organization }),
    ...(o.maxFileBytes !== undefined && { maxFileBytes: o.maxFileBytes }),
    ...(o.ice && { ice: o.ice }),
    supportApp: app,
    windowsApp,
  });
  await server.listen({ host: o.host, port: o.port });
  await checked; // prints what links offer (before "listening"), so the first download need not wait for the hash
  const addr = server.server.address();
  const port = typeof addr === "object" && addr ? addr.port : o.port;
  const hostForUrl = o.host.includes(":") ? `[${o.host}]` : o.host === "0.0.0.0" ? "127.0.0.1" : o.host;
  const url = `${https ? "https" : "http"}://${hostForUrl}:${port}`;
  const tls = o.tls;
  const reload = () => {
    if (!tls) return;
    try {
      (server.server as unknown as HttpsServer).setSecureContext(readTls(tls));
      o.out(`TLS certificate reloaded from ${tls.certFile}`);
    } catch (err) {
      o.out(`TLS certificate not reloaded, the previous one stays: ${(err as Error).message}`);
    }
  };
  if (tls) process.on("SIGHUP", reload);
  if (!publicUrl) publicUrl = url;
  publicUrl = publicUrl.replace(/\/+$/, "");

  o.out(
    `Tether broker listening on ${url} (${cluster ? `cluster node ${cluster.nodeId}, store: PostgreSQL, bus: NATS` : `data: ${o.dataDir}`})`,
  );
  o.out(`Console: ${publicUrl}/`);
  if (!o.organization?.trim()) o.out(`Link pages name no organisation (they say "your support desk"): set it with --organization NAME`);
  if ((await store.countTechnicians()) === 0) {
    const password = newPassword();
    // Hashing takes a third of a second: another broker on this folder may create admin meanwhile.
    const admin = await store.createFirstTechnician("admin", "Administrator", await hashPassword(password), Date.now());
    if (admin) {
      o.out(`First start: created technician "${admin.name}" with password ${password}`);
      o.out(`(shown only this once; for an API token run: tether technician token admin --data ${o.dataDir})`);
    }
  }

  // Shutdown is bounded: WebSocket clients get 1 s to answer the close (app.ts), and whatever HTTP
  // connection is still open after SHUTDOWN_LIMIT_MS is cut off, so SIGTERM always ends the broker.
  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      const forced = await Promise.race([
        server.close().then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), SHUTDOWN_LIMIT_MS))),
      ]);
      clearTimeout(timer);
      if (forced) {
        const open = await new Promise<number>((resolve) => server.server.getConnections((_e, n) => resolve(n)));
        o.out(`Shutdown: ${open} connection(s) still open after ${SHUTDOWN_LIMIT_MS / 1000} s were cut off`);
        server.server.closeAllConnections();
      }
      await store.close();
      await cluster?.bus.close();
      process.off("SIGHUP", reload);
    })());
  return { url, stop };
}
