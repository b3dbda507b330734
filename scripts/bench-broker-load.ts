// The broker benchmark's load generator (scripts/bench-broker.ts starts it as a process of its own):
// on loopback only, it speaks the technician API and the real agent protocol (Ed25519 keys, signed
// proofs over the broker's nonce, heartbeats). Bounded in count (argv) and in time (each phase has a
// deadline). Prints one JSON line per phase on stdout; waits for "go" on stdin before the kill phase.
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import { createInterface } from "node:readline";
import WebSocket from "ws";
import { activationSignedBytes, encodeToBroker, pb } from "../src/proto/wire.js";
import { backoffMs } from "../src/agent/agent.js";

interface Config {
  urls: string[];
  token: string;
  apps: number;
  signalRounds: number;
  /** Index of the node the orchestrator kills in the recovery phase. */
  killNode: number;
  /** Single node: the killed node comes back (restarted) at the same URL; cluster: the others take over. */
  cluster: boolean;
}

const cfg = JSON.parse(process.argv[2]!) as Config;
const HEARTBEAT_MS = 10_000;
const PHASE_LIMIT_MS = 180_000;
const emit = (o: object) => process.stdout.write(JSON.stringify(o) + "\n");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (v: number[], p: number) => {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
};

async function apiCall(base: string, method: string, path: string, body?: unknown) {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${cfg.token}`, ...(body !== undefined && { "content-type": "application/json" }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : null) as Record<string, unknown> };
}

/** Runs `f` for 0..n-1 with at most `width` at once. */
async function pool(n: number, width: number, f: (i: number) => Promise<void>) {
  let next = 0;
  const deadline = Date.now() + PHASE_LIMIT_MS;
  await Promise.all(
    Array.from({ length: Math.min(width, n) }, async () => {
      while (next < n && Date.now() < deadline) await f(next++);
    }),
  );
}

interface App {
  code: string;
  sessionId: string;
  key: KeyObject;
  pub: Buffer;
  fp: Buffer;
  node: number;
  ws: WebSocket | null;
  onMessage: ((m: ReturnType<typeof pb.BrokerToAgent.decode>) => void) | null;
}

/** Opens /ws/agent on node `node` and activates; resolves true on STATUS_OK. */
function activate(app: App, node: number): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(cfg.urls[node]!.replace("http", "ws") + "/ws/agent");
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      if (!ok) ws.terminate();
      resolve(ok);
    };
    ws.on("error", () => finish(false));
    ws.on("close", () => finish(false));
    ws.on("message", (d) => {
      const m = pb.BrokerToAgent.decode(d as Buffer);
      if (m.body === "challenge") {
        const nonce = m.challenge!.nonce!;
        const signature = sign(null, activationSignedBytes(nonce, app.code, app.pub, app.fp), app.key);
        ws.send(
          encodeToBroker({
            hello: { code: app.code, publicKey: app.pub, machineFingerprint: app.fp, signature, machineName: "bench", os: "linux x64" },
          }),
        );
      } else if (m.body === "activation") {
        const ok = m.activation?.status === pb.ActivationResult.Status.STATUS_OK;
        if (ok) {
          app.ws = ws;
          app.node = node;
        }
        finish(ok);
      } else app.onMessage?.(m);
    });
  });
}

async function main() {
  const n = cfg.urls.length;
  // ---- API: create the sessions (round robin over the nodes) ----------------------------------
  const apps: App[] = [];
  let t0 = performance.now();
  await pool(cfg.apps, 64, async (i) => {
    const r = await apiCall(cfg.urls[i % n]!, "POST", "/api/sessions", { expiresIn: 3600 });
    if (r.status !== 201) throw new Error(`create: ${r.status} ${JSON.stringify(r.json)}`);
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const spki = publicKey.export({ format: "der", type: "spki" });
    apps.push({
      code: String(r.json.link).split("/").at(-1)!,
      sessionId: String(r.json.id),
      key: privateKey,
      pub: Buffer.from(spki.subarray(spki.length - 32)),
      fp: randomBytes(32),
      node: i % n,
      ws: null,
      onMessage: null,
    });
  });
  const createSecs = (performance.now() - t0) / 1000;
  // Reads (GET one session) as the second API figure.
  const reads = Math.min(cfg.apps, 5000);
  t0 = performance.now();
  await pool(reads, 64, async (i) => {
    const r = await apiCall(cfg.urls[i % n]!, "GET", `/api/sessions/${apps[i]!.sessionId}`);
    if (r.status !== 200) throw new Error(`read: ${r.status}`);
  });
  const readSecs = (performance.now() - t0) / 1000;
  emit({ phase: "api", creates: apps.length, createsPerSec: apps.length / createSecs, reads, readsPerSec: reads / readSecs });

  // ---- activations: every app binds its code and stays connected -------------------------------
  emit({ phase: "activations-start" });
  t0 = performance.now();
  let failed = 0;
  await pool(apps.length, 256, async (i) => {
    if (!(await activate(apps[i]!, i % n))) failed++;
  });
  const actSecs = (performance.now() - t0) / 1000;
  const connected = apps.filter((a) => a.ws);
  const perNode = cfg.urls.map((_, i) => connected.filter((a) => a.node === i).length);
  emit({ phase: "activations", activated: connected.length, failed, perSec: connected.length / actSecs, perNode });
  // Heartbeats, spread over the interval, as the app sends them.
  let seq = 0;
  const beat = setInterval(() => {
    const slice = Math.ceil(connected.length / 10);
    const start = (seq++ % 10) * slice;
    for (const a of connected.slice(start, start + slice)) {
      if (a.ws?.readyState === WebSocket.OPEN) a.ws.send(encodeToBroker({ heartbeat: { seq, sentAtMs: Date.now() } }));
    }
  }, HEARTBEAT_MS / 10);

  // ---- signaling round trip: app on node 0, console on node 1 (or the same node alone) ----------
  const app = connected.find((a) => a.node === 0)!;
  const consoleNode = n > 1 ? 1 : 0;
  const con = new WebSocket(cfg.urls[consoleNode]!.replace("http", "ws") + "/ws/console", {
    headers: { authorization: `Bearer ${cfg.token}` },
  });
  await new Promise((r, j) => (con.once("open", r), con.once("error", j)));
  // The console first gets every session of its technician (19,800 on the single node): the round
  // trips are measured after that burst, not behind it.
  let lastHeard = performance.now();
  const onBurst = () => (lastHeard = performance.now());
  con.on("message", onBurst);
  const burstEnd = performance.now() + 60_000;
  while (performance.now() - lastHeard < 500 && performance.now() < burstEnd) await sleep(100);
  con.off("message", onBurst);
  // The app answers the request the moment it arrives (it may come before the API call returns).
  const consented = new Promise<void>((resolve) => {
    app.onMessage = (m) => {
      if (m.body === "accessRequest") {
        app.ws!.send(
          encodeToBroker({ consent: { accessRequestId: m.accessRequest!.id!, granted: true, grantedScope: pb.Scope.SCOPE_VIEW } }),
        );
      } else if (m.body === "consentRecorded") resolve();
    };
  });
  const req = await apiCall(cfg.urls[(consoleNode + 1) % n]!, "POST", `/api/sessions/${app.sessionId}/access-requests`, { scope: "view" });
  if (req.status !== 202) throw new Error(`access request: ${req.status} ${JSON.stringify(req.json)}`);
  const rid = String(req.json.id);
  await Promise.race([consented, sleep(30_000).then(() => Promise.reject(new Error("no consent recorded within 30 s")))]);
  con.on("message", (d) => {
    const m = pb.BrokerToConsole.decode(d as Buffer);
    if (m.body === "signal") con.send(pb.ConsoleToBroker.encode({ signal: { accessRequestId: rid, payload: m.signal!.payload } }).finish());
  });
  const rtts: number[] = [];
  for (let i = 0; i < cfg.signalRounds; i++) {
    const sent = performance.now();
    const payload = Buffer.from(`rtt-${i}`);
    const got = new Promise<void>((resolve) => {
      app.onMessage = (m) => {
        if (m.body === "signal" && Buffer.from(m.signal!.payload!).equals(payload)) resolve();
      };
    });
    app.ws!.send(encodeToBroker({ signal: { accessRequestId: rid, payload } }));
    await Promise.race([got, sleep(2000)]);
    rtts.push(performance.now() - sent);
  }
  con.close();
  emit({ phase: "signaling", rounds: rtts.length, p50: pct(rtts, 50), p95: pct(rtts, 95), sameNode: n === 1 });

  // ---- recovery after kill -9 of one node: its apps come back (elsewhere, or after a restart) ----
  const victims = connected.filter((a) => a.node === cfg.killNode);
  emit({ phase: "ready-to-kill", apps: victims.length });
  await new Promise<void>((r) => createInterface({ input: process.stdin }).once("line", () => r()));
  const killedAt = performance.now();
  const backAt: number[] = [];
  await Promise.all(
    victims.map(async (a, v) => {
      await new Promise<void>((r) => (a.ws!.readyState === WebSocket.CLOSED ? r() : a.ws!.once("close", () => r())));
      for (let attempt = 0; performance.now() - killedAt < 60_000; attempt++) {
        await sleep(backoffMs(attempt));
        // Spread over the surviving nodes, as a load balancer would (not all first to the same one).
        const target = cfg.cluster ? (cfg.killNode + 1 + ((v + attempt) % (n - 1))) % n : cfg.killNode;
        if (await activate(a, target)) return void backAt.push(performance.now() - killedAt);
      }
    }),
  );
  clearInterval(beat);
  emit({ phase: "recovery", apps: victims.length, back: backAt.length, p50: pct(backAt, 50), max: Math.max(...backAt) });
  for (const a of apps) a.ws?.terminate();
  process.exit(0);
}

main().catch((err: unknown) => {
  emit({ phase: "error", message: (err as Error).stack ?? String(err) });
  process.exit(1);
});
