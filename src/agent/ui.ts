/**
 * Everything the user sees and answers, as one interface: status lines, the consent question,
 * what is shared right now (the sharing bar), the final message, and the user's own actions (stop,
 * view only, quit). Two implementations: the terminal (terminal-ui.ts) and the app window
 * (window-ui.ts, GTK 3 in a process of its own). The agent's logic never knows which one runs.
 */
import type { Scope } from "../session/rules.js";
import type { Messages } from "./messages.js";

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
  /** The monitor the technician watches (screen coordinates), when not the whole screen. */
  area?: { x: number; y: number; width: number; height: number };
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
