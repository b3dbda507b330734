/** The technician HTTP API, driven in-process (Fastify inject) against a real SQLite file. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { buildBroker } from "../src/broker/app.js";
import Database from "better-sqlite3";
import { Store } from "../src/broker/store.js";
import { hashPassword, hashSecret } from "../src/util/secrets.js";
import { tempDir } from "./support/procs.js";

let dir: string;
let store: Store;
let app: FastifyInstance;
let clock: number;
let jane: string;
let bob: string;
/** One hash for every test: at scrypt's real cost each costs a third of a second. */
const janeHash = hashPassword("jane-pw");

beforeEach(async () => {
  dir = tempDir("tether-api-");
  store = Store.open(dir);
  clock = Date.UTC(2026, 10, 28, 12, 0, 0);
  ({ app } = await buildBroker({
    store,
    now: () => clock,
    publicUrl: () => "http://broker.test",
    logLevel: false,
    loginLimitPerMinute: 2,
  }));
  const j = store.createTechnician("jane", "Jane Doe", await janeHash, clock);
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
    ...(body !== undefined && {
      payload: typeof body === "string" ? body : JSON.stringify(body),
      headers: { "content-type": "application/json", ...(token && { authorization: `Bearer ${token}` }), ...headers },
    }),
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

const DAY = 86_400_000;

describe("API tokens", () => {
  it("an API token expires after 90 days unless told otherwise, and is 401 from then on", async () => {
    const start = clock;
    clock = start + 90 * DAY - 1;
    expect((await req("GET", "/api/me", jane)).statusCode).toBe(200);
    clock = start + 90 * DAY;
    const expired = await req("GET", "/api/me", jane);
    expect(expired.statusCode).toBe(401);
    expect(expired.json().code).toBe("TETHER_ERR_UNAUTHORIZED");

    const j = store.technicianByName("jane")!;
    const short = store.issueToken(j.id, "api", clock, clock + 3600_000, "short");
    expect(short).toMatchObject({ id: expect.stringMatching(/^tk_[A-Za-z0-9_-]{11}$/), expiresAt: clock + 3600_000 });
    expect(store.listTokens(j.id).find((k) => k.label === "short")?.expiresAt).toBe(clock + 3600_000);
    clock += 3600_000 - 1;
    expect((await req("GET", "/api/me", short.token)).statusCode).toBe(200);
    clock += 1;
    expect((await req("GET", "/api/me", short.token)).statusCode).toBe(401);
  });

  it("a revoked token, and every token of a removed technician, is 401 on the next request; sign-ins are listed too", async () => {
    const j = store.technicianByName("jane")!;
    const session = (await req("POST", "/api/sessions", jane, { expiresIn: 600 })).json();
    const login = (await req("POST", "/api/login", null, { name: "jane", password: "jane-pw" })).json().token as string;
    const tokens = store.listTokens(j.id);
    expect(tokens.map((k) => k.kind).sort()).toEqual(["api", "login"]);
    expect(tokens.find((k) => k.kind === "login")!.expiresAt).toBe(clock + 12 * 3600_000);
    for (const secret of [jane, login, hashSecret(jane), hashSecret(login)]) expect(JSON.stringify(tokens)).not.toContain(secret);

    expect(store.revokeToken(tokens.find((k) => k.kind === "login")!.id)).toBe(true);
    expect((await req("GET", "/api/me", login)).statusCode).toBe(401);
    expect((await req("GET", "/api/me", jane)).statusCode).toBe(200);

    expect(store.removeTechnician(j.id, clock)).toBe(1);
    expect((await req("GET", "/api/me", jane)).statusCode).toBe(401);
    const again = await req("POST", "/api/login", null, { name: "jane", password: "jane-pw" });
    expect(again.statusCode).toBe(401);
    // A token that somehow survived (another process, a race) is refused too: the technician is gone.
    const stray = store.createToken(j.id, "api", clock, null);
    expect(store.technicianByToken(stray, clock)).toBeUndefined();
    expect((await req("GET", "/api/me", stray)).statusCode).toBe(401);
    // Their sessions stay for the record; everyone else is unaffected.
    expect(store.session(session.id)).toMatchObject({ technicianId: j.id });
    expect(store.technicianById(j.id)).toMatchObject({ name: "jane", removedAt: clock, passwordHash: null });
    expect((await req("GET", "/api/me", bob)).statusCode).toBe(200);
  });

  it("the last use of a token is recorded, at most once a minute", async () => {
    const b = store.technicianByName("bob")!;
    const lastUsed = () => store.listTokens(b.id)[0]!.lastUsedAt;
    expect(lastUsed()).toBeNull();
    const first = clock;
    await req("GET", "/api/me", bob);
    expect(lastUsed()).toBe(first);
    clock += 59_000;
    await req("GET", "/api/me", bob);
    expect(lastUsed()).toBe(first);
    clock += 1_000;
    await req("GET", "/api/me", bob);
    expect(lastUsed()).toBe(clock);
  });

  it("a database from before token ids upgrades: ids for all, 90 days for API tokens that never expired", () => {
    const old = tempDir("tether-v2-");
    const db = new Database(join(old, "tether.db"));
    db.exec(SCHEMA_V2);
    db.pragma("user_version = 2");
    db.prepare("INSERT INTO technicians VALUES ('t_old', 'old', 'Old', NULL, 1)").run();
    db.prepare("INSERT INTO api_tokens VALUES (?, 't_old', 'api', 1, NULL)").run(hashSecret("tt_forever"));
    db.prepare("INSERT INTO api_tokens VALUES (?, 't_old', 'login', 1, 5000)").run(hashSecret("tt_signin"));
    db.close();

    const before = Date.now();
    const upgraded = Store.open(old);
    try {
      const tokens = upgraded.listTokens("t_old");
      expect(tokens.map((k) => k.id)).toEqual([expect.stringMatching(/^tk_[0-9a-f]{16}$/), expect.stringMatching(/^tk_[0-9a-f]{16}$/)]);
      const api = tokens.find((k) => k.kind === "api")!;
      expect(api.expiresAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 90 * DAY);
      expect(api.expiresAt).toBeLessThanOrEqual(Date.now() + 90 * DAY);
      expect(tokens.find((k) => k.kind === "login")!.expiresAt).toBe(5000);
      expect(upgraded.technicianByToken("tt_forever", Date.now())?.name).toBe("old");
      expect(upgraded.technicianByToken("tt_forever", Date.now() + 91 * DAY)).toBeUndefined();
    } finally {
      upgraded.close();
    }
  });
});

/** The schema as Tether 0.1.0 left it (migrations 1 and 2), before tokens had ids and expiries. */
const SCHEMA_V2 = `
  CREATE TABLE technicians (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE, display_name TEXT NOT NULL,
    password_hash TEXT, created_at INTEGER NOT NULL);
  CREATE TABLE api_tokens (token_hash TEXT PRIMARY KEY, technician_id TEXT NOT NULL REFERENCES technicians(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('api', 'login')), created_at INTEGER NOT NULL, expires_at INTEGER);
  CREATE TABLE sessions (id TEXT PRIMARY KEY, technician_id TEXT NOT NULL REFERENCES technicians(id), code_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, closed_at INTEGER, deleted_at INTEGER, bound_public_key TEXT,
    bound_fingerprint TEXT, bound_at INTEGER, machine_name TEXT, machine_os TEXT, last_seen_at INTEGER);
  CREATE INDEX sessions_by_technician ON sessions(technician_id, created_at);
  CREATE TABLE access_requests (id TEXT PRIMARY KEY, session_id TEXT NOT NULL REFERENCES sessions(id),
    scope TEXT NOT NULL CHECK (scope IN ('view', 'control')),
    status TEXT NOT NULL CHECK (status IN ('pending', 'granted', 'denied', 'expired')),
    granted_scope TEXT CHECK (granted_scope IN ('view', 'control')), created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
    answered_at INTEGER, ended_at INTEGER);
  CREATE INDEX access_requests_by_session ON access_requests(session_id, created_at);`;

describe("sessions", () => {
  it("create answers 201 with id, link, expiry and state; the store keeps only the code's hash", async () => {
    const r = await req("POST", "/api/sessions", jane, { expiresIn: 3600 });
    expect(r.statusCode).toBe(201);
    const s = r.json();
    expect(s).toMatchObject({
      id: expect.any(String),
      state: "waiting",
      online: false,
      expiresAt: new Date(clock + 3600_000).toISOString(),
    });
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
    const r = await app.inject({
      method: "POST",
      url: "/api/sessions",
      headers: { authorization: `Bearer ${jane}`, "content-type": "application/xml" },
      payload: "<expiresIn>60</expiresIn>",
    });
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
