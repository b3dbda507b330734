/**
 * Chat between the technician and the user (issue 21), with the real broker, the real support app in
 * a terminal and the tether CLI: from the moment the app is connected, before any consent, both
 * ways, cleaned like names, kept in the history; refused while the app is not connected; bounded
 * in size and rate.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addTechnician, cli, newComputer, startAgent, startBroker, until, type Broker, type Proc } from "./support/procs.js";

let broker: Broker;
let token: string;
const running: Proc[] = [];
const tether = (args: string[]) => cli([...args, "--broker", broker.url, "--token", token]);
const json = async (args: string[]) => {
  const r = await tether([...args, "--json"]);
  if (r.code !== 0) throw new Error(`tether ${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout);
};
const post = (path: string, body: unknown) =>
  fetch(broker.url + path, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

beforeAll(async () => {
  broker = await startBroker();
  token = await addTechnician(broker.dataDir, "jane", "Jane Doe");
}, 60_000);

afterAll(async () => {
  for (const p of running) p.child.kill("SIGKILL");
  await broker?.stop();
});

describe("chat (issue 21)", () => {
  it("both ways before any consent: the app shows the technician's message and how to answer; the user's line reaches the technician; both are in the history", async () => {
    const s = await json(["session", "create", "--expires", "1h"]);
    const app = startAgent(s.link, newComputer("pc-7"));
    running.push(app);
    await app.out.waitFor(/^Connected\./, 20_000);

    const sent = await json(["session", "chat", s.id, "Hi, this is Jane from the help desk"]);
    expect(sent).toMatchObject({ from: "technician", name: "Jane Doe", text: "Hi, this is Jane from the help desk" });
    await app.out.waitFor(/^Jane Doe: Hi, this is Jane from the help desk$/, 10_000);
    await app.out.waitFor(/^\(To write to Jane Doe, type your message and press Enter\.\)$/, 1000);

    app.child.stdin!.write("Hello, my printer is broken\n");
    app.child.stdin!.write("x\n"); // a single letter is a slip, not a message
    await until(async () => (await json(["session", "chat", s.id])).length === 2, 10_000, "the user's message");
    const messages = await json(["session", "chat", s.id]);
    expect(messages.map((m: { from: string; name: string; text: string }) => [m.from, m.name, m.text])).toEqual([
      ["technician", "Jane Doe", "Hi, this is Jane from the help desk"],
      ["user", "pc-7", "Hello, my printer is broken"],
    ]);
    const human = await tether(["session", "chat", s.id]);
    expect(human.stdout).toMatch(/Z {2}Jane Doe: Hi, this is Jane from the help desk\n.*Z {2}user \(pc-7\): Hello, my printer is broken$/);

    const history = await json(["session", "history", s.id]);
    const chats = history.filter((e: { kind: string }) => e.kind === "chat.message");
    expect(chats.map((e: { actor: string; data: { text: string } }) => [e.actor, e.data.text])).toEqual([
      ["technician:jane", "Hi, this is Jane from the help desk"],
      ["user", "Hello, my printer is broken"],
    ]);
    // Nothing was asked of the user: no consent, no capture.
    expect(app.out.all.some((l) => /requests to/.test(l))).toBe(false);
    app.child.kill("SIGINT");
    await app.exited;
  }, 60_000);

  it("cleans what it carries: escape sequences and direction overrides reach neither the app nor the technician", async () => {
    const s = await json(["session", "create", "--expires", "1h"]);
    const app = startAgent(s.link, newComputer("pc-8"));
    running.push(app);
    await app.out.waitFor(/^Connected\./, 20_000);
    const res = await post(`/api/sessions/${s.id}/chat`, { text: "\u001b[2J\u001b]0;pwned\u0007Please \u202eclick\u202c here\r\nnow" });
    expect(res.status).toBe(201);
    await app.out.waitFor(/^Jane Doe: \[2J\]0;pwnedPlease click here now$/, 10_000);
    // eslint-disable-next-line no-control-regex -- the test looks for exactly these
    expect(app.out.all.join("\n")).not.toMatch(/[\u001b\u202e\u0007\r]/);
    app.child.stdin!.write("ok \u001b[31mred\u202e\n");
    await until(async () => (await json(["session", "chat", s.id])).length === 2, 10_000, "the user's message");
    expect((await json(["session", "chat", s.id]))[1].text).toBe("ok [31mred");
    app.child.kill("SIGINT");
    await app.exited;
  }, 60_000);

  it("bad input gets a clear answer: no app connected (409), empty or too long (400), too many (429)", async () => {
    const s = await json(["session", "create", "--expires", "1h"]);
    const offline = await tether(["session", "chat", s.id, "anyone there?"]);
    expect(offline.code).toBe(1);
    expect(offline.stderr.trim()).toBe(
      "tether session: The support app is not connected right now, so the user cannot read a message: ask the user to start it again. (HTTP 409)",
    );
    const app = startAgent(s.link, newComputer("pc-9"));
    running.push(app);
    await app.out.waitFor(/^Connected\./, 20_000);
    for (const text of ["", "   ", "\u001b\u0007", "x".repeat(2001), 42]) {
      const r = await post(`/api/sessions/${s.id}/chat`, { text });
      expect(r.status).toBe(400);
      expect(((await r.json()) as { message: string }).message).toBe("text must be a message of 1 to 2000 characters.");
    }
    app.child.kill("SIGINT");
    await app.exited;
    // 60 a minute per session, every attempt counted: a fresh session's 61st is refused.
    const s2 = await json(["session", "create", "--expires", "1h"]);
    const app2 = startAgent(s2.link, newComputer("pc-10"));
    running.push(app2);
    await app2.out.waitFor(/^Connected\./, 20_000);
    const statuses: number[] = [];
    for (let i = 0; i < 61; i++) statuses.push((await post(`/api/sessions/${s2.id}/chat`, { text: `message ${i}` })).status);
    expect(statuses.filter((c) => c === 201)).toHaveLength(60);
    expect(statuses.at(-1)).toBe(429);
    // The user's side: too long is said at once; more than 60 a minute per session (whichever
    // connection of the app they come from) are refused by the broker, and the app says so.
    app2.child.stdin!.write("y".repeat(2001) + "\n");
    await app2.out.waitFor(/^Your message was not sent: it is longer than 2000 characters\.$/, 5000);
    for (let i = 0; i < 61; i++) app2.child.stdin!.write(`line ${i}\n`);
    await app2.out.waitFor(/^A message was not sent: too many messages in a minute\. Wait a moment\.$/, 10_000);
    const fromUser = ((await json(["session", "chat", s2.id])) as { from: string }[]).filter((m) => m.from === "user");
    expect(fromUser).toHaveLength(60);
    app2.child.kill("SIGINT");
    await app2.exited;
    // The session's chat is the technician's alone: another technician's token gets 404.
    const other = await addTechnician(broker.dataDir, "max", "Max");
    const r = await fetch(`${broker.url}/api/sessions/${s.id}/chat`, { headers: { authorization: `Bearer ${other}` } });
    expect(r.status).toBe(404);
  }, 60_000);
});
