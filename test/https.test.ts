/**
 * Issue 20, HTTPS: the broker serves HTTPS and WSS itself with a certificate and key (HSTS, SIGHUP
 * reloads them); the support app and the CLI verify the certificate (the system's and Node's roots
 * plus an optional CA file) and a certificate that does not verify is one readable line and an exit
 * code, never a silent downgrade. A CA made in the test (openssl), real broker, app and CLI processes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyFileSync, readFileSync } from "node:fs";
import { request } from "node:https";
import { connect, type PeerCertificate } from "node:tls";
import { makeCa, type TestCa } from "./support/certs.js";
import { addTechnician, cli, newComputer, startAgent, startBroker, until, type Broker, type Proc } from "./support/procs.js";

let ca: TestCa;
let other: TestCa;
let broker: Broker;
let token: string;
const running: Proc[] = [];
let served: { certFile: string; keyFile: string };

/** GET over HTTPS trusting `caFile`: status and headers, or the error code. */
function get(url: string, caFile: string): Promise<{ status: number; headers: Record<string, unknown> } | { error: string }> {
  return new Promise((resolve) => {
    const req = request(url, { ca: readFileSync(caFile) }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
    });
    req.on("error", (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    req.end();
  });
}

/** The serial number of the certificate the broker presents now. */
function servedSerial(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      const c: PeerCertificate = s.getPeerCertificate();
      s.end();
      resolve(c.serialNumber);
    });
    s.on("error", reject);
  });
}

beforeAll(async () => {
  ca = makeCa();
  other = makeCa("Someone Else's CA");
  served = ca.issue("broker", ["127.0.0.1", "localhost"]);
  broker = await startBroker({ args: ["--tls-cert", served.certFile, "--tls-key", served.keyFile] });
  token = await addTechnician(broker.dataDir, "jane", "Jane Doe");
}, 60_000);

afterAll(async () => {
  for (const p of running) p.child.kill("SIGKILL");
  await broker?.stop();
});

const session = async () => {
  const r = await cli(["session", "create", "--expires", "1h", "--json", "--broker", broker.url, "--token", token], {
    NODE_EXTRA_CA_CERTS: ca.caFile,
  });
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as { id: string; link: string };
};

describe("HTTPS (issue 20)", () => {
  it("the broker serves HTTPS with HSTS; links are https://", async () => {
    expect(broker.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const r = await get(`${broker.url}/healthz`, ca.caFile);
    expect(r).toMatchObject({ status: 200 });
    expect((r as { headers: Record<string, unknown> }).headers["strict-transport-security"]).toBe("max-age=31536000");
    expect((await session()).link).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/s\//);
  });

  it("the support app connects over WSS trusting the CA given with --ca", async () => {
    const s = await session();
    const a = startAgent(s.link, newComputer(), { args: ["--ca", ca.caFile] });
    running.push(a);
    await a.out.waitFor(/^Connected\. Waiting for your support technician \(Jane Doe\)\.$/, 15_000);
    a.child.kill("SIGINT");
    expect((await a.exited).code).toBe(0);
  }, 30_000);

  it("an unknown CA: the app says so in one line and exits 1 at once (no retrying, nothing sent); so does the CLI", async () => {
    const s = await session();
    for (const args of [[], ["--ca", other.caFile]]) {
      const a = startAgent(s.link, newComputer(), { args });
      running.push(a);
      const { code } = await a.exited;
      expect(code).toBe(1);
      expect(a.out.all.at(-1)).toMatch(
        /^The support server at 127\.0\.0\.1:\d+ could not prove that it is the right server \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|SELF_SIGNED_CERT_IN_CHAIN)\), so nothing was sent\. Please tell your technician\.$/,
      );
      expect(a.out.all.filter((l) => /retrying/.test(l))).toEqual([]);
    }
    const r = await cli(["session", "list", "--broker", broker.url, "--token", token]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(
      /the broker at https:\/\/127\.0\.0\.1:\d+ has a certificate this computer does not trust \(\w+\); for a private CA set NODE_EXTRA_CA_CERTS=<ca\.pem>/,
    );
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  }, 60_000);

  it("a certificate for another name is refused even from a trusted CA", async () => {
    const wrong = ca.issue("wrong-name", ["support.example"]);
    const b2 = await startBroker({ args: ["--tls-cert", wrong.certFile, "--tls-key", wrong.keyFile] });
    try {
      const t2 = await addTechnician(b2.dataDir, "jane", "Jane Doe");
      const r = await cli(["session", "create", "--expires", "1h", "--json", "--broker", b2.url, "--token", t2], {
        NODE_EXTRA_CA_CERTS: ca.caFile,
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID/);
      // A well-formed link on that broker (the code of one on the first broker: TLS fails before it is used).
      const link = `${b2.url}${new URL((await session()).link).pathname}`;
      const a = startAgent(link, newComputer(), { args: ["--ca", ca.caFile] });
      running.push(a);
      expect((await a.exited).code).toBe(1);
      expect(a.out.all.at(-1)).toMatch(/could not prove that it is the right server \(ERR_TLS_CERT_ALTNAME_INVALID\)/);
    } finally {
      await b2.stop();
    }
  }, 60_000);

  it("a certificate file that cannot be read, a key that does not fit, or --tls-cert alone: one line, and the broker does not start", async () => {
    const missing = await cli([
      "broker",
      "--tls-cert",
      "/nonexistent/cert.pem",
      "--tls-key",
      served.keyFile,
      "--port",
      "0",
      "--data",
      broker.dataDir,
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe("tether broker: cannot read the TLS certificate /nonexistent/cert.pem (ENOENT)");
    const unfit = await cli([
      "broker",
      "--tls-cert",
      served.certFile,
      "--tls-key",
      other.issue("unfit", ["127.0.0.1"]).keyFile,
      "--port",
      "0",
      "--data",
      broker.dataDir,
    ]);
    expect(unfit.code).toBe(1);
    expect(unfit.stderr.trim()).toMatch(/^tether broker: the TLS certificate .* and key .* cannot be used together \(.*\)$/);
    const alone = await cli(["broker", "--tls-cert", served.certFile, "--port", "0", "--data", broker.dataDir]);
    expect(alone.code).toBe(2);
    expect(alone.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("SIGHUP reads the certificate again: new connections get the renewed one, no restart", async () => {
    const port = Number(new URL(broker.url).port);
    const before = await servedSerial(port);
    const renewed = ca.issue("renewed", ["127.0.0.1", "localhost"]);
    copyFileSync(renewed.certFile, served.certFile);
    copyFileSync(renewed.keyFile, served.keyFile);
    broker.proc.child.kill("SIGHUP");
    await broker.proc.out.waitFor(/^TLS certificate reloaded from /, 5000);
    const after = await until(
      async () => {
        const s = await servedSerial(port);
        return s !== before && s;
      },
      5000,
      "the renewed certificate",
    );
    expect(after).not.toBe(before);
    expect(await get(`${broker.url}/healthz`, ca.caFile)).toMatchObject({ status: 200 });
    // A broken pair on SIGHUP keeps the previous one, and says so.
    copyFileSync(other.issue("mismatch", ["127.0.0.1"]).keyFile, served.keyFile);
    broker.proc.child.kill("SIGHUP");
    await broker.proc.out.waitFor(/^TLS certificate not reloaded, the previous one stays: /, 5000);
    expect(await servedSerial(port)).toBe(after);
  }, 30_000);
});
