/**
 * `tether broker`: opens the store, creates the first technician on first start, listens, and
 * shuts down cleanly on SIGINT/SIGTERM (agents are told 1001 "going away" and reconnect).
 */
import { Store } from "./store.js";
import { buildBroker } from "./app.js";
import { hashPassword, newPassword } from "../util/secrets.js";
import { loadOrCreateSigningKey } from "../app/trailer.js";
import { defaultAppFile } from "../util/paths.js";
import { existsSync, readFileSync } from "node:fs";

export interface ServeOptions {
  host: string;
  port: number;
  dataDir: string;
  publicUrl?: string;
  activationLimitPerMinute?: number;
  loginLimitPerMinute?: number;
  consentTimeoutMs?: number;
  logLevel?: string;
  organization?: string;
  ice?: import("./app.js").IceOptions;
  /** The prebuilt support app; default dist/app/tether-support-linux-x64. */
  appFile?: string;
  out: (line: string) => void;
}

/**
 * The support app to offer for download, if it is built and was built for this broker's key
 * (`npm run build:app` writes `<file>.json` with the public key it embedded).
 */
function supportApp(file: string, dataDir: string, out: (line: string) => void) {
  const key = loadOrCreateSigningKey(dataDir);
  if (!existsSync(file)) {
    out(`Support app: not built (${file}); links offer no download until you run: npm run build:app -- --data ${dataDir}`);
    return undefined;
  }
  let builtFor = "";
  try {
    builtFor = (JSON.parse(readFileSync(file + ".json", "utf8")) as { publicKey?: string }).publicKey ?? "";
  } catch {
    // no manifest: treated as a mismatch below
  }
  if (builtFor !== key.publicKeyB64) {
    out(`Support app: ${file} was built for another broker's key; downloads are off until you run: npm run build:app -- --data ${dataDir}`);
    return undefined;
  }
  out(`Support app: ${file}`);
  return { file, signingKey: key.privateKey };
}

export async function serveBroker(o: ServeOptions): Promise<{ url: string; stop: () => Promise<void> }> {
  const store = Store.open(o.dataDir);
  const app = supportApp(o.appFile ?? defaultAppFile(), o.dataDir, o.out);
  let publicUrl = o.publicUrl ?? "";
  const { app: server } = await buildBroker({
    store,
    publicUrl: () => publicUrl,
    logLevel: o.logLevel ?? "info",
    ...(o.activationLimitPerMinute !== undefined && { activationLimitPerMinute: o.activationLimitPerMinute }),
    ...(o.loginLimitPerMinute !== undefined && { loginLimitPerMinute: o.loginLimitPerMinute }),
    ...(o.consentTimeoutMs !== undefined && { consentTimeoutMs: o.consentTimeoutMs }),
    ...(o.organization !== undefined && { organization: o.organization }),
    ...(o.ice && { ice: o.ice }),
    ...(app && { supportApp: app }),
  });
  await server.listen({ host: o.host, port: o.port });
  const addr = server.server.address();
  const port = typeof addr === "object" && addr ? addr.port : o.port;
  const hostForUrl = o.host.includes(":") ? `[${o.host}]` : o.host === "0.0.0.0" ? "127.0.0.1" : o.host;
  const url = `http://${hostForUrl}:${port}`;
  if (!publicUrl) publicUrl = url;
  publicUrl = publicUrl.replace(/\/+$/, "");

  o.out(`Tether broker listening on ${url} (data: ${o.dataDir})`);
  o.out(`Console: ${publicUrl}/`);
  if (store.countTechnicians() === 0) {
    const password = newPassword();
    const now = Date.now();
    const admin = store.createTechnician("admin", "Administrator", await hashPassword(password), now);
    o.out(`First start: created technician "${admin.name}" with password ${password}`);
    o.out(`(shown only this once; for an API token run: tether technician token admin --data ${o.dataDir})`);
  }

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      await server.close();
      store.close();
    })());
  return { url, stop };
}
