/**
 * The broker's HTTP bodies under fuzzing: POST /api/login, /api/sessions and
 * /api/sessions/:id/access-requests with random, mutated and hostile bodies and content types.
 * Every answer is the endpoint's success status or a 4xx with a JSON `message` (never a 5xx, never
 * a stack trace), in bounded time; the broker keeps serving; its heap stays flat.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import type { AddressInfo } from "node:net";
import { buildBroker } from "../src/broker/app.js";
import { Store } from "../src/broker/store.js";
import { hashPassword } from "../src/util/secrets.js";
import { encodeToBroker } from "../src/proto/wire.js";
import { tempDir } from "./support/procs.js";
import { budget, check, fc, gcFunction, heapGrowthPerItem } from "./support/fuzz.js";
import { activatedAgent, newIdentity, type AgentPeer } from "./support/ws-peer.js";

const HANG_MS = 3000;

let store: Store;
let app: FastifyInstance;
let base = "";
let token = "";
let waitingId = "";
let activeId = "";
let agent: AgentPeer;
let keepAlive: NodeJS.Timeout | undefined;

beforeAll(async () => {
  store = Store.open(tempDir("tether-fuzz-http-"));
  // No rate limits in the way: every request reaches the body parser and the handler. (A variable,
  // not a literal: brokers without a per-session access-request limit ignore that option.)
  const options = {
    store,
    publicUrl: () => base,
    logLevel: false as const,
    loginLimitPerMinute: 1_000_000,
    accessRequestLimitPerMinute: 1_000_000,
  };
  ({ app } = await buildBroker(options));
  await app.listen({ port: 0, host: "127.0.0.1" });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const now = Date.now();
  const jane = store.createTechnician("jane", "Jane Doe", await hashPassword("jane-pw"), now);
  token = store.createToken(jane.id, "api", now, null);
  const create = async () =>
    (
      await app.inject({
        method: "POST",
        url: "/api/sessions",
        headers: { authorization: `Bearer ${token}` },
        payload: { expiresIn: 3600 },
      })
    ).json() as { id: string; link: string };
  waitingId = (await create()).id;
  // A session whose app is connected, so that access requests can also succeed (202) and conflict (409).
  const active = await create();
  activeId = active.id;
  agent = await activatedAgent(base.replace("http:", "ws:"), active.link.split("/s/")[1]!, newIdentity());
  // Heartbeats like the real app's, so that the session stays online through a long run.
  keepAlive = setInterval(() => {
    if (agent.ws.readyState === agent.ws.OPEN) agent.ws.send(encodeToBroker({ heartbeat: { seq: 1 } }));
  }, 5000);
});

afterAll(async () => {
  clearInterval(keepAlive);
  await agent?.end();
  await app?.close();
  store?.close();
});

// ---- what hostile clients send ----------------------------------------------------------------

const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 });

const contentType = fc.oneof(
  { arbitrary: fc.constantFrom("application/json", "application/json; charset=utf-8"), weight: 8 },
  {
    arbitrary: fc.constantFrom(
      "Application/JSON",
      "application/json; charset=utf-16",
      "application/json;charset=latin1",
      "application/json; x=1; x=2",
      "application/json ;",
      "application/jsonp",
      "application/vnd.api+json",
      "text/plain",
      "text/plain; charset=utf-8",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=xyz",
      "application/octet-stream",
      "application/xml",
      "*/*",
      "",
      ";",
      "application/",
      "json",
    ),
    weight: 4,
  },
  { arbitrary: printable, weight: 1 },
  { arbitrary: fc.constant(undefined), weight: 1 },
);

/** A field value of any JSON type, biased to what the endpoints look for. */
const anyValue = fc.oneof(
  { arbitrary: fc.constantFrom(60, 3600, 0, -1, 2.5, 2592000, 2592001, 1e308, "60", "view", "control", "", null, true, [], {}), weight: 3 },
  fc.jsonValue({ maxDepth: 2 }),
  fc.string({ unit: "binary", maxLength: 40 }),
);

/** JSON objects with the fields the endpoints read, and others, with any values. */
const structured = fc
  .oneof(
    fc.record({ expiresIn: anyValue }, { requiredKeys: [] }),
    fc.record({ scope: anyValue, viewerFingerprint: anyValue }, { requiredKeys: [] }),
    fc.record({ name: anyValue, password: anyValue.filter((v) => typeof v !== "string") }, { requiredKeys: [] }),
    fc.dictionary(
      fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("__proto__", "constructor", "prototype", "name", "scope", "expiresIn")),
      anyValue,
      { maxKeys: 6 },
    ),
  )
  .map((o) => JSON.stringify(o));

/** Text edits of JSON: truncation, stray bytes, doubled braces, comments, BOMs. */
const textEdits = fc.array(
  fc.tuple(
    fc.nat(),
    fc.constantFrom("", "{", "}", "[", "]", '"', "\\", ",", ":", "\u0000", "\ufeff", "/*", "NaN", "1e999", "\ud800", "__proto__"),
    fc.boolean(),
  ),
  { minLength: 1, maxLength: 4 },
);
function editText(json: string, edits: readonly [number, string, boolean][]): string {
  let s = json;
  for (const [at, text, cut] of edits) {
    const p = at % (s.length + 1);
    s = s.slice(0, p) + text + s.slice(cut ? p + 1 : p);
  }
  return s;
}

/** Bodies for an endpoint: its own valid-ish JSON, that JSON edited, and everything else. */
function bodyFor(own: fc.Arbitrary<string>): fc.Arbitrary<string | Buffer> {
  return fc.oneof(
    { arbitrary: own, weight: 4 },
    { arbitrary: fc.tuple(own, textEdits).map(([j, e]) => editText(j, e)), weight: 3 },
    { arbitrary: structured, weight: 2 },
    { arbitrary: fc.tuple(structured, textEdits).map(([j, e]) => editText(j, e)), weight: 2 },
    { arbitrary: fc.jsonValue().map((v) => JSON.stringify(v) ?? "null"), weight: 1 },
    { arbitrary: fc.string({ unit: "binary", maxLength: 200 }), weight: 1 },
    { arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)), weight: 1 },
    {
      arbitrary: fc.constantFrom(
        '{"__proto__":{"polluted":1}}',
        '{"constructor":{"prototype":{"polluted":1}}}',
        "",
        " ",
        "null",
        "0",
        "[]",
        '"x"',
      ),
      weight: 1,
    },
    // Deep nesting, within and over the 16 KiB body limit; bodies around the limit.
    { arbitrary: fc.integer({ min: 1, max: 20_000 }).map((n) => "[".repeat(n) + "]".repeat(n)), weight: 1 },
    { arbitrary: fc.integer({ min: 1, max: 5_000 }).map((n) => '{"a":'.repeat(n) + "1" + "}".repeat(n)), weight: 1 },
    {
      arbitrary: fc
        .integer({ min: 16 * 1024 - 40, max: 80 * 1024 })
        .map((n) => JSON.stringify({ expiresIn: 60, scope: "view", pad: "x".repeat(n) })),
      weight: 1,
    },
  );
}

const expiresIn = fc.oneof(fc.integer({ min: 1, max: 2_592_000 }), anyValue);
const scope = fc.oneof(fc.constantFrom("view", "control"), anyValue);
const fingerprint = fc.oneof(fc.constant(undefined), fc.constant("sha-256 " + Array(32).fill("AB").join(":")), anyValue);
/** Session ids: the connected one, the waiting one, and others (none of them ours). */
const sessionId = fc.oneof(
  fc.constantFrom("{active}", "{waiting}"),
  fc.string({ unit: "binary", maxLength: 30 }).map((s) => encodeURIComponent(s)),
);

/** `{active}` and `{waiting}` in `url` stand for those sessions' ids. */
type Endpoint = { url: string; ok: readonly number[]; auth: boolean };
const urlOf = (e: Endpoint) => e.url.replace("{active}", activeId).replace("{waiting}", waitingId);
const endpointAndBody: fc.Arbitrary<{ endpoint: Endpoint; body: string | Buffer }> = fc.oneof(
  fc.record({
    endpoint: fc.constant<Endpoint>({ url: "/api/login", ok: [200], auth: false }),
    // Rarely two strings: each such login costs a password hash (a third of a second).
    body: bodyFor(
      fc.oneof(
        {
          arbitrary: fc
            .record({
              name: fc.oneof(fc.constantFrom("jane", "nobody"), anyValue),
              password: anyValue.filter((v) => typeof v !== "string"),
            })
            .map((o) => JSON.stringify(o)),
          weight: 19,
        },
        {
          arbitrary: fc
            .record({ name: fc.constantFrom("jane", "nobody", "JANE"), password: fc.string({ maxLength: 20 }) })
            .map((o) => JSON.stringify(o)),
          weight: 1,
        },
      ),
    ),
  }),
  fc.record({
    endpoint: fc.constantFrom<Endpoint>({ url: "/api/sessions", ok: [201], auth: true }, { url: "/api/sessions", ok: [], auth: false }),
    body: bodyFor(fc.record({ expiresIn }).map((o) => JSON.stringify(o))),
  }),
  fc.record({
    endpoint: sessionId.map((id): Endpoint => ({ url: `/api/sessions/${id}/access-requests`, ok: [200, 202], auth: true })),
    body: bodyFor(fc.record({ scope, viewerFingerprint: fingerprint }, { requiredKeys: ["scope"] }).map((o) => JSON.stringify(o))),
  }),
);

const request = fc
  .record({
    target: endpointAndBody,
    contentType,
    encoding: fc.oneof(
      { arbitrary: fc.constant(undefined), weight: 8 },
      { arbitrary: fc.constantFrom("gzip", "br", "identity", "x-unknown"), weight: 1 },
    ),
  })
  .map(({ target, ...rest }) => ({ ...target, ...rest }));
type Request = typeof request extends fc.Arbitrary<infer R> ? R : never;

async function send(r: Request) {
  const headers: Record<string, string> = {};
  if (r.endpoint.auth) headers.authorization = `Bearer ${token}`;
  if (r.contentType !== undefined) headers["content-type"] = r.contentType;
  if (r.encoding !== undefined) headers["content-encoding"] = r.encoding;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      app.inject({ method: "POST", url: urlOf(r.endpoint), headers, payload: r.body }),
      new Promise<never>((_r, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${HANG_MS} ms`)), HANG_MS))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function expectServing(): Promise<void> {
  expect((await app.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
  const s = await app.inject({ method: "GET", url: `/api/sessions/${activeId}`, headers: { authorization: `Bearer ${token}` } });
  expect(s.json()).toMatchObject({ id: activeId, online: true });
}

describe("HTTP bodies under fuzzing", () => {
  it(
    "every POST body gets the endpoint's success or a 4xx JSON error with a message, never a 5xx",
    async () => {
      await check(
        "http bodies",
        fc.asyncProperty(request, async (r) => {
          const res = await send(r);
          const what = `POST ${urlOf(r.endpoint).slice(0, 60)} (${r.contentType}) → ${res.statusCode} ${res.body.slice(0, 200)}`;
          if (r.endpoint.ok.includes(res.statusCode)) return;
          expect(res.statusCode >= 400 && res.statusCode < 500, what).toBe(true);
          expect(res.headers["content-type"], what).toMatch(/^application\/json/);
          const json = res.json() as { message?: unknown; statusCode?: unknown };
          expect(typeof json.message === "string" && json.message.length > 0, what).toBe(true);
          expect(json.statusCode, what).toBe(res.statusCode);
          expect(res.body, what).not.toMatch(/\bat .*\.(js|ts):\d+/);
          expect(({} as Record<string, unknown>).polluted, "prototype pollution").toBeUndefined();
        }),
        400,
      );
      await expectServing();
    },
    budget(60_000),
  );

  it(
    "keeps its heap flat over thousands of hostile bodies",
    async () => {
      const gc = gcFunction();
      // Logins with two strings are left out here: each costs a third of a second of password hashing.
      const hashes = (r: Request) => {
        try {
          const o = JSON.parse(r.body.toString()) as { name?: unknown; password?: unknown };
          return typeof o.name === "string" && typeof o.password === "string";
        } catch {
          return false;
        }
      };
      const requests = fc.sample(request, { numRuns: 300, seed: 20_260_102 }).filter((r) => !hashes(r));
      const { perItem: perRequest, heaps } = await heapGrowthPerItem(gc, requests.length, async () => {
        for (const r of requests) await send(r);
      });
      // A request object kept per request costs kilobytes; the median batch's noise stays far below.
      expect(perRequest, `median heap growth per request: ${Math.round(perRequest)} bytes (heaps ${heaps.join(", ")})`).toBeLessThan(512);
      await expectServing();
    },
    budget(60_000),
  );
});
