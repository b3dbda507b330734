/**
 * The session lifecycle rules of the seed document, as pure functions: no I/O, the clock passed in.
 * The broker decides with these and then carries the decision out against its store.
 *
 * Times are milliseconds since the Unix epoch. "Now" at or after `expiresAt` counts as expired.
 */

/** A machine as the broker knows it: the agent's Ed25519 public key and its machine fingerprint. */
export interface MachineIdentity {
  /** Raw 32-byte Ed25519 public key, base64url. */
  readonly publicKey: string;
  /** 32-byte fingerprint derived from the machine id, hex. */
  readonly fingerprint: string;
}

/** What the rules need to know of a stored session. */
export interface SessionFacts {
  readonly expiresAt: number;
  readonly closedAt: number | null;
  readonly deletedAt: number | null;
  /** The machine the code is bound to, or null while unbound. */
  readonly boundTo: MachineIdentity | null;
}

/** A session's state as technicians see it (deleted sessions are not listed at all). */
export type SessionState = "waiting" | "active" | "expired" | "closed";

/**
 * The answer to an activation attempt.
 * - `valid`: the code is bound to this machine already; connect.
 * - `bind`: unbound and before expiry; bind it to this machine (atomically) and connect.
 * - `invalid`: unknown, closed, deleted or bound to another machine. The reason is for logs and
 *   tests only: the agent is told just "invalid", identically for every reason.
 * - `expired`: never bound and past its expiry time.
 */
export type ActivationDecision =
  | { readonly kind: "valid" }
  | { readonly kind: "bind" }
  | { readonly kind: "invalid"; readonly reason: InvalidReason }
  | { readonly kind: "expired" };

export type InvalidReason = "unknown" | "closed" | "deleted" | "bound-elsewhere";

export function sameMachine(a: MachineIdentity, b: MachineIdentity): boolean {
  return a.publicKey === b.publicKey && a.fingerprint === b.fingerprint;
}

/**
 * Decides an activation attempt. Precedence (ARCHITECTURE.md): closed/deleted → invalid; bound to
 * another machine → invalid; bound to this machine → valid, also after the expiry time (expiry only
 * limits setting the session up); unbound and past expiry → expired; unbound before expiry → bind.
 * A machine is "this machine" only if both the key and the fingerprint match: a copy of the app and
 * its state folder on another computer has the key but not the fingerprint.
 */
export function decideActivation(session: SessionFacts | undefined, machine: MachineIdentity, now: number): ActivationDecision {
  if (!session) return { kind: "invalid", reason: "unknown" };
  if (session.deletedAt !== null) return { kind: "invalid", reason: "deleted" };
  if (session.closedAt !== null) return { kind: "invalid", reason: "closed" };
  if (session.boundTo !== null) {
    return sameMachine(session.boundTo, machine) ? { kind: "valid" } : { kind: "invalid", reason: "bound-elsewhere" };
  }
  if (now >= session.expiresAt) return { kind: "expired" };
  return { kind: "bind" };
}

/** The state shown to the technician. Deleted sessions must be filtered out before calling this. */
export function sessionState(session: SessionFacts, now: number): SessionState {
  if (session.closedAt !== null) return "closed";
  if (session.boundTo !== null) return "active";
  if (now >= session.expiresAt) return "expired";
  return "waiting";
}

/** Smallest and largest expiry a technician may set, in seconds (1 s … 30 days). */
export const EXPIRES_IN_MIN_S = 1;
export const EXPIRES_IN_MAX_S = 30 * 24 * 60 * 60;

/**
 * Checks a requested `expiresIn` (seconds). Returns the number, or a message naming `expiresIn`
 * that a person can act on.
 */
export function checkExpiresIn(value: unknown): { ok: true; seconds: number } | { ok: false; message: string } {
  const range = `a whole number of seconds from ${EXPIRES_IN_MIN_S} to ${EXPIRES_IN_MAX_S} (30 days)`;
  if (value === undefined || value === null) return { ok: false, message: `expiresIn is required: ${range}` };
  if (typeof value !== "number" || !Number.isFinite(value)) {
    return { ok: false, message: `expiresIn must be a number: ${range}` };
  }
  if (!Number.isInteger(value) || value < EXPIRES_IN_MIN_S || value > EXPIRES_IN_MAX_S) {
    return { ok: false, message: `expiresIn is out of range: ${range}` };
  }
  return { ok: true, seconds: value };
}

// ---------------------------------------------------------------------------------------------
// Access requests (remote-access consent)

export type Scope = "view" | "control";
/** Stored answer of an access request ("cancelled": the technician withdrew it before an answer). */
export type AccessAnswer = "pending" | "granted" | "denied" | "expired" | "cancelled";
/** What the technician sees: the stored answer, or "ended" once a grant was stopped. */
export type AccessStatus = AccessAnswer | "ended";

export interface AccessRequestFacts {
  readonly status: AccessAnswer;
  readonly expiresAt: number;
  /** When a granted request stopped (the user stopped sharing, or the app no longer holds it). */
  readonly endedAt?: number | null;
}

/**
 * A pending request past its deadline counts as expired, whether or not a timer has marked it; a
 * granted one that stopped is "ended".
 */
export function accessStatus(req: AccessRequestFacts, now: number): AccessStatus {
  if (req.status === "pending" && now >= req.expiresAt) return "expired";
  if (req.status === "granted" && req.endedAt != null) return "ended";
  return req.status;
}

/**
 * The user changes what they granted from the app: only narrower (control → view) or off (null).
 * Returns the new scope to store, "end" to stop the grant, or "refuse" for a widening or a change
 * to a request that is not live.
 */
export function consentChange(
  req: AccessRequestFacts & { grantedScope: Scope | null },
  requested: Scope | null,
  now: number,
): Scope | "end" | "refuse" {
  if (accessStatus(req, now) !== "granted" || req.grantedScope === null) return "refuse";
  if (requested === null) return "end";
  if (requested === "control" && req.grantedScope === "view") return "refuse";
  return requested;
}

/** Why a technician may not ask for access right now. */
export type AccessRefusal = "not-active" | "offline" | "already-pending" | "already-granted";

/** A grant in force: granted, not ended. */
export interface LiveGrantFacts {
  readonly id: string;
  readonly grantedScope: Scope | null;
}

/**
 * What a new access request does: it is refused; it asks the user; or, being narrower than a live
 * grant (view while control is granted), it narrows that grant at once, which needs no consent.
 * While a grant is live nothing else may be asked: a stream of new prompts must never stand
 * between the user and their "stop" (each prompt would take the next line typed).
 */
export type AccessRequestDecision =
  | { readonly kind: "refuse"; readonly why: AccessRefusal }
  | { readonly kind: "ask" }
  | { readonly kind: "narrow"; readonly grantId: string };

export function decideAccessRequest(
  session: SessionFacts,
  now: number,
  agentOnline: boolean,
  pending: readonly AccessRequestFacts[],
  live: readonly LiveGrantFacts[],
  scope: Scope,
): AccessRequestDecision {
  if (sessionState(session, now) !== "active") return { kind: "refuse", why: "not-active" };
  if (!agentOnline) return { kind: "refuse", why: "offline" };
  if (pending.some((r) => accessStatus(r, now) === "pending")) return { kind: "refuse", why: "already-pending" };
  if (live.length > 0) {
    const wider = live.find((g) => g.grantedScope === "control");
    if (scope === "view" && wider) return { kind: "narrow", grantId: wider.id };
    return { kind: "refuse", why: "already-granted" };
  }
  return { kind: "ask" };
}

/**
 * The scope actually granted: the user may narrow (control → view) but never widen what was asked.
 */
export function grantedScope(requested: Scope, answer: Scope | null): Scope | null {
  if (answer === null) return null;
  return requested === "view" ? "view" : answer;
}

/**
 * Whether a support link still offers its page and download: the session is neither closed nor
 * deleted, and it is either bound already (the user may fetch the app again on that computer) or
 * still before its expiry time. Every other case gets one identical "no longer available" answer.
 */
export function linkAvailable(session: SessionFacts | undefined, now: number): boolean {
  if (!session || session.deletedAt !== null || session.closedAt !== null) return false;
  return session.boundTo !== null || now < session.expiresAt;
}
