/**
 * The support app's consent logic in-process, against a scripted broker on loopback (the real
 * protocol over a real WebSocket) with a recording access handle: what the user's lines do while
 * grants are live and prompts open, and what the app says after a reconnect. The broker is scripted
 * so that it can do what Tether's own broker refuses (ask again while a grant is live): the app must
 * hold on its own.
 */
import { TerminalUI } from "../src/agent/terminal-ui.js";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer, type WebSocket } from "ws";
import { runAgent, type AccessHandle, type AccessHooks } from "../src/agent/agent.js";
import { TypedLines } from "./support/typed-lines.js";
import { catalogs } from "../src/agent/messages.js";
import { encodeToAgent, pb, type AgentToBroker } from "../src/proto/wire.js";
import { until } from "./support/procs.js";

interface Recorded {
  calls: string[];
  /** The input guard each connection got (what the technician's input is checked against). */
  guards: AccessHooks["inputGuard"][];
}

const FP = "sha-256 " + Array.from({ length: 32 }, () => "AA").join(":");

function fakeAccess(log: Recorded, n: number): AccessHandle {
  return {
    fingerprint: FP,
    begin: (scope) => log.calls.push(`begin#${n} ${scope}`),
    signal: () => {},
    narrowToView: () => log.calls.push(`narrow#${n}`),
    stop: () => log.calls.push(`stop#${n}`),
  };
}

/** A scripted broker: challenge, then OK for every hello; records what the app sends. */
function scriptedBroker(onHello: (ws: WebSocket, hello: AgentToBroker["hello"]) => void) {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  const received: AgentToBroker[] = [];
  let current: WebSocket | null = null;
  wss.on("connection", (ws) => {
    current = ws;
    ws.send(encodeToAgent({ challenge: { nonce: new Uint8Array(32), protocolVersion: 1 } }));
    ws.on("message", (d) => {
      const m = pb.AgentToBroker.decode(d as Buffer);
      received.push(m);
      if (m.body === "hello") onHello(ws, m.hello);
      if (m.body === "heartbeat") ws.send(encodeToAgent({ heartbeat: { seq: m.heartbeat?.seq ?? 0, ack: true } }));
    });
  });
  const port = () => (wss.address() as { port: number }).port;
  return {
    wss,
    received,
    port,
    send: (msg: Parameters<typeof encodeToAgent>[0]) => current!.send(encodeToAgent(msg)),
    socket: () => current,
  };
}

const servers: WebSocketServer[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

function startApp(port: number, lines: TypedLines, log: Recorded, out: string[], quit: Promise<void>) {
  let n = 0;
  return runAgent({
    link: { base: `http://127.0.0.1:${port}`, host: `127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/ws/agent`, code: "x".repeat(32) },
    identity: () => ({ publicKey: new Uint8Array(32), sign: () => new Uint8Array(64) }) as never,
    fingerprint: Buffer.alloc(32),
    machineName: "desk",
    os: "linux x64",
    version: "test",
    locale: "en",
    ui: new TerminalUI({ messages: catalogs.en, out: (l) => out.push(l), input: lines, quit }),
    giveUpAfterMs: 10_000,
    prepareAccess: async (hooks) => {
      log.guards.push(hooks.inputGuard);
      return fakeAccess(log, ++n);
    },
    safetyCode: async () => "123 456",
  });
}

const ok = (technicianName = "Jane Doe", liveAccess: string[] = []) => ({
  activation: { status: pb.ActivationResult.Status.STATUS_OK, sessionId: "s_1", technicianName, heartbeatIntervalMs: 10_000, liveAccess },
});

/** A scripted broker and the app connected to it, with what the app printed and did. */
async function connectedApp(onHello: Parameters<typeof scriptedBroker>[0]) {
  const b = scriptedBroker(onHello);
  servers.push(b.wss);
  await new Promise((r) => b.wss.once("listening", r));
  const lines = new TypedLines();
  const log: Recorded = { calls: [], guards: [] };
  const out: string[] = [];
  let quit!: () => void;
  const done = startApp(b.port(), lines, log, out, new Promise<void>((r) => (quit = r)));
  await until(() => out.some((l) => l.startsWith("Connected.")), 5000, "connected");
  /** The technician asks for control; the user says y; the app begins sharing on its first connection. */
  const grantControl = async (id = "ar_1") => {
    b.send({ accessRequest: { id, scope: pb.Scope.SCOPE_CONTROL, technicianName: "Jane Doe" } });
    await until(() => out.some((l) => /requests to control/.test(l)), 5000, "prompt");
    lines.type("y");
    await until(() => log.calls.includes("begin#1 control"), 5000, "begin");
  };
  return { b, lines, log, out, quit, done, grantControl };
}

describe("the user's s and v while a prompt is open", () => {
  it("v narrows the live grant and s stops it, even with a new request's prompt open: neither is taken as an answer", async () => {
    const { b, lines, log, out, quit, done, grantControl } = await connectedApp((ws) => ws.send(encodeToAgent(ok())));
    await grantControl();
    expect([log.guards[0]!.blocksPointerAt(10, 10), log.guards[0]!.blocksKeys()]).toEqual([false, false]); // a terminal: no windows

    // A broker that asks again while control is live (Tether's refuses: 409).
    b.send({ accessRequest: { id: "ar_2", scope: pb.Scope.SCOPE_CONTROL, technicianName: "Jane Doe" } });
    await until(() => out.filter((l) => /requests to control/.test(l)).length === 2, 5000, "prompt 2");
    // While it is asked, the technician's input (on the live grant's connection) goes nowhere.
    const guard = log.guards[0]!;
    expect([guard.blocksPointerAt(10, 10), guard.blocksKeys()]).toEqual([true, true]);
    lines.type("v");
    await until(() => log.calls.includes("narrow#1"), 5000, "narrowed");
    expect(out).toContain("Jane Doe can now only view your screen. Type s and Enter to stop sharing.");
    lines.type("s");
    await until(() => log.calls.includes("stop#1"), 5000, "stopped");
    await until(() => b.received.some((m) => m.body === "consent" && m.consent?.accessRequestId === "ar_2"), 5000, "answer 2");

    const changes = b.received
      .filter((m) => m.body === "consentChanged")
      .map((m) => [m.consentChanged!.accessRequestId, m.consentChanged!.scope]);
    expect(changes).toEqual([
      ["ar_1", pb.Scope.SCOPE_VIEW],
      ["ar_1", pb.Scope.SCOPE_UNSPECIFIED],
    ]);
    const answers = b.received.filter((m) => m.body === "consent").map((m) => [m.consent!.accessRequestId, m.consent!.granted]);
    expect(answers).toEqual([
      ["ar_1", true],
      ["ar_2", false],
    ]);
    expect(log.calls).toContain("stop#2"); // the prepared connection of the declined request
    expect(log.calls.some((c) => c.startsWith("begin#2"))).toBe(false);
    expect(out).toContain("You stopped sharing your screen with Jane Doe and declined the new request.");
    expect([guard.blocksPointerAt(10, 10), guard.blocksKeys()]).toEqual([false, false]); // nothing asked any more
    quit();
    expect(await done).toBe(0);
  });

  it("a name with escape sequences from the broker is shown clean", async () => {
    const { b, out, quit, done } = await connectedApp((ws) => ws.send(encodeToAgent(ok("Jane\u001b[2K\r\u001b[8m\u202eDoe"))));
    b.send({ accessRequest: { id: "ar_1", scope: pb.Scope.SCOPE_VIEW, technicianName: "\u001b]0;owned\u0007Eve\u2066" } });
    await until(() => out.some((l) => /requests to view/.test(l)), 5000, "prompt");
    expect(out).toContain("Connected. Waiting for your support technician (Jane[2K[8mDoe).");
    expect(out).toContain("]0;ownedEve requests to view your screen. Allow? [y] yes  [n] no");
    quit();
    await done;
  });
});

describe("after a reconnect", () => {
  it("with a live grant the app says who can still view or control and how to stop; a grant the broker did not keep ends and says so", async () => {
    let hellos = 0;
    const instanceIds: string[] = [];
    const app = connectedApp((ws, hello) => {
      hellos++;
      instanceIds.push(Buffer.from(hello!.instanceId ?? []).toString("hex"));
      const held = (hello!.liveAccess ?? []).map((g) => g.accessRequestId!);
      // Second connection: keep ar_1. Third: keep nothing.
      ws.send(encodeToAgent(ok("Jane Doe", hellos === 2 ? held : [])));
    });
    const { b, log, out, quit, done, grantControl } = await app;
    await grantControl();

    b.socket()!.terminate(); // the broker goes away
    await until(() => hellos === 2, 10_000, "reconnect");
    await until(() => out.some((l) => l.startsWith("Connected again.")), 5000, "reconnected");
    expect(out.filter((l) => l.startsWith("Connected. Waiting"))).toHaveLength(1);
    expect(out).toContain(
      "Connected again. Jane Doe can still view and control your screen. Type v and Enter to allow viewing only, s and Enter to stop sharing.",
    );
    expect(log.calls).not.toContain("stop#1");

    b.socket()!.terminate();
    await until(() => hellos === 3, 10_000, "reconnect 2");
    await until(() => out.includes("Sharing your screen with Jane Doe has ended."), 5000, "ended");
    expect(log.calls).toContain("stop#1");
    expect(out.at(-1)).toBe("Connected. Waiting for your support technician (Jane Doe).");
    // One running app: the same instance id on every connection.
    expect(new Set(instanceIds).size).toBe(1);
    expect(instanceIds[0]).toMatch(/^[0-9a-f]{32}$/);
    quit();
    await done;
  }, 30_000);
});
