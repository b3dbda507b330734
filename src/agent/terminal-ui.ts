/**
 * The support app in a terminal: status lines on stdout, the consent question as a line to answer
 * (y, v, n), `s` and `v` typed at any time act on what is shared (even while a question is open:
 * no request, however often it is sent, turns them into an answer).
 */
import type { Scope } from "../session/rules.js";
import { parseConsentAnswer, type LineSource } from "./consent.js";
import type { Messages } from "./messages.js";
import { OPEN_GUARD, type ConsentAnswer, type ConsentQuestion, type Shared, type UserAction, type UserInterface } from "./ui.js";

export interface TerminalOptions {
  messages: Messages;
  out: (line: string) => void;
  input: LineSource;
  quit: Promise<void>;
}

export class TerminalUI implements UserInterface {
  readonly messages: Messages;
  readonly quit: Promise<void>;
  readonly guard = OPEN_GUARD;
  private shared: readonly Shared[] = [];
  private handler: (a: UserAction) => void = () => {};

  constructor(private readonly o: TerminalOptions) {
    this.messages = o.messages;
    this.quit = o.quit;
    o.input.onIdleLine((line) => {
      const c = this.command(line);
      if (c) this.handler(c);
      else if (this.shared.length > 0 && line.trim() !== "") o.out(this.messages.sharingHelp);
    });
  }

  say(line: string): void {
    this.o.out(line);
  }

  organization(): void {
    // the terminal names it in no line of its own
  }

  sharing(shared: readonly Shared[]): void {
    this.shared = shared;
  }

  onAction(handler: (a: UserAction) => void): void {
    this.handler = handler;
  }

  async finish(line: string | null): Promise<void> {
    if (line) this.o.out(line);
  }

  async ask(q: ConsentQuestion, signal: AbortSignal): Promise<ConsentAnswer> {
    const m = this.messages;
    const cancel = () => this.o.input.cancel();
    signal.addEventListener("abort", cancel, { once: true });
    try {
      if (q.safetyCode) this.o.out(m.safetyCodePrompt(q.safetyCode));
      this.o.out(q.scope === "control" ? m.requestControl(q.technician) : m.requestView(q.technician));
      for (;;) {
        const line = await this.o.input.next();
        if (signal.aborted || line === undefined) return undefined;
        if (line === null) return null; // end of input: nobody can answer
        const c = this.command(line);
        if (c === "stop") return "stopped";
        if (c === "narrow") {
          this.handler("narrow");
          continue;
        }
        return parseConsentAnswer(line, q.scope);
      }
    } finally {
      signal.removeEventListener("abort", cancel);
    }
  }

  /** What `line` does to the live grants, or null if it is not such a command (or nothing is shared). */
  private command(line: string): UserAction | null {
    if (this.shared.length === 0) return null;
    const cmd = line.trim().toLowerCase();
    if (cmd === "s") return "stop";
    if (cmd === "v" && this.shared.some((s) => s.scope === ("control" satisfies Scope))) return "narrow";
    return null;
  }
}
