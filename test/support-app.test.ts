/**
 * The single-file support app and its link page, as an end user meets them: the executable is
 * built here (npm run build:app's script), downloaded through the link of a real session, and run
 * with no Node.js on PATH and an empty HOME; the link page is opened in headless Chromium.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, readFileSync, statSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { Receiver, shows } from "./support/receiver.js";
import { startXvfb } from "./support/xvfb.js";
import { TestXClient } from "./support/x11-client.js";
import { addTechnician, api, newUserComputer, ROOT, startApp, startBroker, tempDir, until, type Broker, type Proc } from "./support/procs.js";

let broker: Broker;
let tech: ReturnType<typeof api>;
let techToken: string;
let appFile: string;
let browser: Browser;
const running: Proc[] = [];
const LINUX_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36";

beforeAll(async () => {
  const dataDir = tempDir("tether-app-broker-");
  const outDir = tempDir("tether-app-build-");
  execFileSync(process.execPath, [join(ROOT, "scripts", "build-app.mjs"), "--data", dataDir, "--out", outDir], { stdio: "pipe" });
  appFile = join(outDir, "tether-support-linux-x64");
  broker = await startBroker({ dataDir, args: ["--app", appFile, "--organization", "ACME IT"] });
  techToken = await addTechnician(broker.dataDir, "jane", "Jane Doe");
  tech = api(broker.url, techToken);
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}, 180_000);
afterAll(async () => {
  for (const p of running) p.child.kill("SIGKILL");
  await browser?.close();
  await broker?.stop();
});

/** Downloads the app through the session's link page, as a browser on Linux would. */
async function download(link: string): Promise<string> {
  const page = await fetch(link, { headers: { "user-agent": LINUX_UA } });
  expect(page.status).toBe(200);
  const href = /<a class="dl" href="([^"]+)"/.exec(await page.text())![1]!;
  const res = await fetch(new URL(href, link));
  expect(res.status).toBe(200);
  const name = /filename="([^"]+)"/.exec(res.headers.get("content-disposition") ?? "")![1]!;
  const file = join(tempDir("tether-download-"), name);
  writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  chmodSync(file, 0o755);
  return file;
}

const app = (...a: Parameters<typeof startApp>) => {
  const p = startApp(...a);
  running.push(p);
  return p;
};

describe("the downloaded support app", () => {
  it("runs with no Node.js and an empty HOME, binds on the first computer; a second computer is invalid (exit 3)", async () => {
    const s = await tech.createSession();
    const file = await download(s.link);
    expect(file).toMatch(new RegExp(`tether-support-${s.id.slice(2, 10)}$`));
    // The prebuilt executable plus a small signed trailer: no rebuild per session.
    expect(statSync(file).size - statSync(appFile).size).toBeGreaterThan(64);
    expect(statSync(file).size - statSync(appFile).size).toBeLessThan(1024);

    const A = newUserComputer();
    const noNode = spawnSync("/bin/sh", ["-c", "command -v node"], { env: { PATH: tempDir() } });
    expect(noNode.status).not.toBe(0);
    const a = app(file, A);
    await a.out.waitFor(/^Connected\. Waiting for your support technician \(Jane Doe\)\.$/, 20_000);
    await until(async () => (await tech.session(s.id)).online, 5000, "online");
    expect(existsSync(join(A.home, ".local", "state", "tether", "identity.pem"))).toBe(true);

    const b = app(file, newUserComputer());
    expect((await b.exited).code).toBe(3);
    expect(b.out.all).toContain("The support session is invalid.");

    await tech.close(s.id);
    expect((await a.exited).code).toBe(5);
    expect(a.out.all.at(-1)).toBe("The support session was closed by your support technician.");
  }, 60_000);

  it("a file edited to point elsewhere, or stripped of its session, refuses to run with one clear line", async () => {
    const s = await tech.createSession();
    const file = await download(s.link);
    const bytes = readFileSync(file);
    const at = bytes.lastIndexOf(Buffer.from(`"broker":"${broker.url}"`));
    expect(at).toBeGreaterThan(0);
    const forged = Buffer.from(bytes);
    forged.write(`"broker":"http://127.0.0.2:${broker.port}"`, at); // same length, another broker
    const tampered = join(tempDir(), "tether-support-x");
    writeFileSync(tampered, forged, { mode: 0o755 });
    const t = app(tampered, newUserComputer(), [], { LANG: "de_DE.UTF-8" });
    expect((await t.exited).code).toBe(2);
    expect(t.err.all).toEqual(["Diese Support-App wurde verändert und wird nicht gestartet. Laden Sie sie erneut über den Link Ihres Supportmitarbeiters herunter."]);

    const t2 = app(appFile, newUserComputer()); // the prebuilt file, no session in it
    expect((await t2.exited).code).toBe(2);
    expect(t2.err.all).toEqual(["This support app carries no support session. Download it from the link your technician sent."]);
    expect((await tech.session(s.id)).state).toBe("waiting");
  }, 60_000);

  it("streams the screen from its built-in WebRTC and native parts once the user consents", async () => {
    const xvfb = await startXvfb({ width: 320, height: 240 });
    const xclient = await TestXClient.start(xvfb.display);
    try {
      await xclient.fill(0, 0, 320, 240, 0x20a040);
      const s = await tech.createSession();
      const a = app(await download(s.link), newUserComputer(), [], { DISPLAY: xvfb.display });
      await a.out.waitFor(/^Connected\./, 20_000);
      await until(async () => (await tech.session(s.id)).online, 5000, "online");
      const rx = await Receiver.connect(broker.url, techToken);
      const r = await tech.requestAccess(s.id, "view");
      rx.accessRequestId = r.json.id;
      await a.out.waitFor(/requests to view your screen/);
      a.child.stdin!.write("y\n");
      await a.out.waitFor(/^Jane Doe is now viewing your screen\.$/, 20_000);
      await rx.frame(320, 240, (f) => shows(f, 160, 120, 0x20a040));
      rx.close();
      a.child.kill("SIGINT");
      expect((await a.exited).code).toBe(0);
    } finally {
      await xclient.stop();
      await xvfb.stop();
    }
  }, 60_000);

  it("--help explains itself; --check loads WebRTC and the native addon from the private cache", async () => {
    const s = await tech.createSession();
    const file = await download(s.link);
    const help = app(file, newUserComputer(), ["--help"]);
    expect((await help.exited).code).toBe(0);
    expect(help.out.text()).toMatch(new RegExp(`Usage: tether-support[\\s\\S]*support session ${s.id} at 127\\.0\\.0\\.1:${broker.port}`));
    const U = newUserComputer();
    const check = app(file, U, ["--check"]);
    expect((await check.exited).code).toBe(0);
    expect(check.out.all).toContain("webrtc: ok");
    expect(check.out.all).toContain("webrtc tuning: available"); // its wrtc.node keeps the symbols field-trials.ts needs
    expect(check.out.all).toContain("vp8 active map: available"); // and the LibvpxFacade vtable the encoder hook needs
    expect(check.out.all).toContain("vp8 profile 2: available"); // and libvpx 1.12 inside it
    expect(check.out.all).toContain("padding floor: can be removed"); // and VideoSendStreamImpl's vtable
    expect(check.out.all).toContain("vp8 encoder: Tether's libvpx"); // the addon carries it; the module's front end is 1.12
    expect(check.out.text()).toMatch(new RegExp(`native: ok \\(${U.home}/\\.cache/tether/app-[0-9a-f]{16}/tether_native\\.node\\)`));
    const cacheDir = check.out.text().match(/\((\/.*)\/tether_native\.node\)/)![1]!;
    expect(statSync(cacheDir).mode & 0o777).toBe(0o700);
    expect((await tech.session(s.id)).state).toBe("waiting"); // --help and --check bind nothing
  }, 60_000);
});

describe("the native addon the app carries", () => {
  it("needs only libraries every X desktop has (libyuv is linked in: user computers rarely have it)", () => {
    const allowed = /^(libX11|libXext|libXdamage|libXfixes|libXrandr|libXtst|libXi|libstdc\+\+|libgcc_s|libc|libm|ld-linux-x86-64)\.so\.\d+$/;
    for (const file of ["tether_native.node", "tether_native_unsupported.node"]) {
      const dynamic = execFileSync("readelf", ["-d", join(ROOT, "build", "Release", file)], { encoding: "utf8" });
      const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);
      expect(needed, file).toContain("libc.so.6");
      expect(needed.filter((lib) => !allowed.test(lib)), file).toEqual([]);
    }
  });
});

describe("the link page", () => {
  it("names the technician and organisation, warns about scams, offers the download; after closing it is gone", async () => {
    const s = await tech.createSession();
    const ctx = await browser.newContext({ userAgent: LINUX_UA, acceptDownloads: true, locale: "en-US" });
    const page = await ctx.newPage();
    const res = await page.goto(s.link);
    expect(res!.status()).toBe(200);
    await expect(page.locator("h1").textContent()).resolves.toBe("Remote support from ACME IT");
    const body = await page.locator("body").innerText();
    expect(body).toContain("Jane Doe from ACME IT has invited you to a remote support session.");
    expect(body).toContain("Only continue if you contacted this support desk yourself.");
    expect(body).toMatch(/Nothing on your screen is shared/);
    const [dl] = await Promise.all([page.waitForEvent("download"), page.locator("a.dl").click()]);
    expect(dl.suggestedFilename()).toBe(`tether-support-${s.id.slice(2, 10)}`);
    await dl.cancel();
    await page.screenshot({ path: join(tempDir(), "link-page.png") });
    expect((await tech.session(s.id)).state).toBe("waiting"); // opening and downloading bind nothing

    await tech.close(s.id);
    const gone = await page.goto(s.link);
    expect(gone!.status()).toBe(404);
    await expect(page.locator("h1").textContent()).resolves.toBe("This support app is no longer available");
    expect(await page.locator("a").count()).toBe(0);
    await ctx.close();
  }, 60_000);

  it("speaks German to a German browser and says other platforms are not yet supported", async () => {
    const s = await tech.createSession();
    const ctx = await browser.newContext({ userAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0", locale: "de-DE" });
    const page = await ctx.newPage();
    await page.goto(s.link);
    const body = await page.locator("body").innerText();
    expect(body).toContain("Jane Doe von ACME IT hat Sie zu einer Fernsupport-Sitzung eingeladen.");
    expect(body).toContain("Fahren Sie nur fort, wenn Sie sich selbst an diesen Support gewandt haben.");
    expect(body).toContain("Die Support-App ist für Windows noch nicht verfügbar.");
    expect(await page.locator("a.dl").count()).toBe(0);
    await tech.remove(s.id);
    await page.goto(s.link);
    await expect(page.locator("h1").textContent()).resolves.toBe("Diese Support-App ist nicht mehr verfügbar");
    await ctx.close();
  }, 60_000);

  it("closed, deleted, unknown and expired-unbound links answer identically, for the page and the download", async () => {
    const closed = await tech.createSession();
    await tech.close(closed.id);
    const deleted = await tech.createSession();
    await tech.remove(deleted.id);
    const expired = await tech.createSession(1);
    await new Promise((r) => setTimeout(r, 1100));
    const unknown = closed.link.replace(/\/s\/.*/, "/s/" + "Q".repeat(32));
    const answers = await Promise.all(
      [closed.link, deleted.link, expired.link, unknown].flatMap((l) => [l, l + "/download"]).map(async (u) => {
        const r = await fetch(u, { headers: { "user-agent": LINUX_UA } });
        return `${r.status} ${r.headers.get("content-type")} ${await r.text()}`;
      }),
    );
    expect(new Set(answers).size).toBe(1);
    expect(answers[0]).toMatch(/^404 text\/html.*This support app is no longer available/s);
  });
});
