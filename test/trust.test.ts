/**
 * Issue 16, "trust": consent that cannot be starved, what the app says matches what is shared,
 * names that cannot rewrite the terminal, another copy of the app is reported, sign-ins end their
 * sockets, grants end with their session, pending requests can be withdrawn, viewers can open on
 * any live grant, and the safety code. Real broker and support-app processes, Xvfb with an X client
 * that records the input it gets, and a technician side in Node (@roamhq/wrtc).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cpSync } from "node:fs";
import Database from "better-sqlite3";
import WebSocket from "ws";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { pb } from "../src/proto/wire.js";
import { safetyCode, sdpFingerprint } from "../src/session/safety-code.js";
import {
  addTechnician,
  api,
  cli,
  newComputer,
  startAgent,
  startBroker,
  until,
  type Broker,
  type Computer,
  type Proc,
} from "./support/procs.js";
import { Receiver, shows } from "./support/receiver.js";
import { startXvfb, type Xvfb } from "./support/xvfb.js";
import { TestXClient } from "./support/x11-client.js";

const W = 320;
const H = 240;
const COLOUR = 0x2080c0;

let xvfb: Xvfb;
let xclient: TestXClient;
let broker: Broker;
let token: string;
let tech: ReturnType<typeof api>;
const running: Proc[] = [];
const receivers: Receiver[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const agent = (link: string, computer: Computer = newComputer(), env: NodeJS.ProcessEnv = {}) => {
  const p = startAgent(link, computer, { env: { DISPLAY: xvfb.display, TETHER_TRACE_PEER: "1", ...env } });
  running.push(p);
  return p;
};
const receiver = async () => {
  const r = await Receiver.connect(broker.url, token);
  receivers.push(r);
  return r;
};

beforeAll(async () => {
  xvfb = await startXvfb({ width: W, height: H });
  xclient = await TestXClient.start(xvfb.display);
  await xclient.fill(0, 0, W, H, COLOUR);
  broker = await startBroker({ args: ["--grant-grace", "1", "--consent-timeout", "20"] });
  token = await addTechnician(broker.dataDir, "jane", "Jane Doe");
  tech = api(broker.url, token);
}, 60_000);
afterAll(async () => {
  for (const r of receivers) r.close();
  for (const p of running) p.child.kill("SIGKILL");
  await broker?.stop();
  await xclient?.stop();
  await xvfb?.stop();
});

/** A session with its app connected and a grant of `scope` answered with y. */
async function granted(scope: "view" | "control", computer?: Computer) {
  const s = await tech.createSession();
  const a = agent(s.link, computer);
  await a.out.waitFor(/^Connected\./);
  await until(async () => (await tech.session(s.id)).online, 5000, "online");
  const rx = await receiver();
  const r = await tech.requestAccess(s.id, scope);
  expect(r.status).toBe(202);
  rx.accessRequestId = r.json.id;
  await a.out.waitFor(scope === "control" ? /requests to control your screen/ : /requests to view your screen/);
  a.child.stdin!.write("y\n");
  try {
    await a.out.waitFor(/is now viewing/, 20_000);
  } catch (err) {
    // Say where the connection stopped forming.
    const seen = `offer received: ${rx.offerSdp !== ""}, answer sent: ${rx.answerSdp !== ""}, technician's connection: ${rx.connectionState}, the app's candidates: ${JSON.stringify(rx.candidates)}`;
    throw new Error(`${(err as Error).message}\n${seen}\nthe app's stderr:\n${a.err.text()}`, { cause: err });
  }
  return { s, a, rx, rid: r.json.id as string };
}

describe("consent cannot be starved (16.1)", () => {
  it("the user's s stops sharing while the technician re-requests every 150 ms, and no X input arrives after it", async () => {
    const { s, a, rx, rid } = await granted("control");
    const send = await rx.input();
    let i = 0;
    const mover = setInterval(() => {
      try {
        send({ move: { x: 0.1 + (i++ % 8) / 10, y: 0.5 } });
      } catch {
        // the app closed the connection (sharing ended): the technician's side just keeps trying
      }
    }, 20);
    const statuses: number[] = [];
    const spam = setInterval(() => void tech.requestAccess(s.id, "control").then((r) => statuses.push(r.status)), 150);
    try {
      await until(async () => (await xclient.sync()).some((e) => e.event === "MotionNotify"), 5000, "input arriving");
      await sleep(500); // several re-requests while control is live
      a.child.stdin!.write("s\n");
      await a.out.waitFor(/^You stopped sharing your screen with Jane Doe\.$/, 5000);
      await until(async () => (await tech.accessStatus(s.id, rid)).status === "ended", 5000, "ended");
      await sleep(300); // events already on their way to the X server
      const mark = (await xclient.sync()).length;
      await sleep(1500); // the technician keeps sending input, and keeps asking
      const after = (await xclient.sync(mark)).filter(
        (e) => e.event === "MotionNotify" || e.event === "ButtonPress" || e.event === "KeyPress",
      );
      expect(after).toEqual([]);
    } finally {
      clearInterval(mover);
      clearInterval(spam);
    }
    await sleep(300);
    // While control was live every re-request was refused (409), then the per-session limit (429).
    expect(statuses.length).toBeGreaterThan(3);
    expect(statuses.filter((c) => c === 202).length).toBeLessThanOrEqual(statuses.length - 3);
    expect(statuses.slice(0, 3).every((c) => c === 409)).toBe(true);
    expect(statuses).toContain(429);
    // No prompt ever took the user's "s" as an answer.
    expect(a.out.all.filter((l) => /requests to control/.test(l))).toHaveLength(statuses.filter((c) => c === 202).length + 1);
    a.child.kill("SIGINT");
    await a.exited;
  }, 60_000);
});

describe("what the app says matches what is shared (16.2, 16.8)", () => {
  it("closing the session ends a live grant: the request reads ended, not granted", async () => {
    const { s, a, rid } = await granted("view");
    expect((await tech.accessStatus(s.id, rid)).status).toBe("granted");
    await tech.close(s.id);
    expect((await a.exited).code).toBe(5);
    expect(await tech.accessStatus(s.id, rid)).toMatchObject({ status: "ended", endedAt: expect.any(String) });
  }, 60_000);

  it("an app that went away and does not come back within the grace period: the grant reads ended", async () => {
    const { s, a, rid } = await granted("view");
    a.child.kill("SIGKILL");
    await a.exited;
    await until(async () => !(await tech.session(s.id)).online, 5000, "offline");
    await until(async () => (await tech.accessStatus(s.id, rid)).status === "ended", 5000, "ended after the grace period");
  }, 60_000);
});

describe("names cannot rewrite the terminal (16.3)", () => {
  const dirty = "Jane\u001b[2K\r\u001b[8m\u202e Doe\u2066";

  it("a display name with escape sequences and bidi overrides is stored clean by technician add", async () => {
    const r = await cli(["technician", "add", "mallory", "--display-name", dirty, "--data", broker.dataDir]);
    expect(r.code).toBe(0);
    const list = await cli(["technician", "list", "--json", "--data", broker.dataDir]);
    const m = (JSON.parse(list.stdout) as { name: string; displayName: string }[]).find((t) => t.name === "mallory")!;
    expect(m.displayName).toBe("Jane[2K[8m Doe");
  });

  it("a dirty name already in the database reaches the app's prompt clean", async () => {
    const t2 = await addTechnician(broker.dataDir, "eve", "Eve");
    // An old row (or a changed broker): the name goes in raw, behind the CLI's back.
    const db = new Database(join(broker.dataDir, "tether.db"));
    db.prepare("UPDATE technicians SET display_name = ? WHERE name = 'eve'").run(dirty);
    db.close();
    const eve = api(broker.url, t2);
    const s = await eve.createSession();
    const a = agent(s.link);
    const connected = await a.out.waitFor(/^Connected\./);
    await until(async () => (await eve.session(s.id)).online, 5000, "online");
    expect((await eve.requestAccess(s.id, "view")).status).toBe(202);
    const prompt = await a.out.waitFor(/requests to view your screen/);
    // eslint-disable-next-line no-control-regex
    const unsafe = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
    for (const line of [connected, prompt, ...a.out.all]) expect(line).not.toMatch(unsafe);
    expect(prompt).toBe("Jane[2K[8m Doe requests to view your screen. Allow? [y] yes  [n] no");
    // The link page (HTML-escaped anyway) carries none of them either.
    const page = await (await fetch(s.link)).text();
    expect(page).toContain("Jane[2K[8m Doe");
    // eslint-disable-next-line no-control-regex
    expect(page).not.toMatch(/[\u001b\u202a-\u202e\u2066-\u2069]/);
    a.child.kill("SIGINT");
    await a.exited;
  });
});

describe("another copy of the app (16.4)", () => {
  it("a copy of the machine's identity that pushes the real app off is an alert on the session, with the time and both machine names", async () => {
    const A = newComputer("desk-anna");
    const s = await tech.createSession();
    const a = agent(s.link, A);
    await a.out.waitFor(/^Connected\./);
    await until(async () => (await tech.session(s.id)).online, 5000, "online");
    expect((await tech.session(s.id)).alerts).toEqual([]);

    // The same identity (key and machine id) on a computer with another name.
    const copy: Computer = { ...newComputer("evil-twin"), machineIdFile: A.machineIdFile };
    cpSync(A.stateHome, copy.stateHome, { recursive: true });
    const console_ = await consoleSocket(token);
    const before = Date.now();
    const b = agent(s.link, copy);
    await b.out.waitFor(/^Connected\./);
    expect((await a.exited).code).toBe(0);
    expect(a.out.all).toContain("The support app was started again on this computer; this copy stops.");

    const v = await until(
      async () => {
        const x = await tech.session(s.id);
        return x.alerts.length ? x : null;
      },
      5000,
      "alert",
    );
    expect(v.alerts).toHaveLength(1);
    expect(v.alerts[0]).toMatchObject({ kind: "replaced", previousMachine: "desk-anna", newMachine: "evil-twin" });
    expect(Date.parse(v.alerts[0].at)).toBeGreaterThanOrEqual(before - 1000);
    // The console hears it live, on the session.
    const info = await until(
      () => console_.sessions.find((x) => x.id === s.id && (x.alerts ?? []).length > 0),
      5000,
      "alert on the console socket",
    );
    expect(info.alerts![0]).toMatchObject({
      kind: pb.SessionAlert.Kind.KIND_REPLACED,
      previousMachine: "desk-anna",
      newMachine: "evil-twin",
    });
    console_.ws.close();
    b.child.kill("SIGINT");
    await b.exited;
  }, 60_000);
});

/** A raw console socket (Bearer or cookie), recording sessions and its close code. */
async function consoleSocket(auth: string, opts: { cookie?: boolean; origin?: string } = {}) {
  const headers: Record<string, string> = opts.cookie ? { cookie: `tether_session=${auth}` } : { authorization: `Bearer ${auth}` };
  if (opts.origin) headers.origin = opts.origin;
  const ws = new WebSocket(broker.url.replace("http", "ws") + "/ws/console", { headers });
  const sessions: ReturnType<typeof pb.SessionInfo.decode>[] = [];
  const frames: ReturnType<typeof pb.BrokerToConsole.decode>[] = [];
  let closeCode = 0;
  ws.on("message", (d) => {
    const m = pb.BrokerToConsole.decode(d as Buffer);
    frames.push(m);
    if (m.body === "session") sessions.push(m.session as ReturnType<typeof pb.SessionInfo.decode>);
  });
  const closed = new Promise<number>((r) => ws.on("close", (c) => r((closeCode = c))));
  await new Promise((r, j) => (ws.once("open", r), ws.once("error", j)));
  return {
    ws,
    sessions,
    frames,
    closed,
    get closeCode() {
      return closeCode;
    },
  };
}

describe("sign-in ends its sockets (16.5) and the Origin check (16.7)", () => {
  const login = async (name: string, password: string) => {
    const res = await fetch(broker.url + "/api/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name, password }),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { token: string }).token;
  };
  const newTech = async (name: string) => {
    const r = await cli(["technician", "add", name, "--data", broker.dataDir]);
    const password = /Console password: (\S+)/.exec(r.stdout)![1]!;
    return { password, token: r.stdout.trim().split("\n").at(-1)! };
  };

  it("signing out closes the console socket opened with that sign-in (4401), and nothing more reaches it", async () => {
    const { password } = await newTech("sam");
    const cookie = await login("sam", password);
    const c = await consoleSocket(cookie, { cookie: true, origin: broker.url });
    await until(() => c.frames.some((f) => f.body === "iceConfig"), 5000, "hello frames");
    const other = await consoleSocket(await login("sam", password), { cookie: true, origin: broker.url }); // another sign-in
    const res = await fetch(broker.url + "/api/logout", {
      method: "POST",
      headers: { cookie: `tether_session=${cookie}`, origin: broker.url },
    });
    expect(res.status).toBe(204);
    expect(await Promise.race([c.closed, sleep(1500).then(() => -1)])).toBe(4401);
    // The other sign-in's socket is untouched.
    await sleep(200);
    expect(other.ws.readyState).toBe(WebSocket.OPEN);
    other.ws.close();
  });

  it("a token revoked from the CLI (another process) closes its sockets within seconds, and so does removing the technician", async () => {
    const { token: samToken } = await newTech("sue");
    const c = await consoleSocket(samToken);
    const list = await cli(["technician", "token", "list", "sue", "--json", "--data", broker.dataDir]);
    const id = (JSON.parse(list.stdout) as { id: string }[])[0]!.id;
    expect((await cli(["technician", "token", "revoke", id, "--data", broker.dataDir])).code).toBe(0);
    expect(await Promise.race([c.closed, sleep(5000).then(() => -1)])).toBe(4401);

    const { token: t3 } = await newTech("sid");
    const c3 = await consoleSocket(t3);
    expect((await cli(["technician", "remove", "sid", "--data", broker.dataDir])).code).toBe(0);
    expect(await Promise.race([c3.closed, sleep(5000).then(() => -1)])).toBe(4401);
  });

  it("the Origin check compares with the configured public URL, not with the Host header the client sends", async () => {
    const { password } = await newTech("otto");
    const cookie = await login("otto", password);
    // A page on evil.example whose name resolves to the broker (DNS rebinding) sends Host and Origin
    // alike. (fetch cannot set Host, so a plain HTTP request.)
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        {
          host: "127.0.0.1",
          port: broker.port,
          path: "/api/sessions",
          headers: { cookie: `tether_session=${cookie}`, origin: "http://evil.example:8080", host: "evil.example:8080" },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.end();
    });
    expect(status).toBe(403);
    const ok = await fetch(broker.url + "/api/sessions", { headers: { cookie: `tether_session=${cookie}`, origin: broker.url } });
    expect(ok.status).toBe(200);
  });

  it("text/plain bodies get 415 with a message", async () => {
    const res = await fetch(broker.url + "/api/sessions", {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "text/plain" },
      body: JSON.stringify({ expiresIn: 60 }),
    });
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ code: "TETHER_ERR_UNSUPPORTED_MEDIA_TYPE", message: expect.stringMatching(/JSON/) });
  });
});

describe("a pending request can be withdrawn (16.12)", () => {
  it("tether session cancel-access closes the app's prompt with a line saying so; the request reads cancelled", async () => {
    const s = await tech.createSession();
    const a = agent(s.link);
    await a.out.waitFor(/^Connected\./);
    await until(async () => (await tech.session(s.id)).online, 5000, "online");
    const r = await tech.requestAccess(s.id, "control");
    await a.out.waitFor(/requests to control your screen/);
    const c = await cli(["session", "cancel-access", s.id, r.json.id, "--broker", broker.url, "--token", token]);
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(/Cancelled access request/);
    await a.out.waitFor(/^Jane Doe withdrew the request\.$/);
    expect((await tech.accessStatus(s.id, r.json.id)).status).toBe("cancelled");
    // The answer typed now is too late, and grants nothing.
    a.child.stdin!.write("y\n");
    await sleep(300);
    expect((await tech.accessStatus(s.id, r.json.id)).status).toBe("cancelled");
    // A cancelled request cannot be cancelled again.
    expect((await tech.call("POST", `/api/sessions/${s.id}/access-requests/${r.json.id}/cancel`)).status).toBe(409);
    a.child.kill("SIGINT");
    await a.exited;
  }, 60_000);
});

describe("a viewer on any live grant (16.11)", () => {
  it("a grant made from the CLI can be watched from a new viewer, again after that one went away, without asking the user again", async () => {
    const s = await tech.createSession();
    const a = agent(s.link);
    await a.out.waitFor(/^Connected\./);
    await until(async () => (await tech.session(s.id)).online, 5000, "online");
    const waiting = cli(["session", "request-access", s.id, "--scope", "view", "--wait", "--broker", broker.url, "--token", token]);
    await a.out.waitFor(/requests to view your screen/);
    a.child.stdin!.write("y\n");
    const done = await waiting;
    expect(done.stdout).toMatch(/granted \(view\)/);
    const rid = /(ar_\S+): granted/.exec(done.stdout)![1]!;

    const first = await receiver();
    first.watch(rid);
    await first.frame(W, H, (f) => shows(f, W / 2, H / 2, COLOUR));
    // A reload: the console's viewer tells the app that it closes (ControlMessage.Closing) and
    // closes 300 ms later. The app ends its side on that message alone, sending nothing more (the
    // receiver here has not closed yet), and the grant stays.
    await first.sendControl({ closing: {} });
    await a.out.waitFor(/viewer closed\. Jane Doe can connect again while you allow it/, 10_000);
    first.close();
    expect((await tech.accessStatus(s.id, rid)).status).toBe("granted");

    const second = await receiver();
    second.watch(rid);
    await second.frame(W, H, (f) => shows(f, W / 2, H / 2, COLOUR));
    expect(a.out.all.filter((l) => /requests to/.test(l))).toHaveLength(1); // asked once
    // "Stop viewing" ends the grant: the app stops sharing and says so.
    expect((await tech.call("POST", `/api/sessions/${s.id}/access-requests/${rid}/end`)).status).toBe(200);
    await a.out.waitFor(/^Jane Doe stopped viewing your screen\.$/);
    expect((await tech.accessStatus(s.id, rid)).status).toBe("ended");
    a.child.kill("SIGINT");
    await a.exited;
  }, 60_000);
});

describe("the safety code (16.15)", () => {
  it("is a pure function of the two fingerprints, in either order", async () => {
    const a = "sha-256 " + Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).padStart(2, "0").toUpperCase()).join(":");
    const b = "sha-256 " + Array.from({ length: 32 }, (_, i) => (255 - i).toString(16).padStart(2, "0").toUpperCase()).join(":");
    const ab = await safetyCode(a, b);
    expect(ab).toMatch(/^\d{3} \d{3}$/);
    expect(await safetyCode(b, a)).toBe(ab);
    expect(await safetyCode(a.toLowerCase(), b)).toBe(ab); // case does not matter
    expect(await safetyCode(a, a)).not.toBe(ab);
    const c = b.replace(/..$/, "00");
    expect(await safetyCode(a, c)).not.toBe(ab);
    expect(await safetyCode("sha-256 nonsense", b)).toBeNull();
    expect(sdpFingerprint(`v=0\r\na=fingerprint:sha-256 ${b.slice(8)}\r\n`)).toBe(b);
  });

  it("both ends show the same code; an answer with another certificate than announced never gets media", async () => {
    const { s, a, rx, rid } = await granted("view");
    await rx.frame(W, H, (f) => shows(f, W / 2, H / 2, COLOUR));
    const line = await a.out.waitFor(/^Safety code of this connection: \d{3} \d{3}/);
    const appCode = /(\d{3} \d{3})/.exec(line)![1];
    expect(await safetyCode(sdpFingerprint(rx.offerSdp)!, sdpFingerprint(rx.answerSdp)!)).toBe(appCode);
    a.child.stdin!.write("s\n");
    await until(async () => (await tech.accessStatus(s.id, rid)).status === "ended", 5000, "ended");

    // A viewer that announced one certificate but answers with another: the app refuses.
    const wrong = "sha-256 " + Array.from({ length: 32 }, () => "AB").join(":");
    const mitm = await receiver();
    const r = await tech.call("POST", `/api/sessions/${s.id}/access-requests`, { scope: "view", viewerFingerprint: wrong });
    expect(r.status).toBe(202);
    mitm.accessRequestId = r.json.id;
    const prompt = await a.out.waitFor(/^Safety code: \d{3} \d{3}\. Your technician sees the same code/);
    expect(prompt).toBeTruthy();
    await until(() => a.out.all.filter((l) => /requests to view your screen/.test(l)).length === 2, 10_000, "second prompt");
    a.child.stdin!.write("y\n");
    await a.out.waitFor(/^Sharing with Jane Doe stopped: the connection did not come from the viewer this request was made from/, 10_000);
    await sleep(1000);
    expect(mitm.frames).toHaveLength(0);
    expect((await tech.accessStatus(s.id, r.json.id)).status).toBe("ended");

    // A peer whose DTLS certificate differs from the fingerprint in its SDP: the handshake fails.
    const liar = await receiver();
    liar.mungeAnswer = (sdp) => sdp.replace(/^a=fingerprint:sha-256 .*$/gm, `a=fingerprint:${wrong}`);
    const r2 = await tech.requestAccess(s.id, "view");
    liar.accessRequestId = r2.json.id;
    await until(() => a.out.all.filter((l) => /requests to view your screen/.test(l)).length === 3, 5000, "third prompt");
    a.child.stdin!.write("y\n");
    await sleep(4000);
    expect(liar.frames).toHaveLength(0);
    expect(liar.connectionState).not.toBe("connected");
    a.child.kill("SIGINT");
    await a.exited;
  }, 60_000);
});
