/**
 * Console passwords: scrypt at OWASP's cost (N = 2^17, r = 8, p = 1), written into the stored hash;
 * hashes of the older, cheaper format still sign in and are replaced by today's at that sign-in.
 * The hashes are read straight from the SQLite file and checked with Node's scrypt directly.
 */
import { afterEach, describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import { randomBytes, scryptSync } from "node:crypto";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { buildBroker } from "../src/broker/app.js";
import { Store } from "../src/broker/store.js";
import { hashPassword, passwordNeedsRehash, verifyPassword } from "../src/util/secrets.js";
import { cli, tempDir } from "./support/procs.js";

const OWASP = { N: 2 ** 17, r: 8, p: 1 };

/** A technician's password hash as it is in the file, read as another process would. */
function storedHash(dataDir: string, name: string): string {
  const db = new Database(join(dataDir, "tether.db"), { readonly: true });
  try {
    return db.prepare("SELECT password_hash FROM technicians WHERE name = ?").pluck().get(name) as string;
  } finally {
    db.close();
  }
}

/** Parses "scrypt$<log2 N>$<r>$<p>$<salt>$<hash>" and checks the password with Node's scrypt at those parameters. */
function checkToday(stored: string, password: string) {
  const m = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/]+=*)\$([A-Za-z0-9+/]+=*)$/.exec(stored);
  expect(m, stored).not.toBeNull();
  const [, log2N, r, p, salt, hash] = m!;
  expect({ N: 2 ** Number(log2N), r: Number(r), p: Number(p) }).toEqual(OWASP);
  expect(Buffer.from(salt!, "base64")).toHaveLength(16);
  const expected = Buffer.from(hash!, "base64");
  const actual = scryptSync(password, Buffer.from(salt!, "base64"), expected.length, { ...OWASP, maxmem: 256 * 1024 * 1024 });
  expect(actual.equals(expected)).toBe(true);
}

/** A hash as Tether wrote them before: "scrypt$<salt>$<hash>" at Node's default cost (N = 2^14, r = 8, p = 1). */
function legacyHash(password: string): string {
  const salt = randomBytes(16);
  return `scrypt$${salt.toString("base64")}$${scryptSync(password, salt, 32).toString("base64")}`;
}

describe("new password hashes", () => {
  it("technician add and password store scrypt with N = 2^17, r = 8, p = 1", async () => {
    const dir = tempDir("tether-pw-");
    const added = await cli(["technician", "add", "jane", "--data", dir]);
    expect(added.code).toBe(0);
    const pw = /^Console password: (\S+)$/m.exec(added.stdout)![1]!;
    checkToday(storedHash(dir, "jane"), pw);

    const changed = await cli(["technician", "password", "jane", "--data", dir]);
    expect(changed.code).toBe(0);
    checkToday(storedHash(dir, "jane"), changed.stdout.trim());
  });

  it("verifies both formats, says which needs an upgrade, and refuses parameters out of bounds", async () => {
    const today = await hashPassword("correct horse");
    const before = legacyHash("correct horse");
    expect(await verifyPassword("correct horse", today)).toBe(true);
    expect(await verifyPassword("correct horse", before)).toBe(true);
    expect(await verifyPassword("wrong horse", today)).toBe(false);
    expect(await verifyPassword("wrong horse", before)).toBe(false);
    expect(passwordNeedsRehash(today)).toBe(false);
    expect(passwordNeedsRehash(before)).toBe(true);
    expect(passwordNeedsRehash(today.replace(/^scrypt\$17\$/, "scrypt$16$"))).toBe(true);
    // A damaged row cannot make the broker allocate gigabytes: 2^30 is refused before hashing.
    const [, , r, p, salt, hash] = today.split("$");
    const started = performance.now();
    expect(await verifyPassword("correct horse", ["scrypt", "30", r, p, salt, hash].join("$"))).toBe(false);
    expect(performance.now() - started).toBeLessThan(50);
    for (const garbage of ["", "scrypt", "scrypt$$", "bcrypt$x$y", "scrypt$17$8$1$$", "scrypt$17$8$1$c2FsdA==$"]) {
      expect(await verifyPassword("x", garbage)).toBe(false);
    }
  });
});

describe("upgrade at sign-in", () => {
  let dir: string;
  let store: Store;
  let app: FastifyInstance;
  const login = (name: string, password: string) =>
    app.inject({
      method: "POST",
      url: "/api/login",
      headers: { "content-type": "application/json" },
      payload: JSON.stringify({ name, password }),
    });

  afterEach(async () => {
    await app.close();
    store.close();
  });

  it("an old-format hash signs in, and that sign-in replaces it with today's; a wrong password changes nothing", async () => {
    dir = tempDir("tether-pw-");
    store = Store.open(dir);
    ({ app } = await buildBroker({ store, publicUrl: () => "http://broker.test", logLevel: false }));
    const old = legacyHash("old-pw");
    store.createTechnician("olga", "Olga", old, Date.now());

    expect((await login("olga", "not-it")).statusCode).toBe(401);
    expect(storedHash(dir, "olga")).toBe(old);

    const first = await login("olga", "old-pw");
    expect(first.statusCode).toBe(200);
    const upgraded = storedHash(dir, "olga");
    expect(upgraded).not.toBe(old);
    checkToday(upgraded, "old-pw");

    expect((await login("olga", "old-pw")).statusCode).toBe(200);
    expect(storedHash(dir, "olga")).toBe(upgraded); // today's hashes are left alone
    expect((await login("olga", "not-it")).statusCode).toBe(401);
  });

  it("an upgrade does not undo a password set meanwhile", async () => {
    dir = tempDir("tether-pw-");
    store = Store.open(dir);
    ({ app } = await buildBroker({ store, publicUrl: () => "http://broker.test", logLevel: false }));
    const old = legacyHash("old-pw");
    const t = store.createTechnician("olga", "Olga", old, Date.now());
    const newer = await hashPassword("set-by-admin");
    expect(store.setPassword(t.id, newer)).toBe(true);
    // The sign-in read `old` before the change; its upgrade must not land.
    expect(store.setPassword(t.id, await hashPassword("old-pw"), old)).toBe(false);
    expect(storedHash(dir, "olga")).toBe(newer);
  });
});
