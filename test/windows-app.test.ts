/**
 * The Windows support app (tether-support-windows-x64.exe, built here by npm run build:app's script
 * and Authenticode-signed with a certificate made here) as a Windows user meets it, under Wine on a
 * private Xvfb with a window manager: downloaded through a real session's link page as Edge would,
 * run with wine64 in a Wine prefix per "computer" (each with its own machine GUID), against a broker
 * on loopback. Real processes; nothing of Windows is mocked. Fails (never skips) when mingw-w64,
 * Wine or osslsigncode is missing.
 *
 * What Wine cannot show (DXGI desktop duplication, UAC and the secure desktop, Ctrl+Alt+Del): the
 * README's "The support app on Windows".
 */
import { execFileSync, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Hands,
  screenshot,
  startDesktop,
  waitForNode,
  waitForNoWindow,
  type Desktop,
  type UiNode,
  type UiWindow,
} from "./support/desktop.js";
import { addTechnician, api, ROOT, spawnProc, startBroker, tempDir, until, type Broker, type Proc } from "./support/procs.js";
import { Receiver, shows } from "./support/receiver.js";
import { cloneWinePrefix, createWinePrefix, WINE64, winPath, type WinePrefix } from "./support/wine.js";

const EDGE = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 Edg/126.0";
const WIDTH = 1024;
const HEIGHT = 768;
// The Win32 test window (native/test-client-win): red, green, blue and white quadrants.
const TEST_WINDOW = { x: 40, y: 420, width: 240, height: 160 };

let desk: Desktop;
let hands: Hands;
let broker: Broker;
let tech: ReturnType<typeof api>;
let techToken = "";
let A: WinePrefix; // the first "computer"
let B: WinePrefix & { machineGuid: string }; // another one: another machine GUID
let certDir = "";
let testWindow: ChildProcess | undefined;
const running: Proc[] = [];

beforeAll(async () => {
  const started = Date.now();
  const dataDir = tempDir("tether-winapp-broker-");
  const outDir = tempDir("tether-winapp-build-");
  // A code-signing certificate of our own: the build signs with it (osslsigncode) and reserves the trailer slot.
  certDir = tempDir("tether-winapp-cert-");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      join(certDir, "key.pem"),
      "-out",
      join(certDir, "cert.pem"),
      "-days",
      "2",
      "-subj",
      "/CN=Tether Test Code Signing/O=Tether Tests",
      "-addext",
      "extendedKeyUsage=codeSigning",
      "-addext",
      "keyUsage=digitalSignature",
    ],
    { stdio: "pipe" },
  );
  const build = spawnSync(
    process.execPath,
    [join(ROOT, "scripts", "build-app.mjs"), "--data", dataDir, "--out", outDir, "--platform", "windows"],
    { encoding: "utf8", env: { ...process.env, TETHER_SIGN_CERT: join(certDir, "cert.pem"), TETHER_SIGN_KEY: join(certDir, "key.pem") } },
  );
  if (build.status !== 0) throw new Error(`build-app --platform windows failed:\n${build.stdout}\n${build.stderr}`);
  process.stdout.write(`windows app: ${build.stdout.trim().split("\n").at(-1)}\n`);
  const exe = join(outDir, "tether-support-windows-x64.exe");
  // Only the Windows app is offered by this broker's --app-windows; its Linux path does not exist.
  broker = await startBroker({ dataDir, args: ["--app", join(outDir, "none"), "--app-windows", exe, "--organization", "ACME IT"] });
  techToken = await addTechnician(broker.dataDir, "jane", "Jane Doe");
  tech = api(broker.url, techToken);
  desk = await startDesktop(WIDTH, HEIGHT);
  hands = new Hands(desk.display);
  A = createWinePrefix(desk.display);
  B = cloneWinePrefix(A, desk.display);
  process.stdout.write(`windows app test set up in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}, 240_000);

afterAll(async () => {
  for (const p of running) p.child.kill("SIGKILL");
  testWindow?.kill();
  hands?.close();
  A?.destroy();
  B?.destroy();
  await broker?.stop();
  await desk?.stop();
});

/** Downloads the app through the session's link page, as Edge on Windows would, into `on`'s Downloads. */
async function download(link: string, on: WinePrefix): Promise<string> {
  const page = await (await fetch(link, { headers: { "user-agent": EDGE } })).text();
  const [, href, name] = /<a class="dl" href="([^"]+)" download="([^"]+)">Download the support app for Windows<\/a>/.exec(page) ?? [];
  expect(href, page).toBeDefined();
  const res = await fetch(new URL(href!, link), { headers: { "user-agent": EDGE } });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-disposition")).toBe(`attachment; filename="${name}"`);
  const file = join(on.driveC, "users", "root", "Downloads", name!);
  execFileSync("mkdir", ["-p", join(file, "..")]);
  writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  return file;
}

function app(on: WinePrefix, exe: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Proc {
  const p = on.launch(exe, args, { TETHER_TRACE_UI: "1", ...env });
  running.push(p);
  return p;
}

const lastLine = (p: Proc) => p.out.all.filter((l) => l.trim()).at(-1);

describe("the Windows support app under Wine", () => {
  let first: { id: string; link: string };
  let firstExe = "";

  it("a download is Authenticode-signed and stays so with its session inside; --check: Node 22, the Win32 window, no WebRTC tuning", async () => {
    first = await tech.createSession();
    firstExe = await download(first.link, A);
    const verify = spawnSync("osslsigncode", ["verify", "-in", firstExe, "-CAfile", join(certDir, "cert.pem")], { encoding: "utf8" });
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout).toContain("Signature verification: ok");
    expect(verify.stdout).toContain("Subject: /CN=Tether Test Code Signing/O=Tether Tests");

    const check = app(A, firstExe, ["--check"]);
    expect((await check.exited).code).toBe(0);
    expect(check.out.all).toContain(`session: ${first.id} at 127.0.0.1:${broker.port}`);
    expect(check.out.all.find((l) => l.startsWith("integrity: "))).toMatch(/^integrity: ok \(\d+\.\d MB checked in \d+ ms\)$/);
    expect(check.out.all).toContain("runtime: Node.js v22.23.3 (Jod LTS)");
    expect(check.out.all).toContain("webrtc: ok");
    expect(check.out.all.find((l) => l.startsWith("interface: "))).toMatch(/^interface: window \(Win32, Windows 10\.0\.\d+\)$/);
    expect(check.out.all.find((l) => l.startsWith("native: "))).toMatch(
      /^native: ok \(C:\\users\\root\\AppData\\Local\\Tether\\cache\\app-[0-9a-f]{16}\\tether_native\.node\)$/,
    );
    expect(check.out.all.find((l) => l.startsWith("webrtc tuning: "))).toMatch(
      /^webrtc tuning: unavailable on Windows .*12 ms more per frame/,
    );
    expect((await tech.session(first.id)).state).toBe("waiting"); // --check binds nothing
  }, 60_000);

  it("binds on the first computer (its key under %LOCALAPPDATA%\\Tether); a second computer is invalid (exit 3), in German too", async () => {
    const a = app(A, firstExe, ["--no-window"]);
    await a.out.waitFor(/^Connected\. Waiting for your support technician \(Jane Doe\)\.$/, 30_000);
    await until(async () => (await tech.session(first.id)).online, 5000, "online");
    expect((await tech.session(first.id)).machine).toMatchObject({ os: "win32 x64" });
    // The key file is where Windows keeps a user's application data. Its rights were set (restrictToOwner
    // failing would have stopped the app with one line); what they are cannot be read back under Wine (next test).
    expect(existsSync(join(A.driveC, "users", "root", "AppData", "Local", "Tether", "identity.pem"))).toBe(true);

    const b = app(B, firstExe, ["--no-window"]);
    expect((await b.exited).code).toBe(3);
    expect(b.out.all.concat(b.err.all)).toContain("The support session is invalid.");
    // German from the display language (Wine takes it from LC_ALL; the app never reads LC_ALL on Windows).
    const de = app(B, firstExe, ["--no-window"], { LC_ALL: "de_DE.UTF-8" });
    expect((await de.exited).code).toBe(3);
    expect(de.out.all.concat(de.err.all)).toContain("Die Support-Sitzung ist ungültig.");
    expect((await tech.session(first.id)).online).toBe(true); // A is still the one

    a.child.kill("SIGINT");
    await a.exited;
  }, 90_000);

  it("Wine 8.0 does not keep a file's DACL (why the key file's rights are checked on real Windows only): a protected one-entry DACL set with SetNamedSecurityInfoW reads back as the one Wine derives from the Unix mode", () => {
    const file = join(A.driveC, "dacl-probe.txt");
    writeFileSync(file, "x", { mode: 0o644 });
    const { set, read } = daclRoundTrip(A, file);
    expect(set).toBe(0); // ERROR_SUCCESS
    // Asked for: D:P(A;;FA;;;<user>). Wine answers with what a 0775 file gets (it turned the DACL into a mode):
    expect(read).toMatch(/^D:\(A;;FA;;;SY\)\(A;;FA;;;S-1-5-21-[\d-]+\)\(A;;0x1200a9;;;WD\)$/);
    // If this fails because Wine now keeps the DACL, assert D:P(A;;FA;;;S-1-5-21-…) on the key file above instead.
  });

  it("a session never bound and past its expiry: expired (exit 4), in English and German", async () => {
    const s = await tech.createSession(1);
    const exe = await download(s.link, B);
    await new Promise((r) => setTimeout(r, 1100));
    const en = app(B, exe, ["--no-window"]);
    expect((await en.exited).code).toBe(4);
    expect(en.out.all.concat(en.err.all)).toContain("The support session has expired.");
    const de = app(B, exe, ["--no-window"], { LC_ALL: "de_DE.UTF-8" });
    expect((await de.exited).code).toBe(4);
    expect(de.out.all.concat(de.err.all)).toContain("Die Support-Sitzung ist abgelaufen.");
  }, 60_000);

  it("in its window: Quit keeps the session; relaunched, Escape declines the consent dialog and its Allow (clicked through XTest) streams the screen and lets the technician's input reach a window; View only drops it; closed by the technician: exit 5", async () => {
    testWindow = A.start(join(ROOT, "build-win", "tether_test_window.exe"), [
      String(TEST_WINDOW.x),
      String(TEST_WINDOW.y),
      String(TEST_WINDOW.width),
      String(TEST_WINDOW.height),
      winPath(join(A.dir, "test-window.log")),
    ]);
    const s = await tech.createSession();
    const exe = await download(s.link, A);
    const first = app(A, exe);
    await waitForNode(first, "main", "Connected. Waiting for your support technician (Jane Doe).", undefined, 30_000);
    await hands.press(await waitForNode(first, "main", "Quit"));
    expect((await first.exited).code).toBe(0);
    expect(lastLine(first)).toBe("Support app closed. Your support session stays open: start the app again to reconnect.");
    expect((await tech.session(s.id)).state).toBe("active");

    const again = app(A, exe);
    await waitForNode(again, "main", "Connected. Waiting for your support technician (Jane Doe).", undefined, 30_000);
    // Escape declines (the dialog has the keyboard, on Decline).
    const asked = await tech.requestAccess(s.id, "view");
    await waitForNode(again, "dialog", "Decline", (n) => n.focused === true, 15_000);
    expect(await waitForNode(again, "dialog", "Allow")).toMatchObject({ insensitive: true }); // not armed yet
    await waitForNode(again, "dialog", "Allow", (n) => !n.insensitive);
    await hands.key("Escape");
    await waitForNoWindow(again, "dialog");
    await until(async () => (await tech.accessStatus(s.id, asked.json.id)).status === "denied", 5000, "denied");
    await waitForNode(again, "main", "You declined the request from Jane Doe.");

    const rx = await Receiver.connect(broker.url, techToken);
    const r = await tech.requestAccess(s.id, "control");
    rx.accessRequestId = r.json.id;
    const allow = await waitForNode(again, "dialog", "Allow", (n) => !n.insensitive, 15_000);
    const decline = await waitForNode(again, "dialog", "Decline");
    expect(decline.focused).toBe(true); // the keyboard starts on Decline
    await waitForNode(again, "dialog", "View only");
    const dialogRect = geometry(again)[1];
    if (dialogRect)
      await screenshot(desk.display, "consent-dialog-windows", {
        x: dialogRect[0],
        y: dialogRect[1],
        width: dialogRect[2],
        height: dialogRect[3],
      });
    await hands.press(allow);
    await waitForNode(again, "bar", "Jane Doe is controlling your screen", undefined, 15_000);
    // The technician's receiver gets the Wine desktop, GDI-captured: the test window's red quadrant.
    const red = { x: TEST_WINDOW.x + TEST_WINDOW.width / 4, y: TEST_WINDOW.y + TEST_WINDOW.height / 4 };
    await rx.frame(WIDTH, HEIGHT, (f) => shows(f, red.x, red.y, 0xff0000, 30), 0, 30_000);

    // Control: the technician's click and key reach the test window (it logs the input it receives).
    const send = await rx.input();
    const green = { x: (TEST_WINDOW.x + (3 * TEST_WINDOW.width) / 4) / WIDTH, y: (TEST_WINDOW.y + TEST_WINDOW.height / 4) / HEIGHT };
    const click = () => {
      send({ move: green });
      send({ button: { button: 1, down: true, ...green } });
      send({ button: { button: 1, down: false, ...green } });
    };
    const typeA = () => {
      send({ key: { code: "KeyA", down: true } });
      send({ key: { code: "KeyA", down: false } });
    };
    const before = windowLog().length;
    click(); // which also gives the window the keyboard
    await until(
      () =>
        windowLog()
          .slice(before)
          .some((l) => l.startsWith("button left up")),
      10_000,
      "the click in the test window",
    );
    await new Promise((r) => setTimeout(r, 300));
    typeA();
    const reached = await until(
      () =>
        windowLog()
          .slice(before)
          .some((l) => l.startsWith("key up vk=41")) && windowLog().slice(before),
      10_000,
      "the key in the test window",
    );
    expect(
      reached.filter((l) => /^(button left|key (down|up) vk=41)/.test(l)).map((l) => l.replace(/^(button \w+ \w+) .*$/, "$1")),
    ).toEqual(["button left down", "button left up", "key down vk=41 scan=1e ext=0", "key up vk=41 scan=1e ext=0"]);
    // View only, clicked on the sharing bar: the same input reaches nothing; the agent counts it as dropped.
    await hands.press(await waitForNode(again, "bar", "View only"));
    await until(async () => (await tech.accessStatus(s.id, r.json.id)).grantedScope === "view", 5000, "narrowed to view");
    await waitForNode(again, "bar", "Jane Doe is viewing your screen");
    const dropped = () => Math.max(0, ...rx.control.filter((c) => c.body === "stats").map((c) => c.stats!.inputsDropped ?? 0));
    const [droppedBefore, mark] = [dropped(), windowLog().length];
    click();
    typeA();
    await until(() => dropped() >= droppedBefore + 5, 10_000, "the five events counted as dropped");
    await new Promise((r) => setTimeout(r, 500));
    expect(windowLog().slice(mark)).toEqual([]);
    rx.close();

    await tech.close(s.id);
    await waitForNode(again, "main", "The support session was closed by your support technician.", undefined, 10_000);
    await hands.press(await waitForNode(again, "main", "Close"));
    expect((await again.exited).code).toBe(5);
  }, 120_000);

  it("chats in its window: the technician's message (broker's chat API) appears in the chat area; the user clicks into the entry, types and sends with Enter and with Send; the technician reads both as from the user", async () => {
    const s = await tech.createSession();
    const exe = await download(s.link, A);
    const a = app(A, exe);
    await waitForNode(a, "main", "Connected. Waiting for your support technician (Jane Doe).", undefined, 30_000);
    const send = await waitForNode(a, "main", "Send", (n) => n.role === "push button");
    const entry = await waitForNode(a, "main", "Write to your technician", (n) => n.role === "text");
    expect(entry.focused).toBeFalsy(); // nothing has the keyboard by itself: a stray Enter sends nothing
    const chat = async () => (await tech.call("GET", `/api/sessions/${s.id}/chat`)).json as { messages: { from: string; text: string }[] };
    expect((await tech.call("POST", `/api/sessions/${s.id}/chat`, { text: "Hi, this is Jane from the help desk" })).status).toBe(201);
    await waitForNode(a, "main", "Jane Doe: Hi, this is Jane from the help desk", (n) => n.rect !== undefined, 10_000);

    await hands.press(entry);
    await waitForNode(a, "main", "Write to your technician", (n) => n.focused === true);
    await type("my printer says paper jam");
    await hands.key("Enter");
    await waitForNode(a, "main", "You: my printer says paper jam");
    await until(async () => (await chat()).messages.some((m) => m.from === "user"), 10_000, "the user's message at the broker");
    // The Send button too; an empty line sends nothing.
    await hands.press(send);
    await hands.press(entry);
    await type("it prints again");
    await hands.press(send);
    await waitForNode(a, "main", "You: it prints again");
    await until(async () => (await chat()).messages.length === 3, 10_000, "the second message at the broker");
    expect((await chat()).messages.map((m) => `${m.from}: ${m.text}`)).toEqual([
      "technician: Hi, this is Jane from the help desk",
      "user: my printer says paper jam",
      "user: it prints again",
    ]);
    const rect = geometry(a)[0];
    if (rect) await screenshot(desk.display, "app-window-chat-windows", { x: rect[0], y: rect[1], width: rect[2], height: rect[3] });
    await hands.press(await waitForNode(a, "main", "Quit"));
    expect((await a.exited).code).toBe(0);
  }, 90_000);
});

describe("tether-window.exe alone under Wine, spoken to in JSON lines", () => {
  it("the chat area: shown by main's chatSend (the window grows, nothing has the keyboard); messages appended in view; clicked into, typed, sent with Enter and with Send (trimmed, nothing when empty); Escape in the messages quits nothing and Tab leaves them", async () => {
    const w = spawnProc(WINE64, [join(ROOT, "build-win", "tether-window.exe")], { ...A.env, TETHER_TRACE_UI: "1" });
    const send = (c: object) => w.child.stdin!.write(`${JSON.stringify(c)}\n`);
    const chats = () => events(w, "chat").map((e) => e["text"]);
    const mainRect = () => (events(w, "geometry").at(-1)?.["rects"] as number[][] | undefined)?.[0];
    try {
      await w.out.waitFor(/"ev":"ready"/, 30_000);
      const main = {
        cmd: "main",
        title: "Tether Support",
        heading: "Remote support",
        status: "Connected.",
        quit: "Quit",
        viewOnly: "View only",
        stop: "Stop sharing",
      };
      send(main);
      await mainNode(w, "Quit");
      const before = await until(mainRect, 5000, "geometry");
      send({ ...main, chatSend: "Send", chatPlaceholder: "Write to Jane Doe…" });
      const entry = await mainNode(w, "Write to Jane Doe…");
      expect(entry.role).toBe("text");
      const sendButton = await mainNode(w, "Send");
      expect(sendButton.role).toBe("push button");
      expect(
        treeOf(w)
          .flatMap((win) => win.nodes)
          .filter((n) => n.focused),
      ).toEqual([]); // a stray Enter sends nothing
      // The window grew to fit, and says so (the app's input guard reads these rectangles).
      const after = await until(() => (mainRect()?.[3] ?? 0) > before[3]! + 100 && mainRect(), 5000, "a taller window");
      expect(after.slice(0, 3)).toEqual(before.slice(0, 3));
      const [x, y, width, height] = after;
      for (const n of [entry, sendButton]) {
        const [nx, ny, nw, nh] = n.rect!;
        expect(nx >= x! && ny >= y! && nx + nw <= x! + width! && ny + nh <= y! + height!, JSON.stringify(n)).toBe(true);
      }

      // The technician's messages, UTF-8 as it is; the newest stays in view, the oldest scrolls out.
      send({ cmd: "chat", from: "technician", name: "Jane Doe", text: "Grüß Gott — ich helfe gern 👋" });
      await mainNode(w, "Jane Doe: Grüß Gott — ich helfe gern 👋", (n) => n.rect !== undefined);
      for (let i = 1; i <= 12; i++) send({ cmd: "chat", from: "technician", name: "Jane Doe", text: `line ${i}` });
      await mainNode(w, "Jane Doe: line 12", (n) => n.rect !== undefined);
      await mainNode(w, "Jane Doe: Grüß Gott — ich helfe gern 👋", (n) => n.rect === undefined);

      // The user clicks into the entry, types, Enter sends; then types and clicks Send.
      await hands.press(entry);
      await mainNode(w, "Write to Jane Doe…", (n) => n.focused === true);
      await type(" my printer is broken ");
      await hands.key("Enter");
      await until(() => chats().length === 1, 5000, "the chat event");
      await type("ok");
      await hands.press(sendButton);
      await until(() => chats().length === 2, 5000, "the second chat event");
      await mainNode(w, "Write to Jane Doe…", (n) => n.focused === true); // back in the entry after Send
      // Empty (or only spaces): nothing is sent.
      await hands.press(sendButton);
      await type("  ");
      await hands.key("Enter");
      await new Promise((r) => setTimeout(r, 500));
      expect(chats()).toEqual(["my printer is broken", "ok"]);
      expect(events(w, "geometry").at(-1)?.["focused"]).toBe(true);

      // In the messages (a read-only multi-line edit) Escape closes nothing and Tab moves on.
      await hands.press(await mainNode(w, "Jane Doe: line 12"));
      await hands.key("Escape");
      await hands.key("Enter");
      await new Promise((r) => setTimeout(r, 500));
      expect(events(w, "quit")).toEqual([]);
      await hands.key("Tab");
      await mainNode(w, "Write to Jane Doe…", (n) => n.focused === true);
      const g = mainRect()!;
      await screenshot(desk.display, "tether-window-chat-windows", { x: g[0]!, y: g[1]!, width: g[2]!, height: g[3]! });

      // The final message: the chat goes, and stays gone.
      send({ cmd: "final", text: "The support session was closed by your support technician.", close: "Close" });
      await mainNode(w, "Close");
      send({ cmd: "chat", from: "technician", name: "Jane Doe", text: "still there?" });
      send({ cmd: "status", text: "ignored" });
      await new Promise((r) => setTimeout(r, 500));
      await mainNode(w, "Close");
      expect(treeOf(w)[0]!.nodes.map((n) => n.name)).toEqual([
        "Remote support",
        "The support session was closed by your support technician.",
        "Close",
      ]);
    } finally {
      w.child.stdin!.end();
      await w.exited;
    }
  }, 60_000);
});

/** The window program's events of one kind so far (its stdout: one JSON object a line). */
function events(p: Proc, ev: string): Record<string, unknown>[] {
  return p.out.all
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((e) => e["ev"] === ev);
}

/** The window program's latest tree (TETHER_TRACE_UI=1). */
const treeOf = (p: Proc) => (events(p, "tree").at(-1)?.["windows"] as UiWindow[] | undefined) ?? [];

async function mainNode(p: Proc, name: string, ok: (n: UiNode) => boolean = () => true): Promise<UiNode> {
  try {
    return await until(
      () =>
        treeOf(p)
          .find((win) => win.kind === "main")
          ?.nodes.find((n) => n.name === name && ok(n)),
      10_000,
      `"${name}" in the main window`,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; its tree now: ${JSON.stringify(treeOf(p))}`, { cause: err });
  }
}

/** Types lower-case letters, digits and spaces through XTest. */
async function type(text: string): Promise<void> {
  for (const ch of text) {
    const code = ch === " " ? "Space" : /[a-z]/.test(ch) ? `Key${ch.toUpperCase()}` : /[0-9]/.test(ch) ? `Digit${ch}` : "";
    if (!code) throw new Error(`cannot type ${ch}`);
    await hands.key(code);
  }
}

/** What the Win32 test window on computer A has logged so far, line by line. */
function windowLog(): string[] {
  const file = join(A.dir, "test-window.log");
  return existsSync(file) ? readFileSync(file, "utf8").split(/\r?\n/).filter(Boolean) : [];
}

/** The app's windows' rectangles as its window program last reported them (main, dialog, bar). */
function geometry(p: Proc): [number, number, number, number][] {
  for (const line of [...p.err.all].reverse()) {
    if (!line.startsWith("TETHER_UI ")) continue;
    const e = JSON.parse(line.slice(10)) as { ev: string; rects?: [number, number, number, number][] };
    if (e.ev === "geometry") return e.rects ?? [];
  }
  return [];
}

/**
 * Sets the key file's kind of DACL on `file` (the user alone, protected, as restrictToOwner does) and
 * reads it back as SDDL, in a small Win32 program of its own under Wine.
 */
function daclRoundTrip(on: WinePrefix, file: string): { set: number; read: string } {
  const dir = tempDir("tether-dacl-");
  const exe = join(dir, "dacl.exe");
  writeFileSync(
    join(dir, "dacl.c"),
    `#include <windows.h>
#include <aclapi.h>
#include <sddl.h>
#include <stdio.h>
int wmain(int argc, wchar_t** argv) {
  HANDLE token; BYTE user[256]; DWORD n;
  OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token);
  GetTokenInformation(token, TokenUser, user, sizeof user, &n);
  PSID sid = ((TOKEN_USER*)user)->User.Sid;
  EXPLICIT_ACCESSW ea = {0};
  ea.grfAccessPermissions = FILE_ALL_ACCESS; ea.grfAccessMode = SET_ACCESS; ea.grfInheritance = NO_INHERITANCE;
  ea.Trustee.TrusteeForm = TRUSTEE_IS_SID; ea.Trustee.TrusteeType = TRUSTEE_IS_USER; ea.Trustee.ptstrName = (LPWSTR)sid;
  PACL acl = NULL;
  SetEntriesInAclW(1, &ea, NULL, &acl);
  DWORD set = SetNamedSecurityInfoW(argv[1], SE_FILE_OBJECT, DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION, NULL, NULL, acl, NULL);
  PACL dacl = NULL; PSECURITY_DESCRIPTOR sd = NULL; LPWSTR text = NULL;
  if (GetNamedSecurityInfoW(argv[1], SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &dacl, NULL, &sd)) return 1;
  if (!ConvertSecurityDescriptorToStringSecurityDescriptorW(sd, SDDL_REVISION_1, DACL_SECURITY_INFORMATION, &text, NULL)) return 2;
  FILE* out = _wfopen(argv[2], L"w");
  fprintf(out, "%lu %ls", set, text);
  fclose(out);
  return 0;
}
`,
  );
  execFileSync("x86_64-w64-mingw32-gcc-posix", ["-municode", "-O2", join(dir, "dacl.c"), "-o", exe, "-ladvapi32"], { stdio: "pipe" });
  const out = join(dir, "dacl.txt");
  const r = on.run(exe, [winPath(file), winPath(out)]);
  if (r.status !== 0) throw new Error(`dacl.exe failed (${String(r.status)}): ${r.stderr}`);
  const [set, read] = readFileSync(out, "utf8").trim().split(" ");
  return { set: Number(set), read: read ?? "" };
}
