/**
 * `tether broker`: opens the store, creates the first technician on first start, listens, and
 * shuts down cleanly on SIGINT/SIGTERM (agents are told 1001 "going away" and reconnect).
 */
import { Store } from "./store.js";
import { buildBroker } from "./app.js";
import { hashPassword, newPassword } from "../util/secrets.js";

export interface ServeOptions {
  host: string;
  port: number;
  dataDir: string;
  publicUrl?: string;
  activationLimitPerMinute?: number;
  loginLimitPerMinute?: number;
  consentTimeoutMs?: number;
  logLevel?: string;
  out: (line: string) => void;
}

export async function serveBroker(o: ServeOptions): Promise<{ url: string; stop: () => Promise<void> }> {
  const store = Store.open(o.dataDir);
  let publicUrl = o.publicUrl ?? "";
  const { app } = await buildBroker({
    store,
    publicUrl: () => publicUrl,
    logLevel: o.logLevel ?? "info",
    ...(o.activationLimitPerMinute !== undefined && { activationLimitPerMinute: o.activationLimitPerMinute }),
    ...(o.loginLimitPerMinute !== undefined && { loginLimitPerMinute: o.loginLimitPerMinute }),
    ...(o.consentTimeoutMs !== undefined && { consentTimeoutMs: o.consentTimeoutMs }),
  });
  await app.listen({ host: o.host, port: o.port });
  const addr = app.server.address();
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
      await app.close();
      store.close();
    })());
  return { url, stop };
}
