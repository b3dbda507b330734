/**
 * The terminal implementation of the support app's user interface (src/agent/terminal-ui.ts): the
 * consent question as a line, s and v acting on what is shared whether or not a question is open.
 */
import { describe, expect, it } from "vitest";
import { TypedLines } from "./support/typed-lines.js";
import { catalogs } from "../src/agent/messages.js";
import { TerminalUI } from "../src/agent/terminal-ui.js";
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
