/** The technician HTTP API, driven in-process (Fastify inject) against a real SQLite file. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { buildBroker } from "../src/broker/app.js";
import { Store } from "../src/broker/store.js";
import { hashPassword } from "../src/util/secrets.js";
import { tempDir } from "./support/procs.js";

let dir: string;
let store: Store;
let app: FastifyInstance;
let clock: number;
let jane: string;
let bob: string;

beforeEach(async () => {
  dir = tempDir("tether-api-");
  store = Store.open(dir);
  clock = Date.UTC(2026, 10, 28, 12, 0, 0);
  ({ app } = await buildBroker({ store, now: () => clock, publicUrl: () => "http://broker.test", logLevel: false, loginLimitPerMinute: 2 }));
  const j = store.createTechnician("jane", "Jane Doe", await hashPassword("jane-pw"), clock);
  const b = store.createTechnician("bob", "Bob", null, clock);
  jane = store.createToken(j.id, "api", clock, null);
  bob = store.createToken(b.id, "api", clock, null);
});
afterEach(async () => {
  await app.close();
  store.close();
});

const req = (method: string, url: string, token: string | null, body?: unknown, headers: Record<string, string> = {}) =>
  app.inject({
    method: method as "GET",
    url,
    headers: { ...(token && { authorization: `Bearer ${token}` }), ...headers },
    ...(body !== undefined && { payload: typeof body === "string" ? body : JSON.stringify(body), headers: { "content-type": "application/json", ...(token && { authorization: `Bearer ${token}` }), ...headers } }),
  });

describe("authentication", () => {
  it.each([
    ["GET", "/api/sessions"],
    ["POST", "/api/sessions"],
    ["GET", "/api/sessions/s_x"],
    ["POST", "/api/sessions/s_x/close"],
    ["DELETE", "/api/sessions/s_x"],
    ["POST", "/api/sessions/s_x/access-requests"],
    ["GET", "/api/sessions/s_x/access-requests/ar_x"],
    ["GET", "/api/me"],
  ])("%s %s without a token is 401 with a message", async (method, url) => {
    for (const token of [null, "tt_wrong"]) {
      const r = await req(method, url, token);
      expect(r.statusCode).toBe(401);
      expect(r.json()).toMatchObject({ code: "TETHER_ERR_UNAUTHORIZED", message: expect.stringMatching(/Bearer/) });
    }
  });

  it("login gives a token and cookie; wrong passwords are 401; too many attempts are 429 with Retry-After", async () => {
    const ok = await req("POST", "/api/login", null, { name: "jane", password: "jane-pw" });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers["set-cookie"]).toMatch(/tether_session=tt_.*HttpOnly; SameSite=Strict/);
    const me = await req("GET", "/api/me", ok.json().token);
    expect(me.json()).toEqual({ name: "jane", displayName: "Jane Doe" });
    const bad = await req("POST", "/api/login", null, { name: "jane", password: "nope" });
    expect(bad.statusCode).toBe(401);
    expect(bad.json().code).toBe("TETHER_ERR_LOGIN_FAILED");
    const limited = await req("POST", "/api/login", null, { name: "jane", password: "jane-pw" });
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
    expect(limited.json().message).toMatch(/try again in \d+ s/);
  });

  it("a login cookie works from the broker's own origin but not from another", async () => {
    const { token } = (await req("POST", "/api/login", null, { name: "jane", password: "jane-pw" })).json();
    const cookie = `tether_session=${token}`;
    expect((await req("GET", "/api/me", null, undefined, { cookie, origin: "http://broker.test" })).statusCode).toBe(200);
    expect((await req("GET", "/api/me", null, undefined, { cookie, origin: "http://evil.test" })).statusCode).toBe(403);
    const out = await req("POST", "/api/logout", null, undefined, { cookie });
    expect(out.statusCode).toBe(204);
    expect((await req("GET", "/api/me", null, undefined, { cookie })).statusCode).toBe(401);
  });
});

describe("sessions", () => {
  it("create answers 201 with id, link, expiry and state; the store keeps only the code's hash", async () => {
    const r = await req("POST", "/api/sessions", jane, { expiresIn: 3600 });
    expect(r.statusCode).toBe(201);
    const s = r.json();
    expect(s).toMatchObject({ id: expect.any(String), state: "waiting", online: false, expiresAt: new Date(clock + 3600_000).toISOString() });
    const m = /^http:\/\/broker\.test\/s\/([A-Za-z0-9_-]{32})$/.exec(s.link);
    expect(m).not.toBeNull();
    const code = m![1]!;
    store.db.pragma("wal_checkpoint(TRUNCATE)");
    for (const f of readdirSync(dir)) expect(readFileSync(join(dir, f)).includes(code)).toBe(false);
    expect((await req("GET", `/api/sessions/${s.id}`, jane)).json()).not.toHaveProperty("link");
  });

  it.each([
    ["missing", {}],
    ["non-numeric", { expiresIn: "soon" }],
    ["numeric string", { expiresIn: "60" }],
    ["zero", { expiresIn: 0 }],
    ["too long", { expiresIn: 30 * 86400 + 1 }],
    ["fractional", { expiresIn: 2.5 }],
  ])("create with %s expiresIn is 400 naming expiresIn", async (_n, body) => {
    const r = await req("POST", "/api/sessions", jane, body);
    expect(r.statusCode).toBe(400);
    expect(r.json().message).toMatch(/expiresIn/);
  });

  it.each([
    ["malformed JSON", "{expiresIn: 60", 400],
    ["a JSON array", "[60]", 400],
    ["a JSON string", '"60"', 400],
    ["an oversized body", JSON.stringify({ expiresIn: 60, pad: "x".repeat(20_000) }), 413],
  ])("create with %s gets a clear %s and nothing is created", async (_n, body, status) => {
    const r = await req("POST", "/api/sessions", jane, body);
    expect(r.statusCode).toBe(status);
    expect(r.json().message).toEqual(expect.any(String));
    expect(r.body).not.toMatch(/at .*\.js:\d+/); // no stack trace
    expect((await req("GET", "/api/sessions", jane)).json().sessions).toHaveLength(0);
  });

  it("a wrong content type is 415", async () => {
    const r = await app.inject({ method: "POST", url: "/api/sessions", headers: { authorization: `Bearer ${jane}`, "content-type": "application/xml" }, payload: "<expiresIn>60</expiresIn>" });
    expect(r.statusCode).toBe(415);
  });

  it("states follow the clock: waiting, then expired; close and delete", async () => {
    const a = (await req("POST", "/api/sessions", jane, { expiresIn: 60 })).json();
    const b = (await req("POST", "/api/sessions", jane, { expiresIn: 120 })).json();
    clock += 60_000;
    const list = (await req("GET", "/api/sessions", jane)).json().sessions as { id: string; state: string }[];
    expect(Object.fromEntries(list.map((s) => [s.id, s.state]))).toEqual({ [a.id]: "expired", [b.id]: "waiting" });
    const closed = await req("POST", `/api/sessions/${b.id}/close`, jane);
    expect(closed.statusCode).toBe(200);
    expect(closed.json()).toMatchObject({ state: "closed", closedAt: expect.any(String) });
    expect((await req("POST", `/api/sessions/${b.id}/close`, jane)).statusCode).toBe(200); // idempotent
    expect((await req("DELETE", `/api/sessions/${a.id}`, jane)).statusCode).toBe(204);
    expect((await req("GET", `/api/sessions/${a.id}`, jane)).statusCode).toBe(404);
    expect((await req("DELETE", `/api/sessions/${a.id}`, jane)).statusCode).toBe(404);
    expect((await req("GET", "/api/sessions", jane)).json().sessions.map((s: { id: string }) => s.id)).toEqual([b.id]);
  });

  it("a technician sees and changes only their own sessions (others' look like none)", async () => {
    const s = (await req("POST", "/api/sessions", jane, { expiresIn: 60 })).json();
    expect((await req("GET", "/api/sessions", bob)).json().sessions).toEqual([]);
    for (const [m, u, body] of [
      ["GET", `/api/sessions/${s.id}`],
      ["POST", `/api/sessions/${s.id}/close`],
      ["DELETE", `/api/sessions/${s.id}`],
      ["POST", `/api/sessions/${s.id}/access-requests`, { scope: "view" }],
    ] as const) {
      const r = await req(m, u, bob, body);
      expect(r.statusCode).toBe(404);
      expect(r.json().code).toBe("TETHER_ERR_SESSION_NOT_FOUND");
    }
    expect((await req("GET", `/api/sessions/${s.id}`, jane)).json().state).toBe("waiting");
  });

  it("access requests: scope is validated; a session whose app never connected is 409", async () => {
    const s = (await req("POST", "/api/sessions", jane, { expiresIn: 60 })).json();
    for (const body of [{}, { scope: "admin" }, { scope: 1 }]) {
      const r = await req("POST", `/api/sessions/${s.id}/access-requests`, jane, body);
      expect(r.statusCode).toBe(400);
      expect(r.json().message).toMatch(/scope/);
    }
    const r = await req("POST", `/api/sessions/${s.id}/access-requests`, jane, { scope: "view" });
    expect(r.statusCode).toBe(409);
    expect(r.json().code).toBe("TETHER_ERR_SESSION_NOT_ACTIVE");
    expect((await req("GET", `/api/sessions/${s.id}/access-requests/ar_nope`, jane)).statusCode).toBe(404);
  });

  it("unknown endpoints are 404 with the path, and a link path is not echoed", async () => {
    const r = await req("GET", "/api/nothing", jane);
    expect(r.statusCode).toBe(404);
    expect(r.json().message).toMatch(/\/api\/nothing/);
    const page = await req("GET", "/s/abc/def", null);
    expect(page.body).not.toContain("abc/def");
  });

  it("opening a link shows a page and binds nothing", async () => {
    const s = (await req("POST", "/api/sessions", jane, { expiresIn: 60 })).json();
    const page = await app.inject({ method: "GET", url: new URL(s.link).pathname });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-security-policy"]).toMatch(/default-src 'none'/);
    expect(page.body).toMatch(/Only continue if you contacted this support desk yourself/);
    expect((await req("GET", `/api/sessions/${s.id}`, jane)).json().state).toBe("waiting");
  });
});
