/**
 * The console's pure core: how sessions and access requests are labelled, ordered and timed, and
 * how an expiry choice becomes seconds. No DOM, no I/O: unit-tested in Node.
 */
import { pb, type AccessRequestInfo, type SessionInfo } from "./proto.js";

export type StateKey = "waiting" | "active" | "expired" | "closed" | "unknown";

/** The state to show: the broker's, except that a waiting session past its expiry is shown expired. */
export function displayState(s: Pick<SessionInfo, "state" | "expiresAtMs">, nowMs: number): StateKey {
  switch (s.state) {
    case pb.SessionState.SESSION_STATE_WAITING:
      return s.expiresAtMs > 0 && s.expiresAtMs <= nowMs ? "expired" : "waiting";
    case pb.SessionState.SESSION_STATE_ACTIVE:
      return "active";
    case pb.SessionState.SESSION_STATE_EXPIRED:
      return "expired";
    case pb.SessionState.SESSION_STATE_CLOSED:
      return "closed";
    default:
      return "unknown";
  }
}

/** The state badge's text, e.g. "active · online". */
export function stateLabel(s: Pick<SessionInfo, "state" | "expiresAtMs" | "online">, nowMs: number): string {
  const k = displayState(s, nowMs);
  if (k === "active") return s.online ? "active · online" : "active · offline";
  return k;
}

/** Newest first; ties by id so the order is stable. */
export function sortSessions<T extends Pick<SessionInfo, "createdAtMs" | "id">>(list: Iterable<T>): T[] {
  return [...list].sort((a, b) => b.createdAtMs - a.createdAtMs || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

/** Applies one SessionInfo update to the list: replaces, adds, or (deleted) removes. */
export function applySession(map: Map<string, SessionInfo>, s: SessionInfo): void {
  if (!s.id) return;
  if (s.deleted) map.delete(s.id);
  else map.set(s.id, s);
}

export type AccessKey = "pending" | "granted" | "denied" | "expired" | "ended" | "cancelled" | "unknown";

export function accessKey(status: number | null | undefined): AccessKey {
  switch (status) {
    case pb.AccessStatus.ACCESS_STATUS_PENDING:
      return "pending";
    case pb.AccessStatus.ACCESS_STATUS_GRANTED:
      return "granted";
    case pb.AccessStatus.ACCESS_STATUS_DENIED:
      return "denied";
    case pb.AccessStatus.ACCESS_STATUS_EXPIRED:
      return "expired";
    case pb.AccessStatus.ACCESS_STATUS_ENDED:
      return "ended";
    case pb.AccessStatus.ACCESS_STATUS_CANCELLED:
      return "cancelled";
    default:
      return "unknown";
  }
}

export type ScopeName = "view" | "control" | "none";

export function scopeName(scope: number | null | undefined): ScopeName {
  return scope === pb.Scope.SCOPE_CONTROL ? "control" : scope === pb.Scope.SCOPE_VIEW ? "view" : "none";
}

/** One line about an access request, for the session's row. */
export function accessLabel(r: Pick<AccessRequestInfo, "status" | "scope" | "grantedScope">): string {
  const asked = scopeName(r.scope) === "control" ? "Control" : "View";
  switch (accessKey(r.status)) {
    case "pending":
      return `${asked} requested: waiting for the user to answer…`;
    case "granted": {
      const g = scopeName(r.grantedScope);
      return g === "control"
        ? "Granted: control"
        : g === "view"
          ? asked === "Control"
            ? "Granted: view only"
            : "Granted: view"
          : "Granted";
    }
    case "denied":
      return `${asked} request declined by the user.`;
    case "expired":
      return `${asked} request not answered in time.`;
    case "ended":
      return "Sharing ended.";
    case "cancelled":
      return `${asked} request cancelled.`;
    default:
      return "";
  }
}

const UNITS: [number, string][] = [
  [86_400_000, "day"],
  [3_600_000, "hour"],
  [60_000, "minute"],
  [1000, "second"],
];

/**
 * "in 1 hour 59 minutes", "3 minutes ago", "now": the largest unit and the next smaller one (not
 * below a week), so that 2 h minus a second does not read "in 1 hour".
 */
export function relativeTime(atMs: number, nowMs: number): string {
  const d = atMs - nowMs;
  let rest = Math.abs(d);
  if (rest < 1000) return "now";
  const parts: string[] = [];
  for (const [ms, unit] of UNITS) {
    const n = Math.floor(rest / ms);
    rest -= n * ms;
    if (parts.length === 0) {
      if (n === 0) continue;
      parts.push(`${n} ${unit}${n === 1 ? "" : "s"}`);
      if (unit === "day" && n >= 7) break;
      continue;
    }
    if (n > 0) parts.push(`${n} ${unit}${n === 1 ? "" : "s"}`);
    break; // at most the next smaller unit
  }
  const text = parts.join(" ");
  return d > 0 ? `in ${text}` : `${text} ago`;
}

/** Local date and time, e.g. "2026-11-28 14:05" (no seconds; the title shows the ISO form). */
export function absoluteTime(atMs: number): string {
  const t = new Date(atMs);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${t.getFullYear()}-${p(t.getMonth() + 1)}-${p(t.getDate())} ${p(t.getHours())}:${p(t.getMinutes())}`;
}

export const EXPIRY_PRESETS: { label: string; seconds: number }[] = [
  { label: "30 minutes", seconds: 1800 },
  { label: "2 hours", seconds: 7200 },
  { label: "1 day", seconds: 86_400 },
  { label: "7 days", seconds: 604_800 },
];

export const UNIT_SECONDS = { minutes: 60, hours: 3600, days: 86_400 } as const;
export type ExpiryUnit = keyof typeof UNIT_SECONDS;
export const MAX_EXPIRY_S = 30 * 86_400;

/** A custom expiry as whole seconds, or a message saying what is wrong. */
export function customExpiry(amount: string, unit: string): { ok: true; seconds: number } | { ok: false; message: string } {
  const n = Number(amount.trim());
  if (!(unit in UNIT_SECONDS)) return { ok: false, message: "Choose minutes, hours or days." };
  if (!amount.trim() || !Number.isFinite(n) || n <= 0) return { ok: false, message: "Enter a positive number." };
  const seconds = Math.round(n * UNIT_SECONDS[unit as ExpiryUnit]);
  if (seconds < 1) return { ok: false, message: "Enter a positive number." };
  if (seconds > MAX_EXPIRY_S) return { ok: false, message: "A session can last at most 30 days." };
  return { ok: true, seconds };
}

/** Reconnect delay: exponential from 500 ms to 10 s, with up to 25 % jitter (`rand` in [0, 1)). */
export function backoffMs(attempt: number, rand: number): number {
  const base = Math.min(10_000, 500 * 2 ** Math.max(0, attempt));
  return Math.round(base * (0.75 + 0.25 * rand));
}

/** Whether a session matches the search box (case-insensitive, in its id, label, customer, ticket and computer name). */
export function sessionMatches(s: Pick<SessionInfo, "id" | "label" | "customer" | "ticket" | "machineName">, query: string): boolean {
  const q = query.trim().toLowerCase();
  if (!q) return true;
  return [s.id, s.label, s.customer, s.ticket, s.machineName].some((f) => (f ?? "").toLowerCase().includes(q));
}
