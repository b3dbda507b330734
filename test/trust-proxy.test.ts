/**
 * Issue 20, behind a reverse proxy: with --trust-proxy the client address the rate limits count is
 * the one the proxy forwards (X-Forwarded-For); without it the header is ignored, so nobody can pick
 * their own address. Real broker processes.
 */
import { afterAll, describe, expect, it } from "vitest";
import { cli, startBroker, type Broker } from "./support/procs.js";

const brokers: Broker[] = [];
afterAll(async () => {
  for (const b of brokers) await b.stop();
});

/** A failed sign-in as if forwarded for `client`: 401 until the limit, then 429. */
const login = (b: Broker, client: string) =>
  fetch(`${b.url}/api/login`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-forwarded-for": client, origin: b.url },
    body: JSON.stringify({ name: "nobody", password: "wrong-password" }),
  }).then((r) => r.status);

describe("--trust-proxy (issue 20)", () => {
  it("behind a trusted proxy each forwarded client has its own limit", async () => {
    const b = await startBroker({ args: ["--trust-proxy", "127.0.0.1", "--login-limit", "2"] });
    brokers.push(b);
    expect([await login(b, "198.51.100.7"), await login(b, "198.51.100.7"), await login(b, "198.51.100.7")]).toEqual([401, 401, 429]);
    expect(await login(b, "198.51.100.8")).toBe(401); // another user behind the same proxy
  }, 30_000);

  it("without it, X-Forwarded-For is ignored: a client cannot escape the limit by naming another address", async () => {
    const b = await startBroker({ args: ["--login-limit", "2"] });
    brokers.push(b);
    expect([await login(b, "198.51.100.1"), await login(b, "198.51.100.2"), await login(b, "198.51.100.3")]).toEqual([401, 401, 429]);
  }, 30_000);

  it("HSTS when the trusted proxy says the client came over HTTPS (X-Forwarded-Proto), not when anyone else says so", async () => {
    const trusting = brokers[0]!;
    const plain = brokers[1]!;
    const hsts = async (b: Broker, proto: string) =>
      (await fetch(`${b.url}/healthz`, { headers: { "x-forwarded-proto": proto } })).headers.get("strict-transport-security");
    expect(await hsts(trusting, "https")).toBe("max-age=31536000");
    expect(await hsts(trusting, "http")).toBeNull();
    expect(await hsts(plain, "https")).toBeNull();
  });

  it("a value that is not an address or range is one line and exit 2", async () => {
    const r = await cli(["broker", "--trust-proxy", "proxy.example", "--port", "0"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/--trust-proxy needs addresses or CIDR ranges, not "proxy\.example"/);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });
});
