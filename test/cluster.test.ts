/**
 * The broker cluster (issue 22): three `tether broker` nodes on one PostgreSQL and one NATS of the
 * test's own. The seed's cases with the app on one node, the API on another and the console on a
 * third, including consent and a WebRTC stream whose signaling crosses nodes; 50 machines racing for
 * one code across the three nodes; `kill -9` of the node holding an app; NATS and PostgreSQL
 * restarts under running nodes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import WebSocket from "ws";
import { cli, newComputer, startAgent, tempDir, until, type Broker, type Proc } from "./support/procs.js";
import { Balancer, sharedHistoryKey, startNats, startNode, startPostgres, type OwnedServer } from "./support/cluster.js";
import { Receiver, shows } from "./support/receiver.js";
import { startXvfb, type Xvfb } from "./support/xvfb.js";
import { TestXClient } from "./support/x11-client.js";
import { newIdentity, openAgent, signedHello } from "./support/ws-peer.js";
import { pb, type BrokerToConsole } from "../src/proto/wire.js";
import { PgStore } from "../src/broker/pg-store.js";
import { LEASE_MS } from "../src/broker/cluster.js";

const W = 320;
const H = 240;
const COLOUR = 0x3060c0;
const INVALID = "The support session is invalid.";

let postgres: OwnedServer;
let nats: Awaited<ReturnType<typeof startNats>>;
let keyFile: string;
let nodes: Broker[] = [];
let xvfb: Xvfb;
let xclient: TestXClient;
let token = "";
const running: Proc[] = [];
const balancers: Balancer[] = [];

/** The technician API on one node. */
function api(node: Broker | Balancer) {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(node.url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { "content-type": "application/json" }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : null) as any };
  };
  return {
    call,
    createSession: async (expiresIn = 3600) => {
      const r = await call("POST", "/api/sessions", { expiresIn });
      if (r.status !== 201) throw new Error(`create failed: ${r.status} ${JSON.stringify(r.json)}`);
      return r.json as { id: string; link: string };
    },
    session: async (id: string) => (await call("GET", `/api/sessions/${id}`)).json,
    requestAccess: (id: string, scope: string) => call("POST", `/api/sessions/${id}/access-requests`, { scope }),
    access: async (id: string, rid: string) => (await call("GET", `/api/sessions/${id}/access-requests/${rid}`)).json,
  };
}

/** The link of a session, pointing at another node (or a balancer) than the one that made it. */
const via = (link: string, target: { url: string }) => target.url + new URL(link).pathname;

function agent(link: string, computer = newComputer(), env: NodeJS.ProcessEnv = {}) {
  const p = startAgent(link, computer, { env: { DISPLAY: xvfb.display, ...env } });
  running.push(p);
  return p;
}

/** A console socket (the technician's live events) on one node. */
function watchConsole(node: { url: string }) {
  const events: BrokerToConsole[] = [];
  const ws = new WebSocket(node.url.replace("http", "ws") + "/ws/console", { headers: { authorization: `Bearer ${token}` } });
  ws.on("message", (d) => events.push(pb.BrokerToConsole.decode(d as Buffer)));
  const opened = new Promise((r, j) => (ws.once("open", r), ws.once("error", j)));
  return {
    ws,
    events,
    opened,
    onlineOf: (id: string) => events.filter((e) => e.session?.id === id).map((e) => Boolean(e.session!.online)),
  };
}

const nodeIdOf = (b: Broker) => /cluster node (\S+),/.exec(b.proc.out.all.find((l) => l.includes("cluster node"))!)![1]!;

async function holderOf(sessionId: string): Promise<Broker | undefined> {
  const c = new pg.Client({ connectionString: postgres.url });
  await c.connect();
  try {
    const r = await c.query<{ node_id: string }>("SELECT node_id FROM presence WHERE session_id = $1", [sessionId]);
    return nodes.find((n) => nodeIdOf(n) === r.rows[0]?.node_id);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  [postgres, nats, xvfb] = await Promise.all([startPostgres(), startNats(), startXvfb({ width: W, height: H })]);
  xclient = await TestXClient.start(xvfb.display);
  await xclient.fill(0, 0, W, H, COLOUR);
  keyFile = sharedHistoryKey();
  // Three nodes starting at once: the migrations run once, under the advisory lock.
  nodes = await Promise.all(
    [0, 1, 2].map(() =>
      startNode(postgres, nats, keyFile, ["--consent-timeout", "5", "--grant-grace", "30", "--activation-limit", "1000"]),
    ),
  );
  const r = await cli(["technician", "add", "jane", "--display-name", "Jane Doe", "--store", postgres.url]);
  expect(r.code, r.stderr).toBe(0);
  token = r.stdout.trim().split("\n").at(-1)!;
}, 60_000);

afterAll(async () => {
  for (const p of running) p.child.kill("SIGKILL");
  for (const b of balancers) await b.stop();
  await Promise.all(nodes.map((n) => n.stop("SIGKILL")));
  await xclient?.stop();
  await Promise.all([xvfb?.stop(), nats?.stop(), postgres?.stop()]);
});

describe("three nodes", () => {
  it("the seed's cases: app on one node, API on another, console on a third; consent and a stream signalled across nodes", async () => {
    const [A, B, C] = nodes as [Broker, Broker, Broker];
    const techB = api(B);
    const s = await techB.createSession();

    // First run on computer 1 binds (through node A); the same app on computer 2 (node C) is invalid.
    const computer1 = newComputer();
    const a = agent(via(s.link, A), computer1);
    await a.out.waitFor(/^Connected\. Waiting for your support technician \(Jane Doe\)\.$/, 15_000);
    await until(async () => (await techB.session(s.id)).online, 5000, "online, seen from node B");
    const other = agent(via(s.link, C), newComputer());
    expect((await other.exited).code).toBe(3);
    expect(other.out.all).toContain(INVALID);

    // Consent and a stream: requested on B, answered in the app on A, signalled to the console on C.
    const rx = await Receiver.connect(C.url, token);
    const r = await techB.requestAccess(s.id, "control");
    expect(r.status).toBe(202);
    rx.accessRequestId = r.json.id;
    await a.out.waitFor(/^Jane Doe requests to control your screen/);
    a.child.stdin!.write("y\n");
    await a.out.waitFor(/^Jane Doe is now viewing and controlling your screen\.$/, 20_000);
    await rx.frame(W, H, (f) => shows(f, W / 2, H / 2, COLOUR));
    expect(await api(C).access(s.id, r.json.id)).toMatchObject({ status: "granted", grantedScope: "control" });

    // Quitting keeps the session; the app run again (now through node C) is asked again.
    a.child.kill("SIGINT");
    expect((await a.exited).code).toBe(0);
    await until(async () => (await techB.session(s.id)).online === false, 5000, "offline");
    expect((await techB.access(s.id, r.json.id)).status).toBe("ended");
    const again = agent(via(s.link, C), computer1);
    await again.out.waitFor(/^Connected\./, 15_000);
    const r2 = await api(A).requestAccess(s.id, "view");
    expect(r2.status).toBe(202);
    await again.out.waitFor(/requests to view your screen/);
    again.child.stdin!.write("no\n");
    await until(async () => (await techB.access(s.id, r2.json.id)).status === "denied", 5000, "denied");

    // Closed on node A while the app runs on node C: it ends at once with the closed message.
    const t0 = performance.now();
    expect((await api(A).call("POST", `/api/sessions/${s.id}/close`)).status).toBe(200);
    const { code, at } = await again.exited;
    expect(code).toBe(5);
    expect(at - t0).toBeLessThan(1000);
    expect(again.out.all.at(-1)).toBe("The support session was closed by your support technician.");
    const closedRun = agent(via(s.link, B), computer1);
    expect((await closedRun.exited).code).toBe(3);

    // A never-bound code past its expiry says expired, whichever node it reaches.
    const short = await api(C).createSession(1);
    await new Promise((r) => setTimeout(r, 1100));
    const late = agent(via(short.link, A), newComputer());
    expect((await late.exited).code).toBe(4);
    expect(late.out.all).toContain("The support session has expired.");

    // The history is one chain, written by all three nodes.
    const history = (await api(C).call("GET", `/api/sessions/${s.id}/history`)).json.entries as { kind: string }[];
    expect(history.map((e) => e.kind)).toEqual(
      expect.arrayContaining(["session.created", "session.bound", "app.connected", "access.granted", "access.denied", "session.closed"]),
    );
    rx.close();
  });

  it("tether audit on the cluster's store: verify holds, names an edited entry, refuses another key; export gives a session's entries", async () => {
    // Entries from every node (more than the page of 3 below).
    for (const n of nodes) await api(n).createSession();
    const s = await api(nodes[1]!).createSession();
    const verify = (args: string[] = []) => cli(["audit", "verify", "--store", postgres.url, "--history-key-file", keyFile, ...args]);
    const ok = await verify();
    expect(ok.code, ok.stderr).toBe(0);
    const m = /^The history holds: (\d+) entries, the last is #(\d+) with hash ([0-9a-f]{64})\.$/.exec(ok.stdout.trim());
    expect(m, ok.stdout).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(4);
    // The store reads the chain a page at a time: small pages give the same entries in the same order.
    const store = await PgStore.open(postgres.url, null);
    try {
      const all: number[] = [];
      const paged: number[] = [];
      for await (const e of store.historyEntries()) all.push(e.seq);
      for await (const e of store.historyEntries(undefined, 3)) paged.push(e.seq);
      expect(paged).toEqual(all);
      expect(all).toHaveLength(Number(m![1]));
    } finally {
      await store.close();
    }
    const csv = await cli(["audit", "export", "--format", "csv", "--session", s.id, "--store", postgres.url]);
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stdout.trim().split("\n")).toEqual([
      "seq,at,session,kind,actor,data,hash",
      expect.stringContaining(`,${s.id},session.created,`),
    ]);

    // One entry edited in PostgreSQL: named; put back: holds again, up to the head printed before.
    const c = new pg.Client({ connectionString: postgres.url });
    await c.connect();
    try {
      const row = (await c.query<{ seq: string; data: string }>("SELECT seq, data FROM history WHERE session_id = $1", [s.id])).rows[0]!;
      await c.query("UPDATE history SET data = $1 WHERE seq = $2", [row.data.replace("}", ',"label":"edited"}'), row.seq]);
      const bad = await verify();
      expect(bad.code).toBe(1);
      expect(bad.stderr.trim()).toMatch(
        new RegExp(
          `^The history does not hold: entry ${row.seq} \\(session\\.created of session ${s.id} at .+\\) was changed after it was written`,
        ),
      );
      await c.query("UPDATE history SET data = $1 WHERE seq = $2", [row.data, row.seq]);
    } finally {
      await c.end();
    }
    const again = await verify(["--head", `${m![2]}:${m![3]}`]);
    expect(again.code, again.stderr).toBe(0);

    // Another key, or none: one line each, nothing verified.
    const other = sharedHistoryKey();
    const wrongKey = await cli(["audit", "verify", "--store", postgres.url, "--history-key-file", other]);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr.trim()).toBe(
      `tether audit: ${other} is not the key this cluster's history is written with: pass the file every node was given`,
    );
    const noKey = await cli(["audit", "verify", "--store", postgres.url]);
    expect(noKey.code).toBe(1);
    expect(noKey.stderr.trim()).toMatch(/^tether audit: a cluster's history is verified with its key: pass --history-key-file/);

    // The audit only reads: a database without a cluster is one line, and is left as it was.
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    try {
      await admin.query("DROP DATABASE IF EXISTS tether_audit_empty");
      await admin.query("CREATE DATABASE tether_audit_empty");
      const emptyUrl = postgres.url.replace(/\/[^/?]+(\?|$)/, "/tether_audit_empty$1");
      const empty = await cli(["audit", "verify", "--store", emptyUrl, "--history-key-file", keyFile]);
      expect(empty.code).toBe(1);
      expect(empty.stderr.trim()).toMatch(
        /^tether audit: cannot open the cluster store .+: this database holds no Tether cluster \(no schema_version table\)$/,
      );
      const c2 = new pg.Client({ connectionString: emptyUrl });
      await c2.connect();
      try {
        expect((await c2.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'")).rows[0].n).toBe(0);
      } finally {
        await c2.end();
      }
    } finally {
      await admin.end();
    }
  });

  it("50 machines racing for one code across the three nodes: exactly one binds", async () => {
    const s = await api(nodes[0]!).createSession();
    const code = new URL(s.link).pathname.split("/").at(-1)!;
    const wsBases = nodes.map((n) => n.url.replace("http", "ws"));
    const opened = await Promise.all(Array.from({ length: 50 }, (_, i) => openAgent(wsBases[i % 3]!, 10_000)));
    const ids = opened.map(() => newIdentity());
    // Every hello goes out at once, after every challenge has arrived.
    for (const [i, { peer, nonce }] of opened.entries()) peer.ws.send(signedHello(nonce, code, ids[i]!), { binary: true });
    const results = await Promise.all(
      opened.map(async ({ peer }) => {
        const m = await until(() => peer.got.find((g) => g?.body === "activation"), 15_000, "activation result");
        return m.activation!.status;
      }),
    );
    const S = pb.ActivationResult.Status;
    expect(results.filter((r) => r === S.STATUS_OK)).toHaveLength(1);
    expect(results.filter((r) => r === S.STATUS_INVALID)).toHaveLength(49);
    for (const { peer } of opened) peer.ws.close();
  });
});

describe("failures", () => {
  it("a node dies with its timers running: the others expire its pending request and end a grant whose app stayed away, with history entries and console events", async () => {
    // K: the node that sets the timers and dies. W: a node whose grace period is 2 s (the other
    // nodes' is 30 s), so that the grant's end comes within the test; every node sweeps.
    const [K, W] = await Promise.all([
      startNode(postgres, nats, keyFile, ["--consent-timeout", "5", "--grant-grace", "30", "--activation-limit", "1000"]),
      startNode(postgres, nats, keyFile, ["--consent-timeout", "5", "--grant-grace", "2", "--activation-limit", "1000"]),
    ]);
    try {
      const [X, Y] = nodes as [Broker, Broker];
      const watcher = watchConsole(Y);
      await watcher.opened;
      // Session A: its app on X, a request made on K (K's timer would expire it in 5 s).
      const sa = await api(X).createSession();
      const aa = agent(via(sa.link, X));
      await aa.out.waitFor(/^Connected\./, 15_000);
      // Session B: its app on K, granted; then the app is killed (K's grace timer: 30 s).
      const sb = await api(X).createSession();
      const ab = agent(via(sb.link, K));
      await ab.out.waitFor(/^Connected\./, 15_000);
      const rb = await api(Y).requestAccess(sb.id, "view");
      await ab.out.waitFor(/requests to view your screen/);
      ab.child.stdin!.write("y\n");
      await until(async () => (await api(Y).access(sb.id, rb.json.id)).status === "granted", 5000, "granted");
      ab.child.kill("SIGKILL");
      const left = Date.now();
      await until(async () => !(await api(Y).session(sb.id)).online, 5000, "B offline");
      const made = Date.now();
      const ra = await api(K).requestAccess(sa.id, "control");
      expect(ra.status).toBe(202);
      await aa.out.waitFor(/requests to control your screen/);
      K.proc.child.kill("SIGKILL");
      await K.proc.exited;
      const killed = Date.now();
      const madeAgo = killed - made;

      // A's request: expired by the survivors, the app's question closes. B's grant: ended by W
      // once B was away 2 s. (Both watched at once, for the figures.)
      const [expiredAfter, endedAfter] = await Promise.all([
        aa.out.waitFor(/^The request from Jane Doe timed out without an answer\.$/, 9000).then(() => Date.now() - killed),
        until(async () => (await api(Y).access(sb.id, rb.json.id)).status === "ended", 8000, "B's grant ended").then(
          () => Date.now() - killed,
        ),
      ]);
      const leftAgo = Date.now() - left;
      console.log(
        `after kill -9 of the node with the timers: the request expired ${expiredAfter} ms later (made ${madeAgo} ms before, 5 s timeout); the grant ended ${endedAfter} ms later (its app left ${leftAgo - (Date.now() - killed)} ms before the kill; 2 s grace)`,
      );
      const statusOf = (id: string) => watcher.events.filter((e) => e.accessRequest?.id === id).map((e) => e.accessRequest!.status);
      await until(() => statusOf(ra.json.id).includes(pb.AccessStatus.ACCESS_STATUS_EXPIRED), 3000, "the console: expired");
      await until(() => statusOf(rb.json.id).includes(pb.AccessStatus.ACCESS_STATUS_ENDED), 3000, "the console: ended");
      const kinds = async (id: string, rid: string) =>
        ((await api(Y).call("GET", `/api/sessions/${id}/history`)).json.entries as { kind: string; data: { request?: string } }[])
          .filter((e) => e.data.request === rid)
          .map((e) => e.kind);
      expect(await kinds(sa.id, ra.json.id)).toEqual(["access.requested", "access.expired"]);
      expect(await kinds(sb.id, rb.json.id)).toEqual(["access.requested", "access.granted", "access.ended"]);
      watcher.ws.close();
      aa.child.kill("SIGINT");
      await aa.exited;
    } finally {
      await Promise.all([K.stop("SIGKILL"), W.stop()]);
    }
  });

  it("kill -9 of the node holding the app: the app is back within 10 s on another node, the grant ended, the console saw offline then online", async () => {
    const lb = await new Balancer(nodes.map((n) => n.port)).start();
    balancers.push(lb);
    const s = await api(lb).createSession();
    const a = agent(via(s.link, lb));
    await a.out.waitFor(/^Connected\./, 15_000);
    const holder = (await until(() => holderOf(s.id), 5000, "presence"))!;
    const survivors = nodes.filter((n) => n !== holder);
    const watcher = watchConsole(survivors[0]!);
    await watcher.opened;
    const tech = api(survivors[1]!);
    const r = await tech.requestAccess(s.id, "view");
    await a.out.waitFor(/requests to view your screen/);
    a.child.stdin!.write("y\n");
    await until(async () => (await tech.access(s.id, r.json.id)).status === "granted", 5000, "granted");
    await until(() => watcher.onlineOf(s.id).includes(true), 5000, "console saw it online");
    const seenBefore = watcher.events.length;

    const t0 = Date.now();
    holder.proc.child.kill("SIGKILL");
    await holder.proc.exited;
    nodes = survivors;
    lb.backends = survivors.map((n) => n.port);
    // Back: online through another node, and the grant the dead node's connection carried has ended.
    await until(
      async () =>
        (await tech.session(s.id)).online &&
        (await holderOf(s.id)) !== undefined &&
        (await tech.access(s.id, r.json.id)).status === "ended",
      10_000,
      "online on another node, grant ended",
    ).catch((err: Error) => {
      throw new Error(`${err.message}\napp:\n${a.out.all.join("\n")}`);
    });
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(a.child.exitCode).toBeNull();
    expect((await tech.session(s.id)).state).toBe("active");
    // The console on a surviving node: offline, then online (its event may come a moment after the API says so).
    const after = () =>
      watcher.events
        .slice(seenBefore)
        .filter((e) => e.session?.id === s.id)
        .map((e) => Boolean(e.session!.online));
    await until(
      () => after().indexOf(false) >= 0 && after().lastIndexOf(true) > after().indexOf(false),
      5000,
      "the console saw offline, then online",
    ).catch((err: Error) => {
      throw new Error(`${err.message}; it saw ${JSON.stringify(after())}`);
    });
    // The next request asks the user again.
    const r2 = await tech.requestAccess(s.id, "view");
    expect(r2.status).toBe(202);
    await until(() => a.out.all.filter((l) => /requests to view your screen/.test(l)).length === 2, 5000, "asked again");
    a.child.stdin!.write("no\n");
    await until(async () => (await tech.access(s.id, r2.json.id)).status === "denied", 5000, "denied");
    watcher.ws.close();
  });

  it("NATS restarts: the nodes reconnect and resubscribe; events and messages cross nodes again", async () => {
    const [X, Y] = nodes as [Broker, Broker];
    const s = await api(X).createSession();
    const a = agent(via(s.link, X));
    await a.out.waitFor(/^Connected\./, 15_000);
    const watcher = watchConsole(Y);
    await watcher.opened;

    await nats.restart();
    // Once the nodes are back on NATS, the technician's message (API on Y) reaches the app on X,
    // and the user's answer (app on X) reaches the console on Y.
    await until(
      async () => {
        const r = await api(Y).call("POST", `/api/sessions/${s.id}/chat`, { text: "hello after the restart" });
        if (r.status !== 201) return false;
        return a.out.all.some((l) => l.includes("hello after the restart"));
      },
      15_000,
      "chat to the app across nodes after the NATS restart",
    );
    a.child.stdin!.write("thanks, works\n");
    await until(() => watcher.events.some((e) => e.chat?.text === "thanks, works"), 5000, "chat to the console across nodes");
    watcher.ws.close();
    a.child.kill("SIGINT");
    await a.exited;
  });

  it("NATS with a password and TLS only (as every test here runs it): a wrong password, no CA, or TLS on one side only is one line and no start, never showing the password; an open NATS starts with a warning", async () => {
    const password = nats.password!;
    const wrong = nats.url.replace(password, "not-the-password");
    const cases: [string[], RegExp][] = [
      [["--bus", wrong, "--bus-ca", nats.caFile!], /NATS refused the node's credentials \(Authorization Violation\)/],
      [["--bus", nats.url], /the NATS server's certificate is not trusted \(.+\): give the CA that signed it with --bus-ca/],
      [["--bus", nats.url.replace("tls://", "nats://")], /the NATS server's certificate is not trusted/], // the server asks for TLS: no plaintext
      [
        ["--bus", nats.url, "--bus-ca", "/nonexistent/ca.pem"],
        /^tether broker: cannot read the NATS CA \/nonexistent\/ca\.pem \(ENOENT\)$/,
      ],
      [["--bus", nats.url, "--bus-ca", keyFile], /^tether broker: the NATS CA .+ holds no PEM certificate$/],
      [["--bus", "nats://tether:hunter2@"], /^tether broker: --bus needs nats:\/\/\[user:password@\]host:port/],
    ];
    for (const [args, line] of cases) {
      const r = await cli([
        "broker",
        "--store",
        postgres.url,
        ...args,
        "--history-key-file",
        keyFile,
        "--port",
        "0",
        "--data",
        tempDir("tether-node-"),
      ]);
      expect(r.code, r.stderr).not.toBe(0);
      expect(r.stderr.trim().split("\n"), r.stderr).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(line);
      expect(r.stdout + r.stderr).not.toContain(password);
      expect(r.stdout + r.stderr).not.toContain("hunter2");
    }
    const plain = await startNats({ secure: false });
    try {
      const n = await startNode(postgres, plain, keyFile);
      try {
        expect(n.proc.out.all.join("\n") + n.proc.err.all.join("\n")).toMatch(
          /warning: the NATS bus has no credentials and no TLS unless the server requires it/,
        );
      } finally {
        await n.stop();
      }
    } finally {
      await plain.stop();
    }
  });

  it("PostgreSQL restarts: 503 with a readable message while it is down, everything works after without restarting the nodes", async () => {
    const [X, Y] = nodes as [Broker, Broker];
    const s = await api(X).createSession();
    const a = agent(via(s.link, Y));
    await a.out.waitFor(/^Connected\./, 15_000);
    // Another app that quits while PostgreSQL is down: its node cannot say so then, and must after.
    const q = await api(X).createSession();
    const quitter = agent(via(q.link, Y));
    await quitter.out.waitFor(/^Connected\./, 15_000);

    await postgres.down();
    quitter.child.kill("SIGINT");
    await quitter.exited;
    const down = await api(X).call("GET", "/api/sessions");
    expect(down.status).toBe(503);
    expect(down.json).toMatchObject({ code: "TETHER_ERR_STORE_UNAVAILABLE" });
    expect(down.json.message).toMatch(/cannot reach its database \(PostgreSQL\)/);
    expect((await api(Y).call("POST", "/api/sessions", { expiresIn: 600 })).status).toBe(503);
    // Down for longer than a node's lease: no node may take the others (or their apps) for gone after.
    await new Promise((r) => setTimeout(r, LEASE_MS + 1500));

    await postgres.up();
    // The same node processes, no restart: the API, the app's session and the console work again.
    await until(async () => (await api(X).call("GET", "/api/sessions")).status === 200, 15_000, "the API back");
    expect(nodes.every((n) => n.proc.child.exitCode === null)).toBe(true);
    await until(async () => (await api(X).session(s.id)).online, 10_000, "the app online, seen from the other node");
    expect(a.out.all.filter((l) => /^Connected/.test(l))).toHaveLength(1); // its connection held throughout
    await until(async () => !(await api(X).session(q.id)).online, 10_000, "the app that quit meanwhile offline");
    const r = await api(X).requestAccess(s.id, "view");
    expect(r.status).toBe(202);
    await a.out.waitFor(/requests to view your screen/);
    a.child.stdin!.write("y\n");
    await until(async () => (await api(Y).access(s.id, r.json.id)).status === "granted", 10_000, "granted after the restart");
    const fresh = await api(Y).createSession();
    const b = agent(via(fresh.link, X));
    await b.out.waitFor(/^Connected\./, 15_000);
    a.child.kill("SIGINT");
    b.child.kill("SIGINT");
    await Promise.all([a.exited, b.exited]);
  });
});
