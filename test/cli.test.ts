/** The `tether` command as a technician uses it, against a real broker process. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { startXvfb, type Xvfb } from "./support/xvfb.js";
import { addTechnician, cli, freePort, newComputer, ROOT, startAgent, startBroker, until, type Broker, type Proc } from "./support/procs.js";

let broker: Broker;
let env: NodeJS.ProcessEnv;
let xvfb: Xvfb | undefined;
const running: Proc[] = [];

beforeAll(async () => {
  xvfb ??= await startXvfb({ width: 320, height: 240 });
  broker = await startBroker();
  env = { TETHER_BROKER: broker.url, TETHER_TOKEN: await addTechnician(broker.dataDir, "ops", "Jane Doe") };
});
afterAll(async () => {
  await xvfb?.stop();
  for (const p of running) p.child.kill("SIGKILL");
  await broker.stop();
});

describe("tether technician", () => {
  it("the broker's first start created admin and printed its password once", async () => {
    await broker.proc.out.waitFor(/^First start: created technician "admin" with password \S{20}$/);
    const again = await startBroker({ dataDir: broker.dataDir });
    await again.stop();
    expect(again.proc.out.text()).not.toMatch(/password/);
  });

  it("add works while the broker runs; the token on its last line is accepted at once", async () => {
    const r = await cli(["technician", "add", "jane", "--display-name", "Jane Doe", "--data", broker.dataDir]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toBe('Created technician "jane" (Jane Doe).');
    expect(lines.at(-1)).toMatch(/^tt_[A-Za-z0-9_-]{43}$/);
    const me = await fetch(broker.url + "/api/me", { headers: { authorization: `Bearer ${lines.at(-1)}` } });
    expect(await me.json()).toEqual({ name: "jane", displayName: "Jane Doe" });

    const dup = await cli(["technician", "add", "jane", "--data", broker.dataDir]);
    expect(dup.code).toBe(1);
    expect(dup.stderr.trim()).toBe('tether technician: a technician named "jane" exists already');
    const list = await cli(["technician", "list", "--data", broker.dataDir]);
    expect(list.stdout).toMatch(/^NAME\s+DISPLAY NAME\s+CREATED\n(admin|jane)/);
    // The console password works for login.
    const pw = r.stdout.match(/^Console password: (\S+)$/m)![1];
    const login = await fetch(broker.url + "/api/login", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "jane", password: pw }) });
    expect(login.status).toBe(200);
  });
});

describe("tether session", () => {
  it("create, list, show, request-access --wait, close and delete, as tables and as JSON", async () => {
    const created = await cli(["session", "create", "--expires", "2h"], env);
    expect(created.code).toBe(0);
    const link = created.stdout.trim().split("\n").at(-1)!;
    expect(link).toMatch(new RegExp(`^${broker.url}/s/[A-Za-z0-9_-]{32}$`));
    const id = /Created session (\S+);/.exec(created.stdout)![1]!;

    const json = JSON.parse((await cli(["session", "list", "--json"], env)).stdout) as { id: string; state: string; expiresAt: string }[];
    const mine = json.find((s) => s.id === id)!;
    expect(mine.state).toBe("waiting");
    const createdAt = Date.parse(JSON.parse((await cli(["session", "show", id, "--json"], env)).stdout).createdAt);
    expect(Date.parse(mine.expiresAt) - createdAt).toBe(2 * 3600 * 1000);
    const table = (await cli(["session", "list"], env)).stdout;
    expect(table).toMatch(new RegExp(`^ID\\s+STATE\\s+ONLINE\\s+MACHINE\\s+EXPIRES\\s+CREATED\\n(.*\\n)*${id}\\s+waiting\\s+no\\s+-`));

    const a = startAgent(link, newComputer(), { env: { DISPLAY: xvfb!.display } });
    running.push(a);
    await a.out.waitFor(/^Connected\./);
    await until(async () => /state:\s+active \(online\)/.test((await cli(["session", "show", id], env)).stdout), 5000, "online");

    const req = cli(["session", "request-access", id, "--scope", "control", "--wait"], env);
    await a.out.waitFor(/requests to control your screen/);
    a.child.stdin!.write("y\n");
    const r = await req;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ar_\S+: granted \(control\)$/m);

    const closed = await cli(["session", "close", id], env);
    expect(closed.stdout.trim()).toBe(`Closed session ${id}.`);
    expect((await a.exited).code).toBe(5);
    expect((await cli(["session", "delete", id], env)).code).toBe(0);
    const gone = await cli(["session", "show", id], env);
    expect(gone.code).toBe(1);
    expect(gone.stderr.trim()).toBe("tether session: No session with this id. (HTTP 404)");
  });

  it.each([
    [["session", "create"], /needs --expires/],
    [["session", "create", "--expires", "1w"], /--expires must look like/],
    [["session", "create", "--expires", "31d"], /expiresIn is out of range/],
    [["session", "request-access", "s_x", "--scope", "everything"], /--scope view or --scope control/],
    [["session", "frobnicate"], /unknown session command/],
    [["session", "list", "--colour"], /Unknown option '--colour'/],
    [["nonsense"], /unknown command "nonsense"/],
  ])("%j fails with one readable line", async (args, re) => {
    const r = await cli(args, env);
    expect(r.code).toBeGreaterThan(0);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(re);
    expect(r.stderr).not.toMatch(/\s+at\s.+:\d+:\d+/);
  });

  it("a wrong token and an unreachable broker are one line each", async () => {
    const bad = await cli(["session", "list"], { ...env, TETHER_TOKEN: "tt_wrong" });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^tether session: Missing or invalid credentials.*\(HTTP 401\)$/);
    const port = await freePort();
    const down = await cli(["session", "list", "--broker", `http://127.0.0.1:${port}`], env);
    expect(down.code).toBe(1);
    expect(down.stderr).toBe(`tether session: cannot reach the broker at http://127.0.0.1:${port} (ECONNREFUSED)`);
  });
});

it("npx tether works from the repository root", () => {
  const r = spawnSync("npx", ["--no-install", "tether", "--version"], { cwd: ROOT, encoding: "utf8" });
  expect(r.status).toBe(0);
  expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
});
