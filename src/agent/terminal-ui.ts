/**
 * The support app in a terminal: status lines on stdout, the consent question as a line to answer
 * (y, v, n), `s` and `v` typed at any time act on what is shared (even while a question is open:
 * no request, however often it is sent, turns them into an answer).
 */
import type { Scope } from "../session/rules.js";
import { parseConsentAnswer, type LineSource } from "./consent.js";
import type { Messages } from "./messages.js";
import {
  OPEN_GUARD,
  type ConsentAnswer,
  type ConsentQuestion,
  type FileQuestion,
  type Shared,
  type TransferLine,
  type UserAction,
  type UserInterface,
} from "./ui.js";
import { homedir } from "node:os";
import path from "node:path";
import { formatBytes } from "../session/file-transfer.js";
import { formatDuration } from "./transfers.js";

/**
 * The file a line like `send /home/alex/report.pdf` (German `senden …`) names, or null when the line
 * is no such command (then it is a chat message: "send me the logs" names no path). The path must
 * be full: "/…", "~/…" (the home folder), a drive ("C:\…") or a share ("\\server\…"); quotes
 * around it (Windows' "Copy as path") are taken off.
 */
export function fileToSend(line: string, home = homedir()): string | null {
  const m = /^\s*(?:send|senden)\s+(.+?)\s*$/i.exec(line);
  if (!m) return null;
  let p = m[1]!;
  if (p.length >= 2 && ((p.startsWith('"') && p.endsWith('"')) || (p.startsWith("'") && p.endsWith("'")))) p = p.slice(1, -1);
  if (p === "~" || p.startsWith("~/") || p.startsWith("~\\")) p = path.join(home, p.slice(1));
  if (p.startsWith("/") || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith("\\\\")) return p;
  return null;
}

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
  private chatHandler: (text: string) => void = () => {};
  /** The hint on how to answer is given with the first message. */
  private chatHinted = false;
  /** One question at a time: a file question waits for the one before it. */
  private questions: Promise<unknown> = Promise.resolve();
  private cancelHandler: (id: string | null) => void = () => {};
  /** What was said about each transfer (its status, and the last quarter of progress). */
  private readonly said = new Map<string, string>();
  private readonly moving = new Set<string>();
  /** Lines before this time answer no file question (one was just withdrawn). */
  private quietUntil = 0;
  /** The terminal cannot reach the clipboard. */
  readonly clipboard = null;
  private sendFileHandler: (file: string) => void = () => {};
  /** How to send a file is said once, when a technician's viewer first connects. */
  private sendHinted = false;

  constructor(private readonly o: TerminalOptions) {
    this.messages = o.messages;
    this.quit = o.quit;
    o.input.onIdleLine((line) => {
      const c = this.command(line);
      const text = line.trim();
      const file = fileToSend(text);
      if (text.toLowerCase() === "x" && this.moving.size > 0) this.cancelHandler(null);
      else if (c) this.handler(c);
      else if (file !== null) this.sendFileHandler(file);
      // A single letter that is no command here is a slip (the help says what the letters do);
      // anything longer is a message to the technician.
      else if (text.length === 1 && this.shared.length > 0) o.out(this.messages.sharingHelp);
      else if (text.length > 1) this.chatHandler(text);
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

  chat(name: string, text: string): void {
    this.o.out(this.messages.chatLine(name, text));
    if (!this.chatHinted) {
      this.chatHinted = true;
      this.o.out(this.messages.chatHint(name));
    }
  }

  onChat(handler: (text: string) => void): void {
    this.chatHandler = handler;
  }

  async finish(line: string | null): Promise<void> {
    if (line) this.o.out(line);
  }

  /** Asks y/n about a file, after any question already open. */
  askFile(q: FileQuestion, signal: AbortSignal): Promise<boolean> {
    const asked = this.questions.then(() => this.askFileNow(q, signal));
    this.questions = asked.catch(() => {});
    return asked;
  }

  /**
   * One file question. Sending one of the user's files takes the word "send" (not a y meant for
   * something else); `s` and `v` still act on what is shared (`s` also declines); a yes typed within
   * a second after a question was withdrawn answers nothing (it was meant for that one).
   */
  private async askFileNow(q: FileQuestion, signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return false;
    const m = this.messages;
    const cancel = () => this.o.input.cancel();
    signal.addEventListener("abort", cancel, { once: true });
    const yes = q.kind === "receive" ? ["y", "yes", "j", "ja"] : ["send", "senden"];
    try {
      const size = formatBytes(q.size);
      this.o.out(q.kind === "receive" ? m.fileOffer(q.technician, q.name, size) : m.fileRequest(q.technician, q.name, size));
      for (;;) {
        const line = await this.o.input.next();
        if (signal.aborted || line === undefined) {
          this.quietUntil = Date.now() + 1000;
          return false;
        }
        if (line === null) return false;
        const c = this.command(line);
        if (c === "stop") {
          this.handler("stop");
          return false;
        }
        if (c === "narrow") {
          this.handler("narrow");
          continue;
        }
        const a = line.trim().toLowerCase();
        if (["n", "no", "nein"].includes(a)) return false;
        // A yes typed just after a question was withdrawn was meant for that one.
        if (yes.includes(a) && Date.now() >= this.quietUntil) return true;
        this.o.out(q.kind === "receive" ? m.fileAnswerHelp : m.fileSendHelp);
      }
    } finally {
      signal.removeEventListener("abort", cancel);
    }
  }

  onCancelTransfer(handler: (id: string | null) => void): void {
    this.cancelHandler = handler;
  }

  showSendFile(o: { visible: boolean; technician: string }): void {
    if (!o.visible || this.sendHinted) return;
    this.sendHinted = true;
    this.o.out(this.messages.fileSendHint(o.technician));
  }

  onSendFile(handler: (file: string) => void): void {
    this.sendFileHandler = handler;
  }

  /** One line when a transfer starts, at each quarter, and when it ends. */
  transfers(list: readonly TransferLine[]): void {
    const m = this.messages;
    for (const t of list) {
      let key: string = t.status;
      if (t.status === "moving" && t.size > 0) key = `moving ${Math.floor((4 * t.bytes) / t.size)}`;
      if (this.said.get(t.id) === key) continue;
      const first = !this.said.has(t.id);
      this.said.set(t.id, key);
      if (t.status === "moving" || t.status === "checking") this.moving.add(t.id);
      else this.moving.delete(t.id);
      if (t.status === "moving" && t.bytes > 0 && t.bytes < t.size) {
        const left = t.leftMs === null ? "" : formatDuration(t.leftMs);
        this.o.out(m.fileProgress(t.name, Math.floor((100 * t.bytes) / t.size), left));
      } else if (t.status === "moving" && t.bytes === 0) {
        if (t.direction === "in") this.o.out(m.fileAccepted(t.name));
        if (first || t.direction === "in") this.o.out(m.fileCancelHelp);
      }
    }
  }

  /** Asks the consent question, after any question already open (one line answers one question). */
  ask(q: ConsentQuestion, signal: AbortSignal): Promise<ConsentAnswer> {
    const asked = this.questions.then(() => (signal.aborted ? undefined : this.askNow(q, signal)));
    this.questions = asked.catch(() => {});
    return asked;
  }

  private async askNow(q: ConsentQuestion, signal: AbortSignal): Promise<ConsentAnswer> {
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
