/**
 * The single-file support app and its link page, as an end user meets them: the executable is
 * built here (npm run build:app's script), downloaded through the link of a real session, and run
 * with no Node.js on PATH and an empty HOME; the link page is opened in headless Chromium.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, readFileSync, renameSync, statSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { Receiver, shows } from "./support/receiver.js";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "./support/chromium.js";
import { startXvfb } from "./support/xvfb.js";
import { Hands, startDesktop, waitForNode, windowTitled } from "./support/desktop.js";
import { TestXClient } from "./support/x11-client.js";
import {
  addTechnician,
  api,
  cli,
  newUserComputer,
  ROOT,
  startApp,
  startBroker,
  tempDir,
  until,
  type Broker,
  type Proc,
} from "./support/procs.js";

let broker: Broker;
let tech: ReturnType<typeof api>;
let techToken: string;
let appFile: string;
let browser: Browser;
const running: Proc[] = [];
const LINUX_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36";
const TAMPERED = "This support app has been modified and will not run. Download it again from the link your technician sent.";

beforeAll(async () => {
  const dataDir = tempDir("tether-app-broker-");
  const outDir = tempDir("tether-app-build-");
  execFileSync(process.execPath, [join(ROOT, "scripts", "build-app.mjs"), "--data", dataDir, "--out", outDir, "--platform", "linux"], {
    stdio: "pipe",
  });
  appFile = join(outDir, "tether-support-linux-x64");
  broker = await startBroker({ dataDir, args: ["--app", appFile, "--organization", "ACME IT"] });
  techToken = await addTechnician(broker.dataDir, "jane", "Jane Doe");
  tech = api(broker.url, techToken);
  browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: CHROMIUM_ARGS,
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
    expect(t.err.all).toEqual([
      "Diese Support-App wurde verändert und wird nicht gestartet. Laden Sie sie erneut über den Link Ihres Supportmitarbeiters herunter.",
    ]);

    const t2 = app(appFile, newUserComputer()); // the prebuilt file, no session in it
    expect((await t2.exited).code).toBe(2);
    expect(t2.err.all).toEqual(["This support app carries no support session. Download it from the link your technician sent."]);
    expect((await tech.session(s.id)).state).toBe("waiting");
  }, 60_000);

  /** How a started app ends up: "exit N", or "ran: <line>" when it connected (it ran regardless). */
  const outcome = (p: Proc) =>
    Promise.race([p.exited.then((e) => `exit ${e.code}`), p.out.waitFor(/^(Connected|Verbunden)\./, 20_000).then((l) => `ran: ${l}`)]);
  const edited = (bytes: Buffer) => {
    const file = join(tempDir(), "tether-support-edited");
    writeFileSync(file, bytes, { mode: 0o755 });
    return file;
  };

  it("an edit of its embedded JavaScript (one letter of the consent prompt) refuses to start: one line, exit 2", async () => {
    const s = await tech.createSession();
    const bytes = readFileSync(await download(s.link));
    const at = bytes.indexOf(Buffer.from("requests to control your screen"));
    expect(at).toBeGreaterThan(0);
    expect(at).toBeLessThan(statSync(appFile).size); // inside the prebuilt image, not the trailer
    bytes[at] = "R".charCodeAt(0); // "Requests to control …": same length, trailer untouched
    const t = app(edited(bytes), newUserComputer());
    expect(await outcome(t)).toBe("exit 2");
    expect(t.err.all).toEqual([TAMPERED]);
    expect((await tech.session(s.id)).state).toBe("waiting");
  }, 60_000);

  it("a byte flipped in the middle of its Node.js binary refuses to start the same way", async () => {
    const s = await tech.createSession();
    const bytes = readFileSync(await download(s.link));
    const at = Math.floor(statSync(appFile).size / 2); // node's read-only data, far from the JavaScript
    bytes[at] = bytes[at]! ^ 0x20;
    const t = app(edited(bytes), newUserComputer(), [], { LANG: "de_DE.UTF-8" });
    expect(await outcome(t)).toBe("exit 2");
    expect(t.err.all).toEqual([
      "Diese Support-App wurde verändert und wird nicht gestartet. Laden Sie sie erneut über den Link Ihres Supportmitarbeiters herunter.",
    ]);
  }, 60_000);

  it("a damaged native addon in its cache is written again before it is loaded", async () => {
    const s = await tech.createSession();
    const file = await download(s.link);
    const U = newUserComputer();
    const first = app(file, U, ["--check"]);
    expect((await first.exited).code).toBe(0);
    const cached = join(first.out.text().match(/\((\/.*)\/tether_native\.node\)/)![1]!, "tether_native.node");
    const original = readFileSync(join(ROOT, "build", "Release", "tether_native.node"));
    expect(readFileSync(cached).equals(original)).toBe(true);
    const damaged = Buffer.from(original);
    damaged[damaged.length >> 1] = damaged[damaged.length >> 1]! ^ 0xff; // same size, one byte changed
    writeFileSync(cached, damaged);
    const again = app(file, U, ["--check"]);
    const { code } = await again.exited;
    expect(readFileSync(cached).equals(original)).toBe(true);
    expect(code).toBe(0);
    expect(again.out.all).toContain(`native: ok (${cached})`);
  }, 60_000);

  it("streams the screen from its built-in WebRTC and native parts once the user consents", async () => {
    const xvfb = await startXvfb({ width: 320, height: 240 });
    const xclient = await TestXClient.start(xvfb.display);
    try {
      await xclient.fill(0, 0, 320, 240, 0x20a040);
      const s = await tech.createSession();
      const a = app(await download(s.link), newUserComputer(), ["--no-window"], { DISPLAY: xvfb.display });
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
    // It checked every byte before the trailer against the signed SHA-256 first (the time goes into the report).
    const integrity = check.out.all.find((l) => l.startsWith("integrity: "));
    expect(integrity).toMatch(/^integrity: ok \(\d+\.\d MB checked in \d+ ms\)$/);
    process.stdout.write(`support app ${integrity}\n`);
    expect(check.out.all).toContain("webrtc: ok");
    // A supported runtime, not the machine's Node 20 (pinned in scripts/build-app.mjs).
    expect(check.out.all.find((l) => l.startsWith("runtime: "))).toMatch(/^runtime: Node\.js v24\.\d+\.\d+ \(\w+ LTS\)$/);
    expect(check.out.all).toContain("webrtc tuning: available"); // its wrtc.node keeps the symbols native/src/webrtc/field_trials.cc needs
    expect(check.out.all).toContain("vp8 active map: available"); // and the LibvpxFacade vtable the encoder hook needs
    expect(check.out.all).toContain("vp8 profile 2: available"); // and libvpx 1.12 inside it
    expect(check.out.all).toContain("padding floor: can be removed"); // and VideoSendStreamImpl's vtable
    expect(check.out.all).toContain("vp8 encoder: Tether's libvpx"); // the addon carries it; the module's front end is 1.12
    expect(check.out.all).toContain("interface: terminal (no display: DISPLAY is not set)");
    expect(check.out.text()).toMatch(new RegExp(`native: ok \\(${U.home}/\\.cache/tether/app-[0-9a-f]{16}/tether_native\\.node\\)`));
    const cacheDir = check.out.text().match(/\((\/.*)\/tether_native\.node\)/)![1]!;
    expect(statSync(cacheDir).mode & 0o777).toBe(0o700);
    expect((await tech.session(s.id)).state).toBe("waiting"); // --help and --check bind nothing
  }, 60_000);
});

describe("the app window (issue 18)", () => {
  it("the downloaded app shows its window by default: --check says so, the consent dialog asks, Allow streams", async () => {
    const desk = await startDesktop(1024, 768);
    const hands = new Hands(desk.display);
    try {
      const s = await tech.createSession();
      const file = await download(s.link);
      const U = newUserComputer();
      const check = app(file, U, ["--check"], { DISPLAY: desk.display });
      expect((await check.exited).code).toBe(0);
      expect(check.out.all.find((l) => l.startsWith("interface: "))).toMatch(/^interface: window \(GTK 3\.\d+\.\d+\)$/);
      const a = app(file, U, [], { DISPLAY: desk.display, TETHER_TRACE_UI: "1" });
      await windowTitled(desk.display, "Remote support", 20_000);
      await waitForNode(a, "main", "Connected. Waiting for your support technician (Jane Doe).", undefined, 20_000);
      const rx = await Receiver.connect(broker.url, techToken);
      const r = await tech.requestAccess(s.id, "view");
      rx.accessRequestId = r.json.id;
      await windowTitled(desk.display, "Remote access request");
      await hands.press(await waitForNode(a, "dialog", "Allow", (n) => !n.insensitive));
      await waitForNode(a, "bar", "Jane Doe is viewing your screen");
      await rx.frame(1024, 768);
      rx.close();
      await hands.press(await waitForNode(a, "main", "Quit"));
      expect((await a.exited).code).toBe(0);
    } finally {
      hands.close();
      await desk.stop();
    }
  }, 90_000);

  it("its window program needs GTK 3 and X11 only (a computer without them keeps the terminal)", () => {
    const dynamic = execFileSync("readelf", ["-d", join(ROOT, "build", "Release", "tether_window")], { encoding: "utf8" });
    const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);
    expect(needed).toContain("libgtk-3.so.0");
    expect(
      needed.filter(
        (lib) => !/^(libgtk-3|libgdk-3|libatk-1\.0|libgobject-2\.0|libglib-2\.0|libX11|libstdc\+\+|libgcc_s|libc|libm)\.so\.\d+$/.test(lib),
      ),
    ).toEqual([]);
  });
});

describe("the native addon the app carries", () => {
  it("needs only libraries every X desktop has (libyuv is linked in: user computers rarely have it)", () => {
    const allowed =
      /^(libX11|libXext|libXdamage|libXfixes|libXrandr|libXtst|libXi|libstdc\+\+|libgcc_s|libc|libm|ld-linux-x86-64)\.so\.\d+$/;
    for (const file of ["tether_native.node", "tether_native_unsupported.node"]) {
      const dynamic = execFileSync("readelf", ["-d", join(ROOT, "build", "Release", file)], { encoding: "utf8" });
      const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);
      expect(needed, file).toContain("libc.so.6");
      expect(
        needed.filter((lib) => !allowed.test(lib)),
        file,
      ).toEqual([]);
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
    // What the computer needs: X11, and GTK 3 for the window (else the terminal).
    expect(body).toContain("Its window needs GTK 3 (libgtk-3-0, part of most desktops); without it the app asks in the terminal.");
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

  it("speaks German to a German browser; Windows gets the Windows app (not built by this test: it says so) and a link to the Linux one", async () => {
    const s = await tech.createSession();
    const ctx = await browser.newContext({ userAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0", locale: "de-DE" });
    const page = await ctx.newPage();
    await page.goto(s.link);
    const body = await page.locator("body").innerText();
    expect(body).toContain("Jane Doe von ACME IT hat Sie zu einer Fernsupport-Sitzung eingeladen.");
    expect(body).toContain("Fahren Sie nur fort, wenn Sie sich selbst an diesen Support gewandt haben.");
    expect(body).toContain("Der Download ist auf diesem Server gerade nicht verfügbar.");
    expect(body).toContain("Stattdessen für Linux (x64) herunterladen");
    expect(body).toContain("Sie braucht keine Installation und keine Administratorrechte.");
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
      [closed.link, deleted.link, expired.link, unknown]
        .flatMap((l) => [l, l + "/download"])
        .map(async (u) => {
          const r = await fetch(u, { headers: { "user-agent": LINUX_UA } });
          return `${r.status} ${r.headers.get("content-type")} ${await r.text()}`;
        }),
    );
    expect(new Set(answers).size).toBe(1);
    expect(answers[0]).toMatch(/^404 text\/html.*This support app is no longer available/s);
  });
});

describe("a broker started before the support app was built", () => {
  let later: Broker;
  let laterTech: ReturnType<typeof api>;
  let password = "";
  let laterApp: string;
  let page: Page;
  const status = async () => (await laterTech.call("GET", "/api/status")).json;

  beforeAll(async () => {
    const built = spawnSync(process.execPath, [join(ROOT, "scripts", "build-console.mjs")], { encoding: "utf8" });
    if (built.status !== 0) throw new Error(`build-console failed: ${built.stderr}`);
    const dataDir = tempDir("tether-later-broker-");
    // The app-signing key of the broker the app was built for: the same prebuilt app is valid here.
    copyFileSync(join(broker.dataDir, "app-signing.pem"), join(dataDir, "app-signing.pem"));
    laterApp = join(tempDir("tether-later-app-"), "tether-support-linux-x64");
    later = await startBroker({ dataDir, args: ["--app", laterApp] }); // no --organization either
    const added = await cli(["technician", "add", "sam", "--display-name", "Sam Roe", "--data", dataDir]);
    if (added.code !== 0) throw new Error(added.stderr);
    password = /Console password: (\S+)/.exec(added.stdout)![1]!;
    laterTech = api(later.url, added.stdout.trim().split("\n").at(-1)!);
    page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  }, 60_000);
  afterAll(async () => {
    await page?.close();
    await later?.stop();
  });

  it("without --organization the link page speaks of the user's support desk, in English and German", async () => {
    const s = await laterTech.createSession();
    const get = async (lang: string) => (await fetch(s.link, { headers: { "user-agent": LINUX_UA, "accept-language": lang } })).text();
    const en = await get("en-US,en;q=0.9");
    expect(en).toContain("<h1>Remote support</h1>");
    expect(en).toContain("Sam Roe has invited you to a remote support session.");
    expect(en).toContain("close this page and call your support desk on a number you already know.");
    expect(en).not.toContain("Tether");
    const de = await get("de-DE,de;q=0.9");
    expect(de).toContain("<h1>Fernsupport</h1>");
    expect(de).toContain("Sam Roe hat Sie zu einer Fernsupport-Sitzung eingeladen.");
    expect(de).toContain("rufen Sie Ihren Support unter einer Nummer an, die Sie bereits kennen.");
    expect(de).not.toContain("Tether");
  });

  it("the API (authenticated) and the console after sign-in warn that new links would have no download", async () => {
    expect((await fetch(later.url + "/api/status")).status).toBe(401);
    const st = await status();
    expect(st.supportApp).toMatchObject({ available: false, reason: "not-built" });
    expect(st.supportApp.message).toContain(`npm run build:app -- --data ${later.dataDir}`);
    await page.goto(later.url + "/");
    await page.locator("#login-name").fill("sam");
    await page.locator("#login-password").fill(password);
    await page.locator("#login-form button[type=submit]").click();
    await page.locator("#who", { hasText: "Sam Roe (sam)" }).waitFor();
    const banner = page.locator("#app-status");
    await banner.waitFor({ timeout: 10_000 });
    expect(await banner.textContent()).toMatch(/New links have no download[\s\S]*npm run build:app -- --data /);
  }, 60_000);

  it("picks up the app put in place while it runs: the link offers it, the download runs, the warning narrows to Windows users (only the Linux app is built here); no restart", async () => {
    const earlier = await laterTech.createSession();
    const before = await fetch(earlier.link, { headers: { "user-agent": LINUX_UA } });
    expect(await before.text()).not.toContain('class="dl"');
    expect((await fetch(earlier.link + "/download")).status).toBe(503);

    // As npm run build:app leaves it: the file moved into place by rename (never seen half-written), and its manifest.
    copyFileSync(appFile, laterApp + ".tmp");
    renameSync(laterApp + ".tmp", laterApp);
    copyFileSync(appFile + ".json", laterApp + ".json.tmp");
    renameSync(laterApp + ".json.tmp", laterApp + ".json");

    // The link sent before the build offers it now.
    expect(await (await fetch(earlier.link, { headers: { "user-agent": LINUX_UA } })).text()).toContain('class="dl"');

    // The console's next session: its link has a download, and the warning is gone.
    await page.locator("#create-form button[type=submit]").click();
    await page.locator("#created").waitFor();
    const link = await page.locator("#created-link").inputValue();
    await page
      .locator("#app-status", { hasText: "New links have no download for users on Windows: No support app is built" })
      .waitFor({ timeout: 10_000 });
    expect((await status()).supportApp).toEqual({ available: true });
    expect((await status()).windowsApp).toMatchObject({ available: false, reason: "not-built" });

    const file = await download(link);
    expect(statSync(file).size - statSync(appFile).size).toBeLessThan(1024);
    const a = app(file, newUserComputer());
    await a.out.waitFor(/^Connected\. Waiting for your support technician \(Sam Roe\)\.$/, 20_000);
    a.child.kill("SIGINT");
    expect((await a.exited).code).toBe(0);
    expect(later.proc.child.exitCode).toBeNull(); // the same broker process all along
  }, 60_000);
});
