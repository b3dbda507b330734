/**
 * The console WebSocket: live session and access-request updates, and the signaling relay that
 * works only between a session's bound agent and its owner while a granted request is live. The
 * agent side here is a raw protocol client (real Ed25519 signature over the broker's nonce).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import WebSocket from "ws";
import { loadOrCreateIdentity } from "../src/agent/identity.js";
import { activationSignedBytes, encodeToBroker, pb, type BrokerToAgent, type BrokerToConsole } from "../src/proto/wire.js";
import { addTechnician, api, startBroker, tempDir, until, type Broker } from "./support/procs.js";

let broker: Broker;
let token: string;
let otherToken: string;
beforeAll(async () => {
  broker = await startBroker();
  token = await addTechnician(broker.dataDir, "jane", "Jane Doe");
  otherToken = await addTechnician(broker.dataDir, "bob");
});
afterAll(async () => {
  await broker.stop();
});

/** A socket that decodes every frame into a list and lets the test wait for one. */
function socket<T>(path: string, decode: (b: Buffer) => T, headers: Record<string, string> = {}) {
  const ws = new WebSocket(broker.url.replace("http", "ws") + path, { headers });
  const got: T[] = [];
  ws.on("message", (d) => got.push(decode(d as Buffer)));
  const opened = new Promise((r, j) => (ws.once("open", r), ws.once("error", j)));
  const waitFor = (pred: (m: T) => boolean, what = "message") => until(() => got.find(pred), 5000, what);
  return { ws, got, opened, waitFor };
}

async function rawAgent(link: string) {
  const a = socket<BrokerToAgent>("/ws/agent", (b) => pb.BrokerToAgent.decode(b));
  await a.opened;
  const challenge = (await a.waitFor((m) => m.body === "challenge")).challenge!;
  const id = loadOrCreateIdentity(join(tempDir(), "tether"));
  const fp = randomBytes(32);
  const code = link.split("/s/")[1]!;
  a.ws.send(
    encodeToBroker({
      hello: {
        code,
        publicKey: id.publicKey,
        machineFingerprint: fp,
        signature: id.sign(activationSignedBytes(challenge.nonce!, code, id.publicKey, fp)),
        machineName: "<b>pc-1</b>",
        os: "linux x64",
      },
    }),
  );
  const act = (await a.waitFor((m) => m.body === "activation")).activation!;
  expect(act.status).toBe(pb.ActivationResult.Status.STATUS_OK);
  return a;
}

it("live updates reach the owner's console only; signals relay only under a granted request", async () => {
  const tech = api(broker.url, token);
  const s = await tech.createSession();
  const mine = socket<BrokerToConsole>("/ws/console", (b) => pb.BrokerToConsole.decode(b), { authorization: `Bearer ${token}` });
  const theirs = socket<BrokerToConsole>("/ws/console", (b) => pb.BrokerToConsole.decode(b), { authorization: `Bearer ${otherToken}` });
  await Promise.all([mine.opened, theirs.opened]);
  await mine.waitFor((m) => m.session?.id === s.id && m.session.state === pb.SessionState.SESSION_STATE_WAITING, "initial list");

  const agent = await rawAgent(s.link);
  const online = await mine.waitFor((m) => m.session?.id === s.id && m.session.online === true, "online update");
  expect(online.session!.state).toBe(pb.SessionState.SESSION_STATE_ACTIVE);
  expect(online.session!.machineName).toBe("<b>pc-1</b>"); // plain text, carried as is; never HTML

  // Before any grant, signals go nowhere, in either direction.
  agent.ws.send(encodeToBroker({ signal: { accessRequestId: "ar_none", payload: Buffer.from("offer") } }));
  await agent.waitFor((m) => m.error?.code === pb.Error.Code.CODE_NOT_ALLOWED, "agent refused");
  const r = await tech.requestAccess(s.id, "control");
  const req = (await agent.waitFor((m) => m.body === "accessRequest")).accessRequest!;
  expect(req).toMatchObject({ id: r.json.id, technicianName: "Jane Doe", scope: pb.Scope.SCOPE_CONTROL });
  mine.ws.send(pb.ConsoleToBroker.encode({ signal: { accessRequestId: req.id, payload: Buffer.from("too early") } }).finish());
  await mine.waitFor((m) => m.error?.code === pb.Error.Code.CODE_NOT_ALLOWED, "console refused while pending");

  agent.ws.send(encodeToBroker({ consent: { accessRequestId: req.id, granted: true, grantedScope: pb.Scope.SCOPE_VIEW } }));
  expect((await agent.waitFor((m) => m.body === "consentRecorded")).consentRecorded!.accepted).toBe(true);
  await mine.waitFor(
    (m) => m.accessRequest?.id === req.id && m.accessRequest?.status === pb.AccessStatus.ACCESS_STATUS_GRANTED,
    "granted update",
  );
  expect((await tech.accessStatus(s.id, req.id!)).grantedScope).toBe("view");

  agent.ws.send(encodeToBroker({ signal: { accessRequestId: req.id, payload: Buffer.from("offer-sdp") } }));
  const fromAgent = await mine.waitFor((m) => m.body === "signal", "relayed offer");
  expect(Buffer.from(fromAgent.signal!.payload!).toString()).toBe("offer-sdp");
  mine.ws.send(pb.ConsoleToBroker.encode({ signal: { accessRequestId: req.id, payload: Buffer.from("answer-sdp") } }).finish());
  const fromConsole = await agent.waitFor((m) => m.body === "signal", "relayed answer");
  expect(Buffer.from(fromConsole.signal!.payload!).toString()).toBe("answer-sdp");

  // Another technician's console saw none of it and cannot inject signals into this session.
  theirs.ws.send(pb.ConsoleToBroker.encode({ signal: { accessRequestId: req.id, payload: Buffer.from("evil") } }).finish());
  await theirs.waitFor((m) => m.error?.code === pb.Error.Code.CODE_NOT_ALLOWED, "other refused");
  expect(theirs.got.filter((m) => m.body === "session" || m.body === "signal" || m.body === "accessRequest")).toEqual([]);
  expect(agent.got.filter((m) => m.body === "signal")).toHaveLength(1);

  // Closing: the agent is told, the console sees the closed state.
  await tech.close(s.id);
  await agent.waitFor((m) => m.body === "sessionClosed", "closed");
  await mine.waitFor((m) => m.session?.id === s.id && m.session.state === pb.SessionState.SESSION_STATE_CLOSED, "closed update");
  for (const w of [mine.ws, theirs.ws, agent.ws]) w.close();
});
