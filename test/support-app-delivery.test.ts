/**
 * How the broker delivers the support app, in-process and with small stand-in images (the real
 * single-file app is built and run in support-app.test.ts): the trailer's image digest and the
 * app's check of its own file; the lazy loader that picks up a new build without a restart and
 * refuses a file that does not match its manifest; the link page with and without an organisation;
 * GET /api/status; and the console's warning banner.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createHash, generateKeyPairSync, sign } from "node:crypto";
import { randomBytes } from "node:crypto";
import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { buildBroker } from "../src/broker/app.js";
import { describeSupportApp, SupportAppSource, type SupportAppState } from "../src/broker/downloads.js";
import { Store } from "../src/broker/store.js";
import { checkOwnFile } from "../src/app/integrity.js";
import { makeTrailer, parseTrailer, TRAILER_MAGIC, type AppPayload } from "../src/link/trailer.js";
import { rawPublicKey } from "../src/util/keys.js";
import { appStatusText, AppStatusBanner, combinedAppStatus, type SupportAppStatus } from "../src/console/app-status.js";
import { tempDir } from "./support/procs.js";

const signingKey = generateKeyPairSync("ed25519").privateKey;
const publicKeyB64 = rawPublicKey(signingKey).toString("base64url");
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** Writes bytes to a file and returns its path. */
function fileWith(bytes: Buffer, name = "app"): string {
  const f = join(tempDir("tether-delivery-"), name);
  writeFileSync(f, bytes);
  return f;
}

describe("the app's check of its own file", () => {
  const image = randomBytes(3 * 1024 * 1024 + 17); // more than one read chunk, not a multiple of it
  const payload: AppPayload = {
    v: 2,
    broker: "https://help.example.org",
    code: "c".repeat(32),
    session: "s_abc",
    issuedAt: 1,
    image: { size: image.length, sha256: sha256(image) },
  };
  const good = Buffer.concat([image, makeTrailer(payload, signingKey)]);

  it("accepts the image the signed trailer names, and says how much it hashed", () => {
    const r = checkOwnFile(fileWith(good), publicKeyB64);
    expect(r).toMatchObject({ ok: true, payload, imageBytes: image.length });
  });

  it("refuses any byte of the image changed, the image shortened or grown, or a trailer for another image", () => {
    for (const at of [0, 1 << 20, image.length >> 1, image.length - 1]) {
      const bad = Buffer.from(good);
      bad[at] = bad[at]! ^ 1;
      expect(checkOwnFile(fileWith(bad), publicKeyB64), `byte ${at}`).toEqual({ ok: false, reason: "tampered" });
    }
    const trailer = makeTrailer(payload, signingKey);
    expect(checkOwnFile(fileWith(Buffer.concat([image.subarray(1), trailer])), publicKeyB64).ok).toBe(false);
    expect(checkOwnFile(fileWith(Buffer.concat([image, Buffer.from([0]), trailer])), publicKeyB64).ok).toBe(false);
    const other = makeTrailer({ ...payload, image: { size: image.length, sha256: sha256(Buffer.from("another")) } }, signingKey);
    expect(checkOwnFile(fileWith(Buffer.concat([image, other])), publicKeyB64)).toEqual({ ok: false, reason: "tampered" });
  });

  it("refuses a format-1 trailer (signed, but over the session only) and says 'missing' without any", () => {
    const v1 = Buffer.from(JSON.stringify({ v: 1, broker: payload.broker, code: payload.code, session: payload.session, issuedAt: 1 }));
    const sig = sign(null, Buffer.concat([Buffer.from("tether-app-trailer-v1\0"), v1]), signingKey);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(v1.length);
    const old = Buffer.concat([image, v1, sig, len, TRAILER_MAGIC]);
    expect(parseTrailer(old.subarray(old.length - 1000), publicKeyB64)).toEqual({ ok: false, reason: "tampered" });
    expect(checkOwnFile(fileWith(old), publicKeyB64)).toEqual({ ok: false, reason: "tampered" });
    expect(checkOwnFile(fileWith(image), publicKeyB64)).toEqual({ ok: false, reason: "missing" });
  });
});

// ---------------------------------------------------------------------------------------------
// The broker's side

let dir: string;
let store: Store;
let app: FastifyInstance;
let token: string;
let appFile: string;
let winFile: string;
let changes: SupportAppState[];
const clock = Date.UTC(2026, 10, 28, 12, 0, 0);

async function broker(opts: { organization?: string; withApp?: boolean } = {}) {
  const source = new SupportAppSource({
    file: appFile,
    signingKey,
    publicKeyB64,
    buildCommand: "npm run build:app -- --data ./data",
    onChange: (s) => changes.push(s),
  });
  ({ app } = await buildBroker({
    store,
    now: () => clock,
    publicUrl: () => "http://broker.test",
    logLevel: false,
    ...(opts.organization !== undefined && { organization: opts.organization }),
    ...(opts.withApp !== false && {
      supportApp: source,
      windowsApp: new SupportAppSource({ file: winFile, signingKey, publicKeyB64, buildCommand: "npm run build:app -- --data ./data" }),
    }),
  }));
  return source;
}

const get = (url: string, headers: Record<string, string> = {}) => app.inject({ method: "GET", url, headers });
const newLinkPath = async () => {
  const r = await app.inject({
    method: "POST",
    url: "/api/sessions",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    payload: JSON.stringify({ expiresIn: 3600 }),
  });
  expect(r.statusCode).toBe(201);
  return new URL(r.json().link as string).pathname;
};
const status = async () => (await get("/api/status", { authorization: `Bearer ${token}` })).json().supportApp;

/** What `npm run build:app` leaves: the file (moved into place by rename) and its manifest. */
function build(image: Buffer, manifest: Record<string, unknown> = {}, file = appFile) {
  writeFileSync(file + ".tmp", image);
  renameSync(file + ".tmp", file);
  const m = { publicKey: publicKeyB64, size: image.length, sha256: sha256(image), ...manifest };
  writeFileSync(file + ".json.tmp", JSON.stringify(m));
  renameSync(file + ".json.tmp", file + ".json");
}

beforeEach(async () => {
  dir = tempDir("tether-delivery-broker-");
  store = Store.open(dir);
  const t = store.createTechnician("jane", "Jane Doe", null, clock);
  token = store.createToken(t.id, "api", clock, null);
  appFile = join(tempDir("tether-delivery-app-"), "tether-support-linux-x64");
  winFile = join(appFile, "..", "tether-support-windows-x64.exe");
  changes = [];
});
afterEach(async () => {
  await app?.close();
  store.close();
});

describe("the broker's support app, looked at on each request", () => {
  it("picks up an app built while it runs, serves it with a trailer naming its SHA-256, and a rebuild too", async () => {
    await broker();
    const link = await newLinkPath();
    expect((await get(link)).body).toContain("The download is not available on this server");
    expect((await get(`${link}/download`)).statusCode).toBe(503);
    expect(await status()).toMatchObject({
      available: false,
      reason: "not-built",
      message: expect.stringContaining("npm run build:app -- --data ./data"),
    });

    const first = randomBytes(2_500_000);
    build(first);
    expect((await get(link, { "user-agent": "Mozilla/5.0 (X11; Linux x86_64)" })).body).toContain('class="dl"');
    expect(await status()).toEqual({ available: true });
    const dl = await get(`${link}/download`);
    expect(dl.statusCode).toBe(200);
    expect(Number(dl.headers["content-length"])).toBe(dl.rawPayload.length);
    expect(dl.rawPayload.subarray(0, first.length).equals(first)).toBe(true);
    const t = parseTrailer(dl.rawPayload.subarray(first.length), publicKeyB64);
    expect(t).toMatchObject({ ok: true, payload: { v: 2, image: { size: first.length, sha256: sha256(first) } } });
    expect(checkOwnFile(fileWith(dl.rawPayload), publicKeyB64)).toMatchObject({ ok: true, imageBytes: first.length });

    const second = randomBytes(1_000_000);
    build(second);
    const again = await get(`${link}/download`);
    expect(again.rawPayload.subarray(0, second.length).equals(second)).toBe(true);
    expect(checkOwnFile(fileWith(again.rawPayload), publicKeyB64)).toMatchObject({ ok: true, imageBytes: second.length });
    expect(changes.map((s) => (s.available ? `available ${s.size}` : s.reason))).toEqual([
      "not-built",
      "available 2500000",
      "available 1000000",
    ]);
  });

  it("refuses a file that does not match its manifest, one built for another key, or one without a SHA-256", async () => {
    await broker();
    const link = await newLinkPath();
    const image = randomBytes(100_000);
    const cases: [Record<string, unknown>, string][] = [
      [{ sha256: sha256(Buffer.from("something else")) }, "mismatch"],
      [{ size: image.length + 1 }, "mismatch"],
      [{ publicKey: rawPublicKey(generateKeyPairSync("ed25519").privateKey).toString("base64url") }, "other-key"],
      [{ sha256: undefined }, "unverified"],
    ];
    for (const [manifest, reason] of cases) {
      build(image, manifest);
      expect(await status(), reason).toMatchObject({ available: false, reason });
      expect((await get(`${link}/download`)).statusCode).toBe(503);
      expect((await get(link)).body).not.toContain('class="dl"');
    }
    writeFileSync(appFile + ".json", "null");
    expect(await status()).toMatchObject({ available: false, reason: "unverified" });
    // The same file changed in place after the build (same inode): hashed again, refused.
    build(image);
    expect(await status()).toEqual({ available: true });
    const edited = Buffer.from(image);
    edited[5] = edited[5]! ^ 1;
    writeFileSync(appFile, edited);
    expect(await status()).toMatchObject({ available: false, reason: "mismatch" });
    expect(describeSupportApp(changes.at(-1)!)).toMatch(/^not available \(mismatch\): links offer no download\. .*npm run build:app/);
  });

  it("asks concurrent requests for one hash of a new file, and hashes again only when the file changes", async () => {
    const source = await broker();
    build(randomBytes(3_000_000));
    const [a, b, c] = await Promise.all([source.current(), source.current(), source.current()]);
    expect(a).toBe(b);
    expect(b).toBe(c);
    expect(await source.current()).toBe(a); // unchanged on disk: the very same result, no new hash
    writeFileSync(appFile + ".json", JSON.stringify({ publicKey: publicKeyB64, size: 1, sha256: "0".repeat(64) }));
    expect(await source.current()).toMatchObject({ available: false, reason: "mismatch" });
  });

  it("GET /api/status needs a technician; a broker without an app says so", async () => {
    await broker({ withApp: false });
    expect((await get("/api/status")).statusCode).toBe(401);
    expect(await status()).toMatchObject({ available: false, reason: "not-configured" });
  });
});

describe("the link page offers the app that fits the browser (Windows: the .exe)", () => {
  const EDGE = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 Edg/126.0";
  const LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
  const MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15";
  const buttons = (html: string) =>
    [...html.matchAll(/<a class="dl" href="([^"]+)" download="([^"]+)">([^<]+)<\/a>/g)].map((m) => m.slice(1));
  const links = (html: string) => [...html.matchAll(/<a href="([^"]+)" download="([^"]+)">([^<]+)<\/a>/g)].map((m) => m.slice(1));

  it("Edge on Windows gets the .exe and Windows steps, with a plain link to the Linux app; Linux the other way round; a Mac both, with a note", async () => {
    await broker();
    build(randomBytes(300_000));
    build(randomBytes(200_000), {}, winFile);
    const link = await newLinkPath();
    const id = link.split("/").at(-1)!;
    const win = (await get(link, { "user-agent": EDGE })).body;
    const sessionFile = /download="(tether-support-[^".]+)\.exe"/.exec(win)![1]!;
    expect(buttons(win)).toEqual([[`/s/${id}/download/windows`, `${sessionFile}.exe`, "Download the support app for Windows"]]);
    expect(links(win)).toEqual([[`/s/${id}/download`, sessionFile, "Download for Linux (x64) instead"]]);
    expect(win).toContain("It needs no installation and no administrator rights.");
    expect(win).toContain("“More info” and “Run anyway”"); // unsigned: what SmartScreen will say
    expect(win).not.toContain("chmod +x");
    // The UA-CH hint alone is enough too.
    expect(buttons((await get(link, { "user-agent": "Mozilla/5.0", "sec-ch-ua-platform": '"Windows"' })).body)[0]![0]).toMatch(
      /\/windows$/,
    );

    const lin = (await get(link, { "user-agent": LINUX })).body;
    expect(buttons(lin)).toEqual([[`/s/${id}/download`, sessionFile, "Download the support app for Linux (x64)"]]);
    expect(links(lin)).toEqual([[`/s/${id}/download/windows`, `${sessionFile}.exe`, "Download for Windows instead"]]);
    expect(lin).toContain("chmod +x");

    const mac = (await get(link, { "user-agent": MAC, "accept-language": "de-DE" })).body;
    expect(buttons(mac)).toEqual([]);
    expect(mac).toContain("Die Support-App ist für macOS nicht verfügbar. Sie läuft unter Windows (10 und 11, 64 Bit) und Linux (x64)");
    expect(links(mac).map((l) => l[0])).toEqual([`/s/${id}/download/windows`, `/s/${id}/download`]);
    expect(mac).toContain("<h3>Unter Windows</h3>");

    // Without a Windows build, Windows visitors are told so (the Linux link stays).
    const { rmSync } = await import("node:fs");
    rmSync(winFile);
    const none = (await get(link, { "user-agent": EDGE })).body;
    expect(buttons(none)).toEqual([]);
    expect(none).toContain("The download is not available on this server at the moment.");
    expect((await get(`${link}/download/windows`)).statusCode).toBe(503);
    const st = (await get("/api/status", { authorization: `Bearer ${token}` })).json();
    expect(st.supportApp).toEqual({ available: true });
    expect(st.windowsApp).toMatchObject({ available: false, reason: "not-built" });
  });

  it("the .exe download: its own name and type, the trailer after it; a signed one's trailer fills its slot exactly", async () => {
    await broker();
    const image = randomBytes(150_000);
    build(image, {}, winFile);
    const link = await newLinkPath();
    const dl = await get(`${link}/download/windows`);
    expect(dl.statusCode).toBe(200);
    expect(dl.headers["content-disposition"]).toMatch(/^attachment; filename="tether-support-[\w-]{8}\.exe"$/);
    expect(dl.headers["content-type"]).toBe("application/vnd.microsoft.portable-executable");
    expect(checkOwnFile(fileWith(dl.rawPayload), publicKeyB64)).toMatchObject({ ok: true, imageBytes: image.length });

    build(image, { signed: true, trailerBytes: 2048 }, winFile);
    const signedDl = await get(`${link}/download/windows`, { "user-agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)" });
    expect(signedDl.rawPayload.length).toBe(image.length + 2048);
    expect(checkOwnFile(fileWith(signedDl.rawPayload), publicKeyB64)).toMatchObject({ ok: true, imageBytes: image.length });
    expect((await get(link, { "user-agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)" })).body).toContain("Windows names the publisher");
    // A slot that cannot hold a trailer, or one larger than any: the manifest is not believed.
    for (const trailerBytes of [100, 100_000, "2048"]) {
      build(image, { trailerBytes }, winFile);
      expect((await get(`${link}/download/windows`)).statusCode, String(trailerBytes)).toBe(503);
    }
  });
});

describe("the link page's organisation", () => {
  const page = async (lang: string) =>
    (await get(await newLinkPath(), { "accept-language": lang, "user-agent": "Mozilla/5.0 (X11; Linux x86_64)" })).body;

  it("names the organisation given with --organization", async () => {
    await broker({ organization: "ACME IT" });
    const en = await page("en");
    expect(en).toContain("<h1>Remote support from ACME IT</h1>");
    expect(en).toContain("Jane Doe from ACME IT has invited you to a remote support session.");
    expect(en).toContain("close this page and call ACME IT on a number you already know.");
    const de = await page("de");
    expect(de).toContain("<h1>Fernsupport von ACME IT</h1>");
    expect(de).toContain("rufen Sie ACME IT unter einer Nummer an, die Sie bereits kennen.");
  });

  it("without it (or with an empty one) speaks of the user's support desk, never of Tether", async () => {
    for (const organization of [undefined, "  "]) {
      await app?.close();
      await broker(organization === undefined ? {} : { organization });
      const en = await page("en");
      expect(en).toContain("<title>Remote support</title>");
      expect(en).toContain("Jane Doe has invited you to a remote support session.");
      expect(en).toContain("close this page and call your support desk on a number you already know.");
      expect(en).not.toContain("Tether");
      const de = await page("de-DE");
      expect(de).toContain("<h1>Fernsupport</h1>");
      expect(de).toContain("Jane Doe hat Sie zu einer Fernsupport-Sitzung eingeladen.");
      expect(de).toContain("rufen Sie Ihren Support unter einer Nummer an, die Sie bereits kennen.");
      expect(de).not.toContain("Tether");
    }
  });
});

describe("the console's support-app banner", () => {
  it("speaks of Windows users when only the Windows app is missing", () => {
    const missing = { available: false, reason: "not-built", message: "Build it." };
    expect(combinedAppStatus({ available: true }, { available: true })).toEqual({ available: true });
    expect(combinedAppStatus({ available: true }, { available: false, reason: "not-configured" })).toEqual({ available: true });
    expect(combinedAppStatus(missing, missing)).toEqual(missing);
    expect(appStatusText(combinedAppStatus({ available: true }, missing)!)).toBe(
      "New links have no download for users on Windows: Build it.",
    );
    expect(combinedAppStatus(undefined, missing)).toBeNull();
  });

  it("warns, with what to run, only while new links would have no download", () => {
    expect(appStatusText({ available: true })).toBeNull();
    expect(
      appStatusText({
        available: false,
        reason: "not-built",
        message: "No support app is built for this broker. Run on the broker's computer: npm run build:app -- --data ./data",
      }),
    ).toBe(
      "New links have no download for the user: No support app is built for this broker. Run on the broker's computer: npm run build:app -- --data ./data",
    );
  });

  it("shows and hides its element by the latest answer; no answer leaves it as it is", async () => {
    const el = { textContent: "" as string | null, hidden: true };
    const answers: ((s: SupportAppStatus | null) => void)[] = [];
    const banner = new AppStatusBanner(el, () => new Promise((r) => answers.push(r)));
    const first = banner.refresh();
    answers[0]!({ available: false, message: "Build it." });
    await first;
    expect(el).toEqual({ textContent: "New links have no download for the user: Build it.", hidden: false });
    const older = banner.refresh();
    const newer = banner.refresh();
    answers[2]!({ available: true });
    answers[1]!({ available: false, message: "stale" }); // arrives last, asked first: ignored
    await Promise.all([older, newer]);
    expect(el.hidden).toBe(true);
    const offline = banner.refresh();
    answers[3]!(null);
    await offline;
    expect(el.hidden).toBe(true);
  });
});
