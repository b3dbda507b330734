/**
 * Issue 18: the support app's window. Real parts: Xvfb with a window manager (Openbox), the real
 * window program (GTK 3) started by a real support app (`tether agent --window`), a real broker,
 * the technician's side in Node (@roamhq/wrtc). The window is found by its title through X; its
 * text is read from GTK's accessibility tree (the app's TETHER_TRACE_UI=1 trace); the user's clicks
 * and keys are XTest events; screenshots go to .tmp/screenshots (or $TETHER_SCREENSHOTS).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addTechnician,
  api,
  newComputer,
  run,
  startAgent,
  startBroker,
  until,
  type Broker,
  type Computer,
  type Proc,
} from "./support/procs.js";
import {
  Hands,
  screenshot,
  startDesktop,
  uiTree,
  uiWindow,
  waitForNode,
  waitForNoWindow,
  windowTitled,
  grab,
  xWindows,
  type Desktop,
} from "./support/desktop.js";
import { Receiver, shows } from "./support/receiver.js";
import { TestXClient } from "./support/x11-client.js";

const COLOUR = 0x2080c0;
let desk: Desktop;
let hands: Hands;
let broker: Broker;
let token: string;
let tech: ReturnType<typeof api>;
const running: Proc[] = [];
const receivers: Receiver[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The width of the app window at 1x, for the 2x test. */
let oneXWidth = 0;
/** The app's exit code; if it does not exit within 10 s, what was on the screen and in its window. */
async function exitOf(p: Proc): Promise<number> {
  const timeout = sleep(10_000).then(async () => {
    throw new Error(
      `the app did not exit; windows: ${JSON.stringify(await xWindows(desk.display))}; its tree: ${JSON.stringify(uiTree(p))}; stderr: ${p.err.all.filter((l) => !l.startsWith("TETHER_UI")).join("\n")}`,
    );
  });
  return (await Promise.race([p.exited, timeout])).code;
}
/** A screenshot region: a window with some desktop around it. */
const around = (w: { x: number; y: number; width: number; height: number }) => ({
  x: w.x - 30,
  y: w.y - 50,
  width: w.width + 60,
  height: w.height + 80,
});

const GERMAN = { LANG: "de_DE.UTF-8" };
const GTK_LIBRARY = "/usr/lib/x86_64-linux-gnu/libgtk-3.so.0";

/** Each app's computer (to start the app again on the same one). */
const computerOf = new Map<Proc, Computer>();

function windowApp(link: string, env: NodeJS.ProcessEnv = {}, computer: Computer = newComputer(), args = ["--window"]) {
  const p = startAgent(link, computer, { args, env: { DISPLAY: desk.display, TETHER_TRACE_UI: "1", ...env } });
  running.push(p);
  computerOf.set(p, computer);
  return p;
}

/** A session whose app shows its window and is connected; optionally a request of `scope` asked. */
async function connected(env: NodeJS.ProcessEnv = {}) {
  const s = await tech.createSession();
  const a = windowApp(s.link, env);
  await until(async () => (await tech.session(s.id)).online, 15_000, "online");
  return { s, a };
}

async function ask(sessionId: string, scope: "view" | "control") {
  const r = await tech.requestAccess(sessionId, scope);
  expect(r.status).toBe(202);
  return r.json.id as string;
}

const status = async (sessionId: string, rid: string) =>
  (await tech.accessStatus(sessionId, rid)) as { status: string; scope?: string; grantedScope?: string };

beforeAll(async () => {
  desk = await startDesktop(1280, 800);
  hands = new Hands(desk.display);
  broker = await startBroker({ args: ["--organization", "Acme IT", "--consent-timeout", "8"] });
  token = await addTechnician(broker.dataDir, "jane", "Jane Doe");
  tech = api(broker.url, token);
}, 60_000);

afterAll(async () => {
  for (const r of receivers) r.close();
  for (const p of running) p.child.kill("SIGKILL");
  hands?.close();
  await broker?.stop();
  await desk?.stop();
});

describe("the app window (18)", () => {
  it("appears (found by its title through X) and says whom the session is with, in English; the dialog asks in plain words", async () => {
    const { s, a } = await connected();
    const w = await windowTitled(desk.display, "Remote support");
    expect(w.width).toBeGreaterThan(200);
    await waitForNode(a, "main", "Remote support from Acme IT");
    await waitForNode(a, "main", "Connected. Waiting for your support technician (Jane Doe).");
    await waitForNode(a, "main", "Quit", (n) => n.role === "push button");
    console.log(`screenshot: ${await screenshot(desk.display, "app-window-en", around(w))}`);
    oneXWidth = w.width;
    const rid = await ask(s.id, "control");
    const d = await windowTitled(desk.display, "Remote access request");
    await waitForNode(a, "dialog", "Jane Doe (Acme IT) asks to view and control your screen");
    await waitForNode(a, "dialog", /^Jane Doe would see everything on your screen and could use your mouse and keyboard\./);
    await waitForNode(a, "dialog", /^Please answer within 0:0[78]\.$/);
    await waitForNode(a, "dialog", "Allow", (n) => !n.insensitive);
    await sleep(300); // drawn as the tree says
    console.log(`screenshot: ${await screenshot(desk.display, "consent-dialog-en", around(d))}`);
    await hands.press(await waitForNode(a, "dialog", "Decline"));
    await until(async () => (await status(s.id, rid)).status === "denied", 5000, "denied");
    a.child.kill("SIGINT");
    expect(await exitOf(a)).toBe(0);
  }, 60_000);

  it("at 2x scaling (GDK_SCALE=2) the window, dialog and bar are drawn twice as large, and their buttons still answer", async () => {
    const { s, a } = await connected({ GDK_SCALE: "2" });
    const w = await windowTitled(desk.display, "Remote support");
    expect(w.width).toBeGreaterThan(oneXWidth * 1.8);
    const rid = await ask(s.id, "view");
    const d = await windowTitled(desk.display, "Remote access request");
    const allow = await waitForNode(a, "dialog", "Allow", (n) => !n.insensitive);
    await sleep(300);
    console.log(`screenshot: ${await screenshot(desk.display, "consent-dialog-2x-en", around(d))}`);
    await hands.press(allow);
    await until(async () => (await status(s.id, rid)).status === "granted", 5000, "granted");
    const stop = await waitForNode(a, "bar", "Stop sharing");
    await sleep(300);
    console.log(
      `screenshot: ${await screenshot(desk.display, "sharing-bar-2x-en", { x: 0, y: 0, width: desk.width, height: stop.rect![3] + 40 })}`,
    );
    await hands.press(stop);
    await until(async () => (await status(s.id, rid)).status === "ended", 5000, "ended");
    a.child.kill("SIGINT");
    expect(await exitOf(a)).toBe(0);
  }, 60_000);

  it("asks in a dialog: Allow grants control, and the sharing bar names the technician (German)", async () => {
    const { s, a } = await connected(GERMAN);
    const w = await windowTitled(desk.display, "Fernwartung");
    await waitForNode(a, "main", "Fernwartung durch Acme IT");
    await waitForNode(a, "main", "Verbunden. Warten auf Ihren Supportmitarbeiter (Jane Doe).");
    console.log(`screenshot: ${await screenshot(desk.display, "app-window-de", around(w))}`);
    const rid = await ask(s.id, "control");
    const d = await windowTitled(desk.display, "Anfrage für Fernzugriff");
    await waitForNode(a, "dialog", "Jane Doe (Acme IT) möchte Ihren Bildschirm sehen und steuern");
    await waitForNode(a, "dialog", "Ablehnen", (n) => n.focused === true);
    await waitForNode(a, "dialog", "Nur ansehen");
    const allow = await waitForNode(a, "dialog", "Erlauben", (n) => !n.insensitive);
    await sleep(300); // drawn as the tree says
    console.log(`screenshot: ${await screenshot(desk.display, "consent-dialog-de", around(d))}`);
    await hands.press(allow);
    await until(async () => (await status(s.id, rid)).status === "granted", 5000, "granted");
    expect(await status(s.id, rid)).toMatchObject({ status: "granted", grantedScope: "control" });
    const bar = await waitForNode(a, "bar", "Jane Doe steuert Ihren Bildschirm");
    await waitForNode(a, "bar", "Freigabe beenden", (n) => n.role === "push button");
    const barWin = uiWindow(a, "bar")!;
    expect(barWin.nodes.some((n) => n.name === "Nur ansehen")).toBe(true);
    const stop = barWin.nodes.find((n) => n.name === "Freigabe beenden")!;
    await sleep(300);
    console.log(
      `screenshot: ${await screenshot(desk.display, "sharing-bar-de", { x: bar.rect![0] - 60, y: 0, width: stop.rect![0] + stop.rect![2] - bar.rect![0] + 90, height: 60 })}`,
    );
    // The technician starts recording: the broker answers only once the app told the user (a line
    // and the bar's mark); stopping takes the mark away.
    const recording = (on: boolean) =>
      fetch(`${broker.url}/api/sessions/${s.id}/access-requests/${rid}/recording`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ on }),
      });
    // A second start while the app is being asked is refused (409), the first goes through. The app
    // is held (SIGSTOP) while the second comes, so that its answer cannot come first.
    a.child.kill("SIGSTOP");
    const first = recording(true);
    await sleep(300);
    const second = await recording(true);
    a.child.kill("SIGCONT");
    expect(second.status).toBe(409);
    expect((await first).status).toBe(200);
    await a.out.waitFor(/^Diese Sitzung wird von Jane Doe aufgezeichnet\. Sie können die Freigabe jederzeit beenden\.$/, 5000);
    await waitForNode(a, "bar", "● Aufnahme");
    expect((await recording(false)).status).toBe(200);
    await a.out.waitFor(/^Jane Doe hat die Aufzeichnung beendet\.$/, 5000);
    await until(() => !uiWindow(a, "bar")?.nodes.some((n) => n.name === "● Aufnahme"), 5000, "the mark to go");
    await hands.press(stop);
    await until(async () => (await status(s.id, rid)).status === "ended", 5000, "ended");
    await waitForNoWindow(a, "bar");
    a.child.kill("SIGINT");
    expect(await exitOf(a)).toBe(0);
  }, 60_000);

  it("the sharing bar stays on top of a full-screen window and is in the captured picture; input aimed at it does nothing; View only narrows and Stop sharing ends within 1 s, after which no injected input reaches the X server", async () => {
    const full = await TestXClient.start(desk.display, { fullscreen: true });
    try {
      await windowTitled(desk.display, "Tether test full screen");
      await full.fill(0, 0, desk.width, desk.height, COLOUR);
      const { s, a } = await connected();
      const rx = await Receiver.connect(broker.url, token, { keepFrames: false });
      receivers.push(rx);
      const rid = await ask(s.id, "control");
      rx.accessRequestId = rid;
      await hands.press(await waitForNode(a, "dialog", "Allow", (n) => !n.insensitive));
      await a.out.waitFor(/is now viewing and controlling your screen/, 20_000);
      const text = await waitForNode(a, "bar", "Jane Doe is controlling your screen");

      // The user brings the full-screen window to the front: the bar stays above it.
      await full.raise();
      await sleep(1500);
      const g = await grab(desk.display);
      const [tx, ty, tw, th] = text.rect!;
      const at = (x: number, y: number) => g.rgba.readUInt32BE((y * g.width + x) * 4) >>> 8;
      const barPixels = [at(tx - 8, ty + th / 2), at(tx + tw + 4, ty + 2)];
      for (const p of barPixels) expect(p).not.toBe(COLOUR);
      expect(at(10, desk.height - 10)).toBe(COLOUR); // the full-screen window is in front of everything else
      // A window that puts itself above everything after the bar appeared (override-redirect,
      // mapped raised, as presentation tools and games do): the bar raises itself above it again.
      const pushy = await TestXClient.start(desk.display);
      try {
        await pushy.fill(0, 0, desk.width, desk.height, 0xc02020);
        await until(
          async () => {
            const g2 = await grab(desk.display);
            const px = (x: number, y: number) => g2.rgba.readUInt32BE((y * g2.width + x) * 4) >>> 8;
            return px(tx - 8, Math.round(ty + th / 2)) !== 0xc02020 && px(10, desk.height - 10) === 0xc02020;
          },
          3000,
          "the bar above a window that raised itself over it",
        );
      } finally {
        await pushy.stop();
      }
      await full.fill(0, 0, desk.width, desk.height, COLOUR); // it draws once: what the other window covered
      console.log(`screenshot: ${await screenshot(desk.display, "sharing-bar-over-full-screen-en")}`);
      const stopNode = uiWindow(a, "bar")!.nodes.find((n) => n.name === "Stop sharing")!;
      console.log(
        `screenshot: ${await screenshot(desk.display, "sharing-bar-en", { x: tx - 60, y: 0, width: stopNode.rect![0] + stopNode.rect![2] - tx + 90, height: 60 })}`,
      );
      // In the picture the technician gets, as the user sees it: the bar's dark background.
      const f = await until(
        () =>
          rx.latest &&
          rx.latest.width === desk.width &&
          shows(rx.latest, 10, desk.height - 10, COLOUR, 20) &&
          !shows(rx.latest, tx - 8, Math.round(ty + th / 2), COLOUR, 30) &&
          rx.latest,
        10_000,
        "the bar in the stream",
      );
      expect(shows(f, 10, desk.height - 10, COLOUR, 20)).toBe(true);

      // The technician clicks Stop sharing and View only on the bar, and types: nothing happens.
      const send = await rx.input();
      const bar = uiWindow(a, "bar")!;
      const stop = bar.nodes.find((n) => n.name === "Stop sharing")!;
      const narrow = bar.nodes.find((n) => n.name === "View only")!;
      await full.sync();
      const before = full.events.length;
      for (const b of [stop, narrow]) {
        const [x, y, w, h] = b.rect!;
        const nx = (x + w / 2) / desk.width;
        const ny = (y + h / 2) / desk.height;
        send({ move: { x: nx, y: ny } });
        send({ button: { button: 1, down: true, x: nx, y: ny } });
        send({ button: { button: 1, down: false, x: nx, y: ny } });
      }
      send({ move: { x: 0.1, y: 0.9 } }); // elsewhere (not on the app window either): still works
      await until(
        async () => (await full.sync()).slice(before).some((e) => e.event === "MotionNotify"),
        5000,
        "the technician's move elsewhere",
      );
      await sleep(700);
      expect(await status(s.id, rid)).toMatchObject({ status: "granted", grantedScope: "control" });
      expect((await full.sync()).slice(before).filter((e) => e.event === "ButtonPress")).toEqual([]);
      expect(uiWindow(a, "bar")?.nodes.some((n) => n.name === "Jane Doe is controlling your screen")).toBe(true);

      // The user's own click on View only narrows the grant.
      await hands.press(narrow);
      await until(async () => (await status(s.id, rid)).grantedScope === "view", 2000, "narrowed to view");
      await waitForNode(a, "bar", "Jane Doe is viewing your screen");
      expect(uiWindow(a, "bar")!.nodes.some((n) => n.name === "View only")).toBe(false);
      const mark1 = (await full.sync()).length;
      send({ move: { x: 0.1, y: 0.8 } });
      await sleep(500);
      expect((await full.sync(mark1)).filter((e) => e.event === "MotionNotify")).toEqual([]);

      // Stop sharing ends the grant within 1 s; the technician's input goes nowhere after it.
      const stop2 = await waitForNode(a, "bar", "Stop sharing");
      const t0 = performance.now();
      await hands.press(stop2);
      await until(async () => (await status(s.id, rid)).status === "ended", 2000, "ended");
      const took = performance.now() - t0;
      console.log(`Stop sharing → grant ended in ${took.toFixed(0)} ms`);
      expect(took).toBeLessThan(1000);
      await waitForNoWindow(a, "bar");
      const mark2 = (await full.sync()).length;
      for (let i = 0; i < 10; i++) {
        try {
          send({ move: { x: 0.2 + i / 50, y: 0.5 } });
          send({ key: { code: "KeyA", down: true } });
          send({ key: { code: "KeyA", down: false } });
        } catch {
          // the app closed the connection: the technician's side keeps trying
        }
        await sleep(50);
      }
      await sleep(500);
      expect(
        (await full.sync(mark2)).filter((e) => e.event === "MotionNotify" || e.event === "KeyPress" || e.event === "ButtonPress"),
      ).toEqual([]);
      a.child.kill("SIGINT");
      await a.exited;
    } finally {
      await full.stop();
    }
  }, 90_000);

  it("with two monitors the bar starts on the primary one and moves to the monitor the technician watches", async () => {
    await desk.xvfb.x("xrandr", ["--setmonitor", "*left", "640/169x800/211+0+0", "none"]);
    await desk.xvfb.x("xrandr", ["--setmonitor", "right", "640/169x800/211+640+0", "none"]);
    try {
      const { s, a } = await connected();
      const rx = await Receiver.connect(broker.url, token, { keepFrames: false });
      receivers.push(rx);
      rx.accessRequestId = await ask(s.id, "view");
      await hands.press(await waitForNode(a, "dialog", "Allow", (n) => !n.insensitive));
      await a.out.waitFor(/is now viewing your screen/, 20_000);
      const onLeft = await waitForNode(a, "bar", "Jane Doe is viewing your screen");
      expect(onLeft.rect![0] + onLeft.rect![2]).toBeLessThanOrEqual(640);
      const monitors = await until(() => rx.control.find((m) => m.monitors)?.monitors, 10_000, "the monitor list");
      const right = monitors.monitors!.findIndex((m) => m.name === "right");
      expect(right).toBeGreaterThanOrEqual(0);
      await rx.sendControl({ selectMonitor: { index: right } });
      const moved = await waitForNode(a, "bar", "Jane Doe is viewing your screen", (n) => n.rect![0] >= 640);
      expect(moved.rect![0] + moved.rect![2]).toBeLessThanOrEqual(1280);
      a.child.kill("SIGINT");
      await exitOf(a);
    } finally {
      await desk.xvfb.x("xrandr", ["--delmonitor", "left"]).catch(() => "");
      await desk.xvfb.x("xrandr", ["--delmonitor", "right"]).catch(() => "");
    }
  }, 60_000);

  it("View only in the dialog grants view; Decline and Escape decline; a key held before the dialog answers nothing; unanswered, it times out", async () => {
    const { s, a } = await connected();
    // View only
    let rid = await ask(s.id, "control");
    await hands.press(await waitForNode(a, "dialog", "View only", (n) => !n.insensitive));
    await until(async () => (await status(s.id, rid)).status === "granted", 5000, "granted");
    expect((await status(s.id, rid)).grantedScope).toBe("view");
    await waitForNode(a, "bar", "Jane Doe is viewing your screen");
    expect((await tech.call("POST", `/api/sessions/${s.id}/access-requests/${rid}/end`)).status).toBeLessThan(300);
    await waitForNoWindow(a, "bar");
    // Decline
    rid = await ask(s.id, "view");
    const decline = await waitForNode(a, "dialog", "Decline", (n) => n.focused === true);
    expect(uiWindow(a, "dialog")!.nodes.some((n) => n.name === "View only")).toBe(false); // only when control is asked
    await hands.press(decline);
    await until(async () => (await status(s.id, rid)).status === "denied", 5000, "denied");
    await waitForNoWindow(a, "dialog");
    await a.out.waitFor(/^You declined the request from Jane Doe\.$/);
    // A key held down before the dialog appears (with auto-repeat) answers nothing; Escape declines.
    await hands.key("Enter", "down");
    try {
      rid = await ask(s.id, "control");
      await waitForNode(a, "dialog", "Allow", (n) => !n.insensitive);
      await sleep(1200); // the held key repeats
      expect((await status(s.id, rid)).status).toBe("pending");
    } finally {
      await hands.key("Enter", "up");
    }
    await sleep(200);
    expect((await status(s.id, rid)).status).toBe("pending");
    await hands.key("Escape");
    await until(async () => (await status(s.id, rid)).status === "denied", 5000, "denied by Escape");
    await waitForNoWindow(a, "dialog");
    // Unanswered: the dialog counts down and closes when the broker ends the request (8 s here).
    rid = await ask(s.id, "view");
    await waitForNode(a, "dialog", /^Please answer within 0:0[78]\.$/);
    await waitForNoWindow(a, "dialog", 15_000);
    expect((await status(s.id, rid)).status).toBe("expired");
    await waitForNode(a, "main", "The request from Jane Doe timed out without an answer.");
    a.child.kill("SIGINT");
    await a.exited;
  }, 90_000);

  it("closed, invalid, expired: the window shows the seed's message, and the app ends with the same exit code once it is closed", async () => {
    // Closed by the technician (5)
    const { s, a } = await connected();
    await waitForNode(a, "main", /^Connected\./);
    await tech.close(s.id);
    await waitForNode(a, "main", "The support session was closed by your support technician.");
    const w = await windowTitled(desk.display, "Remote support");
    await sleep(300);
    console.log(`screenshot: ${await screenshot(desk.display, "app-window-closed-en", around(w))}`);
    await sleep(500);
    expect(a.child.exitCode).toBe(null); // waits for the user
    await hands.press(await waitForNode(a, "main", "Close", (n) => n.role === "push button"));
    expect(await exitOf(a)).toBe(5);
    // Invalid: the link already bound to another computer (3), in German
    const s2 = await tech.createSession();
    const first = windowApp(s2.link);
    await until(async () => (await tech.session(s2.id)).online, 15_000, "online");
    const other = windowApp(s2.link, GERMAN);
    await waitForNode(other, "main", "Die Support-Sitzung ist ungültig.");
    await hands.press(await waitForNode(other, "main", "Schließen"));
    expect(await exitOf(other)).toBe(3);
    first.child.kill("SIGINT");
    await first.exited;
    // Expired before it was ever bound (4)
    const s3 = await tech.createSession(1);
    await sleep(1500);
    const late = windowApp(s3.link);
    await waitForNode(late, "main", "The support session has expired.");
    await hands.press(await waitForNode(late, "main", "Close"));
    expect(await exitOf(late)).toBe(4);
  }, 90_000);

  it("chats in the window: the technician's message appears in the chat area, and what the user types there and sends reaches the technician (before any consent)", async () => {
    const { s, a } = await connected();
    const send = await waitForNode(a, "main", "Send", (n) => n.role === "push button");
    const chat = (body?: object) =>
      fetch(`${broker.url}/api/sessions/${s.id}/chat`, {
        method: body ? "POST" : "GET",
        headers: { authorization: `Bearer ${token}`, ...(body && { "content-type": "application/json" }) },
        ...(body && { body: JSON.stringify(body) }),
      });
    expect((await chat({ text: "Hi, this is Jane from the help desk" })).status).toBe(201);
    await waitForNode(a, "main", "Jane Doe: Hi, this is Jane from the help desk");
    // The entry does not have the keyboard by itself (a stray Enter sends nothing): the user clicks into it.
    const entry = await waitForNode(a, "main", "Write to your technician");
    expect(entry.focused).toBeFalsy();
    await hands.press(entry);
    await waitForNode(a, "main", "Write to your technician", (n) => n.focused === true);
    await hands.type("My printer says paper jam");
    await hands.key("Enter");
    await waitForNode(a, "main", "You: My printer says paper jam");
    await until(
      async () => {
        const { messages } = (await (await chat()).json()) as { messages: { from: string; text: string }[] };
        return messages.some((m) => m.from === "user" && m.text === "My printer says paper jam");
      },
      10_000,
      "the user's message at the broker",
    );
    // The Send button too; an empty line sends nothing.
    await hands.press(send);
    await hands.press(entry);
    await hands.type("It prints again");
    await hands.press(send);
    await waitForNode(a, "main", "You: It prints again");
    const { messages } = (await (await chat()).json()) as { messages: { from: string; text: string }[] };
    expect(messages.map((m) => `${m.from}: ${m.text}`)).toEqual([
      "technician: Hi, this is Jane from the help desk",
      "user: My printer says paper jam",
      "user: It prints again",
    ]);
    const w = await windowTitled(desk.display, "Remote support");
    console.log(`screenshot: ${await screenshot(desk.display, "app-window-chat", around(w))}`);
    a.child.kill("SIGINT");
    expect(await exitOf(a)).toBe(0);
  }, 60_000);

  it("Quit (and the close box) quits with today's meaning: exit 0, the session stays open", async () => {
    const { s, a } = await connected();
    await hands.press(await waitForNode(a, "main", "Quit", (n) => n.role === "push button"));
    expect(await exitOf(a)).toBe(0);
    expect(a.out.all).toContain("Support app closed. Your support session stays open: start the app again to reconnect.");
    await until(async () => !(await tech.session(s.id)).online, 5000, "offline");
    expect((await tech.session(s.id)).state).toBe("active");
    // Started again: the same session; the window manager's close box quits the same way.
    const again = windowApp(s.link, {}, computerOf.get(a)!);
    await waitForNode(again, "main", "Connected. Waiting for your support technician (Jane Doe).");
    const win = await windowTitled(desk.display, "Remote support");
    // Openbox's title bar above the window (X's geometry of the window itself): its close button
    // is the last one, at the right end.
    await hands.click(win.x + win.width - 10, win.y - 10);
    expect(await exitOf(again)).toBe(0);
    expect(again.out.all).toContain("Support app closed. Your support session stays open: start the app again to reconnect.");
    expect((await tech.session(s.id)).state).toBe("active");
  }, 60_000);
});

/** The terminal works as today: the request is asked as a line, n declines, Ctrl+C quits (exit 0). */
async function answersInTerminal(a: Proc, sessionId: string) {
  await a.out.waitFor(/^Connected\./);
  const rid = await ask(sessionId, "view");
  await a.out.waitFor(/requests to view your screen/);
  a.child.stdin!.write("n\n");
  await until(async () => (await status(sessionId, rid)).status === "denied", 5000, "denied");
  a.child.kill("SIGINT");
  expect(await exitOf(a)).toBe(0);
}

describe("without a window (18)", () => {
  it("--window without a display: one line says why, and the terminal works as today", async () => {
    const s = await tech.createSession();
    const a = windowApp(s.link, { DISPLAY: "" });
    await a.err.waitFor(/^No window can be shown here \(.*\); the support app continues in this terminal\.$/);
    await answersInTerminal(a, s.id);
  }, 60_000);

  it("a computer without GTK 3 (libgtk-3.so.0 hidden): the terminal, and the line names the library", async () => {
    const s = await tech.createSession();
    const c = newComputer();
    // Its own mount namespace, where GTK 3's library is an empty file: the loader refuses the
    // window program, as on a computer without GTK.
    const a = run(["agent", s.link, "--window"], {
      prefix: [
        "unshare",
        "-m",
        "sh",
        "-c",
        'mount --bind "$0" /etc/machine-id && mount --bind /dev/null "$1" && shift && exec "$@"',
        c.machineIdFile,
        GTK_LIBRARY,
      ],
      env: { LANG: "C.UTF-8", DISPLAY: desk.display, TETHER_TRACE_UI: "1", XDG_STATE_HOME: c.stateHome },
    });
    running.push(a);
    await a.err.waitFor(/^No window can be shown here \(.*libgtk-3\.so\.0.*\); the support app continues in this terminal\.$/);
    await answersInTerminal(a, s.id);
  }, 60_000);

  it("tether agent without --window stays in the terminal even with a display", async () => {
    const s = await tech.createSession();
    const a = windowApp(s.link, {}, newComputer(), []);
    await a.out.waitFor(/^Connected\./);
    await sleep(500);
    expect(uiTree(a)).toEqual([]);
    expect(a.err.all.filter((l) => l.startsWith("TETHER_UI"))).toEqual([]);
    a.child.kill("SIGINT");
    await a.exited;
  }, 60_000);
});
