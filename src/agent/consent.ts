/**
 * Asking the user: the answer to an access request (pure), and the prompts, one at a time.
 */
import type { Scope } from "../session/rules.js";
import { encodeToBroker, pb, scopeToWire } from "../proto/wire.js";
import type { Connection, Grant } from "./grants.js";
import type { Messages } from "./messages.js";

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
}

export interface PromptDeps {
  messages: Messages;
  out: (line: string) => void;
  input: LineSource;
  send: (frame: Uint8Array) => unknown;
  /** Prepares the connection for a request before it is asked (for the safety code); null if impossible. */
  prepare: (r: PendingRequest) => Promise<Connection | null>;
  showCode: (conn: Connection | null, r: PendingRequest) => Promise<void>;
  /** A line that acts on live grants (s, v) instead of answering; see Grants.command. */
  command: (line: string, r: PendingRequest) => "stop" | "narrow" | null;
  granted: (id: string, grant: Grant, conn: Connection | null) => void;
}

/**
 * Asks the user about access requests one at a time, in arrival order. Each prompt takes the next
 * line typed after it that is not a command on a live grant (s, v); a request that ends (expires,
 * withdrawn) while asked is dropped. One per broker connection.
 */
export class ConsentPrompts {
  private readonly queue: PendingRequest[] = [];
  private asking: PendingRequest | null = null;
  private stopped = false;

  constructor(private readonly d: PromptDeps) {}

  add(r: PendingRequest): void {
    if (this.asking?.id === r.id || this.queue.some((q) => q.id === r.id)) return;
    this.queue.push(r);
    if (!this.asking) void this.loop();
  }

  /** The broker ended a request (expired, withdrawn): dropped, or the open prompt closes with a line. */
  ended(id: string, reason: number): void {
    const i = this.queue.findIndex((q) => q.id === id);
    if (i >= 0) this.queue.splice(i, 1);
    if (this.asking?.id === id) {
      const m = this.d.messages;
      this.d.out(
        reason === pb.AccessRequestEnded.Reason.REASON_WITHDRAWN
          ? m.requestWithdrawn(this.asking.technician)
          : m.requestExpired(this.asking.technician),
      );
      this.asking = null;
      this.d.input.cancel();
    }
  }

  /** The connection ended: nothing more is asked on it. */
  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    if (this.asking) {
      this.asking = null;
      this.d.input.cancel();
    }
  }

  private async loop(): Promise<void> {
    const m = this.d.messages;
    while (!this.stopped && this.queue.length > 0) {
      const r = this.queue.shift()!;
      this.asking = r;
      const conn = await this.d.prepare(r);
      if (this.asking !== r) {
        conn?.handle?.stop(); // ended (or the connection dropped) while preparing
        continue;
      }
      await this.d.showCode(conn, r);
      this.d.out(r.scope === "control" ? m.requestControl(r.technician) : m.requestView(r.technician));
      let line: string | null | undefined;
      let declinedByStop = false;
      for (;;) {
        line = await this.d.input.next();
        if (this.asking !== r || line === undefined || line === null) break;
        const c = this.d.command(line, r);
        if (c === "stop") declinedByStop = true;
        if (c === null || c === "stop") break;
      }
      if (this.asking !== r || line === undefined) {
        conn?.handle?.stop(); // ended while asked
        continue;
      }
      this.asking = null;
      const scope = declinedByStop ? null : parseConsentAnswer(line, r.scope);
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
      if (scope === "control") this.d.out(m.grantedControl(r.technician));
      else if (scope === "view") this.d.out(m.grantedView(r.technician));
      else if (!declinedByStop) this.d.out(m.denied(r.technician));
    }
  }
}
