/**
 * The seed's cases end to end: a real broker process, real support-app processes, each "computer"
 * with its own machine id (unshare + bind mount) and state folder.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cpSync } from "node:fs";
import { startXvfb, type Xvfb } from "./support/xvfb.js";
import { addTechnician, api, newComputer, startAgent, startBroker, until, type Broker, type Proc } from "./support/procs.js";

let broker: Broker;
let tech: ReturnType<typeof api>;
const running: Proc[] = [];
/** Support apps get a display, so that a grant can start sharing (and stays live). */
let xvfb: Xvfb | undefined;
const agent = (link: string, computer: Parameters<typeof startAgent>[1], opts: Parameters<typeof startAgent>[2] = {}) => {
  const p = startAgent(link, computer, { ...opts, env: { DISPLAY: xvfb!.display, ...opts.env } });
  running.push(p);
  return p;
};

beforeAll(async () => {
  xvfb ??= await startXvfb({ width: 320, height: 240 });
  broker = await startBroker({ args: ["--consent-timeout", "2"] });
  tech = api(broker.url, await addTechnician(broker.dataDir, "jane", "Jane Doe"));
});
afterAll(async () => {
  await xvfb?.stop();
  for (const p of running) p.child.kill("SIGKILL");
  await broker.stop();
});

const INVALID = "The support session is invalid.";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("binding", () => {
  it("the first computer binds the code; the same app on a second computer is invalid (exit 3)", async () => {
    const s = await tech.createSession();
    const A = newComputer();
    const a = agent(s.link, A);
    await a.out.waitFor(/^Connected\. Waiting for your support technician \(Jane Doe\)\.$/);
    const bound = await until(
      async () => {
        const v = await tech.session(s.id);
        return v.state === "active" && v.online ? v : null;
      },
      5000,
      "active+online",
    );
    expect(bound.machine.name).toBeTruthy();

    const b = agent(s.link, newComputer());
    expect((await b.exited).code).toBe(3);
    expect(b.out.all).toContain(INVALID);

    // A copy of A's state folder (its key) on another computer is still another computer.
    const copy = newComputer();
    cpSync(A.stateHome, copy.stateHome, { recursive: true });
    const c = agent(s.link, copy);
    expect((await c.exited).code).toBe(3);
    expect(c.out.all).toContain(INVALID);

    // A is untouched by all that.
    expect(a.child.exitCode).toBeNull();
    expect((await tech.session(s.id)).machine.boundAt).toBe(bound.machine.boundAt);
    a.child.kill("SIGINT");
    expect((await a.exited).code).toBe(0);
  });

  it("an unknown code (well-formed but forged) answers exactly like a closed one", async () => {
    const s = await tech.createSession();
    await tech.close(s.id);
    const forged = s.link.replace(/\/s\/.*/, "/s/" + "A".repeat(32));
    const [x, y] = [agent(forged, newComputer()), agent(s.link, newComputer())];
    expect((await x.exited).code).toBe(3);
    expect((await y.exited).code).toBe(3);
    expect(x.out.all.slice(1)).toEqual([INVALID]);
    expect(y.out.all.slice(1)).toEqual([INVALID]);
  });
});

describe("expiry", () => {
  it("a never-bound code past its expiry says expired (exit 4), in German too", async () => {
    const s = await tech.createSession(1);
    await sleep(1100);
    const en = agent(s.link, newComputer());
    expect((await en.exited).code).toBe(4);
    expect(en.out.all).toContain("The support session has expired.");
    const de = agent(s.link, newComputer(), { env: { LANG: "de_DE.UTF-8" } });
    expect((await de.exited).code).toBe(4);
    expect(de.out.all).toContain("Die Support-Sitzung ist abgelaufen.");
    expect((await tech.session(s.id)).state).toBe("expired");
  });

  it("a code bound before its expiry stays valid on that computer after it", async () => {
    const s = await tech.createSession(2);
    const A = newComputer();
    const first = agent(s.link, A);
    await first.out.waitFor(/^Connected\./);
    first.child.kill("SIGTERM");
    expect((await first.exited).code).toBe(0);
    await sleep(Math.max(0, Date.parse(s.expiresAt) - Date.now()) + 200);
    const again = agent(s.link, A);
    await again.out.waitFor(/^Connected\./);
    expect((await tech.session(s.id)).state).toBe("active");
    again.child.kill("SIGINT");
    expect((await again.exited).code).toBe(0);
  });
});

describe("closing and deleting", () => {
  it("after the technician closed the session, the app says invalid (exit 3)", async () => {
    const s = await tech.createSession();
    expect((await tech.close(s.id)).status).toBe(200);
    const a = agent(s.link, newComputer(), { env: { LANG: "de_DE.UTF-8" } });
    expect((await a.exited).code).toBe(3);
    expect(a.out.all).toContain("Die Support-Sitzung ist ungültig.");
  });

  it("after the technician deleted the session, the app says invalid (exit 3)", async () => {
    const s = await tech.createSession();
    const A = newComputer();
    const a = agent(s.link, A);
    await a.out.waitFor(/^Connected\./);
    a.child.kill("SIGINT");
    await a.exited;
    expect((await tech.remove(s.id)).status).toBe(204);
    const again = agent(s.link, A);
    expect((await again.exited).code).toBe(3);
    expect(again.out.all).toContain(INVALID);
  });

  it("closing while the app runs ends it within a second with the closed message (exit 5)", async () => {
    const s = await tech.createSession();
    const a = agent(s.link, newComputer());
    await a.out.waitFor(/^Connected\./);
    await until(async () => (await tech.session(s.id)).online, 5000, "online");
    const t0 = performance.now();
    expect((await tech.close(s.id)).status).toBe(200);
    const { code, at } = await a.exited;
    expect(code).toBe(5);
    expect(at - t0).toBeLessThan(1000);
    expect(a.out.all.at(-1)).toBe("The support session was closed by your support technician.");
    const after = await tech.session(s.id);
    expect(after).toMatchObject({ state: "closed", online: false });
  });

  it("deleting while the app runs shows the closed message in German (exit 5)", async () => {
    const s = await tech.createSession();
    const a = agent(s.link, newComputer(), { env: { LC_ALL: "de_DE.UTF-8" } });
    await a.out.waitFor(/^Verbunden\./);
    await until(async () => (await tech.session(s.id)).online, 5000, "online");
    await tech.remove(s.id);
    expect((await a.exited).code).toBe(5);
    expect(a.out.all).toContain("Die Support-Sitzung wurde von Ihrem Supportmitarbeiter geschlossen.");
  });
});

describe("quitting and consent", () => {
  it("quitting keeps the session; on relaunch the technician asks again and the user is asked again", async () => {
    const s = await tech.createSession();
    const A = newComputer();
    const a = agent(s.link, A);
    await a.out.waitFor(/^Connected\./);
    await until(async () => (await tech.session(s.id)).online, 5000, "online");

    const r1 = await tech.requestAccess(s.id, "control");
    expect(r1.status).toBe(202);
    expect(r1.json).toMatchObject({ status: "pending", scope: "control" });
    await a.out.waitFor(/^Jane Doe requests to control your screen/);
    a.child.stdin!.write("y\n");
    await until(async () => (await tech.accessStatus(s.id, r1.json.id)).status === "granted", 5000, "granted");
    expect((await tech.accessStatus(s.id, r1.json.id)).grantedScope).toBe("control");

    a.child.kill("SIGINT");
    expect((await a.exited).code).toBe(0);
    expect(a.out.all.at(-1)).toMatch(/Your support session stays open/);
    await until(async () => (await tech.session(s.id)).online === false, 5000, "offline");
    expect((await tech.session(s.id)).state).toBe("active");
    const offline = await tech.requestAccess(s.id, "view");
    expect(offline.status).toBe(409);
    expect(offline.json.message).toMatch(/not running/);

    const again = agent(s.link, A);
    await again.out.waitFor(/^Connected\./);
    await until(async () => (await tech.session(s.id)).online, 5000, "online again");
    expect(again.out.all.some((l) => /requests to/.test(l))).toBe(false); // nothing carried over
    const r2 = await tech.requestAccess(s.id, "control");
    await again.out.waitFor(/requests to control your screen/);
    again.child.stdin!.write("v\n"); // narrow to view only
    await until(async () => (await tech.accessStatus(s.id, r2.json.id)).status === "granted", 5000, "granted again");
    expect((await tech.accessStatus(s.id, r2.json.id)).grantedScope).toBe("view");
    await again.out.waitFor(/^You allowed Jane Doe to view your screen\. Type s and Enter to stop sharing\.$/);
    // Nothing new may be asked while a grant is live; once the user stops, it may.
    expect((await tech.requestAccess(s.id, "view")).status).toBe(409);
    again.child.stdin!.write("s\n");
    await until(async () => (await tech.accessStatus(s.id, r2.json.id)).status === "ended", 5000, "ended");

    const r3 = await tech.requestAccess(s.id, "view");
    await again.out.waitFor(/Jane Doe requests to view your screen/);
    again.child.stdin!.write("no\n");
    await until(async () => (await tech.accessStatus(s.id, r3.json.id)).status === "denied", 5000, "denied");
    again.child.kill("SIGTERM");
    expect((await again.exited).code).toBe(0);
  });

  it("an unanswered request expires; a second one while one waits is refused; end of input denies", async () => {
    const s = await tech.createSession();
    const a = agent(s.link, newComputer());
    await a.out.waitFor(/^Connected\./);
    await until(async () => (await tech.session(s.id)).online, 5000, "online");
    const r1 = await tech.requestAccess(s.id, "view");
    await a.out.waitFor(/requests to view your screen/);
    const dup = await tech.requestAccess(s.id, "control");
    expect(dup.status).toBe(409);
    expect(dup.json.code).toBe("TETHER_ERR_ACCESS_PENDING");
    await a.out.waitFor(/^The request from Jane Doe timed out without an answer\.$/, 5000);
    expect((await tech.accessStatus(s.id, r1.json.id)).status).toBe("expired");

    const r2 = await tech.requestAccess(s.id, "control");
    await a.out.waitFor(/requests to control your screen/);
    a.child.stdin!.end(); // the user closed the input: no consent
    await until(async () => (await tech.accessStatus(s.id, r2.json.id)).status === "denied", 5000, "denied by EOF");
    const r3 = await tech.requestAccess(s.id, "view");
    await until(async () => (await tech.accessStatus(s.id, r3.json.id)).status === "denied", 5000, "denied at once");
    expect(a.child.exitCode).toBeNull(); // still connected
    a.child.kill("SIGINT");
    expect((await a.exited).code).toBe(0);
  });

  it("the user narrows control to view, then stops; a relaunch ends what the old app held", async () => {
    const s = await tech.createSession();
    const A = newComputer();
    const a = agent(s.link, A);
    await a.out.waitFor(/^Connected\./);
    await until(async () => (await tech.session(s.id)).online, 5000, "online");
    const r = await tech.requestAccess(s.id, "control");
    await a.out.waitFor(/requests to control your screen/);
    a.child.stdin!.write("y\n");
    await a.out.waitFor(/^You allowed Jane Doe to control your screen\. Type v and Enter/);
    const status = () => tech.accessStatus(s.id, r.json.id);
    expect(await status()).toMatchObject({ status: "granted", grantedScope: "control" });

    a.child.stdin!.write("v\n");
    await a.out.waitFor(/^Jane Doe can now only view your screen\./);
    await until(async () => (await status()).grantedScope === "view", 5000, "narrowed");
    a.child.stdin!.write("s\n");
    await a.out.waitFor(/^You stopped sharing your screen with Jane Doe\.$/);
    await until(async () => (await status()).status === "ended", 5000, "ended");
    expect((await status()).endedAt).toEqual(expect.any(String));

    // A grant held by an app that is gone ends when the app comes back without it.
    const r2 = await tech.requestAccess(s.id, "view");
    await a.out.waitFor(/Jane Doe requests to view your screen/);
    a.child.stdin!.write("y\n");
    await until(async () => (await tech.accessStatus(s.id, r2.json.id)).status === "granted", 5000, "granted");
    a.child.kill("SIGKILL"); // a crash: no chance to say anything
    await a.exited;
    expect((await tech.accessStatus(s.id, r2.json.id)).status).toBe("granted");
    const again = agent(s.link, A);
    await again.out.waitFor(/^Connected\./);
    await until(async () => (await tech.accessStatus(s.id, r2.json.id)).status === "ended", 5000, "ended by relaunch");
    again.child.kill("SIGINT");
    expect((await again.exited).code).toBe(0);
  });

  it("without a display the app says sharing is impossible and the grant ends", async () => {
    const s = await tech.createSession();
    const a = agent(s.link, newComputer(), { env: { DISPLAY: ":999" } });
    await a.out.waitFor(/^Connected\./);
    await until(async () => (await tech.session(s.id)).online, 5000, "online");
    const r = await tech.requestAccess(s.id, "view");
    await a.out.waitFor(/requests to view your screen/);
    a.child.stdin!.write("y\n");
    await a.out.waitFor(/^Your screen cannot be shared: no graphical display could be opened \(is DISPLAY set\?\)\.$/);
    await until(async () => (await tech.accessStatus(s.id, r.json.id)).status === "ended", 5000, "ended");
    expect(a.child.exitCode).toBeNull();
    a.child.kill("SIGINT");
    expect((await a.exited).code).toBe(0);
  });
});
