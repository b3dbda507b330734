/**
 * The technician web console, the real thing (its pure parts: console-model.test.ts): a broker
 * process serving the built console,
 * headless Chromium signing in, creating a session, watching a real support app (on an Xvfb
 * display) come online live, requesting control, the user consenting on the app's stdin, the
 * remote screen in the page's <video>, a click and a key arriving as X events, the user narrowing
 * to view only, closing (the app exits 5) and deleting. A raw agent with an HTML machine name shows
 * that agent text stays text.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { chromium, type Browser, type Page } from "playwright-core";
import { loadOrCreateIdentity } from "../src/agent/identity.js";
import { activationSignedBytes, encodeToBroker, pb as wire, type BrokerToAgent } from "../src/proto/wire.js";
import Fastify from "fastify";
import { CONSOLE_CSP, defaultConsoleDir, registerConsole } from "../src/broker/console-static.js";
import { cli, newComputer, ROOT, startAgent, startBroker, tempDir, until, type Broker, type Proc } from "./support/procs.js";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "./support/chromium.js";
import { startXvfb, type Xvfb } from "./support/xvfb.js";
import { TestXClient } from "./support/x11-client.js";
import { shmSegmentsOf } from "./support/receiver.js";

describe("serving the console", () => {
  it("registers nothing without a built console (the broker keeps its plain page), and revalidates by ETag", async () => {
    const bare = Fastify();
    expect(registerConsole(bare, tempDir())).toBe(false);
    await bare.close();

    const built = spawnSync(process.execPath, [join(ROOT, "scripts", "build-console.mjs")], { encoding: "utf8" });
    expect(built.status).toBe(0);
    const app = Fastify();
    expect(registerConsole(app, defaultConsoleDir())).toBe(true);
    const first = await app.inject({ method: "GET", url: "/console.js" });
    expect(first.statusCode).toBe(200);
    expect(first.headers["cache-control"]).toBe("no-cache");
    const again = await app.inject({ method: "GET", url: "/console.js", headers: { "if-none-match": String(first.headers.etag) } });
    expect(again.statusCode).toBe(304);
    await app.close();
  });
});

// ---------------------------------------------------------------------------------------------
// The console in Chromium against a real broker and a real support app

const W = 640;
const H = 480;
const COLOUR = 0x3060c0;
/**
 * A TURN server that is not there (the discard port; loopback needs no relay) with credentials
 * valid for 20 s: the broker renews them every 10 s while the page is open.
 */
const TURN_ARGS = ["--turn", "turn:127.0.0.1:9?transport=udp", "--turn-secret", "console-test-secret", "--turn-ttl", "20"];

describe("console in Chromium", () => {
  let broker: Broker;
  let browser: Browser;
  let page: Page;
  let xvfb: Xvfb;
  let xclient: TestXClient;
  let password = "";
  let token = "";
  const running: Proc[] = [];
  const sockets: WebSocket[] = [];
  const pageErrors: string[] = [];
  /** The usernames of the TURN credential renewals the page got. */
  const renewals: string[] = [];

  const authed = async (method: string, path: string) => {
    const res = await fetch(broker.url + path, { method, headers: { authorization: `Bearer ${token}` } });
    return res.json() as Promise<any>;
  };
  const row = (id: string) => page.locator(`#sessions tr[data-session="${id}"]`);

  beforeAll(async () => {
    const built = spawnSync(process.execPath, [join(ROOT, "scripts", "build-console.mjs")], { encoding: "utf8" });
    if (built.status !== 0) throw new Error(`build-console failed: ${built.stderr}`);
    xvfb = await startXvfb({ width: W, height: H });
    xclient = await TestXClient.start(xvfb.display);
    await xclient.fill(0, 0, W, H, COLOUR);
    broker = await startBroker({ args: TURN_ARGS });
    const added = await cli(["technician", "add", "jane", "--display-name", "Jane Doe", "--data", broker.dataDir]);
    if (added.code !== 0) throw new Error(added.stderr);
    password = /Console password: (\S+)/.exec(added.stdout)![1]!;
    token = added.stdout.trim().split("\n").at(-1)!;
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    page.on("pageerror", (e) => pageErrors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error" && /Content Security Policy|Refused/.test(m.text())) pageErrors.push(m.text());
      if (/ICE servers/.test(m.text())) pageErrors.push(m.text());
    });
    // What the broker sends the page: TURN credential renewals are counted.
    page.on("websocket", (ws) =>
      ws.on("framereceived", (f) => {
        if (typeof f.payload === "string") return;
        const m = wire.BrokerToConsole.decode(f.payload);
        if (m.iceConfig?.renewal) renewals.push(m.iceConfig.iceServers?.[0]?.username ?? "");
      }),
    );
  }, 90_000);

  afterAll(async () => {
    for (const p of running) p.child.kill("SIGKILL");
    for (const s of sockets) s.terminate();
    await browser?.close();
    await broker?.stop();
    await xclient?.stop();
    await xvfb?.stop();
  });

  it("is served with a strict CSP and no inline script or style", async () => {
    const res = await fetch(broker.url + "/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toMatch(/script-src 'self';/);
    expect(CONSOLE_CSP).not.toMatch(/unsafe/);
    const html = await res.text();
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    expect(scripts.length).toBe(1);
    expect(scripts[0]![1]).toMatch(/src="\/console\.js"/);
    expect(scripts[0]![2]!.trim()).toBe("");
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    for (const [path, type] of [
      ["/console.js", "text/javascript"],
      ["/console.css", "text/css"],
    ] as const) {
      const r = await fetch(broker.url + path);
      expect(r.headers.get("content-type")).toContain(type);
      expect(r.headers.get("content-security-policy")).toBe(CONSOLE_CSP);
    }
  });

  it("signs in: a wrong password gets a clear message, the right one shows who is signed in", async () => {
    await page.goto(broker.url + "/");
    await page.locator("#login-name").fill("jane");
    await page.locator("#login-password").fill("not-the-password");
    await page.locator("#login-form button[type=submit]").click();
    await page.locator("#login-error", { hasText: "Wrong name or password." }).waitFor();
    await page.locator("#login-password").fill(password);
    await page.locator("#login-form button[type=submit]").click();
    await page.locator("#who", { hasText: "Jane Doe (jane)" }).waitFor();
    await page.locator("#link-state", { hasText: "live" }).waitFor();
  });

  let sessionId = "";
  let link = "";
  let agent: Proc;

  it("creates a session, shows its link once, and the row turns active + online when the app starts", async () => {
    await page.locator("#expiry-preset").selectOption("custom");
    await page.locator("#expiry-amount").fill("90");
    await page.locator("#expiry-unit").selectOption("minutes");
    await page.locator("#create-label").fill("Printer does not print");
    await page.locator("#create-customer").fill("ACME Corp");
    await page.locator("#create-ticket").fill("INC-4711");
    await page.locator("#create-form button[type=submit]").click();
    await page.locator("#created").waitFor();
    link = await page.locator("#created-link").inputValue();
    expect(link).toMatch(new RegExp(`^${broker.url}/s/[A-Za-z0-9_-]+$`));
    await expect(page.locator("#created").textContent()).resolves.toMatch(/shown only now/);

    const listed = (await authed("GET", "/api/sessions")).sessions;
    sessionId = listed[0].id;
    expect(Date.parse(listed[0].expiresAt) - Date.parse(listed[0].createdAt)).toBe(90 * 60_000);
    expect(listed[0]).toMatchObject({ label: "Printer does not print", customer: "ACME Corp", ticket: "INC-4711" });
    await expect(row(sessionId).locator(".session-label").textContent()).resolves.toBe("Printer does not print");
    await expect(row(sessionId).locator(".session-meta").textContent()).resolves.toBe("ACME Corp · INC-4711");
    expect(await page.locator("#create-label").inputValue()).toBe(""); // the form is ready for the next one
    await row(sessionId).and(page.locator('[data-state="waiting"]')).waitFor();

    agent = startAgent(link, newComputer(), { env: { DISPLAY: xvfb.display } });
    running.push(agent);
    await agent.out.waitFor(/^Connected\./, 20_000);
    // Live, without a reload.
    await row(sessionId).and(page.locator('[data-state="active"][data-online="true"]')).waitFor({ timeout: 20_000 });
    await expect(row(sessionId).locator(".machine-name").textContent()).resolves.toBe(hostname());
    await expect(row(sessionId).locator(".badge").textContent()).resolves.toBe("active · online");
  }, 60_000);

  it("requests control; the user consents; the viewer shows the screen and sends a click and a key", async () => {
    await row(sessionId).locator('[data-action="request-control"]').click();
    await row(sessionId).locator(".access-status", { hasText: "Control requested" }).waitFor();
    await agent.out.waitFor(/Jane Doe requests to control your screen/, 15_000);
    // (5) Nothing is captured before the user answers: the capturer's shared-memory segment does not exist.
    expect(await shmSegmentsOf(agent.child.pid!)).toBe(0);
    agent.child.stdin!.write("y\n");
    await row(sessionId).locator(".access-status", { hasText: "Granted: control" }).waitFor({ timeout: 15_000 });

    // The viewer opened on its own for the request made here, and the picture arrives.
    await page.locator("#viewer").waitFor();
    await expect(page.locator("#viewer-scope").textContent()).resolves.toBe("control");
    await until(() => page.evaluate(`document.getElementById("video").videoWidth === ${W}`), 30_000, "video frames in the page");
    const rgb = (await page.evaluate(`(() => {
      const v = document.getElementById("video");
      const c = document.createElement("canvas");
      c.width = v.videoWidth; c.height = v.videoHeight;
      const g = c.getContext("2d");
      g.drawImage(v, 0, 0);
      return Array.from(g.getImageData(${W / 2}, ${H / 2}, 1, 1).data);
    })()`)) as number[];
    const want = [(COLOUR >> 16) & 255, (COLOUR >> 8) & 255, COLOUR & 255];
    want.forEach((v, i) => expect(Math.abs(rgb[i]! - v)).toBeLessThanOrEqual(16));
    // The right aspect ratio on the page.
    const box = (await page.locator("#video").boundingBox())!;
    expect(box.width / box.height).toBeCloseTo(W / H, 2);

    // A click in the middle and a key land on the X display as real events.
    const before = xclient.events.length;
    await page.mouse.click(box.x + box.width / 4, box.y + box.height / 2);
    await page.keyboard.press("KeyA");
    await page.keyboard.type("hi");
    const got = await until(
      async () => {
        const ev = await xclient.sync(before);
        return ev.filter((e) => e.event === "KeyRelease").length >= 3 && ev.some((e) => e.event === "ButtonRelease") ? ev : null;
      },
      15_000,
      "X events from the browser",
    );
    const press = got.find((e) => e.event === "ButtonPress")!;
    expect(press.button).toBe(1);
    expect(Math.abs(press.x! - W / 4)).toBeLessThanOrEqual(2);
    expect(Math.abs(press.y! - H / 2)).toBeLessThanOrEqual(2);
    expect(got.filter((e) => e.event === "KeyPress").map((e) => e.keysym)).toEqual([0x61, 0x68, 0x69]);
    await page.locator("#stats", { hasText: /\d+ (k|M)bit\/s/ }).waitFor({ timeout: 15_000 });
    await page.locator("#stats", { hasText: "· direct" }).waitFor({ timeout: 15_000 }); // loopback: no relay
    await screenshot(page, "console-viewer.png");
  }, 90_000);

  it("takes fresh TURN credentials (every 10 s here) while the viewer is open: the list stays and the picture goes on", async () => {
    await until(() => renewals.length >= 1, 15_000, "a TURN credential renewal");
    const [expiry] = renewals.at(-1)!.split(":");
    expect(Number(expiry) * 1000).toBeGreaterThan(Date.now());
    // A renewal is not a reconnect: the sessions stay listed, the viewer stays open and shows the screen.
    await new Promise((r) => setTimeout(r, 500));
    expect(await row(sessionId).count()).toBe(1);
    await page.locator("#viewer").waitFor();
    await expect(page.evaluate(`document.getElementById("video").videoWidth`)).resolves.toBe(W);
    expect(pageErrors).toEqual([]);
  }, 30_000);

  it("the keys menu sends Ctrl+Alt+Del, Alt+Tab, the Windows key and Print Screen as real key events, and types text without the clipboard", async () => {
    const menu = page.locator("#keys-menu");
    await expect(menu.isVisible()).resolves.toBe(true);
    const pressOf = async (label: string, count: number) => {
      const before = xclient.events.length;
      await menu.locator("summary").click();
      await menu.locator("button", { hasText: label }).click();
      return until(
        async () => {
          const ev = (await xclient.sync(before)).filter((e) => e.event === "KeyPress" || e.event === "KeyRelease");
          return ev.length >= 2 * count ? ev.map((e) => `${e.event === "KeyPress" ? "+" : "-"}${e.keysym!.toString(16)}`) : null;
        },
        10_000,
        `the keys of ${label}`,
      );
    };
    // Pressed in order, released in reverse (keysyms: Control_L ffe3, Alt_L ffe9, Delete ffff, Tab ff09, Super_L ffeb, Print ff61).
    expect(await pressOf("Ctrl+Alt+Del", 3)).toEqual(["+ffe3", "+ffe9", "+ffff", "-ffff", "-ffe9", "-ffe3"]);
    expect(await pressOf("Alt+Tab", 2)).toEqual(["+ffe9", "+ff09", "-ff09", "-ffe9"]);
    expect(await pressOf("Windows key", 1)).toEqual(["+ffeb", "-ffeb"]);
    expect(await pressOf("Print Screen", 1)).toEqual(["+ff61", "-ff61"]);
    // A password typed as text: the field does not show it, and it reaches the X server key by key.
    const before = xclient.events.length;
    await menu.locator("summary").click();
    // Shown as dots, but no password field in a form: the browser must not offer to save it as the technician's.
    expect(await page.locator("#type-text").getAttribute("type")).toBeNull();
    expect(await page.evaluate(`getComputedStyle(document.getElementById("type-text")).getPropertyValue("-webkit-text-security")`)).toBe(
      "disc",
    );
    expect(await page.locator("#keys-menu form").count()).toBe(0);
    await page.locator("#type-text").fill("Pa5s!");
    await page.locator("#type-text").press("Enter");
    const typed = await until(
      async () => {
        const ev = (await xclient.sync(before)).filter((e) => e.event === "KeyPress");
        return ev.length >= 5 ? ev.map((e) => e.keysym) : null;
      },
      10_000,
      "the typed text",
    );
    expect(typed.filter((k) => k !== 0xffe1)).toEqual([..."Pa5s!"].map((c) => c.charCodeAt(0))); // Shift_L may come between
    expect(await page.locator("#type-text").inputValue()).toBe("");
  }, 60_000);

  it("records the screen: the app tells the user before the recording starts; Stop saves a playable WebM of the recorded length; the history has both", async () => {
    const download = page.waitForEvent("download");
    const notice = /^This session is being recorded by Jane Doe\. You can stop sharing at any time\.$/;
    await page.locator("#record").click();
    // Which came first: the user's notice or the console's recording? (polled every 10 ms)
    let noticeAt = 0;
    let recordingAt = 0;
    await until(
      async () => {
        if (!noticeAt && agent.out.all.some((l) => notice.test(l))) noticeAt = performance.now();
        if (!recordingAt && (await page.locator("#record").textContent()) === "Stop recording") recordingAt = performance.now();
        return noticeAt && recordingAt;
      },
      10_000,
      "the notice and the recording",
    );
    expect(noticeAt).toBeLessThanOrEqual(recordingAt);
    const started = performance.now();
    // The screen changes while it is recorded (a still screen sends almost no frames to record).
    for (let i = 0; i < 12; i++) {
      await xclient.fill(0, 0, W, H, i % 2 ? COLOUR : 0xc06030);
      await new Promise((r) => setTimeout(r, 250));
    }
    await page.locator("#record").click();
    const seconds = (performance.now() - started) / 1000;
    await agent.out.waitFor(/^Jane Doe stopped recording\.$/, 10_000);
    const file = await (await download).path();
    const bytes = readFileSync(file);
    expect(bytes.subarray(0, 4).toString("hex")).toBe("1a45dfa3"); // EBML: a WebM file
    expect(bytes.length).toBeGreaterThan(5000);
    // Chromium plays it, and it lasts as long as the recording ran (MediaRecorder writes no duration: seek to the end).
    const duration = (await page.evaluate(`(async () => {
      const bytes = Uint8Array.from(atob("${bytes.toString("base64")}"), (c) => c.charCodeAt(0));
      const v = document.createElement("video");
      v.muted = true;
      v.src = URL.createObjectURL(new Blob([bytes], { type: "video/webm" }));
      await new Promise((r, j) => { v.onloadedmetadata = r; v.onerror = () => j(new Error("not playable")); });
      if (!Number.isFinite(v.duration)) {
        v.currentTime = 1e9;
        await new Promise((r) => { v.ondurationchange = r; });
      }
      return { duration: v.duration, width: v.videoWidth };
    })()`)) as { duration: number; width: number };
    expect(duration.width).toBe(W);
    expect(duration.duration).toBeGreaterThan(seconds - 1.2);
    expect(duration.duration).toBeLessThan(seconds + 1.2);
    const { entries } = await authed("GET", `/api/sessions/${sessionId}/history`);
    const kinds = (entries as { kind: string }[]).map((e) => e.kind);
    expect(kinds.filter((k) => k.startsWith("recording."))).toEqual(["recording.started", "recording.stopped"]);
    await xclient.fill(0, 0, W, H, COLOUR);
  }, 60_000);

  it("shows at once when the user narrows to view only, and stops sending input", async () => {
    await expect(page.locator("#keys-menu").isVisible()).resolves.toBe(true);
    agent.child.stdin!.write("v\n");
    await page.locator("#viewer-banner", { hasText: "viewing only" }).waitFor({ timeout: 10_000 });
    await expect(page.locator("#viewer-scope").textContent()).resolves.toBe("view only");
    expect(await page.locator("#stage.controlling").count()).toBe(0);
    await expect(page.locator("#keys-menu").isVisible()).resolves.toBe(false); // no keys without control
    // A click and a key in the viewer now reach nothing on the remote screen.
    const before = xclient.events.length;
    const box = (await page.locator("#video").boundingBox())!;
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await page.keyboard.press("KeyB");
    await new Promise((r) => setTimeout(r, 1500));
    expect((await xclient.sync(before)).filter((e) => /Press|Release/.test(e.event))).toEqual([]);
    await page.locator("#viewer-close").click();
    await page.locator("#viewer").waitFor({ state: "hidden" });
  }, 30_000);

  it("cancels a pending request from the row; the row shows the safety code the prompt shows (16.12, 16.15)", async () => {
    const seen = agent.out.all.length;
    await row(sessionId).locator('[data-action="request-view"]').click();
    await agent.out.waitFor(/Jane Doe requests to view your screen/, 15_000);
    const promptCode = agent.out.all.slice(seen).find((l) => /^Safety code: \d{3} \d{3}\. Your technician sees the same code/.test(l))!;
    expect(promptCode).toBeTruthy();
    const code = /(\d{3} \d{3})/.exec(promptCode)![1]!;
    await row(sessionId)
      .locator(".row-code", { hasText: `Safety code ${code}` })
      .waitFor({ timeout: 10_000 });
    await row(sessionId).locator('[data-action="cancel-request"]').click();
    await agent.out.waitFor(/^Jane Doe withdrew the request\.$/, 10_000);
    await row(sessionId).locator(".access-status", { hasText: "View request cancelled." }).waitFor();
    expect(await shmSegmentsOf(agent.child.pid!)).toBe(0); // prepared for the code, never captured
  }, 30_000);

  it("opens the viewer on a grant made elsewhere (the CLI), and again after a reload, without asking the user again; both ends show one safety code (16.11, 16.15)", async () => {
    const seen = agent.out.all.length;
    const r = await fetch(broker.url + `/api/sessions/${sessionId}/access-requests`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ scope: "control" }),
    }).then((x) => x.json() as Promise<any>);
    await until(() => agent.out.all.slice(seen).some((l) => /Jane Doe requests to control your screen/.test(l)), 15_000, "the prompt");
    const asked = agent.out.all.filter((l) => /requests to/.test(l)).length;
    agent.child.stdin!.write("y\n");
    await row(sessionId).locator(".access-status", { hasText: "Granted: control" }).waitFor({ timeout: 15_000 });
    expect(await page.locator("#viewer").isVisible()).toBe(false); // not made here: no viewer on its own

    const watch = async () => {
      const codes = agent.out.all.filter((l) => l.startsWith("Safety code of this connection")).length;
      await row(sessionId).locator('[data-action="open-viewer"]').click();
      await page.locator("#viewer").waitFor();
      await until(() => page.evaluate(`document.getElementById("video").videoWidth === ${W}`), 30_000, "video frames in the page");
      await until(
        () => agent.out.all.filter((l) => l.startsWith("Safety code of this connection")).length > codes,
        10_000,
        "the app's code",
      );
      const appCode = /(\d{3} \d{3})/.exec(agent.out.all.filter((l) => l.startsWith("Safety code of this connection")).at(-1)!)![1]!;
      await page.locator("#viewer-code", { hasText: `Safety code ${appCode}` }).waitFor({ timeout: 10_000 });
    };
    await watch();
    await page.reload();
    await page.locator("#link-state", { hasText: "live" }).waitFor({ timeout: 15_000 });
    await row(sessionId).locator(".access-status", { hasText: "Granted: control" }).waitFor({ timeout: 15_000 });
    await watch();
    expect(agent.out.all.filter((l) => /requests to/.test(l)).length).toBe(asked); // never asked again
    // Stop viewing ends the grant: the app says so.
    await page.locator("#viewer-close").click();
    await until(() => agent.out.all.filter((l) => l === "Jane Doe stopped viewing your screen.").length === 2, 10_000, "stopped viewing");
    expect((await authed("GET", `/api/sessions/${sessionId}/access-requests/${r.id}`)).status).toBe("ended");
  }, 90_000);

  it("shows agent text as text, never as HTML", async () => {
    const evil = '<img src=x id="pwned"><b>pc-1</b> & "quotes"';
    const created = await fetch(broker.url + "/api/sessions", {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ expiresIn: 3600 }),
    }).then((r) => r.json() as Promise<any>);
    sockets.push(await rawAgent(broker.url, created.link, evil));
    await row(created.id).and(page.locator('[data-online="true"]')).waitFor({ timeout: 15_000 });
    await expect(row(created.id).locator(".machine-name").textContent()).resolves.toBe(evil);
    expect(await page.locator("#pwned").count()).toBe(0);
    expect(await row(created.id).locator("img, b").count()).toBe(0);
    const waiting = await fetch(broker.url + "/api/sessions", {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ expiresIn: 7 * 86_400 }),
    }).then((r) => r.json() as Promise<any>);
    await row(waiting.id).and(page.locator('[data-state="waiting"]')).waitFor();
    await screenshot(page, "console.png");
  }, 30_000);

  it("finds sessions by label, customer, ticket or computer, and shows a session's history as a timeline that grows live", async () => {
    const search = page.locator("#session-search");
    await search.fill("inc-47");
    await row(sessionId).waitFor();
    expect(await page.locator("#sessions tr[data-session]").count()).toBe(1);
    await search.fill("no such session");
    await page.locator("#no-matches").waitFor();
    expect(await page.locator("#sessions tr[data-session]").count()).toBe(0);
    await search.fill("acme");
    await row(sessionId).waitFor();
    await row(sessionId).locator('[data-action="history"]').click();
    const timeline = page.locator(`ol[data-history="${sessionId}"]`);
    await timeline.waitFor();
    const kinds = async () => timeline.locator("li").evaluateAll((lis) => lis.map((li) => li.getAttribute("data-kind")));
    const first = await kinds();
    expect(first.slice(0, 5)).toEqual(["session.created", "session.bound", "app.connected", "access.requested", "access.granted"]);
    await expect(timeline.locator("li").first().locator(".what").textContent()).resolves.toBe(
      "jane created the session: Printer does not print · ACME Corp · INC-4711",
    );
    // A new event appears in the open timeline without a reload.
    await row(sessionId).locator('[data-action="request-view"]').click();
    await until(async () => (await kinds()).length > first.length, 10_000, "the new entry in the timeline");
    expect((await kinds()).at(-1)).toBe("access.requested");
    await expect(timeline.locator("li").last().locator(".what").textContent()).resolves.toBe("jane asked to view");
    await screenshot(page, "console-history.png", true);
    await row(sessionId).locator('[data-action="cancel-request"]').click();
    await row(sessionId).locator('[data-action="history"]').click();
    await timeline.waitFor({ state: "detached" });
    await search.fill("");
  }, 30_000);

  it("chats with the user: an unread marker and the page title say a message came; the panel shows it; a line written here reaches the app", async () => {
    agent.child.stdin!.write("Hello, the printer says paper jam\n");
    const chat = row(sessionId).locator('[data-action="chat"]');
    await chat.and(page.locator(".unread")).waitFor({ timeout: 10_000 });
    await expect(chat.textContent()).resolves.toBe("Chat (1 new)");
    await until(async () => (await page.title()) === "(1) Tether console", 5000, "the title to count the message");
    await chat.click();
    const panel = page.locator(`ol[data-chat="${sessionId}"]`);
    await panel.locator("li", { hasText: "Hello, the printer says paper jam" }).waitFor();
    await expect(chat.textContent()).resolves.toBe("Hide chat");
    expect(await page.title()).toBe("Tether console");
    const input = page.locator(`tr[data-chat-of="${sessionId}"] .chat-input`);
    await input.fill("Hi, this is Jane. Open the front cover, please.");
    await input.press("Enter");
    await agent.out.waitFor(/^Jane Doe: Hi, this is Jane\. Open the front cover, please\.$/, 10_000);
    await panel.locator("li[data-from=technician]", { hasText: "Open the front cover" }).waitFor();
    // The user answers while the panel is open: it appears there, with no unread marker.
    agent.child.stdin!.write("Done, it prints again\n");
    await panel.locator("li[data-from=user]", { hasText: "Done, it prints again" }).waitFor({ timeout: 10_000 });
    expect(await chat.and(page.locator(".unread")).count()).toBe(0);
    await screenshot(page, "console-chat.png", true);
    await chat.click();
    await panel.waitFor({ state: "detached" });
  }, 30_000);

  it("closes from the UI after asking (Cancel keeps it): the app exits 5 with its message and the row says closed; delete removes the row", async () => {
    // (Issue 16.12) Close asks first, like Delete; Cancel leaves the session and the app alone.
    await row(sessionId).locator('[data-action="close"]').click();
    await row(sessionId).locator(".confirm").waitFor();
    await row(sessionId).locator('[data-action="cancel-close"]').click();
    await row(sessionId).locator('[data-action="close"]').waitFor();
    await new Promise((r) => setTimeout(r, 300));
    expect(agent.child.exitCode).toBeNull();
    expect((await authed("GET", `/api/sessions/${sessionId}`)).state).toBe("active");
    await row(sessionId).locator('[data-action="close"]').click();
    await row(sessionId).locator('[data-action="confirm-close"]').click();
    const { code } = await agent.exited;
    expect(code).toBe(5);
    expect(agent.out.text() + agent.err.text()).toMatch(/The support session was closed by your support technician\./);
    await row(sessionId).and(page.locator('[data-state="closed"]')).waitFor();

    await row(sessionId).locator('[data-action="delete"]').click();
    await row(sessionId).locator(".confirm").waitFor();
    await row(sessionId).locator('[data-action="confirm-delete"]').click();
    await row(sessionId).waitFor({ state: "detached" });
    expect((await authed("GET", "/api/sessions")).sessions.some((s: { id: string }) => s.id === sessionId)).toBe(false);
    expect(pageErrors).toEqual([]);
  }, 30_000);

  it("reconnects after the broker restarts and keeps the list live", async () => {
    const { dataDir, port } = broker;
    // Each step has its own bound, inside the test's, so that a failure names the step.
    const step = async <T>(what: string, ms: number, p: Promise<T>): Promise<T> => {
      let t: NodeJS.Timeout | undefined;
      try {
        return await Promise.race([
          p,
          new Promise<never>((_, j) => (t = setTimeout(() => j(new Error(`step "${what}" took over ${ms} ms`)), ms))),
        ]);
      } finally {
        clearTimeout(t);
      }
    };
    for (const s of sockets) s.terminate();
    const stopping = broker;
    await step("broker stops", 10_000, stopping.stop());
    // A shutdown that had to cut connections off says so (the broker bounds it at 3 s): worth seeing.
    const forced = stopping.proc.out.all.find((l) => l.startsWith("Shutdown:"));
    if (forced) console.warn(`broker: ${forced}`);
    await page.locator("#link-state", { hasText: "reconnecting" }).waitFor({ timeout: 15_000 });
    broker = await step("broker starts again", 20_000, startBroker({ dataDir, port, args: TURN_ARGS }));
    await page.locator("#link-state", { hasText: "live" }).waitFor({ timeout: 30_000 });
    const s = await fetch(broker.url + "/api/sessions", {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ expiresIn: 600 }),
    }).then((r) => r.json() as Promise<any>);
    await row(s.id).waitFor({ timeout: 10_000 });
  }, 90_000);

  it("signs out", async () => {
    await page.locator("#sign-out").click();
    await page.locator("#login").waitFor();
    await page.reload();
    await page.locator("#login").waitFor();
  });
});

/** README screenshots: `TETHER_SCREENSHOTS=docs npx vitest run test/console-ui.test.ts` refreshes docs/*.png. */
async function screenshot(page: Page, name: string, fullPage = false): Promise<void> {
  const dir = process.env["TETHER_SCREENSHOTS"];
  if (!dir) return;
  mkdirSync(join(ROOT, dir), { recursive: true });
  await page.screenshot({ path: join(ROOT, dir, name), fullPage });
}

/** A support app speaking the protocol directly, so the test can choose its machine name. */
async function rawAgent(brokerUrl: string, link: string, machineName: string): Promise<WebSocket> {
  const ws = new WebSocket(brokerUrl.replace("http", "ws") + "/ws/agent");
  const got: BrokerToAgent[] = [];
  ws.on("message", (d) => got.push(wire.BrokerToAgent.decode(d as Buffer)));
  await new Promise((r, j) => (ws.once("open", r), ws.once("error", j)));
  const challenge = (await until(() => got.find((m) => m.body === "challenge"), 5000, "challenge")).challenge!;
  const id = loadOrCreateIdentity(join(tempDir(), "tether"));
  const fp = randomBytes(32);
  const code = link.split("/s/")[1]!;
  ws.send(
    encodeToBroker({
      hello: {
        code,
        publicKey: id.publicKey,
        machineFingerprint: fp,
        signature: id.sign(activationSignedBytes(challenge.nonce!, code, id.publicKey, fp)),
        machineName,
        os: "linux x64",
      },
    }),
  );
  const act = (await until(() => got.find((m) => m.body === "activation"), 5000, "activation")).activation!;
  expect(act.status).toBe(wire.ActivationResult.Status.STATUS_OK);
  return ws;
}
