/**
 * Everything the user sees and answers, as one interface: status lines, the consent question,
 * what is shared right now (the sharing bar), the final message, and the user's own actions (stop,
 * view only, quit). Two implementations: the terminal (terminal-ui.ts) and the app window
 * (window-ui.ts, GTK 3 in a process of its own). The agent's logic never knows which one runs.
 */
import type { Scope } from "../session/rules.js";
import type { Messages } from "./messages.js";
import type { TransferView } from "../session/file-transfer.js";

export interface ConsentQuestion {
  id: string;
  scope: Scope;
  technician: string;
  /** The broker's organisation, "" when not set. */
  organization: string;
  /** The safety code of this request's connection, when both certificates are known. */
  safetyCode: string | null;
  /** Time left to answer when the request arrived (ms); the broker ends it after that. */
  expiresInMs: number;
}

/**
 * The user's answer: the scope allowed, or null (declined, no answer possible). "stopped": the user
 * stopped live sharing while asked (the terminal's `s`), which declines this request too.
 * undefined: the question was withdrawn (signal aborted) before an answer.
 */
export type ConsentAnswer = Scope | null | "stopped" | undefined;

/** What is shared now, one entry per live grant (empty: nothing). */
export interface Shared {
  technician: string;
  scope: Scope;
  /** The technician records the screen (the sharing bar says so). */
  recording?: boolean;
  /** The monitor the technician watches (screen coordinates), when not the whole screen. */
  area?: { x: number; y: number; width: number; height: number };
}

/** A file question: a technician sends a file ("receive"), or asks for one of the user's ("send"). */
export interface FileQuestion {
  id: string;
  kind: "receive" | "send";
  technician: string;
  /** The file's name (receive) or the path asked for (send), cleaned. */
  name: string;
  size: number;
}

/** One transfer as the app shows it (see TransferView), with whom. */
export interface TransferLine extends TransferView {
  technician: string;
  /** Time left (ms) while it moves, when known. */
  leftMs: number | null;
}

/**
 * The system clipboard (text), where the interface can reach it (the app window); the terminal
 * cannot. Nothing is read while `watch(false)`.
 */
export interface ClipboardAccess {
  /** Puts text on the clipboard (no `copied` call follows for it); false when it could not be passed on (too long). */
  write(text: string): boolean;
  /** The clipboard's text now ("" when it holds none; null when it could not be read). */
  read(): Promise<string | null>;
  /** While on, every text the user copies goes to the handler. */
  watch(on: boolean): void;
  onCopied(handler: (text: string) => void): void;
  /** The user's switch for clipboard sharing, shown while `visible`. */
  showSwitch(o: { visible: boolean; on: boolean; technician: string }): void;
  onSwitch(handler: (on: boolean) => void): void;
}

/** What the user does on their own: on every live grant. */
export type UserAction = "stop" | "narrow";

/**
 * Where the technician's input must not go: the app's own windows (and everything while a consent
 * question is open). The input dispatcher asks before each event; coordinates are the X screen's.
 */
export interface InputGuard {
  /** True when the pointer event at (x, y) must be dropped. */
  blocksPointerAt(x: number, y: number): boolean;
  /** True when key and text events must be dropped (one of the app's windows has the keyboard). */
  blocksKeys(): boolean;
}

export interface UserInterface {
  /** The words of this interface (the terminal says "type s", the window "Stop sharing"). */
  readonly messages: Messages;
  /** A status line: what happened. */
  say(line: string): void;
  /** The broker's organisation, once known (after activation; "" when not set). */
  organization(name: string): void;
  /** Asks the consent question; resolves with the answer, or undefined once `signal` aborts. */
  ask(q: ConsentQuestion, signal: AbortSignal): Promise<ConsentAnswer>;
  /** What is shared now (the sharing bar); an empty list hides it. */
  sharing(shared: readonly Shared[]): void;
  /** The user's actions on live grants go to `handler`. */
  onAction(handler: (action: UserAction) => void): void;
  /** A chat message from the technician (`name`: their display name, cleaned). */
  chat(name: string, text: string): void;
  /** What the user writes to the technician goes to `handler` (an interface without a way to write never calls it). */
  onChat(handler: (text: string) => void): void;
  /** Asks whether to accept a file, or to send one; true: yes. false when `signal` aborts first. */
  askFile(q: FileQuestion, signal: AbortSignal): Promise<boolean>;
  /** The transfers to show (ended ones too, until the list is replaced). */
  transfers(list: readonly TransferLine[]): void;
  /** The user cancels a transfer (the window's Cancel) or all of them (the terminal's x). */
  onCancelTransfer(handler: (id: string | null) => void): void;
  /**
   * The user's way to send a file of their own (the window's button, the terminal's `send <path>`):
   * offered while a technician's viewer is connected (`technician`: whose), withdrawn otherwise.
   */
  showSendFile(o: { visible: boolean; technician: string }): void;
  /** The user chose a file to send: its path, as given (the Tools check it). */
  onSendFile(handler: (file: string) => void): void;
  /** The clipboard, when this interface can reach it. */
  readonly clipboard: ClipboardAccess | null;
  /** Resolves when the user asks to quit (window closed, Quit, SIGINT/SIGTERM). */
  readonly quit: Promise<void>;
  /**
   * The app ends with `line` (the seed's outcomes: invalid, expired, closed …; null: said already).
   * Resolves when the user has seen it (the window waits to be closed; the terminal at once).
   */
  finish(line: string | null): Promise<void>;
  readonly guard: InputGuard;
}

/** Drops nothing: for interfaces without windows on the shared screen. */
export const OPEN_GUARD: InputGuard = { blocksPointerAt: () => false, blocksKeys: () => false };
