/**
 * Ten computers race for one code. Binding is one conditional UPDATE, so exactly one wins even
 * across processes: the ten support apps talk to two broker processes sharing one data folder.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { Store } from "../src/broker/store.js";
import { addTechnician, api, newComputer, startAgent, startBroker, tempDir, type Broker, type Proc } from "./support/procs.js";

let brokers: Broker[] = [];
const running: Proc[] = [];

beforeAll(async () => {
  const dataDir = tempDir("tether-race-");
  brokers = [await startBroker({ dataDir }), await startBroker({ dataDir })];
});
afterAll(async () => {
  for (const p of running) p.child.kill("SIGKILL");
  await Promise.all(brokers.map((b) => b.stop()));
});

it("ten machines racing for one code: exactly one is bound, the other nine are told invalid", async () => {
  const tech = api(brokers[0]!.url, await addTechnician(brokers[0]!.dataDir, "racer"));
  const s = await tech.createSession();
  const links = [s.link, s.link.replace(brokers[0]!.url, brokers[1]!.url)];
  const agents = Array.from({ length: 10 }, (_, i) => startAgent(links[i % 2]!, newComputer()));
  running.push(...agents);

  const outcome = await Promise.all(
    agents.map((a) =>
      Promise.race([a.out.waitFor(/^Connected\./, 20_000).then(() => "bound"), a.exited.then(({ code }) => `exit ${code}`)]),
    ),
  );
  // On a mismatch, say what each app did and printed.
  const story = agents.map((a, i) => `#${i} ${outcome[i]}: ${a.out.all.join(" | ")} ${a.err.all.join(" | ")}`).join("\n");
  expect(
    outcome.filter((o) => o === "bound"),
    story,
  ).toHaveLength(1);
  expect(
    outcome.filter((o) => o === "exit 3"),
    story,
  ).toHaveLength(9);
  for (const [i, a] of agents.entries()) if (outcome[i] === "exit 3") expect(a.out.all).toContain("The support session is invalid.");

  const winner = agents[outcome.indexOf("bound")]!;
  const view = await tech.session(s.id);
  expect(view.state).toBe("active");
  winner.child.kill("SIGINT");
  expect((await winner.exited).code).toBe(0);
});

it("the store's bind is conditional: of two connections to the same file, one wins", () => {
  const dir = tempDir("tether-race-store-");
  const [s1, s2] = [Store.open(dir), Store.open(dir)];
  const t = s1.createTechnician("t", "T", null, 0);
  const row = s1.createSession(t.id, "hash", 0, 10_000);
  const a = s1.bindSession(row.id, { publicKey: "a", fingerprint: "fa" }, "A", "linux", 1);
  const b = s2.bindSession(row.id, { publicKey: "b", fingerprint: "fb" }, "B", "linux", 1);
  expect([!!a, !!b]).toEqual([true, false]);
  expect(a!.boundTo).toEqual({ publicKey: "a", fingerprint: "fa" }); // the row as written
  expect(s2.session(row.id)!.boundTo).toEqual({ publicKey: "a", fingerprint: "fa" });
  // Nor can an expired or closed session be bound.
  const late = s1.createSession(t.id, "hash2", 0, 10_000);
  expect(s1.bindSession(late.id, { publicKey: "a", fingerprint: "fa" }, "A", "linux", 10_000)).toBeUndefined();
  const closed = s1.createSession(t.id, "hash3", 0, 10_000);
  s1.closeSession(closed.id, 5);
  expect(s2.bindSession(closed.id, { publicKey: "a", fingerprint: "fa" }, "A", "linux", 6)).toBeUndefined();
  s1.close();
  s2.close();
});
