/**
 * What the broker shows of its rows: the HTTP API's JSON views and the console socket's wire
 * messages. Pure: the time, whether the app is online and the alerts are passed in.
 */
import type { HistoryEntry } from "./history.js";
import { accessStatus, sessionState, type AccessStatus, type Scope, type SessionState } from "../session/rules.js";
import { pb, scopeToWire } from "../proto/wire.js";
import type { AccessRequestRow, SessionAlertRow, SessionRow } from "./store.js";

export interface SessionView {
  id: string;
  state: SessionState;
  online: boolean;
  createdAt: string;
  expiresAt: string;
  closedAt?: string;
  machine?: { name: string; os: string; boundAt: string; lastSeenAt: string | null };
  /** What the technician called it, for whom, its ticket reference (only those given). */
  label?: string;
  customer?: string;
  ticket?: string;
  /** Things the technician should know, oldest first (e.g. another copy of the app took over). */
  alerts: AlertView[];
}

export interface AlertView {
  kind: "replaced";
  at: string;
  previousMachine: string;
  newMachine: string;
  message: string;
}

export interface AccessRequestView {
  id: string;
  sessionId: string;
  scope: Scope;
  status: AccessStatus;
  /** The scope in force now (the user may have narrowed it). */
  grantedScope?: Scope;
  createdAt: string;
  expiresAt: string;
  answeredAt?: string;
  endedAt?: string;
  /** The DTLS fingerprints the safety code is made of, once known. */
  technicianFingerprint?: string;
  agentFingerprint?: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** What an alert says, for the API and logs. */
export function alertMessage(a: Pick<SessionAlertRow, "kind" | "previousMachine" | "newMachine">): string {
  return `Another copy of the support app with this computer's identity took over the connection: "${a.newMachine}" replaced "${a.previousMachine}". If the user did not start the app twice, the identity may have been copied to another computer: close the session.`;
}

export function sessionView(s: SessionRow, now: number, online: boolean, alerts: readonly SessionAlertRow[]): SessionView {
  const v: SessionView = {
    id: s.id,
    state: sessionState(s, now),
    online,
    createdAt: iso(s.createdAt),
    expiresAt: iso(s.expiresAt),
    alerts: alerts.map((a) => ({
      kind: a.kind,
      at: iso(a.at),
      previousMachine: a.previousMachine,
      newMachine: a.newMachine,
      message: alertMessage(a),
    })),
  };
  if (s.closedAt !== null) v.closedAt = iso(s.closedAt);
  if (s.label) v.label = s.label;
  if (s.customer) v.customer = s.customer;
  if (s.ticket) v.ticket = s.ticket;
  if (s.boundAt !== null) {
    v.machine = {
      name: s.machineName ?? "",
      os: s.machineOs ?? "",
      boundAt: iso(s.boundAt),
      lastSeenAt: s.lastSeenAt === null ? null : iso(s.lastSeenAt),
    };
  }
  return v;
}

export function accessView(r: AccessRequestRow, now: number): AccessRequestView {
  const v: AccessRequestView = {
    id: r.id,
    sessionId: r.sessionId,
    scope: r.scope,
    status: accessStatus(r, now),
    createdAt: iso(r.createdAt),
    expiresAt: iso(r.expiresAt),
  };
  if (r.grantedScope) v.grantedScope = r.grantedScope;
  if (r.answeredAt !== null) v.answeredAt = iso(r.answeredAt);
  if (r.endedAt !== null) v.endedAt = iso(r.endedAt);
  if (r.technicianFingerprint) v.technicianFingerprint = r.technicianFingerprint;
  if (r.agentFingerprint) v.agentFingerprint = r.agentFingerprint;
  return v;
}

const wireState: Record<SessionState, number> = {
  waiting: pb.SessionState.SESSION_STATE_WAITING,
  active: pb.SessionState.SESSION_STATE_ACTIVE,
  expired: pb.SessionState.SESSION_STATE_EXPIRED,
  closed: pb.SessionState.SESSION_STATE_CLOSED,
};

/** A session as the console socket carries it (SessionInfo). */
export function sessionInfo(s: SessionRow, now: number, online: boolean, alerts: readonly SessionAlertRow[]) {
  return {
    id: s.id,
    state: wireState[sessionState(s, now)],
    online,
    expiresAtMs: s.expiresAt,
    createdAtMs: s.createdAt,
    machineName: s.machineName ?? "",
    deleted: s.deletedAt !== null,
    label: s.label ?? "",
    customer: s.customer ?? "",
    ticket: s.ticket ?? "",
    alerts: alerts.map((a) => ({
      kind: pb.SessionAlert.Kind.KIND_REPLACED,
      atMs: a.at,
      previousMachine: a.previousMachine,
      newMachine: a.newMachine,
    })),
  };
}

const wireAccess = {
  pending: pb.AccessStatus.ACCESS_STATUS_PENDING,
  granted: pb.AccessStatus.ACCESS_STATUS_GRANTED,
  denied: pb.AccessStatus.ACCESS_STATUS_DENIED,
  expired: pb.AccessStatus.ACCESS_STATUS_EXPIRED,
  ended: pb.AccessStatus.ACCESS_STATUS_ENDED,
  cancelled: pb.AccessStatus.ACCESS_STATUS_CANCELLED,
} as const;

/** A request as the console socket carries it (AccessRequestInfo). */
export function accessInfo(r: AccessRequestRow, now: number) {
  return {
    id: r.id,
    sessionId: r.sessionId,
    scope: scopeToWire(r.scope),
    status: wireAccess[accessStatus(r, now)],
    grantedScope: r.grantedScope ? scopeToWire(r.grantedScope) : pb.Scope.SCOPE_UNSPECIFIED,
    agentFingerprint: r.agentFingerprint ?? "",
    technicianFingerprint: r.technicianFingerprint ?? "",
  };
}

/** A history entry as the API shows it. */
export interface HistoryView {
  seq: number;
  at: string;
  kind: string;
  actor: string;
  data: Record<string, string | number | boolean | null>;
}

export function historyView(e: HistoryEntry): HistoryView {
  return { seq: e.seq, at: iso(e.at), kind: e.kind, actor: e.actor, data: e.data };
}

/** Whether a session matches a search (case-insensitive, in its id, label, customer, ticket and machine name). */
export function sessionMatches(s: SessionRow, query: string): boolean {
  const q = query.trim().toLowerCase();
  if (!q) return true;
  return [s.id, s.label, s.customer, s.ticket, s.machineName].some((f) => (f ?? "").toLowerCase().includes(q));
}
