/**
 * The support app download, compressed (issue 18): a client that accepts br or gzip gets the image
 * from a copy compressed once per image, with its session's trailer appended, and saves exactly
 * image + trailer. In-process with a stand-in image (each coding, two sessions, Accept-Encoding with
 * weights, HEAD, a rebuild, a copy on disk that is not the image); then the real app built here,
 * served by a real broker and downloaded by Chromium, with the bytes on the wire counted.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { chmodSync, existsSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { createServer, connect, type Server } from "node:net";
import { join } from "node:path";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import type { FastifyInstance } from "fastify";
import { chromium, type Browser } from "playwright-core";
import { buildBroker } from "../src/broker/app.js";
import { SupportAppSource } from "../src/broker/downloads.js";
import { chooseCoding } from "../src/broker/accept-encoding.js";
import { framing } from "../src/broker/compressed-image.js";
import { Store } from "../src/broker/store.js";
import { checkOwnFile } from "../src/app/integrity.js";
import { makeTrailer, parseTrailer, loadOrCreateSigningKey } from "../src/link/trailer.js";
import { rawPublicKey } from "../src/util/keys.js";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "./support/chromium.js";
import { addTechnician, api, newUserComputer, ROOT, startApp, startBroker, tempDir, until, type Broker } from "./support/procs.js";

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const decode = (coding: string | undefined, wire: Buffer): Buffer =>
  coding === "br" ? brotliDecompressSync(wire) : coding === "gzip" ? gunzipSync(wire) : wire;

describe("Accept-Encoding (RFC 9110 §12.5.3)", () => {
  const both = ["br", "gzip"] as const;
  it("prefers br, then gzip, by weight and then by the server's order; unnamed identity comes last", () => {
    const cases: [string | undefined, string][] = [
      ["gzip, deflate, br, zstd", "br"], // Chromium
      ["gzip, deflate", "gzip"],
      ["br;q=0.5, gzip;q=0.8", "gzip"],
      ["BR;Q=1, GZIP", "br"],
      ["x-gzip", "gzip"],
      ["*", "br"],
      ["*;q=0.3, br;q=0", "gzip"],
      ["br;q=0, gzip;q=0", "identity"],
      ["identity", "identity"],
      ["identity;q=1, br;q=0.9", "identity"],
      ["br;q=0.001", "br"], // weighed above zero: before identity, which is not named
      ["", "identity"], // empty: no coding wanted
      [undefined, "identity"], // not asked: curl or wget would save it undecoded
      ["*;q=0", "identity"], // nothing acceptable: the header is disregarded, no error
      ["deflate, zstd", "identity"],
    ];
    for (const [header, want] of cases) expect(chooseCoding(header, both), String(header)).toBe(want);
    expect(chooseCoding("gzip, br", ["gzip"])).toBe("gzip"); // br not ready yet
    expect(chooseCoding("br", [])).toBe("identity");
  });

  it("leaves out elements that do not parse, and nothing else", () => {
    const cases: [string, string][] = [
      ["br;q=2, gzip", "gzip"],
      ["br;q=0.0001, gzip", "gzip"],
      ["br;q=, gzip;q=0.5", "gzip"],
      ["br;q=abc", "identity"],
      ["b r, gzip", "gzip"],
      ['"br", gzip;q=0.1', "gzip"],
      [",,, br ;; q=1 ,", "br"],
      ["br;foo=bar", "br"],
      ["\u0000\uffff, br", "br"],
      ["x".repeat(10_000), "identity"],
    ];
    for (const [header, want] of cases) expect(chooseCoding(header, both), header.slice(0, 40)).toBe(want);
    expect(chooseCoding(["gzip;q=0.5", "br;q=0.4"], both)).toBe("gzip"); // the header sent twice
  });
});

// ---------------------------------------------------------------------------------------------
// In-process, with a stand-in image

const signingKey = generateKeyPairSync("ed25519").privateKey;
const publicKeyB64 = rawPublicKey(signingKey).toString("base64url");
const clock = Date.UTC(2026, 10, 28, 12, 0, 0);

let store: Store;
let app: FastifyInstance;
let source: SupportAppSource;
let token: string;
let appFile: string;

/** Compressible like an executable is: some noise, some repetition. */
const standIn = (n: number) =>
  Buffer.concat([randomBytes(n >> 2), Buffer.from("tether support app ".repeat(n >> 4)), randomBytes(n >> 3)]).subarray(0, n);

/** What `npm run build:app` leaves: the file (moved into place by rename) and its manifest. */
function build(image: Buffer) {
  writeFileSync(appFile + ".tmp", image);
  renameSync(appFile + ".tmp", appFile);
  writeFileSync(appFile + ".json.tmp", JSON.stringify({ publicKey: publicKeyB64, size: image.length, sha256: sha256(image) }));
  renameSync(appFile + ".json.tmp", appFile + ".json");
}

const get = (url: string, acceptEncoding?: string, method: "GET" | "HEAD" = "GET") =>
  app.inject({ method, url, headers: acceptEncoding === undefined ? {} : { "accept-encoding": acceptEncoding } });

async function newSession(): Promise<{ path: string; code: string; id: string }> {
  const r = await app.inject({
    method: "POST",
    url: "/api/sessions",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    payload: JSON.stringify({ expiresIn: 3600 }),
  });
  expect(r.statusCode).toBe(201);
  const path = new URL(r.json().link as string).pathname;
  return { path, code: path.split("/").at(-1)!, id: r.json().id as string };
}

/** The trailer the broker signs for this session and image (Ed25519 signatures are deterministic). */
const trailerFor = (s: { code: string; id: string }, image: Buffer) =>
  makeTrailer(
    {
      v: 2,
      broker: "http://broker.test",
      code: s.code,
      session: s.id,
      issuedAt: clock,
      image: { size: image.length, sha256: sha256(image) },
    },
    signingKey,
  );

beforeEach(async () => {
  store = Store.open(tempDir("tether-compress-broker-"));
  const t = store.createTechnician("jane", "Jane Doe", null, clock);
  token = store.createToken(t.id, "api", clock, null);
  appFile = join(tempDir("tether-compress-app-"), "tether-support-linux-x64");
  source = new SupportAppSource({ file: appFile, signingKey, publicKeyB64, buildCommand: "npm run build:app" });
  ({ app } = await buildBroker({ store, now: () => clock, publicUrl: () => "http://broker.test", logLevel: false, supportApp: source }));
});
afterEach(async () => {
  await app?.close();
  await source.compressed.whenIdle();
  store.close();
});

describe("compressed downloads (in-process, a 3 MB stand-in image)", () => {
  it("br, gzip and identity each decompress to exactly image + this session's trailer, for two sessions", async () => {
    const image = standIn(3_000_000);
    build(image);
    await source.current();
    await source.compressed.whenIdle();
    const sessions = [await newSession(), await newSession()];
    const expected = sessions.map((s) => Buffer.concat([image, trailerFor(s, image)]));
    expect(sha256(expected[0]!)).not.toBe(sha256(expected[1]!));
    for (const [i, s] of sessions.entries()) {
      for (const [accept, coding] of [
        ["gzip, deflate, br, zstd", "br"],
        ["gzip", "gzip"],
        [undefined, undefined],
      ] as const) {
        const r = await get(`${s.path}/download`, accept);
        expect(r.statusCode).toBe(200);
        expect(r.headers["content-encoding"], String(accept)).toBe(coding);
        expect(r.headers["vary"]).toBe("Accept-Encoding");
        expect(r.headers["content-disposition"]).toBe(`attachment; filename="tether-support-${s.id.slice(2, 10)}"`);
        expect(Number(r.headers["content-length"])).toBe(r.rawPayload.length);
        const saved = decode(coding, r.rawPayload);
        expect(sha256(saved), `${coding} session ${i}`).toBe(sha256(expected[i]!));
        if (coding) expect(r.rawPayload.length).toBeLessThan(image.length * 0.75);
        // HEAD: the same headers, no body, and no file read.
        const head = await get(`${s.path}/download`, accept, "HEAD");
        expect(head.rawPayload.length).toBe(0);
        expect(head.headers["content-length"]).toBe(r.headers["content-length"]);
        expect(head.headers["content-encoding"]).toBe(coding);
      }
    }
    expect(
      checkOwnFile(writeTemp(decode("br", (await get(`${sessions[0]!.path}/download`, "br")).rawPayload)), publicKeyB64),
    ).toMatchObject({
      ok: true,
      imageBytes: image.length,
    });
  });

  it("sends the image as it is until its copies are ready, and by the client's weights after", async () => {
    const image = standIn(2_000_000);
    build(image);
    const s = await newSession();
    const first = await get(`${s.path}/download`, "br, gzip"); // the first look at the image starts the copies
    expect(first.headers["content-encoding"]).toBeUndefined();
    expect(first.rawPayload.equals(Buffer.concat([image, trailerFor(s, image)]))).toBe(true);
    await source.compressed.whenIdle();
    const weights: [string, string | undefined][] = [
      ["br;q=0, gzip", "gzip"],
      ["gzip;q=0.9, br;q=0.8", "gzip"],
      ["*", "br"],
      ["identity", undefined],
      ["br;q=0, gzip;q=0", undefined],
      ["garbage;;==,", undefined],
      ["br;q=7", undefined],
    ];
    for (const [accept, coding] of weights) {
      const r = await get(`${s.path}/download`, accept);
      expect(r.headers["content-encoding"], accept).toBe(coding);
      expect(decode(coding, r.rawPayload).equals(Buffer.concat([image, trailerFor(s, image)])), accept).toBe(true);
    }
  });

  it("a rebuild: never the old image's copy with the new trailer; the new image's copies follow, the old ones go", async () => {
    const first = standIn(1_500_000);
    build(first);
    await source.current();
    await source.compressed.whenIdle();
    const dir = join(appFile, "..");
    const copies = (image: Buffer) => readdirSync(dir).filter((f) => f.includes(sha256(image)));
    expect(copies(first).sort()).toEqual([
      `tether-support-linux-x64.${sha256(first)}.br`,
      `tether-support-linux-x64.${sha256(first)}.deflate`,
    ]);
    const s = await newSession();
    expect((await get(`${s.path}/download`, "br")).headers["content-encoding"]).toBe("br");

    const second = standIn(1_200_000);
    build(second);
    const r = await get(`${s.path}/download`, "br");
    expect(
      decode(r.headers["content-encoding"] as string | undefined, r.rawPayload).equals(Buffer.concat([second, trailerFor(s, second)])),
    ).toBe(true);
    await source.compressed.whenIdle();
    const again = await get(`${s.path}/download`, "br");
    expect(again.headers["content-encoding"]).toBe("br");
    expect(decode("br", again.rawPayload).equals(Buffer.concat([second, trailerFor(s, second)]))).toBe(true);
    expect(copies(first)).toEqual([]);
    expect(copies(second)).toHaveLength(2);
  });

  it("a copy found on disk is checked, not trusted: a good one is used as it is, a changed one is made again", async () => {
    const image = standIn(1_000_000);
    build(image);
    await source.current();
    await source.compressed.whenIdle();
    const br = `${appFile}.${sha256(image)}.br`;
    const made = statSync(br).mtimeMs;

    // A restart: a new broker process finds the copies.
    const later = async () => {
      await app.close();
      source = new SupportAppSource({ file: appFile, signingKey, publicKeyB64, buildCommand: "npm run build:app" });
      ({ app } = await buildBroker({
        store,
        now: () => clock,
        publicUrl: () => "http://broker.test",
        logLevel: false,
        supportApp: source,
      }));
      await source.current();
      await source.compressed.whenIdle();
    };
    await later();
    expect(statSync(br).mtimeMs).toBe(made);
    const s = await newSession();
    expect(decode("br", (await get(`${s.path}/download`, "br")).rawPayload).equals(Buffer.concat([image, trailerFor(s, image)]))).toBe(
      true,
    );

    // A byte of the copy changed while the broker was down: it would decompress to another image.
    const bytes = readFileSync(br);
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0x40;
    writeFileSync(br, bytes);
    await later();
    const r = await get(`${s.path}/download`, "br");
    expect(r.headers["content-encoding"]).toBe("br");
    expect(decode("br", r.rawPayload).equals(Buffer.concat([image, trailerFor(s, image)]))).toBe(true);
    expect(readFileSync(br).equals(bytes)).toBe(false);

    // Changed while the broker runs (after it was checked): not sent; checked again, then sent.
    const good = readFileSync(br);
    writeFileSync(br, Buffer.concat([good, Buffer.from([0])]));
    const meanwhile = await get(`${s.path}/download`, "br");
    expect(meanwhile.headers["content-encoding"]).toBeUndefined();
    expect(meanwhile.rawPayload.equals(Buffer.concat([image, trailerFor(s, image)]))).toBe(true);
    await source.compressed.whenIdle();
    const fixed = await get(`${s.path}/download`, "br");
    expect(fixed.headers["content-encoding"]).toBe("br");
    expect(decode("br", fixed.rawPayload).equals(Buffer.concat([image, trailerFor(s, image)]))).toBe(true);
  });

  it("frames trailers of any length: empty, one byte, and across the 64 KiB block limits", async () => {
    const image = standIn(300_000);
    build(image);
    await source.current();
    await source.compressed.whenIdle();
    const crc = (await source.compressed.open({ size: image.length, sha256: sha256(image) }, "gzip"))!;
    await crc.handle.close();
    for (const coding of ["br", "gzip"] as const) {
      const copy = readFileSync(`${appFile}.${sha256(image)}.${coding === "br" ? "br" : "deflate"}`);
      for (const n of [0, 1, 65_535, 65_536, 65_537, 200_000]) {
        const trailer = randomBytes(n);
        const { head, tail } = framing(coding, trailer, { size: image.length, crc32: crc.imageCrc32 });
        const saved = decode(coding, Buffer.concat([head, copy, tail]));
        expect(saved.equals(Buffer.concat([image, trailer])), `${coding} ${n}`).toBe(true);
      }
    }
  });
});

function writeTemp(bytes: Buffer): string {
  const f = join(tempDir("tether-compress-saved-"), "app");
  writeFileSync(f, bytes);
  return f;
}

// ---------------------------------------------------------------------------------------------
// The real app, a real broker, Chromium

describe("the real support app, downloaded by Chromium", () => {
  let broker: Broker;
  let tech: ReturnType<typeof api>;
  let realApp: string;
  let browser: Browser;
  let proxy: Server;
  let proxied = 0;
  /** The Accept-Encoding of each download request that went through the proxy. */
  const asked: string[] = [];

  /** A download's headers and the bytes on the wire (not decoded). */
  const fetchRaw = (url: string, acceptEncoding: string) =>
    new Promise<{ headers: Record<string, string | string[] | undefined>; body: Buffer }>((resolve, reject) => {
      request(url, { headers: { "accept-encoding": acceptEncoding } }, (res) => {
        const parts: Buffer[] = [];
        res.on("data", (d: Buffer) => parts.push(d)).on("end", () => resolve({ headers: res.headers, body: Buffer.concat(parts) }));
      })
        .on("error", reject)
        .end();
    });

  beforeAll(async () => {
    const dataDir = tempDir("tether-compress-real-");
    const outDir = tempDir("tether-compress-build-");
    execFileSync(process.execPath, [join(ROOT, "scripts", "build-app.mjs"), "--data", dataDir, "--out", outDir, "--platform", "linux"], {
      stdio: "pipe",
    });
    realApp = join(outDir, "tether-support-linux-x64");
    const started = performance.now();
    broker = await startBroker({ dataDir, args: ["--app", realApp] });
    tech = api(broker.url, await addTechnician(dataDir, "jane", "Jane Doe"));
    // The copies are made once, in the background, after the broker has seen the image.
    const s = await tech.createSession();
    const encodingOf = async (accept: string) =>
      (await fetch(s.link + "/download", { method: "HEAD", headers: { "accept-encoding": accept } })).headers.get("content-encoding");
    await until(async () => (await encodingOf("br")) === "br" && (await encodingOf("gzip")) === "gzip", 300_000, "the compressed copies");
    process.stdout.write(
      `support app ${(statSync(realApp).size / 1e6).toFixed(1)} MB: br and gzip copies ready ${((performance.now() - started) / 1000).toFixed(1)} s after the broker started\n`,
    );
    // Counts what the broker sends to the browser.
    proxy = createServer((client) => {
      const upstream = connect(broker.port, "127.0.0.1");
      client.on("data", (d: Buffer) => {
        const head = /^GET \S+\/download HTTP\/1\.1\r\n[\s\S]*?\r\n\r\n/.exec(d.toString("latin1"))?.[0];
        if (head) asked.push(/\r\naccept-encoding: *([^\r]*)/i.exec(head)?.[1] ?? "(none)");
      });
      upstream.on("data", (d: Buffer) => (proxied += d.length));
      client.pipe(upstream).pipe(client);
      client.on("error", () => upstream.destroy());
      upstream.on("error", () => client.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  }, 400_000);
  afterAll(async () => {
    await browser?.close();
    proxy?.close();
    await broker?.stop();
  });

  it("br travels in at most 45 MB, gzip in less than the image; each is the image and a valid trailer", async () => {
    const image = readFileSync(realApp);
    const { publicKeyB64: brokerKey } = loadOrCreateSigningKey(broker.dataDir);
    const s = await tech.createSession();
    for (const accept of ["br", "gzip"]) {
      const { headers, body } = await fetchRaw(s.link + "/download", accept);
      expect(headers["content-encoding"]).toBe(accept);
      expect(Number(headers["content-length"])).toBe(body.length);
      process.stdout.write(
        `support app download, ${accept}: ${(body.length / 1e6).toFixed(1)} MB on the wire for ${(image.length / 1e6).toFixed(1)} MB\n`,
      );
      if (accept === "br") expect(body.length).toBeLessThanOrEqual(45_000_000);
      else expect(body.length).toBeLessThan(image.length * 0.4);
      const saved = decode(accept, body);
      expect(sha256(saved.subarray(0, image.length))).toBe(sha256(image));
      expect(parseTrailer(saved.subarray(image.length), brokerKey)).toMatchObject({
        ok: true,
        payload: { session: s.id, image: { size: image.length, sha256: sha256(image) } },
      });
    }
  }, 60_000);

  it("Chromium saves a file that is the image and this session's trailer, and it runs", async () => {
    const image = readFileSync(realApp);
    const { publicKeyB64: brokerKey } = loadOrCreateSigningKey(broker.dataDir);
    const s = await tech.createSession();
    const link = s.link.replace(broker.url, `http://127.0.0.1:${(proxy.address() as { port: number }).port}`);
    const ctx = await browser.newContext({ acceptDownloads: true, userAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0" });
    const page = await ctx.newPage();
    await page.goto(link);
    const before = proxied;
    const started = performance.now();
    const [dl] = await Promise.all([page.waitForEvent("download"), page.locator("a.dl").click()]);
    const file = join(tempDir("tether-compress-chromium-"), dl.suggestedFilename());
    await dl.saveAs(file);
    const onWire = proxied - before;
    await ctx.close();
    process.stdout.write(
      `Chromium download (Accept-Encoding: ${asked.join(" | ")}): ${(onWire / 1e6).toFixed(1)} MB on the wire, ` +
        `${(statSync(file).size / 1e6).toFixed(1)} MB saved, ${((performance.now() - started) / 1000).toFixed(2)} s\n`,
    );
    expect(dl.suggestedFilename()).toBe(`tether-support-${s.id.slice(2, 10)}`);
    expect(asked).toHaveLength(1);
    expect(chooseCoding(asked[0], ["br", "gzip"])).toBe("br"); // on plain HTTP to 127.0.0.1 too
    expect(onWire).toBeLessThanOrEqual(45_000_000);
    const saved = readFileSync(file);
    expect(sha256(saved.subarray(0, image.length))).toBe(sha256(image));
    expect(parseTrailer(saved.subarray(image.length), brokerKey)).toMatchObject({ ok: true, payload: { session: s.id } });
    chmodSync(file, 0o755);
    const check = startApp(file, newUserComputer(), ["--check"]);
    expect((await check.exited).code).toBe(0);
    expect(check.out.all.find((l) => l.startsWith("integrity: "))).toMatch(/^integrity: ok /);
    expect(existsSync(file)).toBe(true);
  }, 120_000);
});
