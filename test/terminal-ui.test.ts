/**
 * The terminal implementation of the support app's user interface (src/agent/terminal-ui.ts): the
 * consent question as a line, s and v acting on what is shared whether or not a question is open.
 */
import { describe, expect, it } from "vitest";
import { TypedLines } from "./support/typed-lines.js";
import { catalogs } from "../src/agent/messages.js";
import { fileToSend, TerminalUI } from "../src/agent/terminal-ui.js";
import type { ConsentQuestion, UserAction } from "../src/agent/ui.js";

const q = (scope: "view" | "control", safetyCode: string | null = null): ConsentQuestion => ({
  id: "ar_1",
  scope,
  technician: "Jane Doe",
  organization: "Acme IT",
  safetyCode,
  expiresInMs: 120_000,
});
const tick = () => new Promise((r) => setImmediate(r));

function terminal() {
  const out: string[] = [];
  const input = new TypedLines();
  const actions: UserAction[] = [];
  const ui = new TerminalUI({ messages: catalogs.en, out: (l) => out.push(l), input, quit: new Promise(() => {}) });
  ui.onAction((a) => actions.push(a));
  return { ui, out, input, actions };
}

describe("the terminal interface", () => {
  it("asks with the safety code first; y grants what was asked, v view only, anything else and end of input decline", async () => {
    for (const [line, want] of [
      ["y", "control"],
      ["j", "control"],
      ["v", "view"],
      ["n", null],
      ["", null],
      [null, null],
    ] as const) {
      const { ui, out, input } = terminal();
      const answer = ui.ask(q("control", "123 456"), new AbortController().signal);
      await tick();
      expect(out).toEqual([
        "Safety code: 123 456. Your technician sees the same code; if they read you another one, answer n.",
        "Jane Doe requests to control your screen (see it and use mouse and keyboard). Allow? [y] yes  [v] view only  [n] no",
      ]);
      input.type(line);
      expect(await answer).toBe(want);
    }
  });

  it("s stops what is shared even while a question is open (and declines it); v narrows and the question stays open", async () => {
    const { ui, input, actions } = terminal();
    ui.sharing([{ technician: "Jane Doe", scope: "control" }]);
    const answer = ui.ask(q("view"), new AbortController().signal);
    await tick();
    input.type("v");
    await tick();
    expect(actions).toEqual(["narrow"]);
    input.type("s");
    expect(await answer).toBe("stopped");
  });

  it("s and v typed with no question open act on what is shared; other lines get the help line; with nothing shared they do nothing", async () => {
    const { ui, out, input, actions } = terminal();
    input.type("s");
    expect(actions).toEqual([]);
    ui.sharing([{ technician: "Jane Doe", scope: "view" }]);
    input.type("v"); // nothing to narrow
    expect(actions).toEqual([]);
    expect(out.at(-1)).toBe("Type v and Enter to allow viewing only, s and Enter to stop sharing.");
    input.type(" S ");
    expect(actions).toEqual(["stop"]);
  });

  it("a question withdrawn while asked resolves undefined", async () => {
    const { ui } = terminal();
    const abort = new AbortController();
    const answer = ui.ask(q("view"), abort.signal);
    abort.abort();
    expect(await answer).toBe(undefined);
  });
});

describe("the terminal's file questions", () => {
  const file = (kind: "receive" | "send") => ({
    id: "b1",
    kind,
    technician: "Jane Doe",
    name: kind === "send" ? "/home/alex/notes.log" : "report.pdf",
    size: 12_000,
  });

  it("receiving takes y; sending one of the user's files takes the word send, never a y meant for something else", async () => {
    const a = terminal();
    const got = a.ui.askFile(file("receive"), new AbortController().signal);
    await tick();
    expect(a.out.at(-1)).toMatch(/^Jane Doe wants to send you the file "report\.pdf" \(12\.0 KB\)\./);
    a.input.type("y");
    expect(await got).toBe(true);

    const b = terminal();
    const sent = b.ui.askFile(file("send"), new AbortController().signal);
    await tick();
    expect(b.out.at(-1)).toMatch(/Type send and Enter to send it, n and Enter to refuse\.$/);
    b.input.type("y");
    await tick();
    expect(b.out.at(-1)).toBe("Please type send (to send the file) or n (no).");
    b.input.type("send");
    expect(await sent).toBe(true);
  });

  it("s still stops sharing (and declines), v narrows; a line typed just after a question was withdrawn answers nothing", async () => {
    const a = terminal();
    a.ui.sharing([{ technician: "Jane Doe", scope: "control" }]);
    const asked = a.ui.askFile(file("receive"), new AbortController().signal);
    await tick();
    a.input.type("v");
    await tick();
    expect(a.actions).toEqual(["narrow"]);
    a.input.type("s");
    expect(await asked).toBe(false);
    expect(a.actions).toEqual(["narrow", "stop"]);

    const b = terminal();
    const first = new AbortController();
    const withdrawn = b.ui.askFile(file("receive"), first.signal);
    await tick();
    first.abort(); // the technician cancelled it, and at once asks for another file
    expect(await withdrawn).toBe(false);
    const next = b.ui.askFile(file("send"), new AbortController().signal);
    await tick();
    b.input.type("send"); // typed for the first one, a moment too late
    await tick();
    expect(b.out.at(-1)).toBe("Please type send (to send the file) or n (no).");
    b.input.type("n");
    expect(await next).toBe(false);
  });

  it("send <path> (senden in German) sends one of the user's files: full paths only, ~ is the home folder, quotes come off; anything else is a chat message", () => {
    const home = "/home/alex";
    expect(fileToSend("send /tmp/a b.log", home)).toBe("/tmp/a b.log");
    expect(fileToSend("  Senden ~/Desktop/report.pdf  ", home)).toBe("/home/alex/Desktop/report.pdf");
    expect(fileToSend('send "C:\\Users\\alex\\report.pdf"', home)).toBe("C:\\Users\\alex\\report.pdf");
    expect(fileToSend("send '/tmp/x'", home)).toBe("/tmp/x");
    expect(fileToSend("send \\\\server\\share\\x.txt", home)).toBe("\\\\server\\share\\x.txt");
    for (const chat of ["send me the logs", "send", "sending /tmp/x", "please send /tmp/x", "send report.pdf", "send ./x"]) {
      expect(fileToSend(chat, home)).toBeNull();
    }

    const t = terminal();
    const files: string[] = [];
    const chats: string[] = [];
    t.ui.onSendFile((f) => files.push(f));
    t.ui.onChat((c) => chats.push(c));
    t.ui.showSendFile({ visible: true, technician: "Jane Doe" });
    t.ui.showSendFile({ visible: false, technician: "" });
    t.ui.showSendFile({ visible: true, technician: "Jane Doe" });
    expect(t.out).toEqual(["To send Jane Doe a file, type send, a space and the file's full path, then Enter."]); // once
    t.input.type("send /tmp/report.pdf");
    t.input.type("send me the logs");
    expect(files).toEqual(["/tmp/report.pdf"]);
    expect(chats).toEqual(["send me the logs"]);
  });
});
