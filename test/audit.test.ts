/**
 * The tamper-evident history end to end (issue 21): a real broker, the real support app (terminal)
 * on Xvfb, the tether CLI. A session with a label, customer and ticket goes through binding, a view
 * request the user allows and then stops, and closing; `tether session history` shows it in order,
 * `tether audit verify` holds, and then names the entry after one row is edited in SQLite, after one
 * is removed, and `tether audit export` gives JSON and CSV. Also the session search.
 */
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { addTechnician, cli, newComputer, startAgent, startBroker, type Broker, type Proc } from "./support/procs.js";
import { startXvfb, type Xvfb } from "./support/xvfb.js";

let broker: Broker;
let token: string;
let xvfb: Xvfb;
const running: Proc[] = [];
const api = (args: string[]) => cli([...args, "--broker", broker.url, "--token", token]);
const json = async (args: string[]) => {
  const r = await api([...args, "--json"]);
  if (r.code !== 0) throw new Error(`tether ${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout);
};

beforeAll(async () => {
  xvfb = await startXvfb({ width: 320, height: 240 });
  broker = await startBroker();
  token = await addTechnician(broker.dataDir, "jane", "Jane Doe");
}, 60_000);

afterAll(async () => {
  for (const p of running) p.child.kill("SIGKILL");
  await broker?.stop();
  await xvfb?.stop();
});

describe("the session history (issue 21)", () => {
  let sessionId = "";

  it("records a session's life in order: created (with its label, customer and ticket), bound, connected, requested, granted, stopped by the user, closed", async () => {
    const s = await json([
      "session",
      "create",
      "--expires",
      "1h",
      "--label",
      "Printer\u202e queue",
      "--customer",
      "ACME Corp",
      "--ticket",
      "INC-4711",
    ]);
    sessionId = s.id;
    expect(s).toMatchObject({ label: "Printer queue", customer: "ACME Corp", ticket: "INC-4711" }); // the bidi override is cleaned away
    const app = startAgent(s.link, newComputer("pc-42"), { env: { DISPLAY: xvfb.display } });
    running.push(app);
    await app.out.waitFor(/^Connected\./, 20_000);
    const req = await json(["session", "request-access", s.id, "--scope", "view"]);
    await app.out.waitFor(/requests to view your screen/);
    app.child.stdin!.write("y\n");
    await app.out.waitFor(/You allowed Jane Doe to view your screen/, 15_000);
    app.child.stdin!.write("s\n");
    await app.out.waitFor(/has ended|stopped sharing/i, 15_000);
    expect((await json(["session", "access-status", s.id, req.id])).status).toBe("ended");
    await json(["session", "close", s.id]);
    expect((await app.exited).code).toBe(5);

    const entries: { seq: number; kind: string; actor: string; data: Record<string, unknown> }[] = await json(["session", "history", s.id]);
    expect(entries.map((e) => e.kind)).toEqual([
      "session.created",
      "session.bound",
      "app.connected",
      "access.requested",
      "access.granted",
      "access.ended",
      "session.closed",
      "app.disconnected",
    ]);
    expect(entries.map((e) => e.actor)).toEqual([
      "technician:jane",
      "user",
      "user",
      "technician:jane",
      "user",
      "user",
      "technician:jane",
      "broker",
    ]);
    expect(entries[0]!.data).toMatchObject({ label: "Printer queue", customer: "ACME Corp", ticket: "INC-4711" });
    expect(entries[1]!.data).toMatchObject({ machine: "pc-42" });
    expect(entries[1]!.data["fingerprint"]).toMatch(/^[0-9a-f]{64}$/);
    expect(entries[4]!.data).toMatchObject({ request: req.id, scope: "view" });
    // The human form: one line per entry.
    const table = await api(["session", "history", s.id]);
    expect(table.stdout).toMatch(/session\.bound\s+user\s+machine=pc-42/);
  }, 90_000);

  it("is searchable by label, customer, ticket and machine", async () => {
    await json(["session", "create", "--expires", "1h", "--label", "Other thing"]);
    const ids = async (q: string) => ((await json(["session", "list", "--search", q])) as { id: string }[]).map((s) => s.id);
    expect(await ids("inc-47")).toEqual([sessionId]);
    expect(await ids("acme")).toEqual([sessionId]);
    expect(await ids("PC-42")).toEqual([sessionId]);
    expect(await ids("other")).not.toContain(sessionId);
    expect(await ids("nothing like it")).toEqual([]);
    const list = await api(["session", "list"]);
    expect(list.stdout).toMatch(/Printer queue\s+ACME Corp\s+INC-4711\s+pc-42/);
    // Bad input: a 400 with a message, from the API.
    const res = await fetch(`${broker.url}/api/sessions`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ expiresIn: 3600, ticket: "x".repeat(65) }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toBe("ticket must be text of at most 64 characters.");
  }, 30_000);

  it("verify holds, then names the entry edited in SQLite, then the one after a removed entry; export gives JSON and CSV", async () => {
    const verify = () => cli(["audit", "verify", "--data", broker.dataDir]);
    const ok = await verify();
    expect(ok.code).toBe(0);
    expect(ok.stdout.trim()).toMatch(/^The history holds: \d+ entries, the last is #\d+ with hash [0-9a-f]{64}\.$/);

    const db = new Database(join(broker.dataDir, "tether.db"));
    try {
      const granted = db.prepare("SELECT seq, data FROM history WHERE kind = 'access.granted'").get() as { seq: number; data: string };
      // Someone turns the user's "view" into "control" after the fact.
      db.prepare("UPDATE history SET data = ? WHERE seq = ?").run(granted.data.replace('"view"', '"control"'), granted.seq);
      const edited = await verify();
      expect(edited.code).toBe(1);
      expect(edited.stderr.trim()).toBe(
        `The history does not hold: entry ${granted.seq} (access.granted of session ${sessionId} at ${new Date(
          (db.prepare("SELECT at FROM history WHERE seq = ?").get(granted.seq) as { at: number }).at,
        ).toISOString()}) was changed after it was written (${granted.seq - 1} entries before it hold).`,
      );
      db.prepare("UPDATE history SET data = ? WHERE seq = ?").run(granted.data, granted.seq); // put back
      expect((await verify()).code).toBe(0);

      // The head printed earlier, kept elsewhere: the chain must still reach it.
      const [, seq, hash] = /#(\d+) with hash ([0-9a-f]{64})/.exec(ok.stdout)!;
      expect((await cli(["audit", "verify", "--data", broker.dataDir, "--head", `${seq}:${hash}`])).code).toBe(0);
      const last = db.prepare("SELECT * FROM history WHERE seq = ?").get(Number(seq)) as Record<string, unknown>;
      db.prepare("DELETE FROM history WHERE seq = ?").run(Number(seq)); // the end cut off: the rest still holds…
      expect((await verify()).code).toBe(0);
      const cut = await cli(["audit", "verify", "--data", broker.dataDir, "--head", `${seq}:${hash}`]);
      expect(cut.code).toBe(1); // …but not against the head
      expect(cut.stderr.trim()).toBe(
        `The history does not hold: entry ${seq} is not in it any more, unlike the head recorded earlier (entries were cut off the end).`,
      );
      db.prepare(
        "INSERT INTO history (seq, at, session_id, kind, actor, data, prev_hash, hash) VALUES (@seq, @at, @session_id, @kind, @actor, @data, @prev_hash, @hash)",
      ).run(last);
      const badHead = await cli(["audit", "verify", "--data", broker.dataDir, "--head", "12"]);
      expect(badHead.code).toBe(2);

      // The "stopped by the user" entry disappears.
      const ended = db.prepare("SELECT seq FROM history WHERE kind = 'access.ended'").get() as { seq: number };
      db.prepare("DELETE FROM history WHERE seq = ?").run(ended.seq);
      const removed = await verify();
      expect(removed.code).toBe(1);
      expect(removed.stderr).toMatch(
        new RegExp(
          `^The history does not hold: entry ${ended.seq + 1} \\(session\\.closed .*\\) does not follow entry ${ended.seq - 1}: an entry between them was removed, or entries were moved \\(entries ${ended.seq}–${ended.seq} are missing\\)`,
        ),
      );
    } finally {
      db.close();
    }

    const exportJson = await cli(["audit", "export", "--data", broker.dataDir, "--session", sessionId]);
    expect(exportJson.code).toBe(0);
    const rows = JSON.parse(exportJson.stdout) as { kind: string; sessionId: string; hash: string }[];
    expect(rows.every((r) => r.sessionId === sessionId && /^[0-9a-f]{64}$/.test(r.hash))).toBe(true);
    expect(rows[0]!.kind).toBe("session.created");
    const csv = await cli(["audit", "export", "--data", broker.dataDir, "--format", "csv"]);
    expect(csv.code).toBe(0);
    const lines = csv.stdout.trim().split("\n");
    expect(lines[0]).toBe("seq,at,session,kind,actor,data,hash");
    expect(lines.find((l) => l.includes("session.created") && l.includes(sessionId))).toMatch(
      /,"{""expiresAt"":\d+,""label"":""Printer queue"",""customer"":""ACME Corp"",""ticket"":""INC-4711""}",/,
    );
    // Bad input: one line, exit 2.
    const bad = await cli(["audit", "export", "--data", broker.dataDir, "--format", "xml"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('tether audit: --format is json or csv. Run "tether audit --help" for usage.');
    const none = await cli(["audit", "verify", "--data", join(broker.dataDir, "nope")]);
    expect(none.code).not.toBe(0);
    expect(none.stderr.split("\n").filter(Boolean)).toHaveLength(1);
  }, 60_000);
});
