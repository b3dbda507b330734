/**
 * Asking the user: the answer to an access request (pure), and the prompts, one at a time.
 */
import type { Scope } from "../session/rules.js";
import { encodeToBroker, pb, scopeToWire } from "../proto/wire.js";
import type { Connection, Grant } from "./grants.js";
import type { UserInterface } from "./ui.js";

/**
 * `y`/`yes` (German also `j`/`ja`) grants the requested scope, `v` grants view only, anything else
 * (and end of input, `null`) denies. Case and surrounding spaces do not matter.
 */
export function parseConsentAnswer(line: string | null, requested: Scope): Scope | null {
  if (line === null) return null;
  const a = line.trim().toLowerCase();
  if (a === "y" || a === "yes" || a === "j" || a === "ja") return requested;
  if (a === "v") return "view";
  return null;
}

/** A source of input lines. `next()` resolves with the next line typed after the call, or null at end of input. */
export interface LineSource {
  next(): Promise<string | null | undefined>;
  /** Abandons a pending `next()` (it resolves with undefined). */
  cancel(): void;
  /** Receives the lines typed while no `next()` waits (the user's commands). */
  onIdleLine(handler: (line: string) => void): void;
}

export interface PendingRequest {
  id: string;
  scope: Scope;
  technician: string;
  /** The DTLS fingerprint the technician's viewer announced, if any. */
  technicianFingerprint: string | null;
  /** Time left to answer when it arrived (ms). */
  expiresInMs: number;
}

export interface PromptDeps {
  ui: UserInterface;
  /** The broker's organisation ("" until activation, or when not set). */
  organization: () => string;
  send: (frame: Uint8Array) => unknown;
  /** Prepares the connection for a request before it is asked (for the safety code); null if impossible. */
  prepare: (r: PendingRequest) => Promise<Connection | null>;
  /** The safety code of this request's connection, if both certificates are known. */
  code: (conn: Connection | null, r: PendingRequest) => Promise<string | null>;
  /** The user stopped live sharing while asked: every grant ends, quietly (the caller says it). */
  stopAll: () => void;
  granted: (id: string, grant: Grant, conn: Connection | null) => void;
}

/**
 * Asks the user about access requests one at a time, in arrival order; a request that ends
 * (expires, withdrawn) while asked is dropped. While a question is open, `asking` is true: the
 * technician's input is dropped (nothing answers for the user). One per broker connection.
 */
export class ConsentPrompts {
  private readonly queue: PendingRequest[] = [];
  private current: { r: PendingRequest; abort: AbortController } | null = null;
  private stopped = false;

  constructor(private readonly d: PromptDeps) {}

  /** A question is open (or being prepared). */
  get asking(): boolean {
    return this.current !== null;
  }

  add(r: PendingRequest): void {
    if (this.current?.r.id === r.id || this.queue.some((q) => q.id === r.id)) return;
    this.queue.push(r);
    if (!this.current) void this.loop();
  }

  /** The broker ended a request (expired, withdrawn): dropped, or the open question closes with a line. */
  ended(id: string, reason: number): void {
    const i = this.queue.findIndex((q) => q.id === id);
    if (i >= 0) this.queue.splice(i, 1);
    const c = this.current;
    if (c?.r.id === id) {
      const m = this.d.ui.messages;
      this.current = null;
      c.abort.abort();
      this.d.ui.say(
        reason === pb.AccessRequestEnded.Reason.REASON_WITHDRAWN ? m.requestWithdrawn(c.r.technician) : m.requestExpired(c.r.technician),
      );
    }
  }

  /** The connection ended: nothing more is asked on it. */
  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    const c = this.current;
    this.current = null;
    c?.abort.abort();
  }

  private async loop(): Promise<void> {
    const { ui } = this.d;
    const m = ui.messages;
    while (!this.stopped && this.queue.length > 0) {
      const r = this.queue.shift()!;
      const mine = { r, abort: new AbortController() };
      this.current = mine;
      const conn = await this.d.prepare(r);
      if (this.current !== mine) {
        conn?.handle?.stop(); // ended (or the connection dropped) while preparing
        continue;
      }
      const safetyCode = await this.d.code(conn, r);
      const answer =
        this.current === mine
          ? await ui.ask(
              {
                id: r.id,
                scope: r.scope,
                technician: r.technician,
                organization: this.d.organization(),
                safetyCode,
                expiresInMs: r.expiresInMs,
              },
              mine.abort.signal,
            )
          : undefined;
      if (this.current !== mine || answer === undefined) {
        conn?.handle?.stop(); // ended while asked
        continue;
      }
      this.current = null;
      const scope = answer === "stopped" ? null : answer;
      if (answer === "stopped") {
        this.d.stopAll();
        ui.say(m.stoppedAndDeclined(r.technician));
      }
      this.d.send(
        encodeToBroker({
          consent: {
            accessRequestId: r.id,
            granted: scope !== null,
            grantedScope: scope ? scopeToWire(scope) : pb.Scope.SCOPE_UNSPECIFIED,
          },
        }),
      );
      if (scope) this.d.granted(r.id, { technician: r.technician, scope, conn: null }, conn);
      else conn?.handle?.stop();
      if (scope === "control") ui.say(m.grantedControl(r.technician));
      else if (scope === "view") ui.say(m.grantedView(r.technician));
      else if (answer !== "stopped") ui.say(m.denied(r.technician));
    }
  }
}
