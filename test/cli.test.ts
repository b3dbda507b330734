/** The `tether` command as a technician uses it, against a real broker process. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import Database from "better-sqlite3";
import { hashSecret } from "../src/util/secrets.js";
import { startXvfb, type Xvfb } from "./support/xvfb.js";
import {
  addTechnician,
  api,
  cli,
  freePort,
  newComputer,
  ROOT,
  startAgent,
  startBroker,
  until,
  type Broker,
  type Proc,
} from "./support/procs.js";

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
    const login = await fetch(broker.url + "/api/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "jane", password: pw }),
    });
    expect(login.status).toBe(200);
  });
});

describe("tether technician tokens", () => {
  const data = () => ["--data", broker.dataDir];
  const me = async (headers: Record<string, string>) => (await fetch(broker.url + "/api/me", { headers })).status;
  const bearer = (token: string) => me({ authorization: `Bearer ${token}` });
  const signIn = async (name: string, password: string) => {
    const r = await fetch(broker.url + "/api/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name, password }),
    });
    return { status: r.status, token: r.status === 200 ? ((await r.json()) as { token: string }).token : "" };
  };
  const tokens = async (...args: string[]) =>
    JSON.parse((await cli(["technician", "token", "list", ...args, "--json", ...data()])).stdout) as {
      id: string;
      kind: string;
      label: string | null;
      expiresAt: string;
      lastUsedAt: string | null;
    }[];
  const secrets: string[] = [];

  it("add prints the token's id and 90-day expiry; token create takes --expires and --label; list shows everything but the secret", async () => {
    const added = await cli(["technician", "add", "kim", ...data()]);
    expect(added.code).toBe(0);
    const lines = added.stdout.trim().split("\n");
    const m = /^API token (tk_[A-Za-z0-9_-]{11}), valid until (\S+Z) \(shown only now/.exec(lines.at(-2)!);
    expect(m, added.stdout).not.toBeNull();
    expect(Math.abs(Date.parse(m![2]!) - Date.now() - 90 * 86_400_000)).toBeLessThan(60_000);
    const first = lines.at(-1)!;
    const password = /^Console password: (\S+)$/m.exec(added.stdout)![1]!;

    const created = await cli(["technician", "token", "create", "kim", "--expires", "30d", "--label", "ci runner", ...data()]);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^tt_[A-Za-z0-9_-]{43}$/); // the token alone, for scripts
    expect(created.stderr.trim()).toMatch(/^API token tk_\S+ for "kim", valid until \S+Z\.$/);
    const ci = created.stdout.trim();
    expect(await bearer(ci)).toBe(200);
    const { status, token: signin } = await signIn("kim", password);
    expect(status).toBe(200);
    secrets.push(first, ci, signin);

    const list = await cli(["technician", "token", "list", "kim", ...data()]);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^ID\s+TECHNICIAN\s+KIND\s+LABEL\s+CREATED\s+EXPIRES\s+LAST USED\n/);
    expect(list.stdout).toMatch(/^tk_\S+\s+kim\s+console sign-in\s+-\s+/m);
    expect(list.stdout).toMatch(/^tk_\S+\s+kim\s+api\s+ci runner\s+\S+Z\s+\S+Z\s+\S+Z$/m); // used once: a last use
    const json = await tokens("kim");
    expect(json.map((k) => k.kind).sort()).toEqual(["api", "api", "login"]);
    const ciRow = json.find((k) => k.label === "ci runner")!;
    expect(Date.parse(ciRow.expiresAt) - Date.now()).toBeGreaterThan(30 * 86_400_000 - 60_000);
    expect(Date.parse(ciRow.expiresAt) - Date.now()).toBeLessThanOrEqual(30 * 86_400_000);
    const everyone = await cli(["technician", "token", "list", ...data()]);
    expect(everyone.stdout).toMatch(/^tk_\S+\s+ops\s+api\s/m);
    for (const out of [list.stdout, everyone.stdout, JSON.stringify(json)]) {
      expect(out).not.toMatch(/tt_/);
      for (const s of secrets) expect(out).not.toContain(hashSecret(s));
    }
  });

  it("revoke is refused by the running broker from the next request on: one token, a console sign-in, or all of them", async () => {
    const [first, ci, signin] = secrets as [string, string, string];
    const cookie = { cookie: `tether_session=${signin}` };
    expect(await me(cookie)).toBe(200);
    const ciId = (await tokens("kim")).find((k) => k.label === "ci runner")!.id;
    const revoked = await cli(["technician", "token", "revoke", ciId, ...data()]);
    expect(revoked.stdout.trim()).toBe(`Revoked API token ${ciId} of "kim".`);
    expect(await bearer(ci)).toBe(401);
    expect(await bearer(first)).toBe(200);

    const signinId = (await tokens("kim")).find((k) => k.kind === "login")!.id;
    expect((await cli(["technician", "token", "revoke", signinId, ...data()])).code).toBe(0);
    expect(await me(cookie)).toBe(401);

    const all = await cli(["technician", "token", "revoke", "--all", "kim", ...data()]);
    expect(all.stdout.trim()).toBe('Revoked 1 token of "kim".');
    expect(await bearer(first)).toBe(401);
    expect(await tokens("kim")).toEqual([]);
  });

  it("remove: the technician's tokens are 401 and they cannot sign in; their sessions stay and their name is not reused", async () => {
    const added = await cli(["technician", "add", "lee", "--display-name", "Lee", ...data()]);
    const token = added.stdout.trim().split("\n").at(-1)!;
    const password = /^Console password: (\S+)$/m.exec(added.stdout)![1]!;
    const session = await api(broker.url, token).createSession();
    expect((await signIn("lee", password)).status).toBe(200);

    const removed = await cli(["technician", "remove", "lee", ...data()]);
    expect(removed.code).toBe(0);
    expect(removed.stdout.trim()).toBe(
      'Removed technician "lee" (Lee): 2 tokens revoked, no sign-in from now on; their sessions are kept.',
    );
    expect(await bearer(token)).toBe(401);
    expect((await signIn("lee", password)).status).toBe(401);
    const db = new Database(join(broker.dataDir, "tether.db"), { readonly: true });
    expect(db.prepare("SELECT count(*) FROM sessions WHERE id = ?").pluck().get(session.id)).toBe(1);
    db.close();

    expect((await cli(["technician", "list", ...data()])).stdout).not.toMatch(/^lee\s/m);
    expect((await cli(["technician", "list", "--all", ...data()])).stdout).toMatch(/^lee\s+Lee\s+\S+\s+\d{4}-/m);
    const again = await cli(["technician", "add", "lee", ...data()]);
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toMatch(/^tether technician: the name "lee" belonged to a technician who was removed/);
    expect((await cli(["technician", "token", "lee", ...data()])).stderr).toMatch(/technician "lee" was removed on \S+Z$/m);
  });

  it.each([
    [["technician", "token", "create", "kim", "--expires", "never"], 2, /API tokens always expire/],
    [["technician", "token", "create", "kim", "--expires", "400d"], 2, /--expires must be from 1h to 365d/],
    [["technician", "token", "create", "kim", "--label", ""], 2, /--label must be 1-100 printable characters/],
    [["technician", "token", "create"], 2, /technician token create needs a name/],
    [["technician", "token", "revoke"], 2, /needs a token id/],
    [["technician", "token", "revoke", "tk_nope"], 1, /no token with id "tk_nope"/],
    [["technician", "token", "list", "nobody"], 1, /no technician named "nobody"/],
    [["technician", "remove"], 2, /technician remove needs a name/],
  ])("%j fails with one line and exit %i", async (args, code, re) => {
    const r = await cli([...args, ...data()]);
    expect(r.code).toBe(code);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(re);
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
    expect(table).toMatch(
      new RegExp(`^ID\\s+STATE\\s+ONLINE\\s+LABEL\\s+CUSTOMER\\s+TICKET\\s+MACHINE\\s+EXPIRES\\n(.*\\n)*${id}\\s+waiting\\s+no\\s+-`),
    );

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
