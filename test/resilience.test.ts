/**
 * Broker restarts, an unreachable broker, and bad input of every kind: each gets a clear answer
 * (an exit code and one line, an HTTP status, a WebSocket close code) and the broker keeps serving.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startXvfb, type Xvfb } from "./support/xvfb.js";
import { addTechnician, api, cli, freePort, newComputer, startAgent, startBroker, until, type Broker, type Proc } from "./support/procs.js";
import { encodeToBroker, MAX_FRAME_BYTES, pb } from "../src/proto/wire.js";

const running: Proc[] = [];
const brokers: Broker[] = [];
afterAll(async () => {
  await xvfb?.stop();
  for (const p of running) p.child.kill("SIGKILL");
  await Promise.all(brokers.map((b) => b.stop("SIGKILL")));
});
/** Support apps get a display, so that a grant can start sharing (and stays live). */
let xvfb: Xvfb | undefined;
beforeAll(async () => {
  xvfb = await startXvfb({ width: 320, height: 240 });
});
const agent = (link: string, computer: Parameters<typeof startAgent>[1], opts: Parameters<typeof startAgent>[2] = {}) => {
  const p = startAgent(link, computer, { ...opts, env: { DISPLAY: xvfb!.display, ...opts.env } });
  running.push(p);
  return p;
};

describe("broker restarts", () => {
  it.each(["SIGTERM", "SIGKILL"] as const)(
    "after a broker %s and restart the app reconnects on its own and nothing is lost",
    async (signal) => {
      let broker = await startBroker();
      brokers.push(broker);
      const token = await addTechnician(broker.dataDir, "jane", "Jane Doe");
      const tech = () => api(broker.url, token);
      const s = await tech().createSession();
      const a = agent(s.link, newComputer());
      await a.out.waitFor(/^Connected\./);
      const before = await until(
        async () => {
          const v = await tech().session(s.id);
          return v.online ? v : null;
        },
        5000,
        "online",
      );

      const held = await tech().requestAccess(s.id, "control");
      await a.out.waitFor(/requests to control your screen/);
      a.child.stdin!.write("y\n");
      await until(async () => (await tech().accessStatus(s.id, held.json.id)).status === "granted", 5000, "granted before");

      await broker.stop(signal);
      await a.out.waitFor(/^Connection to the support server lost; reconnecting in \d+ s…$/, 5000);
      broker = await startBroker({ dataDir: broker.dataDir, port: broker.port });
      brokers.push(broker);
      // (Issue 16.2) Back online with a live grant, the app says what is shared and how to stop,
      // never "waiting for your support technician".
      await a.out.waitFor(
        /^Connected again\. Jane Doe can still view and control your screen\. Type v and Enter to allow viewing only, s and Enter to stop sharing\.$/,
        15_000,
      );
      expect(a.out.all.filter((l) => l.startsWith("Connected. Waiting"))).toHaveLength(1);
      const after = await until(
        async () => {
          const v = await tech().session(s.id);
          return v.online ? v : null;
        },
        5000,
        "online after restart",
      );
      expect(after.state).toBe("active");
      expect(after.machine.boundAt).toBe(before.machine.boundAt);
      // The grant the app still holds stays live across the restart (the app re-asserts it).
      expect(await tech().accessStatus(s.id, held.json.id)).toMatchObject({ status: "granted", grantedScope: "control" });

      // While control is granted, a request for view narrows it at once; nothing else may be asked.
      expect((await tech().requestAccess(s.id, "control")).status).toBe(409);
      const narrowed = await tech().requestAccess(s.id, "view");
      expect(narrowed.status).toBe(200);
      expect(narrowed.json).toMatchObject({ id: held.json.id, status: "granted", grantedScope: "view" });
      await a.out.waitFor(/^Jane Doe switched to viewing only: your mouse and keyboard are yours alone again\./);
      a.child.stdin!.write("s\n");
      await until(async () => (await tech().accessStatus(s.id, held.json.id)).status === "ended", 5000, "ended");
      const r = await tech().requestAccess(s.id, "view");
      expect(r.status).toBe(202);
      await a.out.waitFor(/requests to view your screen/);
      a.child.stdin!.write("y\n");
      await until(async () => (await tech().accessStatus(s.id, r.json.id)).status === "granted", 5000, "granted");
      a.child.kill("SIGINT");
      expect((await a.exited).code).toBe(0);
      // Quitting stops sharing: both grants end.
      await until(async () => (await tech().accessStatus(s.id, held.json.id)).status === "ended", 5000, "ended on quit");
      expect((await tech().accessStatus(s.id, r.json.id)).status).toBe("ended");
    },
    45_000,
  );

  it("with no broker at the address the app retries with backoff, then gives up with one line (exit 1)", async () => {
    const port = await freePort();
    const link = `http://127.0.0.1:${port}/s/${"x".repeat(32)}`;
    const a = agent(link, newComputer(), { args: ["--give-up-after", "2"] });
    const { code } = await a.exited;
    expect(code).toBe(1);
    expect(a.out.all[0]).toBe(`Connecting to the support server at 127.0.0.1:${port}…`);
    expect(a.out.all.filter((l) => l.includes("(ECONNREFUSED); retrying in")).length).toBeGreaterThanOrEqual(2);
    expect(a.out.all.at(-1)).toMatch(/^Cannot reach the support server at 127\.0\.0\.1:\d+; giving up\./);
    expect(a.err.text()).toBe("");
  });
});

describe("bad input", () => {
  let broker: Broker;
  let tech: ReturnType<typeof api>;
  beforeAll(async () => {
    broker = await startBroker();
    brokers.push(broker);
    tech = api(broker.url, await addTechnician(broker.dataDir, "jane"));
  });

  it.each([
    ["a truncated link", (l: string) => l.slice(0, -5), /session code in it is incomplete or damaged/],
    ["a link without a code", (l: string) => l.replace(/\/s\/.*/, "/"), /does not contain a session code/],
    ["not a link at all", () => "hello there", /not a web address/],
  ])("%s: one readable line and exit 2", async (_n, mangle, re) => {
    const s = await tech.createSession();
    const a = agent(mangle(s.link), newComputer());
    expect((await a.exited).code).toBe(2);
    const lines = a.err.all;
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(re);
    expect((await tech.session(s.id)).state).toBe("waiting");
  });

  it("a link to a server that is no Tether broker: one line, exit 1", async () => {
    const s = await tech.createSession();
    const a = agent(s.link.replace("/s/", "/elsewhere/s/"), newComputer());
    expect((await a.exited).code).toBe(1);
    expect(a.out.all.at(-1)).toMatch(/does not accept the support app \(HTTP 404\)/);
  });

  const rawSocket = async () => {
    const ws = new WebSocket(broker.url.replace("http", "ws") + "/ws/agent");
    const closed = new Promise<{ code: number; reason: string }>((r) =>
      ws.on("close", (code, reason) => r({ code, reason: reason.toString() })),
    );
    const first = new Promise<Buffer>((r) => ws.once("message", (d) => r(d as Buffer)));
    await new Promise((r, j) => (ws.once("open", r), ws.once("error", j)));
    return { ws, closed, challenge: pb.BrokerToAgent.decode(await first).challenge! };
  };

  it.each([
    ["an oversize frame", (ws: WebSocket) => ws.send(Buffer.alloc(MAX_FRAME_BYTES + 1, 1)), 1009],
    ["undecodable bytes", (ws: WebSocket) => ws.send(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])), 1007],
    ["a text frame", (ws: WebSocket) => ws.send("hello"), 1003],
    ["a heartbeat before hello", (ws: WebSocket) => ws.send(encodeToBroker({ heartbeat: { seq: 1 } })), 1008],
    [
      "a hello with a short key",
      (ws: WebSocket) =>
        ws.send(
          encodeToBroker({
            hello: { code: "x".repeat(32), publicKey: Buffer.alloc(5), machineFingerprint: Buffer.alloc(32), signature: Buffer.alloc(64) },
          }),
        ),
      1008,
    ],
    [
      "a hello with a forged signature",
      (ws: WebSocket) =>
        ws.send(
          encodeToBroker({
            hello: {
              code: "x".repeat(32),
              publicKey: Buffer.alloc(32, 3),
              machineFingerprint: Buffer.alloc(32),
              signature: Buffer.alloc(64, 1),
            },
          }),
        ),
      1008,
    ],
  ])("%s closes that socket with %s and the broker serves on", async (_n, send, code) => {
    const { ws, closed } = await rawSocket();
    send(ws);
    expect((await closed).code).toBe(code);
    expect((await fetch(broker.url + "/healthz")).status).toBe(200);
  });

  it("after all that, a real support app still binds", async () => {
    const s = await tech.createSession();
    const a = agent(s.link, newComputer());
    await a.out.waitFor(/^Connected\./);
    a.child.kill("SIGINT");
    expect((await a.exited).code).toBe(0);
  });

  it("the console socket needs credentials at upgrade and a matching origin", async () => {
    const url = broker.url.replace("http", "ws") + "/ws/console";
    const status = (headers: Record<string, string>) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(url, { headers });
        ws.on("unexpected-response", (_q, res) => resolve(res.statusCode!));
        ws.on("open", () => (ws.close(), resolve(101)));
      });
    expect(await status({})).toBe(401);
    expect(await status({ authorization: "Bearer tt_nope" })).toBe(401);
    const login = await fetch(broker.url + "/api/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "jane", password: "wrong" }),
    });
    expect(login.status).toBe(401);
    const token = (await cli(["technician", "token", "jane", "--data", broker.dataDir])).stdout.trim();
    expect(await status({ cookie: `tether_session=${token}`, origin: "http://evil.example" })).toBe(403);
    expect(await status({ authorization: `Bearer ${token}` })).toBe(101);
  });
});

describe("activation rate limit", () => {
  it("too many agent connections from one address get 429 with Retry-After; the app waits and says so", async () => {
    const broker = await startBroker({ args: ["--activation-limit", "2"] });
    brokers.push(broker);
    const tech = api(broker.url, await addTechnician(broker.dataDir, "jane"));
    const s = await tech.createSession();
    for (let i = 0; i < 2; i++) {
      const a = agent(s.link.replace(/\/s\/.*/, "/s/" + "Z".repeat(32)), newComputer());
      expect((await a.exited).code).toBe(3);
    }
    const refused = await new Promise<{ status: number; retryAfter: string | undefined }>((resolve) => {
      const ws = new WebSocket(broker.url.replace("http", "ws") + "/ws/agent");
      ws.on("unexpected-response", (_q, res) => resolve({ status: res.statusCode!, retryAfter: res.headers["retry-after"] as string }));
      ws.on("open", () => (ws.close(), resolve({ status: 101, retryAfter: undefined })));
    });
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    const a = agent(s.link, newComputer());
    await a.out.waitFor(/^The support server is busy; retrying in \d+ s…$/);
    a.child.kill("SIGINT");
    expect((await a.exited).code).toBe(0);
    expect((await tech.session(s.id)).state).toBe("waiting");
  });
});
