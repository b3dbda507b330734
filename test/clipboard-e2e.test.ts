/**
 * The clipboard, and a file accepted in the app's window, end to end (issue 21): a real broker, the
 * console in Chromium (a secure context: loopback, with the clipboard permissions a technician
 * grants), the support app with its window (GTK, on Xvfb with Openbox), and another program on the
 * user's desktop standing for the user's own applications (a second window program, a real X
 * clipboard client). The user's clicks are XTest events at the places the window's accessibility
 * trace names.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { api, newComputer, ROOT, spawnProc, startAgent, startBroker, tempDir, until, type Broker, type Proc } from "./support/procs.js";
import { CHROMIUM_ARGS, CHROMIUM_PATH, consoleSignedIn, openMenu } from "./support/chromium.js";
import { Hands, screenshot, startDesktop, uiTree, waitForNode, type Desktop, type UiNode } from "./support/desktop.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the clipboard and files through the app window", () => {
  let desk: Desktop;
  let hands: Hands;
  let broker: Broker;
  let browser: Browser;
  let page: Page;
  let app: Proc;
  /** Another program of the user's: copies and reads the clipboard like any X client. */
  let other: Proc;
  let token = "";
  let sessionId = "";
  const home = tempDir("tether-user-home-");
  let pageErrors: string[] = [];

  const history = async () => {
    const res = await fetch(`${broker.url}/api/sessions/${sessionId}/history`, { headers: { authorization: `Bearer ${token}` } });
    return ((await res.json()) as { entries: { kind: string; data: any }[] }).entries.filter((e) => e.kind.startsWith("clipboard."));
  };
  const send = (p: Proc, command: object) => p.child.stdin!.write(`${JSON.stringify(command)}\n`);
  /** What the other program reads on the clipboard now. */
  const readClipboard = async (): Promise<string> => {
    const before = other.out.all.length;
    send(other, { cmd: "readClipboard" });
    const line = await until(
      () => other.out.all.slice(before).find((l) => l.includes('"ev":"clipboard"') && l.includes('"copied":false')),
      10_000,
      "the other program's clipboard",
    );
    return (JSON.parse(line) as { text: string }).text;
  };
  const pageClipboard = () => page.evaluate("navigator.clipboard.readText()") as Promise<string>;
  const node = (kind: "main" | "dialog" | "bar" | "file", name: string | RegExp, ok?: (n: UiNode) => boolean) =>
    waitForNode(app, kind, name, ok);

  beforeAll(async () => {
    const built = spawnSync(process.execPath, [join(ROOT, "scripts", "build-console.mjs")], { encoding: "utf8" });
    if (built.status !== 0) throw new Error(`build-console failed: ${built.stderr}`);
    desk = await startDesktop(1280, 800);
    hands = new Hands(desk.display);
    broker = await startBroker();
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
    ({ page, token, errors: pageErrors } = await consoleSignedIn(browser, broker, { permissions: ["clipboard-read", "clipboard-write"] }));

    other = spawnProc(join(ROOT, "build", "Release", "tether_window"), [], { ...process.env, DISPLAY: desk.display, GDK_BACKEND: "x11" });
    await other.out.waitFor(/"ev":"ready"/, 10_000);

    const s = await api(broker.url, token).createSession();
    sessionId = s.id;
    app = startAgent(s.link, newComputer(), { args: ["--window"], env: { DISPLAY: desk.display, TETHER_TRACE_UI: "1", HOME: home } });
    await until(async () => (await api(broker.url, token).session(sessionId)).online, 20_000, "online");
    await page.locator(`#sessions tr[data-session="${sessionId}"] [data-action="request-control"]`).click();
    await hands.press(await node("dialog", "Allow", (n) => !n.insensitive));
    await page.locator("#viewer").waitFor();
    await until(() => page.evaluate(`document.getElementById("video").videoWidth > 0`), 30_000, "the picture");
  }, 120_000);

  afterAll(async () => {
    app?.child.kill("SIGKILL");
    other?.child.kill("SIGKILL");
    hands?.close();
    await browser?.close();
    await broker?.stop();
    await desk?.stop();
  });

  it("with control, the technician's clipboard reaches the user's (Send, and Ctrl+V in the viewer before the key), and what the user copies reaches the technician's", async () => {
    await openMenu(page, "clipboard-menu");
    await page.locator("#clipboard-state", { hasText: "Clipboard shared with the user." }).waitFor({ timeout: 10_000 });
    // The switch in the app window, on.
    const box = await node("main", "Share the clipboard with Jane Doe");
    expect((box as UiNode & { checked?: boolean }).checked).toBe(true);

    await page.evaluate(`navigator.clipboard.writeText("from the technician ✓")`);
    await page.locator("#clipboard-send").click();
    await until(async () => (await readClipboard()) === "from the technician ✓", 10_000, "the user's clipboard");
    await app.out.waitFor(/^Jane Doe put text on your clipboard \(21 characters\)\.$/, 10_000);

    // Ctrl+V in the viewer: the clipboard goes first, then the key (the user's app pastes what the technician has).
    await page.evaluate(`navigator.clipboard.writeText("pasted with Ctrl+V")`);
    await page.locator("#stage").focus();
    await page.keyboard.press("Control+KeyV");
    await until(async () => (await readClipboard()) === "pasted with Ctrl+V", 10_000, "the clipboard before the paste");

    // The user copies in another program: the menu shows it, and Copy puts it into the technician's
    // clipboard (never by itself: an app could plant text for the technician's next paste).
    send(other, { cmd: "setClipboard", text: "copied by the user" });
    await openMenu(page, "clipboard-menu");
    await page.locator("#clipboard-remote-text", { hasText: "copied by the user" }).waitFor({ timeout: 10_000 });
    expect(await pageClipboard()).toBe("pasted with Ctrl+V");
    await page.locator("#clipboard-copy").click();
    await until(async () => (await pageClipboard()) === "copied by the user", 10_000, "the technician's clipboard");
    await app.out.waitFor(/^The text you copied \(18 characters\) went to Jane Doe\.$/, 10_000);
    await screenshot(desk.display, "app-window-clipboard", { x: 0, y: 0, width: 1280, height: 800 });

    const h = await history();
    expect(h.map((e) => [e.kind, e.data.characters])).toEqual([
      ["clipboard.to-user", 21],
      ["clipboard.to-user", 18],
      ["clipboard.from-user", 18],
    ]);
  }, 60_000);

  it("the user turns clipboard sharing off in the app: nothing moves either way, and the viewer says so; on again, it works", async () => {
    await hands.press(await node("main", "Share the clipboard with Jane Doe"));
    await openMenu(page, "clipboard-menu");
    await page.locator("#clipboard-state", { hasText: "The user turned clipboard sharing off." }).waitFor({ timeout: 10_000 });
    await app.out.waitFor(/^Clipboard sharing is off: nothing you copy leaves this computer\.$/, 10_000);
    const before = (await history()).length;
    send(other, { cmd: "setClipboard", text: "private" });
    await until(async () => (await readClipboard()) === "private", 10_000, "the copy");
    await page.evaluate(`navigator.clipboard.writeText("not for the user")`);
    await page.locator("#stage").focus();
    await page.keyboard.press("Control+KeyV");
    await new Promise((r) => setTimeout(r, 1000));
    expect(await readClipboard()).toBe("private");
    expect(await pageClipboard()).toBe("not for the user");
    expect((await history()).length).toBe(before);
    await expect(page.locator("#clipboard-fetch").isDisabled()).resolves.toBe(true);

    await hands.press(await node("main", "Share the clipboard with Jane Doe"));
    await openMenu(page, "clipboard-menu");
    await page.locator("#clipboard-state", { hasText: "Clipboard shared with the user." }).waitFor({ timeout: 10_000 });
    // Get the user's clipboard: what it holds now.
    await page.locator("#clipboard-fetch").click();
    await page.locator("#clipboard-remote-text", { hasText: "private" }).waitFor({ timeout: 10_000 });
    // Asked for: it is in the technician's clipboard at once.
    await until(async () => (await pageClipboard()) === "private", 10_000, "the fetched text in the technician's clipboard");
  }, 60_000);

  it("a file offered to the user is asked about in a dialog of its own; Accept saves it to Downloads", async () => {
    const data = randomBytes(200_000);
    const file = join(tempDir("tether-files-"), "setup.log");
    writeFileSync(file, data);
    await openMenu(page, "files-menu");
    await page.locator("#file-send").setInputFiles(file);
    const accept = await node("file", "Accept", (n) => !n.insensitive);
    const dialog = uiTree(app).find((w) => w.kind === "file")!;
    expect(dialog.nodes.map((n) => n.name).join(" ")).toMatch(/Jane Doe wants to send you the file "setup\.log" \(200 KB\)/);
    await screenshot(desk.display, "app-window-file-question", { x: 0, y: 0, width: 1280, height: 800 });
    await hands.press(accept);
    await page.locator("#transfers li[data-status=done]").waitFor({ timeout: 20_000 });
    const saved = join(home, "Downloads", "setup.log");
    await until(
      () => {
        try {
          return readFileSync(saved).length === data.length;
        } catch {
          return false;
        }
      },
      10_000,
      "the saved file",
    );
    expect(createHash("sha256").update(readFileSync(saved)).digest("hex")).toBe(createHash("sha256").update(data).digest("hex"));
    // The app window lists it as done.
    await node("main", /^setup\.log from Jane Doe: 200 KB of 200 KB \(done\)$/);
  }, 60_000);

  it("the user sends a file from the app window: Send a file to Jane Doe… opens the system's file chooser, the chosen file waits for the technician's Accept in the viewer, then downloads whole", async () => {
    const data = randomBytes(300_000);
    const mine = join(home, "crash-report.txt");
    writeFileSync(mine, data);
    await hands.press(await node("main", "Send a file to Jane Doe…", (n) => n.role === "push button"));
    const chooser = await until(() => uiTree(app).find((w) => w.kind === "chooser"), 10_000, "the file chooser");
    expect(chooser.title).toBe("Choose a file to send to Jane Doe");
    await until(() => uiTree(app).find((w) => w.kind === "chooser")?.active === true, 10_000, "the chooser with the keyboard");
    await hands.key("ControlLeft", "down");
    await hands.key("KeyL");
    await hands.key("ControlLeft", "up");
    await sleep(200);
    await hands.type(mine);
    // Enter only once the location entry holds the whole path (no completion pending or appended).
    await waitForNode(app, "chooser", mine, (n) => n.role === "text" && n.focused === true);
    await hands.key("Enter");
    await app.out.waitFor(/^"crash-report\.txt" \(300 KB\) is offered to Jane Doe; it is sent once Jane Doe accepts it\.$/, 10_000);
    await until(() => !uiTree(app).some((w) => w.kind === "chooser"), 10_000, "the chooser closed");
    const download = page.waitForEvent("download", { timeout: 30_000 });
    const offer = page.locator("#transfers li[data-status=asking]", { hasText: "the user sends you this file (300 KB): accept it?" });
    await offer.waitFor({ timeout: 10_000 });
    expect(await page.locator("#files-menu").getAttribute("open")).not.toBeNull(); // opened for it
    await offer.locator("button[data-accept]").click();
    const d = await download;
    expect(d.suggestedFilename()).toBe("crash-report.txt");
    expect(
      createHash("sha256")
        .update(readFileSync(await d.path()))
        .digest("hex"),
    ).toBe(createHash("sha256").update(data).digest("hex"));
    await app.out.waitFor(/^"crash-report\.txt" was sent to Jane Doe\.$/, 10_000);
    await node("main", /^crash-report\.txt to Jane Doe: 300 KB of 300 KB \(done\)$/);
  }, 60_000);

  it("a large file in progress shows in both places with time left, and Cancel in the app window stops it at both ends", async () => {
    const file = join(tempDir("tether-files-"), "disk-image.bin");
    writeFileSync(file, randomBytes(60_000_000));
    if ((await page.locator("#clipboard-menu").getAttribute("open")) !== null) await page.locator("#clipboard-menu summary").click();
    await openMenu(page, "files-menu");
    await page.locator("#file-send").setInputFiles(file);
    await hands.press(await node("file", "Accept", (n) => !n.insensitive));
    // Progress with time left, in the viewer and in the app window.
    await page.locator("#transfers li[data-status=moving] .transfer-text", { hasText: / left$/ }).waitFor({ timeout: 20_000 });
    const row = await node("main", /^disk-image\.bin from Jane Doe: .* of 60\.0 MB, \d+:\d\d left$/, (n) => n.role === "label");
    if (process.env["TETHER_SCREENSHOTS"]) {
      await page.screenshot({ path: join(ROOT, process.env["TETHER_SCREENSHOTS"], "console-transfer.png") });
    }
    await screenshot(desk.display, "app-window-transfer", { x: 0, y: 0, width: 1280, height: 800 });
    expect(row.name).toMatch(/ left$/);
    await hands.press(await node("main", "Cancel"));
    await page.locator("#transfers li[data-status=cancelled]", { hasText: "cancelled by the user" }).waitFor({ timeout: 10_000 });
    await app.out.waitFor(/^The transfer of "disk-image\.bin" was cancelled\.$/, 10_000);
  }, 90_000);

  it("view only: the clipboard is not shared, and the viewer says why", async () => {
    await hands.press(await node("main", "View only"));
    await openMenu(page, "clipboard-menu");
    await page
      .locator("#clipboard-state", { hasText: "Clipboard sharing needs control; this grant is view only." })
      .waitFor({ timeout: 10_000 });
    expect(pageErrors).toEqual([]);
  }, 30_000);
});
