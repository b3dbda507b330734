/**
 * The window program's tools for issue 21 (file transfer and clipboard), spoken to in JSON lines as
 * the support app speaks to it (native/window/protocol.h): the GTK program (build/Release/
 * tether_window) on a private Xvfb with Openbox, and the Win32 program (build-win/tether-window.exe)
 * under Wine on the same desktop. The clipboard is the real X CLIPBOARD selection (Windows': Wine's),
 * read and written by a second window program as the other client; clicks and keys are XTest's.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Hands, screenshot, startDesktop, windowTitled, type Desktop, type UiNode, type XWindow } from "./support/desktop.js";
import { ROOT, spawnProc, until, type Proc } from "./support/procs.js";
import { createWinePrefix, WINE64, type WinePrefix } from "./support/wine.js";

const ARM_DELAY_MS = 700; // kArmDelayMs

interface Node extends UiNode {
  checked?: boolean;
  fraction?: number;
}
interface Win {
  kind: "main" | "dialog" | "bar" | "file" | "chooser";
  id?: string;
  title: string;
  active?: boolean;
  nodes: Node[];
}

let desk: Desktop;
let hands: Hands;
let wine: WinePrefix | undefined;
const running: Proc[] = [];

beforeAll(async () => {
  desk = await startDesktop(1280, 800);
  hands = new Hands(desk.display);
}, 30_000);

// A test that failed midway leaves nothing open on the desktop for the next (a dialog, a window).
afterEach(() => {
  for (const p of running.splice(0)) p.child.kill("SIGKILL");
});

afterAll(async () => {
  for (const p of running) p.child.kill("SIGKILL");
  hands?.close();
  wine?.destroy();
  await desk?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A GTK window program on the test desktop, ready for commands. */
async function gtkWindow(): Promise<Proc> {
  const p = spawnProc(join(ROOT, "build", "Release", "tether_window"), [], {
    ...process.env,
    DISPLAY: desk.display,
    TETHER_TRACE_UI: "1",
    GDK_BACKEND: "x11",
  });
  running.push(p);
  await p.out.waitFor(/"ev":"ready"/, 10_000);
  return p;
}

function send(p: Proc, command: object): void {
  p.child.stdin!.write(`${JSON.stringify(command)}\n`);
}

/** The window program's events of one kind so far (its stdout: one JSON object a line). */
function events(p: Proc, ev: string): Record<string, unknown>[] {
  return p.out.all
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((e) => e["ev"] === ev);
}

const treeOf = (p: Proc) => (events(p, "tree").at(-1)?.["windows"] as Win[] | undefined) ?? [];

/** Waits for the first window matching `which` to show a node matching name and `ok`, in a tree unchanged for 150 ms. */
async function node(
  p: Proc,
  which: (w: Win) => boolean,
  name: string,
  ok: (n: Node) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<Node> {
  const find = () =>
    treeOf(p)
      .find(which)
      ?.nodes.find((n) => n.name === name && ok(n));
  try {
    return await until(
      async () => {
        const first = find();
        if (!first) return undefined;
        await sleep(150);
        const again = find();
        return again && JSON.stringify(again) === JSON.stringify(first) ? again : undefined;
      },
      timeoutMs,
      `"${name}"`,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; the tree now: ${JSON.stringify(treeOf(p))}`, { cause: err });
  }
}

const mainWin = (w: Win) => w.kind === "main";
const fileWin = (id: string) => (w: Win) => w.kind === "file" && w.id === id;
const chooserWin = (w: Win) => w.kind === "chooser";
/** The open-file dialog has the keyboard, the app window not (the last tree says so). */
const chooserActive = (p: Proc) => treeOf(p).find(chooserWin)?.active === true && !treeOf(p).find(mainWin)?.active;

/** The last geometry event's rectangles and focus. */
function geometry(p: Proc): { rects: number[][]; focused: boolean } {
  const g = events(p, "geometry").at(-1);
  return { rects: (g?.["rects"] as number[][] | undefined) ?? [], focused: g?.["focused"] === true };
}

/** True when the X window `x` (its client area, as xwininfo says) lies within one of `rects`. */
const covered = (rects: number[][], x: XWindow) =>
  rects.some(([rx, ry, rw, rh]) => rx! <= x.x && ry! <= x.y && x.x + x.width <= rx! + rw! && x.y + x.height <= ry! + rh!);

/** A picture of the app window as it is now (.tmp/screenshots/), for people to look at. */
async function shoot(p: Proc, name: string): Promise<void> {
  const r = (events(p, "geometry").at(-1)?.["rects"] as number[][] | undefined)?.[0];
  if (r) await screenshot(desk.display, name, { x: r[0]!, y: r[1]!, width: r[2]!, height: r[3]! });
}

/** The clipboard events after the first `from` of them. */
const clipboardEvents = (p: Proc, from = 0) => events(p, "clipboard").slice(from);

/** What `p` reads on the clipboard now (readClipboard, answered by one event). */
async function readClipboard(p: Proc): Promise<string> {
  const before = clipboardEvents(p).length;
  send(p, { cmd: "readClipboard" });
  const e = await until(() => clipboardEvents(p, before).find((x) => x["copied"] === false), 10_000, "the readClipboard answer");
  return e["text"] as string;
}

/** Reads until `p` sees `text`: another program's set takes effect when that program gets to it. */
async function seesOnClipboard(p: Proc, text: string): Promise<void> {
  let last = "";
  await until(
    async () => (last = await readClipboard(p)) === text,
    10_000,
    `the clipboard to hold ${JSON.stringify(text.slice(0, 40))} (it holds ${JSON.stringify(last.slice(0, 40))})`,
  );
}

const MAIN = {
  cmd: "main",
  title: "Tether Support",
  heading: "Remote support",
  status: "Connected.",
  quit: "Quit",
  viewOnly: "View only",
  stop: "Stop sharing",
};

const SEND = {
  cmd: "sendFile",
  label: "Send a file to Jane Doe…",
  title: "Choose a file to send to Jane Doe",
  visible: true,
};

/**
 * The sendFile button as the commands ask: shown (without any transfer row), its label changed in
 * place by a later command, hidden by visible false and shown again. Returns it.
 */
async function sendButtonAsAsked(w: Proc): Promise<Node> {
  send(w, { ...SEND, label: "Send a file…" });
  expect((await node(w, mainWin, "Send a file…")).role).toBe("push button");
  send(w, SEND);
  await node(w, mainWin, SEND.label);
  expect(treeOf(w)[0]!.nodes.some((n) => n.name === "Send a file…")).toBe(false);
  send(w, { ...SEND, visible: false });
  await until(() => !treeOf(w)[0]!.nodes.some((n) => n.name === SEND.label), 5000, "the button hidden");
  send(w, SEND);
  return node(w, mainWin, SEND.label, (n) => n.role === "push button");
}

const FILE = {
  cmd: "askFile",
  title: "Tether Support",
  heading: "Jane Doe sends report.pdf (2.1 MB)",
  body: "It will be saved in Downloads.",
  accept: "Accept",
  decline: "Decline",
};

describe("the GTK window program's clipboard (21)", () => {
  it("setClipboard puts UTF-8 text on X's CLIPBOARD, which another client reads (readClipboard: copied false); no clipboard event follows the program's own set", async () => {
    const a = await gtkWindow();
    const b = await gtkWindow();
    const text = "Grüße — ☃ 👋\nline two\ttab";
    send(a, { cmd: "setClipboard", text });
    await seesOnClipboard(b, text);
    expect(clipboardEvents(b).at(-1)).toEqual({ ev: "clipboard", text, copied: false });
    // A large text (300 KiB, under kMaxClipboard) arrives whole.
    const large = "0123456789abcdef".repeat(300 * 64);
    send(a, { cmd: "setClipboard", text: large });
    await seesOnClipboard(b, large);
    // The program reads its own text back, and reported nothing for setting it.
    expect(await readClipboard(a)).toBe(large);
    expect(clipboardEvents(a)).toEqual([{ ev: "clipboard", text: large, copied: false }]);
    // Once its owner is gone, the clipboard holds no text: "".
    a.child.stdin!.end();
    await a.exited;
    await seesOnClipboard(b, "");
    b.child.stdin!.end();
    await b.exited;
  }, 30_000);

  it("watchClipboard: while on, each copy by another client is sent with copied true, the program's own set is not; off: nothing", async () => {
    const a = await gtkWindow();
    const other = await gtkWindow();
    send(a, { cmd: "watchClipboard", on: true });
    await sleep(200);
    send(other, { cmd: "setClipboard", text: "copied by the user" });
    await until(() => clipboardEvents(a).length === 1, 5000, "the copy");
    expect(clipboardEvents(a)).toEqual([{ ev: "clipboard", text: "copied by the user", copied: true }]);
    send(other, { cmd: "setClipboard", text: "and again" });
    await until(() => clipboardEvents(a).length === 2, 5000, "the second copy");
    expect(clipboardEvents(a)[1]).toEqual({ ev: "clipboard", text: "and again", copied: true });
    // The technician's text set by the program itself: no event (and the other client sees it).
    send(a, { cmd: "setClipboard", text: "from the technician" });
    await seesOnClipboard(other, "from the technician");
    await sleep(300);
    expect(clipboardEvents(a).length).toBe(2);
    // The user copies over the technician's text: reported again.
    send(other, { cmd: "setClipboard", text: "user after technician" });
    await until(() => clipboardEvents(a).length === 3, 5000, "the copy after our own set");
    expect(clipboardEvents(a)[2]).toEqual({ ev: "clipboard", text: "user after technician", copied: true });
    // Off: copies are not reported.
    send(a, { cmd: "watchClipboard", on: false });
    await sleep(200);
    send(other, { cmd: "setClipboard", text: "private" });
    await sleep(1000);
    expect(clipboardEvents(a).length).toBe(3);
    // On again: the next copy is.
    send(a, { cmd: "watchClipboard", on: true });
    await sleep(200);
    send(other, { cmd: "setClipboard", text: "shared again" });
    await until(() => clipboardEvents(a).length === 4, 5000, "the copy after watching again");
    expect(clipboardEvents(a).map((e) => e["text"])).toEqual(["copied by the user", "and again", "user after technician", "shared again"]);
    for (const p of [a, other]) {
      p.child.stdin!.end();
      await p.exited;
    }
  }, 30_000);
});

describe("the GTK window program's app window tools and file questions (21)", () => {
  it("the clipboard switch: shown as asked (label, state), a click toggles it and says so; the app setting it sends nothing", async () => {
    const w = await gtkWindow();
    send(w, MAIN);
    await node(w, mainWin, "Quit");
    expect(treeOf(w)[0]!.nodes.some((n) => n.role === "check box")).toBe(false); // hidden until asked
    const label = "Share the clipboard with Jane Doe";
    send(w, { cmd: "clipboardSwitch", label, visible: true, on: false });
    const box = await node(w, mainWin, label, (n) => n.checked === false);
    expect(box.role).toBe("check box");
    await hands.press(box);
    await until(() => events(w, "clipboardSwitch").length === 1, 5000, "the switch event");
    expect(events(w, "clipboardSwitch")).toEqual([{ ev: "clipboardSwitch", on: true }]);
    await node(w, mainWin, label, (n) => n.checked === true);
    await hands.press(box);
    await until(() => events(w, "clipboardSwitch").length === 2, 5000, "the second switch event");
    expect(events(w, "clipboardSwitch")[1]).toEqual({ ev: "clipboardSwitch", on: false });
    // The app sets it: shown, no event.
    send(w, { cmd: "clipboardSwitch", label, visible: true, on: true });
    await node(w, mainWin, label, (n) => n.checked === true);
    await sleep(300);
    expect(events(w, "clipboardSwitch").length).toBe(2);
    send(w, { cmd: "clipboardSwitch", label, visible: false, on: true });
    await until(() => treeOf(w)[0] && !treeOf(w)[0]!.nodes.some((n) => n.name === label), 5000, "the switch hidden");
    w.child.stdin!.end();
    await w.exited;
  }, 30_000);

  it("transfers: rows with their text, a progress bar at the fraction and Cancel (which sends cancelTransfer); rows update in place, go, and the section hides", async () => {
    const w = await gtkWindow();
    send(w, MAIN);
    await node(w, mainWin, "Quit");
    const rows = [
      { id: "t1", text: "report.pdf to you: 1.0 MB of 10 MB, 0:12 left", fraction: 0.1, cancel: "Cancel" },
      { id: "t2", text: "photo.jpg to Jane Doe: done", fraction: 1 },
    ];
    send(w, { cmd: "transfers", heading: "File transfers", rows });
    await node(w, mainWin, "File transfers");
    const bar1 = await node(w, mainWin, rows[0]!.text, (n) => n.role === "progress bar");
    expect(bar1.fraction).toBeCloseTo(0.1, 5);
    expect((await node(w, mainWin, rows[1]!.text, (n) => n.role === "progress bar")).fraction).toBe(1);
    // One Cancel: the first row's (the second cannot be cancelled any more), after its bar.
    const nodes = treeOf(w)[0]!.nodes;
    const cancels = nodes.filter((n) => n.name === "Cancel");
    expect(cancels.map((n) => n.role)).toEqual(["push button"]);
    expect(nodes.indexOf(cancels[0]!)).toBeGreaterThan(nodes.findIndex((n) => n.role === "progress bar" && n.name === rows[0]!.text));
    expect(nodes.indexOf(cancels[0]!)).toBeLessThan(nodes.findIndex((n) => n.role === "progress bar" && n.name === rows[1]!.text));
    // An update moves the bar; the row keeps its place.
    const moved = { ...rows[0]!, text: "report.pdf to you: 6.0 MB of 10 MB, 0:04 left", fraction: 0.6 };
    send(w, { cmd: "transfers", heading: "File transfers", rows: [moved, rows[1]] });
    const bar2 = await node(w, mainWin, moved.text, (n) => n.role === "progress bar");
    expect(bar2.fraction).toBeCloseTo(0.6, 5);
    expect(bar2.rect![1]).toBe(bar1.rect![1]);
    send(w, { cmd: "clipboardSwitch", label: "Share the clipboard with Jane Doe", visible: true, on: true });
    await node(w, mainWin, "Share the clipboard with Jane Doe");
    await shoot(w, "window-tools-gtk");
    await hands.press(await node(w, mainWin, "Cancel"));
    await until(() => events(w, "cancelTransfer").length === 1, 5000, "cancelTransfer");
    expect(events(w, "cancelTransfer")).toEqual([{ ev: "cancelTransfer", id: "t1" }]);
    // The first row goes: the second moves up, no Cancel is left.
    send(w, { cmd: "transfers", heading: "File transfers", rows: [rows[1]] });
    await until(() => !treeOf(w)[0]!.nodes.some((n) => n.name === moved.text || n.name === "Cancel"), 5000, "the first row gone");
    // None: the section hides.
    send(w, { cmd: "transfers", heading: "", rows: [] });
    await until(
      () => !treeOf(w)[0]!.nodes.some((n) => n.name === "File transfers" || n.role === "progress bar"),
      5000,
      "the section hidden",
    );
    w.child.stdin!.end();
    await w.exited;
  }, 30_000);

  it("a file question per file: Decline has the keyboard, Accept answers nothing before it is armed and accepts after; Escape and the close box decline; unaskFile closes it; a held key answers nothing", async () => {
    const w = await gtkWindow();
    send(w, MAIN);
    await node(w, mainWin, "Quit");
    const answers = () => events(w, "fileAnswer");

    // Accept clicked at once (before kArmDelayMs): nothing; once armed: accept.
    send(w, { ...FILE, id: "f1" });
    const asked = Date.now();
    // The first tree that shows the question: Accept is not armed yet, and a click on it at once
    // answers nothing.
    const accept = await until(
      () =>
        treeOf(w)
          .find(fileWin("f1"))
          ?.nodes.find((n) => n.name === "Accept"),
      5000,
      "the question",
    );
    expect(accept.insensitive).toBe(true);
    await hands.press(accept);
    expect((await node(w, fileWin("f1"), "Decline")).focused).toBe(true);
    const win = treeOf(w).find(fileWin("f1"))!;
    expect(win.title).toBe("Tether Support");
    expect(win.nodes.map((n) => n.name)).toEqual(expect.arrayContaining([FILE.heading, FILE.body]));
    await sleep(200);
    expect(answers()).toEqual([]);
    const armed = await node(w, fileWin("f1"), "Accept", (n) => n.insensitive !== true);
    expect(Date.now() - asked).toBeGreaterThanOrEqual(ARM_DELAY_MS - 50);
    await hands.press(armed);
    await until(() => answers().length === 1, 5000, "accept");
    expect(answers()).toEqual([{ ev: "fileAnswer", id: "f1", answer: "accept" }]);
    await until(() => !treeOf(w).some(fileWin("f1")), 5000, "the dialog closed");

    // Two at once, each its own dialog; Escape declines the one with the keyboard.
    send(w, { ...FILE, id: "f2" });
    await node(w, fileWin("f2"), "Decline", (n) => n.focused === true);
    send(w, { ...FILE, id: "f3", heading: "Jane Doe asks for notes.txt (3 KB)" });
    await node(w, fileWin("f3"), "Decline", (n) => n.focused === true);
    expect(
      treeOf(w)
        .filter((x) => x.kind === "file")
        .map((x) => x.id),
    ).toEqual(["f2", "f3"]);
    await until(() => (events(w, "geometry").at(-1)?.["rects"] as unknown[]).length === 3, 5000, "main's and both questions' rectangles");
    await until(() => events(w, "geometry").at(-1)?.["focused"] === true, 5000, "a focused dialog");
    await hands.key("Escape");
    await until(() => answers().length === 2, 5000, "Escape's decline");
    expect(answers()[1]).toEqual({ ev: "fileAnswer", id: "f3", answer: "decline" });
    // unaskFile: f2 closes without an answer.
    send(w, { cmd: "unaskFile", id: "f2" });
    await until(() => !treeOf(w).some((x) => x.kind === "file"), 5000, "f2 closed");
    await sleep(300);
    expect(answers().length).toBe(2);

    // The close box (the window manager's close: WM_DELETE_WINDOW) declines.
    send(w, { ...FILE, id: "f4" });
    await node(w, fileWin("f4"), "Accept", (n) => n.insensitive !== true);
    await hands.key("AltLeft", "down");
    await hands.key("F4");
    await hands.key("AltLeft", "up");
    await until(() => answers().length === 3, 5000, "the close box's decline");
    expect(answers()[2]).toEqual({ ev: "fileAnswer", id: "f4", answer: "decline" });

    // Enter held down while the question appears answers nothing (Decline has the keyboard), even
    // after Accept is armed; once released, a new press counts.
    await hands.key("Enter", "down");
    send(w, { ...FILE, id: "f5" });
    await node(w, fileWin("f5"), "Accept", (n) => n.insensitive !== true);
    await hands.key("Enter", "up");
    await sleep(300);
    expect(answers().length).toBe(3);
    expect(treeOf(w).some(fileWin("f5"))).toBe(true);
    await hands.key("Enter");
    await until(() => answers().length === 4, 5000, "Enter on Decline");
    expect(answers()[3]).toEqual({ ev: "fileAnswer", id: "f5", answer: "decline" });
    w.child.stdin!.end();
    await w.exited;
  }, 45_000);

  it("send a file: the button as asked (label updated in place, hidden by visible false); a click opens GTK's open-file dialog, which is in the geometry and focused; a typed path is sent once, Escape sends nothing, visible false closes it without an event", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tether-send-"));
    const file = join(dir, "report Grüße.txt");
    writeFileSync(file, "to the technician\n");
    const w = await gtkWindow();
    send(w, MAIN);
    await node(w, mainWin, "Quit");
    const sent = () => events(w, "sendFile");
    expect(treeOf(w)[0]!.nodes.some((n) => n.name === SEND.label)).toBe(false); // hidden until asked

    // Shown without any transfer row; a later command changes its label in place; hidden and back.
    const button = await sendButtonAsAsked(w);

    // A click opens the dialog: a window of the program. Once it has the keyboard (the app window
    // has not), the geometry covers it (its client area as X places it) and says focused.
    await hands.press(button);
    const opened = await until(() => treeOf(w).find(chooserWin), 5000, "the open-file dialog");
    expect(opened.title).toBe(SEND.title);
    // The size of a usual dialog (GTK's own choice filled most of the 1280 x 800 screen), on the screen.
    const x = await until(
      async () => {
        const g = await windowTitled(desk.display, SEND.title);
        return g.width <= 760 && g.height <= 540 ? g : null;
      },
      5000,
      "the dialog at its size",
    );
    expect(x.x).toBeGreaterThanOrEqual(0);
    expect(x.y).toBeGreaterThanOrEqual(0);
    expect(x.x + x.width).toBeLessThanOrEqual(desk.width);
    expect(x.y + x.height).toBeLessThanOrEqual(desk.height);
    await until(() => chooserActive(w), 5000, "the dialog with the keyboard");
    expect(geometry(w).focused).toBe(true);
    expect(covered(geometry(w).rects, x)).toBe(true);
    expect(geometry(w).rects.length).toBe(2);
    // A second click (the app window takes the keyboard) brings back the open one: still one.
    await hands.press(button);
    await sleep(300);
    expect(treeOf(w).filter(chooserWin).length).toBe(1);
    await until(() => chooserActive(w), 5000, "the dialog with the keyboard again");

    // Ctrl+L, the full path, Enter: sent once, exactly; the dialog closes and leaves the geometry.
    await hands.key("ControlLeft", "down");
    await hands.key("KeyL");
    await hands.key("ControlLeft", "up");
    await sleep(200);
    await hands.type(file);
    // Enter only once the location entry holds the whole path (no completion pending or appended).
    await node(w, chooserWin, file, (n) => n.role === "text" && n.focused === true);
    await hands.key("Enter");
    await until(() => sent().length === 1, 10_000, "the sendFile event");
    expect(sent()).toEqual([{ ev: "sendFile", path: file }]);
    await until(() => !treeOf(w).some(chooserWin), 5000, "the dialog closed");
    await until(() => !covered(geometry(w).rects, x), 5000, "the dialog's rectangle gone from the geometry");

    // Escape cancels: nothing is sent.
    await until(() => geometry(w).rects.length === 1, 5000, "the dialog gone from the geometry");
    await hands.press(button);
    await until(() => chooserActive(w), 5000, "the dialog again, with the keyboard");
    await hands.key("Escape");
    await until(() => !treeOf(w).some(chooserWin), 5000, "the dialog closed by Escape");

    // The grant ends while the dialog is open: it closes, nothing is sent, the button goes.
    await until(() => geometry(w).rects.length === 1, 5000, "the dialog gone from the geometry");
    await hands.press(button);
    await until(() => treeOf(w).find(chooserWin), 5000, "the dialog once more");
    await until(() => geometry(w).rects.length === 2, 5000, "the dialog in the geometry");
    send(w, { ...SEND, visible: false });
    await until(() => !treeOf(w).some(chooserWin), 5000, "the dialog closed by visible false");
    expect(treeOf(w)[0]!.nodes.some((n) => n.name === SEND.label)).toBe(false);
    await until(() => geometry(w).rects.length === 1, 5000, "only the app window in the geometry");
    await sleep(300);
    expect(sent().length).toBe(1);

    // exit while the dialog is open: the program ends, the dialog with it, nothing sent.
    send(w, SEND);
    await hands.press(await node(w, mainWin, SEND.label));
    await until(() => treeOf(w).find(chooserWin), 5000, "the dialog for exit");
    send(w, { cmd: "exit" });
    expect((await w.exited).code).toBe(0);
    expect(sent().length).toBe(1);
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);
});

describe("tether-window.exe (Win32) under Wine, spoken to in JSON lines (21)", () => {
  it("the clipboard (set, read by another program, watched), the clipboard switch, transfer rows with Cancel, a file question armed late, accepted, declined by Escape, closed by unaskFile", async () => {
    const started = Date.now();
    wine = createWinePrefix(desk.display);
    process.stdout.write(`wine prefix in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    const exe = join(ROOT, "build-win", "tether-window.exe");
    const winWindow = async () => {
      const p = spawnProc(WINE64, [exe], { ...wine!.env, TETHER_TRACE_UI: "1" });
      running.push(p);
      await p.out.waitFor(/"ev":"ready"/, 60_000).catch((err: Error) => {
        // Why not: what Wine runs meanwhile, and what the program said.
        const ps = spawnSync("ps", ["-eo", "pid,etime,stat,args"], { encoding: "utf8" }).stdout;
        const wineLines = ps.split("\n").filter((l) => /wine|\.exe/i.test(l));
        throw new Error(`${err.message}\nits stderr: ${p.err.text()}\nWine's processes:\n${wineLines.join("\n")}`);
      });
      return p;
    };
    const w = await winWindow();
    const other = await winWindow();

    // The clipboard: set here, read by another program; the other's copies reported while watched.
    send(w, { cmd: "setClipboard", text: "Grüße — ☃ 👋\nzwei" });
    await seesOnClipboard(other, "Grüße — ☃ 👋\r\nzwei"); // Windows' line ends
    send(w, { cmd: "watchClipboard", on: true });
    await sleep(300);
    send(other, { cmd: "setClipboard", text: "copied by the user" });
    await until(() => clipboardEvents(w).some((e) => e["copied"] === true), 10_000, "the user's copy");
    send(w, { cmd: "setClipboard", text: "from the technician" });
    await seesOnClipboard(other, "from the technician");
    send(other, { cmd: "setClipboard", text: "user again" });
    await until(() => clipboardEvents(w).filter((e) => e["copied"] === true).length === 2, 10_000, "the user's second copy");
    send(w, { cmd: "watchClipboard", on: false });
    await sleep(300);
    send(other, { cmd: "setClipboard", text: "private" });
    await seesOnClipboard(w, "private");
    await sleep(500);
    expect(clipboardEvents(w).filter((e) => e["copied"] === true)).toEqual([
      { ev: "clipboard", text: "copied by the user", copied: true },
      { ev: "clipboard", text: "user again", copied: true },
    ]);
    other.child.stdin!.end();

    // The clipboard switch and the transfers in the app window.
    send(w, MAIN);
    await node(w, mainWin, "Quit");
    const label = "Share the clipboard with Jane Doe";
    send(w, { cmd: "clipboardSwitch", label, visible: true, on: false });
    const box = await node(w, mainWin, label, (n) => n.checked === false);
    expect(box.role).toBe("check box");
    await hands.press(box);
    await until(() => events(w, "clipboardSwitch").length === 1, 5000, "the switch event");
    expect(events(w, "clipboardSwitch")).toEqual([{ ev: "clipboardSwitch", on: true }]);
    await node(w, mainWin, label, (n) => n.checked === true);
    send(w, { cmd: "clipboardSwitch", label, visible: true, on: false });
    await node(w, mainWin, label, (n) => n.checked === false);
    const row = { id: "t1", text: "report.pdf to you: 1.0 MB of 10 MB, 0:12 left", fraction: 0.25, cancel: "Cancel" };
    send(w, { cmd: "transfers", heading: "File transfers", rows: [row, { id: "t2", text: "notes.txt to Jane Doe: done", fraction: 1 }] });
    await node(w, mainWin, "File transfers");
    expect((await node(w, mainWin, row.text, (n) => n.role === "progress bar")).fraction).toBeCloseTo(0.25, 3);
    expect((await node(w, mainWin, "notes.txt to Jane Doe: done", (n) => n.role === "progress bar")).fraction).toBe(1);
    expect(treeOf(w)[0]!.nodes.filter((n) => n.name === "Cancel").length).toBe(1);
    await shoot(w, "window-tools-win32");
    await hands.press(await node(w, mainWin, "Cancel"));
    await until(() => events(w, "cancelTransfer").length === 1, 5000, "cancelTransfer");
    expect(events(w, "cancelTransfer")).toEqual([{ ev: "cancelTransfer", id: "t1" }]);
    expect(events(w, "clipboardSwitch").length).toBe(1); // the app's own setting sent nothing

    // A file question: Accept not armed at first, then accepts; Escape declines; unaskFile closes.
    send(w, { ...FILE, id: "f1" });
    const asked = Date.now();
    const first = await until(
      () =>
        treeOf(w)
          .find(fileWin("f1"))
          ?.nodes.find((n) => n.name === "Accept"),
      10_000,
      "the question",
    );
    expect(first.insensitive).toBe(true);
    const armed = await node(w, fileWin("f1"), "Accept", (n) => n.insensitive !== true);
    expect(Date.now() - asked).toBeGreaterThanOrEqual(ARM_DELAY_MS - 50);
    expect((await node(w, fileWin("f1"), "Decline")).focused).toBe(true);
    await hands.press(armed);
    await until(() => events(w, "fileAnswer").length === 1, 5000, "accept");
    await until(() => !treeOf(w).some(fileWin("f1")), 5000, "the dialog closed");
    send(w, { ...FILE, id: "f2" });
    await node(w, fileWin("f2"), "Decline", (n) => n.focused === true);
    // The geometry after f2 came (main's and f2's rectangles), not one from f1's time.
    await until(() => (events(w, "geometry").at(-1)?.["rects"] as unknown[]).length === 2, 5000, "main's and the question's rectangles");
    await until(() => events(w, "geometry").at(-1)?.["focused"] === true, 5000, "the question focused");
    await hands.key("Escape");
    await until(() => events(w, "fileAnswer").length === 2, 5000, "Escape's decline");
    send(w, { ...FILE, id: "f3" });
    await node(w, fileWin("f3"), "Decline");
    send(w, { cmd: "unaskFile", id: "f3" });
    await until(() => !treeOf(w).some((x) => x.kind === "file"), 5000, "f3 closed");
    await sleep(300);
    expect(events(w, "fileAnswer")).toEqual([
      { ev: "fileAnswer", id: "f1", answer: "accept" },
      { ev: "fileAnswer", id: "f2", answer: "decline" },
    ]);

    w.child.stdin!.end();
    await w.exited;
    process.stdout.write(`win32 window tools in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }, 180_000);
});
