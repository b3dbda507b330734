/**
 * The technician web console. Pure parts (labels, expiry, fit math, input mapping, stats, cursor,
 * signaling payloads) in Node; then the real thing: a broker process serving the built console,
 * headless Chromium signing in, creating a session, watching a real support app (on an Xvfb
 * display) come online live, requesting control, the user consenting on the app's stdin, the
 * remote screen in the page's <video>, a click and a key arriving as X events, the user narrowing
 * to view only, closing (the app exits 5) and deleting. A raw agent with an HTML machine name shows
 * that agent text stays text.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { chromium, type Browser, type Page } from "playwright-core";
import { loadOrCreateIdentity } from "../src/agent/identity.js";
import { activationSignedBytes, encodeToBroker, pb as wire, type BrokerToAgent } from "../src/proto/wire.js";
import Fastify from "fastify";
import { CONSOLE_CSP, defaultConsoleDir, registerConsole } from "../src/broker/console-static.js";
import { ApiError, loginMessage } from "../src/console/api.js";
import { accessLabel, applySession, backoffMs, customExpiry, displayState, relativeTime, sortSessions, stateLabel } from "../src/console/model.js";
import { pb, type SessionInfo } from "../src/console/proto.js";
import { unpremultiply } from "../src/console/viewer/cursor.js";
import { inside, place, toFraction } from "../src/console/viewer/geometry.js";
import { buttonEvent, keyEvent, moveEvent, PressedState, WheelAccumulator } from "../src/console/viewer/input-map.js";
import { parseSignal } from "../src/console/viewer/signal.js";
import { overlay, overlayText, sampleFrom } from "../src/console/viewer/stats.js";
import { cli, newComputer, ROOT, startAgent, startBroker, tempDir, until, type Broker, type Proc } from "./support/procs.js";
import { startXvfb, type Xvfb } from "./support/xvfb.js";
import { TestXClient } from "./support/x11-client.js";
import { shmSegmentsOf } from "./support/receiver.js";

// ---------------------------------------------------------------------------------------------
// Pure parts

const session = (p: Partial<SessionInfo>): SessionInfo => pb.SessionInfo.create({ id: "s_1", state: 1, online: false, expiresAtMs: 0, createdAtMs: 0, machineName: "", deleted: false, ...p }) as SessionInfo;

describe("console model", () => {
  const now = 1_800_000_000_000;
  it("labels states, showing a waiting session past its expiry as expired", () => {
    expect(stateLabel(session({ state: pb.SessionState.SESSION_STATE_WAITING, expiresAtMs: now + 1000 }), now)).toBe("waiting");
    expect(displayState(session({ state: pb.SessionState.SESSION_STATE_WAITING, expiresAtMs: now - 1 }), now)).toBe("expired");
    expect(stateLabel(session({ state: pb.SessionState.SESSION_STATE_ACTIVE, online: true }), now)).toBe("active · online");
    expect(stateLabel(session({ state: pb.SessionState.SESSION_STATE_ACTIVE, online: false }), now)).toBe("active · offline");
    // Bound sessions stay valid after the expiry time: active is shown as is.
    expect(displayState(session({ state: pb.SessionState.SESSION_STATE_ACTIVE, expiresAtMs: now - 1 }), now)).toBe("active");
    expect(stateLabel(session({ state: pb.SessionState.SESSION_STATE_CLOSED }), now)).toBe("closed");
  });

  it("sorts newest first and drops deleted sessions", () => {
    const m = new Map<string, SessionInfo>();
    applySession(m, session({ id: "a", createdAtMs: 1 }));
    applySession(m, session({ id: "b", createdAtMs: 3 }));
    applySession(m, session({ id: "c", createdAtMs: 2 }));
    expect(sortSessions(m.values()).map((s) => s.id)).toEqual(["b", "c", "a"]);
    applySession(m, session({ id: "b", deleted: true }));
    expect(sortSessions(m.values()).map((s) => s.id)).toEqual(["c", "a"]);
  });

  it("says times relative to now, with the next smaller unit", () => {
    expect(relativeTime(now + 2 * 3600_000 - 1000, now)).toBe("in 1 hour 59 minutes");
    expect(relativeTime(now + 2 * 3600_000, now)).toBe("in 2 hours");
    expect(relativeTime(now - 3 * 60_000, now)).toBe("3 minutes ago");
    expect(relativeTime(now + 7 * 86_400_000 + 5 * 3600_000, now)).toBe("in 7 days");
    expect(relativeTime(now + 400, now)).toBe("now");
  });

  it("turns a custom expiry into seconds, within 1 s … 30 days", () => {
    expect(customExpiry("45", "minutes")).toEqual({ ok: true, seconds: 2700 });
    expect(customExpiry("1.5", "hours")).toEqual({ ok: true, seconds: 5400 });
    expect(customExpiry("30", "days")).toEqual({ ok: true, seconds: 2_592_000 });
    expect(customExpiry("31", "days").ok).toBe(false);
    expect(customExpiry("0", "hours").ok).toBe(false);
    expect(customExpiry("abc", "hours").ok).toBe(false);
    expect(customExpiry("2", "weeks").ok).toBe(false);
  });

  it("labels access requests", () => {
    const S = pb.Scope;
    const A = pb.AccessStatus;
    expect(accessLabel({ status: A.ACCESS_STATUS_PENDING, scope: S.SCOPE_CONTROL, grantedScope: 0 })).toMatch(/Control requested/);
    expect(accessLabel({ status: A.ACCESS_STATUS_GRANTED, scope: S.SCOPE_CONTROL, grantedScope: S.SCOPE_VIEW })).toBe("Granted: view only");
    expect(accessLabel({ status: A.ACCESS_STATUS_DENIED, scope: S.SCOPE_VIEW, grantedScope: 0 })).toMatch(/declined/);
  });

  it("backs off from 500 ms to 10 s with jitter, and says what a failed login means", () => {
    expect(backoffMs(0, 0.999)).toBeLessThanOrEqual(500);
    expect(backoffMs(0, 0)).toBe(375);
    expect(backoffMs(20, 0.999)).toBeLessThanOrEqual(10_000);
    expect(loginMessage(new ApiError(401, "TETHER_ERR_LOGIN_FAILED", "x"))).toBe("Wrong name or password.");
    expect(loginMessage(new ApiError(429, "TETHER_ERR_RATE_LIMITED", "x", 42))).toBe("Too many sign-in attempts. Try again in 42 seconds.");
  });
});

describe("viewer geometry and input mapping", () => {
  it("fits keeping the aspect ratio, centred; 1:1 is one remote pixel per device pixel", () => {
    expect(place({ width: 1920, height: 1080 }, { width: 960, height: 800 }, "fit")).toEqual({ width: 960, height: 540, left: 0, top: 130, scale: 0.5 });
    expect(place({ width: 640, height: 480 }, { width: 1600, height: 900 }, "fit")).toEqual({ width: 1200, height: 900, left: 200, top: 0, scale: 1.875 });
    expect(place({ width: 1920, height: 1080 }, { width: 800, height: 600 }, "1:1", 2)).toMatchObject({ width: 960, height: 540, scale: 0.5, left: 0, top: 30 });
    expect(place({ width: 0, height: 0 }, { width: 800, height: 600 }, "fit").scale).toBe(0);
  });

  it("maps page points to fractions of the monitor, clamped to the edges", () => {
    const content = { left: 100, top: 50, width: 400, height: 300 };
    expect(toFraction(300, 200, content)).toEqual({ x: 0.5, y: 0.5 });
    const out = toFraction(0, 1000, content)!;
    expect(out.x).toBe(0);
    expect(out.y).toBeLessThan(1);
    expect(out.y).toBeGreaterThan(0.999);
    expect(inside(99, 60, content)).toBe(false);
    expect(toFraction(1, 1, { left: 0, top: 0, width: 0, height: 0 })).toBeNull();
  });

  it("makes InputEvents from mouse, wheel and keys, and can release everything held", () => {
    const content = { left: 0, top: 0, width: 200, height: 100 };
    expect(moveEvent({ clientX: 50, clientY: 25 }, content)).toEqual({ move: { x: 0.25, y: 0.25 } });
    expect(buttonEvent({ clientX: 100, clientY: 50, button: 2 }, true, content)).toEqual({
      button: { button: pb.MouseButton.MOUSE_BUTTON_RIGHT, down: true, x: 0.5, y: 0.5 },
    });
    expect(buttonEvent({ clientX: 100, clientY: 50, button: 7 }, true, content)).toBeNull();
    expect(keyEvent({ code: "KeyA", repeat: false }, true)).toEqual({ key: { code: "KeyA", down: true } });
    expect(keyEvent({ code: "KeyA", repeat: true }, true)).toBeNull(); // the remote side repeats
    expect(keyEvent({ code: "", repeat: false }, true)).toBeNull();
    const encoded = wire.InputEvent.decode(wire.InputEvent.encode(keyEvent({ code: "ControlLeft", repeat: false }, false)!).finish());
    expect(encoded.key).toMatchObject({ code: "ControlLeft", down: false });

    const w = new WheelAccumulator();
    expect(w.push({ deltaX: 0, deltaY: 40, deltaMode: 0 })).toBeNull();
    expect(w.push({ deltaX: 0, deltaY: 60, deltaMode: 0 })).toEqual({ wheel: { dx: 0, dy: 1 } });
    expect(w.push({ deltaX: -3, deltaY: 0, deltaMode: 1 })).toEqual({ wheel: { dx: -1, dy: 0 } });
    expect(w.push({ deltaX: 0, deltaY: -2, deltaMode: 2 })).toEqual({ wheel: { dx: 0, dy: -2 } });

    const held = new PressedState();
    held.track({ key: { code: "ShiftLeft", down: true } });
    held.track({ key: { code: "KeyA", down: true } });
    held.track({ key: { code: "KeyA", down: false } });
    held.track({ button: { button: 1, down: true, x: 0.1, y: 0.1 } });
    expect(held.releaseAll({ x: 0.5, y: 0.5 })).toEqual([
      { key: { code: "ShiftLeft", down: false } },
      { button: { button: 1, down: false, x: 0.5, y: 0.5 } },
    ]);
    expect(held.releaseAll()).toEqual([]);
  });

  it("computes fps, bitrate and a latency estimate from two getStats samples", () => {
    const a = sampleFrom(
      [
        { type: "inbound-rtp", kind: "video", bytesReceived: 1000, framesDecoded: 10, jitterBufferDelay: 0.2, jitterBufferEmittedCount: 10, totalDecodeTime: 0.05 },
        { type: "transport", selectedCandidatePairId: "p1" },
        { type: "candidate-pair", id: "p1", currentRoundTripTime: 0.004 },
      ],
      0,
    )!;
    const b = sampleFrom(
      [
        { type: "inbound-rtp", kind: "video", bytesReceived: 126_000, framesDecoded: 40, framesPerSecond: 30, jitterBufferDelay: 0.5, jitterBufferEmittedCount: 40, totalDecodeTime: 0.11, frameWidth: 640, frameHeight: 480 },
        { type: "transport", selectedCandidatePairId: "p1" },
        { type: "candidate-pair", id: "p1", currentRoundTripTime: 0.004 },
      ],
      1000,
    )!;
    const o = overlay(a, b);
    expect(o.fps).toBe(30);
    expect(o.kbps).toBe(1000);
    expect(o.latencyMs).toBeCloseTo(2 + 10 + 2, 5); // rtt/2 + jitter buffer per frame + decode per frame
    expect(overlayText(o)).toBe("30 fps · ≈ 14 ms · 1.0 Mbit/s");
    expect(overlayText(overlay(null, { atMs: 0, bytesReceived: 0, framesDecoded: 0 }))).toBe("– fps · ≈ – ms · – kbit/s");
    expect(sampleFrom([{ type: "outbound-rtp" }], 0)).toBeNull();
  });

  it("turns the premultiplied cursor into straight alpha, and parses simple-peer signals", () => {
    const px = unpremultiply(new Uint8Array([128, 0, 64, 128, 0, 0, 0, 0]), 2, 1)!;
    expect([...px]).toEqual([255, 0, 128, 128, 0, 0, 0, 0]);
    expect(unpremultiply(new Uint8Array(3), 1, 1)).toBeNull();

    const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
    expect(parseSignal(enc({ type: "offer", sdp: "v=0" }))).toEqual({ kind: "offer", sdp: "v=0" });
    expect(parseSignal(enc({ type: "candidate", candidate: { candidate: "candidate:1", sdpMid: "0", sdpMLineIndex: 0 } }))).toEqual({
      kind: "candidate",
      candidate: { candidate: "candidate:1", sdpMid: "0", sdpMLineIndex: 0 },
    });
    expect(parseSignal(enc({ renegotiate: true })).kind).toBe("ignore");
    expect(parseSignal(enc({ transceiverRequest: { kind: "video" } })).kind).toBe("ignore");
    expect(parseSignal(new TextEncoder().encode("{not json")).kind).toBe("ignore");
  });
});

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
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

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
    broker = await startBroker();
    const added = await cli(["technician", "add", "jane", "--display-name", "Jane Doe", "--data", broker.dataDir]);
    if (added.code !== 0) throw new Error(added.stderr);
    password = /Console password: (\S+)/.exec(added.stdout)![1]!;
    token = added.stdout.trim().split("\n").at(-1)!;
    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    page.on("pageerror", (e) => pageErrors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error" && /Content Security Policy|Refused/.test(m.text())) pageErrors.push(m.text());
    });
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
    for (const [path, type] of [["/console.js", "text/javascript"], ["/console.css", "text/css"]] as const) {
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
    await page.locator("#create-form button[type=submit]").click();
    await page.locator("#created").waitFor();
    link = await page.locator("#created-link").inputValue();
    expect(link).toMatch(new RegExp(`^${broker.url}/s/[A-Za-z0-9_-]+$`));
    await expect(page.locator("#created").textContent()).resolves.toMatch(/shown only now/);

    const listed = (await authed("GET", "/api/sessions")).sessions;
    sessionId = listed[0].id;
    expect(Date.parse(listed[0].expiresAt) - Date.parse(listed[0].createdAt)).toBe(90 * 60_000);
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
    const got = await until(async () => {
      const ev = await xclient.sync(before);
      return ev.filter((e) => e.event === "KeyRelease").length >= 3 && ev.some((e) => e.event === "ButtonRelease") ? ev : null;
    }, 15_000, "X events from the browser");
    const press = got.find((e) => e.event === "ButtonPress")!;
    expect(press.button).toBe(1);
    expect(Math.abs(press.x! - W / 4)).toBeLessThanOrEqual(2);
    expect(Math.abs(press.y! - H / 2)).toBeLessThanOrEqual(2);
    expect(got.filter((e) => e.event === "KeyPress").map((e) => e.keysym)).toEqual([0x61, 0x68, 0x69]);
    await page.locator("#stats", { hasText: /\d+ (k|M)bit\/s/ }).waitFor({ timeout: 15_000 });
    await screenshot(page, "console-viewer.png");
  }, 90_000);

  it("shows at once when the user narrows to view only, and stops sending input", async () => {
    agent.child.stdin!.write("v\n");
    await page.locator("#viewer-banner", { hasText: "viewing only" }).waitFor({ timeout: 10_000 });
    await expect(page.locator("#viewer-scope").textContent()).resolves.toBe("view only");
    expect(await page.locator("#stage.controlling").count()).toBe(0);
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
    await row(sessionId).locator(".row-code", { hasText: `Safety code ${code}` }).waitFor({ timeout: 10_000 });
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
      await until(() => agent.out.all.filter((l) => l.startsWith("Safety code of this connection")).length > codes, 10_000, "the app's code");
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
    for (const s of sockets) s.terminate();
    await broker.stop();
    await page.locator("#link-state", { hasText: "reconnecting" }).waitFor({ timeout: 15_000 });
    broker = await startBroker({ dataDir, port });
    await page.locator("#link-state", { hasText: "live" }).waitFor({ timeout: 30_000 });
    const s = await fetch(broker.url + "/api/sessions", {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ expiresIn: 600 }),
    }).then((r) => r.json() as Promise<any>);
    await row(s.id).waitFor({ timeout: 10_000 });
  }, 60_000);

  it("signs out", async () => {
    await page.locator("#sign-out").click();
    await page.locator("#login").waitFor();
    await page.reload();
    await page.locator("#login").waitFor();
  });
});

/** README screenshots: `TETHER_SCREENSHOTS=docs npx vitest run test/console-ui.test.ts` refreshes docs/*.png. */
async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env["TETHER_SCREENSHOTS"];
  if (!dir) return;
  mkdirSync(join(ROOT, dir), { recursive: true });
  await page.screenshot({ path: join(ROOT, dir, name) });
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
      hello: { code, publicKey: id.publicKey, machineFingerprint: fp, signature: id.sign(activationSignedBytes(challenge.nonce!, code, id.publicKey, fp)), machineName, os: "linux x64" },
    }),
  );
  const act = (await until(() => got.find((m) => m.body === "activation"), 5000, "activation")).activation!;
  expect(act.status).toBe(wire.ActivationResult.Status.STATUS_OK);
  return ws;
}
