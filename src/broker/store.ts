/**
 * The broker's store: an embedded SQLite database (better-sqlite3, WAL) at <data>/tether.db.
 * Every statement is parameterized. Secrets (session codes, API tokens, passwords) are stored only
 * as hashes. Other processes (the `tether technician` CLI) may open the same file while the broker
 * runs; WAL and a busy timeout make that safe.
 */
import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { entryHash, GENESIS, historyKey, type HistoryEntry } from "./history.js";
import type { MachineIdentity, Scope } from "../session/rules.js";
import { hashSecret, newApiToken, newId } from "../util/secrets.js";
import {
  API_TOKEN_DEFAULT_TTL_MS,
  MAX_ALERTS_PER_SESSION,
  MIGRATIONS,
  TOKEN_USE_RESOLUTION_MS,
  toAccess,
  toSession,
  toTechnician,
  toToken,
  type AccessDbRow,
  type AccessRequestRow,
  type SessionAlertKind,
  type SessionAlertRow,
  type SessionDbRow,
  type SessionRow,
  type Technician,
  type TechnicianDbRow,
  type TokenDbRow,
  type TokenInfo,
  type TokenKind,
} from "./schema.js";

export * from "./schema.js";

/** A value now, or later. */
export type Awaitable<T> = T | Promise<T>;

/**
 * What the broker needs of a store: every public method of the embedded SQLite `Store`, each of
 * which may answer now (SQLite) or later (PostgreSQL, pg-store.ts). The broker awaits every call.
 */
export type BrokerStore = {
  [K in Exclude<keyof Store, "db">]: Store[K] extends (...args: infer A) => infer R ? (...args: A) => Awaitable<R> : never;
};

export class Store implements BrokerStore {
  readonly db: Database.Database;
  /** Prepared statements by their SQL (compiling one on every call took 0.38 of an activation's ~1.9 ms). */
  private readonly statements = new Map<string, Database.Statement>();

  /** Opens (creating if needed) `<dataDir>/tether.db` and applies pending migrations. */
  static open(dataDir: string): Store {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    return new Store(join(dataDir, "tether.db"));
  }

  /** The key of the history's hash chain (history.ts), from the data folder. */
  private readonly historyKey: Buffer;

  /** The statement for `sql`, compiled once (better-sqlite3 statements are reusable; none here is iterated). */
  private st(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  constructor(file: string, key?: Buffer) {
    this.historyKey = key ?? historyKey(dirname(file), true)!;
    this.db = new Database(file);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("busy_timeout = 5000");
    this.db.pragma("foreign_keys = ON");
    this.db.pragma("synchronous = NORMAL");
    this.migrate();
  }

  private migrate(): void {
    const current = this.db.pragma("user_version", { simple: true }) as number;
    if (current > MIGRATIONS.length) {
      throw new Error(`the database was written by a newer Tether (schema ${current}, this version knows ${MIGRATIONS.length})`);
    }
    for (let v = current; v < MIGRATIONS.length; v++) {
      this.db
        .transaction(() => {
          this.db.exec(MIGRATIONS[v]!.sqlite);
          this.db.pragma(`user_version = ${v + 1}`);
        })
        .immediate();
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  // ---- technicians and tokens -----------------------------------------------------------------

  /** Every technician ever created, removed ones included (the broker's first start looks at this). */
  countTechnicians(): number {
    return (this.st("SELECT count(*) AS n FROM technicians").get() as { n: number }).n;
  }

  createTechnician(name: string, displayName: string, passwordHash: string | null, now: number): Technician {
    const t: Technician = { id: newId("t_"), name, displayName, passwordHash, createdAt: now, removedAt: null };
    this.st("INSERT INTO technicians (id, name, display_name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)").run(
      t.id,
      t.name,
      t.displayName,
      t.passwordHash,
      t.createdAt,
    );
    return t;
  }

  /**
   * Creates a technician only if there is none at all, in one statement: of brokers starting at once
   * on one data folder exactly one creates the first technician. Undefined for the others.
   */
  createFirstTechnician(name: string, displayName: string, passwordHash: string, now: number): Technician | undefined {
    const t: Technician = { id: newId("t_"), name, displayName, passwordHash, createdAt: now, removedAt: null };
    const res = this.st(
      `INSERT INTO technicians (id, name, display_name, password_hash, created_at)
         SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM technicians)`,
    ).run(t.id, t.name, t.displayName, t.passwordHash, t.createdAt);
    return res.changes === 1 ? t : undefined;
  }

  /** Technicians by name; removed ones only when asked for. */
  listTechnicians(includeRemoved = false): Technician[] {
    return (
      this.st(`SELECT * FROM technicians ${includeRemoved ? "" : "WHERE removed_at IS NULL"} ORDER BY name`).all() as TechnicianDbRow[]
    ).map(toTechnician);
  }

  /** A technician by name (case-insensitive); a removed one only when asked for (names are never reused). */
  technicianByName(name: string, includeRemoved = false): Technician | undefined {
    const r = this.st(`SELECT * FROM technicians WHERE name = ? ${includeRemoved ? "" : "AND removed_at IS NULL"}`).get(name) as
      TechnicianDbRow | undefined;
    return r && toTechnician(r);
  }

  /** A technician by id, removed ones included (their sessions still name them). */
  technicianById(id: string): Technician | undefined {
    const r = this.st("SELECT * FROM technicians WHERE id = ?").get(id) as TechnicianDbRow | undefined;
    return r && toTechnician(r);
  }

  /**
   * Stores a new password hash. With `previousHash`, only if the stored hash is still that one (an
   * upgrade at sign-in must not undo a password set meanwhile); returns whether it was stored.
   */
  setPassword(technicianId: string, passwordHash: string, previousHash?: string): boolean {
    const res =
      previousHash === undefined
        ? this.st("UPDATE technicians SET password_hash = ? WHERE id = ? AND removed_at IS NULL").run(passwordHash, technicianId)
        : this.st("UPDATE technicians SET password_hash = ? WHERE id = ? AND removed_at IS NULL AND password_hash = ?").run(
            passwordHash,
            technicianId,
            previousHash,
          );
    return res.changes === 1;
  }

  /**
   * Removes a technician: no sign-in and no token from now on (every token is deleted, the password
   * hash cleared). The row stays, because sessions and their history refer to it, and so does the
   * name. Returns the number of tokens revoked, or null if there is no such active technician.
   */
  removeTechnician(technicianId: string, now: number): number | null {
    return this.db
      .transaction(() => {
        const res = this.st("UPDATE technicians SET removed_at = ?, password_hash = NULL WHERE id = ? AND removed_at IS NULL").run(
          now,
          technicianId,
        );
        return res.changes === 1 ? this.revokeTokensOf(technicianId) : null;
      })
      .immediate();
  }

  /**
   * Creates a token; only its hash is stored. `expiresAt` null means the default lifetime for an API
   * token (90 days); login tokens always carry their own.
   */
  issueToken(
    technicianId: string,
    kind: TokenKind,
    now: number,
    expiresAt: number | null,
    label: string | null = null,
  ): { id: string; token: string; expiresAt: number } {
    const token = newApiToken();
    const id = newId("tk_");
    const expires = expiresAt ?? now + API_TOKEN_DEFAULT_TTL_MS;
    this.st(
      `INSERT INTO api_tokens (id, token_hash, technician_id, kind, label, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).run(id, this.tokenHashOf(token), technicianId, kind, label, now, expires);
    return { id, token, expiresAt: expires };
  }

  /** Creates a token and returns it (see `issueToken`). */
  createToken(technicianId: string, kind: TokenKind, now: number, expiresAt: number | null, label: string | null = null): string {
    return this.issueToken(technicianId, kind, now, expiresAt, label).token;
  }

  /** The hash a token is stored (and looked up) by. */
  tokenHashOf(token: string): string {
    return hashSecret(token);
  }

  /** The technician a token belongs to, if it is known, unexpired and its technician not removed. */
  technicianByToken(token: string, now: number): Technician | undefined {
    return this.technicianByTokenHash(this.tokenHashOf(token), now);
  }

  /**
   * The same by the token's hash (for callers that keep the hash rather than the token, e.g. to
   * check again later whether a connection's token still holds). Records the use, to the minute.
   */
  technicianByTokenHash(tokenHash: string, now: number): Technician | undefined {
    const r = this.st(
      `SELECT t.*, k.id AS token_id, k.last_used_at AS token_last_used_at
         FROM api_tokens k JOIN technicians t ON t.id = k.technician_id
         WHERE k.token_hash = ? AND k.expires_at > ? AND t.removed_at IS NULL`,
    ).get(tokenHash, now) as (TechnicianDbRow & { token_id: string; token_last_used_at: number | null }) | undefined;
    if (!r) return undefined;
    if (r.token_last_used_at === null || now - r.token_last_used_at >= TOKEN_USE_RESOLUTION_MS) {
      this.st("UPDATE api_tokens SET last_used_at = ? WHERE id = ?").run(now, r.token_id);
    }
    return toTechnician(r);
  }

  /** Tokens, newest first: one technician's, or everyone's. Expired ones included (`expiresAt` tells). */
  listTokens(technicianId?: string): TokenInfo[] {
    return (
      this.st(
        `SELECT k.id, k.technician_id, t.name AS technician_name, k.kind, k.label, k.created_at, k.expires_at, k.last_used_at
           FROM api_tokens k JOIN technicians t ON t.id = k.technician_id
           WHERE ? IS NULL OR k.technician_id = ?
           ORDER BY k.created_at DESC, k.id`,
      ).all(technicianId ?? null, technicianId ?? null) as TokenDbRow[]
    ).map(toToken);
  }

  /** A token by its public id. */
  token(id: string): TokenInfo | undefined {
    const r = this.st(
      `SELECT k.id, k.technician_id, t.name AS technician_name, k.kind, k.label, k.created_at, k.expires_at, k.last_used_at
         FROM api_tokens k JOIN technicians t ON t.id = k.technician_id WHERE k.id = ?`,
    ).get(id) as TokenDbRow | undefined;
    return r && toToken(r);
  }

  /** Revokes a token by its public id; it is refused from the next request on. */
  revokeToken(id: string): boolean {
    return this.st("DELETE FROM api_tokens WHERE id = ?").run(id).changes === 1;
  }

  /** Revokes all of a technician's tokens (API tokens and console sign-ins); returns how many. */
  revokeTokensOf(technicianId: string): number {
    return this.st("DELETE FROM api_tokens WHERE technician_id = ?").run(technicianId).changes;
  }

  /** Revokes a token by its secret (sign-out). */
  deleteToken(token: string): void {
    this.st("DELETE FROM api_tokens WHERE token_hash = ?").run(this.tokenHashOf(token));
  }

  // ---- history ---------------------------------------------------------------------------------

  /** Appends an entry to the history's chain (one transaction: the last entry's hash is read and the new one written together). */
  appendHistory(e: Omit<HistoryEntry, "seq" | "hash" | "prevHash">): HistoryEntry {
    return this.db
      .transaction(() => {
        const last = this.st("SELECT seq, hash FROM history ORDER BY seq DESC LIMIT 1").get() as { seq: number; hash: string } | undefined;
        const prevHash = last?.hash ?? GENESIS;
        const entry: HistoryEntry = { ...e, seq: (last?.seq ?? 0) + 1, prevHash, hash: entryHash(this.historyKey, prevHash, e) };
        this.st("INSERT INTO history (seq, at, session_id, kind, actor, data, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)").run(
          entry.seq,
          entry.at,
          entry.sessionId,
          entry.kind,
          entry.actor,
          JSON.stringify(entry.data),
          entry.prevHash,
          entry.hash,
        );
        return entry;
      })
      .immediate();
  }

  /** The last entry's number and hash (what to keep elsewhere), or null while the history is empty. */
  historyHead(): { seq: number; hash: string } | null {
    return (this.st("SELECT seq, hash FROM history ORDER BY seq DESC LIMIT 1").get() as { seq: number; hash: string } | undefined) ?? null;
  }

  /** One session's entries, oldest first. */
  historyOf(sessionId: string): HistoryEntry[] {
    return [...readHistory(this.db, sessionId)];
  }

  // ---- sessions -------------------------------------------------------------------------------

  createSession(
    technicianId: string,
    codeHash: string,
    now: number,
    expiresAt: number,
    details: { label?: string | null; customer?: string | null; ticket?: string | null } = {},
  ): SessionRow {
    const id = newId("s_");
    this.st(
      "INSERT INTO sessions (id, technician_id, code_hash, created_at, expires_at, label, customer, ticket) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    ).run(id, technicianId, codeHash, now, expiresAt, details.label ?? null, details.customer ?? null, details.ticket ?? null);
    return this.session(id)!;
  }

  /** A session by id, deleted ones included (callers decide what "deleted" means for them). */
  session(id: string): SessionRow | undefined {
    const r = this.st("SELECT * FROM sessions WHERE id = ?").get(id) as SessionDbRow | undefined;
    return r && toSession(r);
  }

  sessionByCodeHash(codeHash: string): SessionRow | undefined {
    const r = this.st("SELECT * FROM sessions WHERE code_hash = ?").get(codeHash) as SessionDbRow | undefined;
    return r && toSession(r);
  }

  /** A technician's sessions that are not deleted, newest first. */
  sessionsOf(technicianId: string): SessionRow[] {
    return (
      this.st("SELECT * FROM sessions WHERE technician_id = ? AND deleted_at IS NULL ORDER BY created_at DESC, id").all(
        technicianId,
      ) as SessionDbRow[]
    ).map(toSession);
  }

  /**
   * Binds an unbound, open, unexpired session to a machine in one conditional UPDATE. Of any number
   * of racing callers exactly one gets true; the others re-read and re-decide.
   */
  bindSession(id: string, machine: MachineIdentity, machineName: string, machineOs: string, now: number): SessionRow | undefined {
    return this.sessionUpdate(
      `UPDATE sessions SET bound_public_key = ?, bound_fingerprint = ?, bound_at = ?, machine_name = ?,
         machine_os = ?, last_seen_at = ?
       WHERE id = ? AND bound_public_key IS NULL AND closed_at IS NULL AND deleted_at IS NULL AND expires_at > ? RETURNING *`,
      machine.publicKey,
      machine.fingerprint,
      now,
      machineName,
      machineOs,
      now,
      id,
      now,
    );
  }

  /** Records that the bound machine connected again, or went (its name may have changed). */
  touchSession(id: string, machineName: string, machineOs: string, now: number): SessionRow | undefined {
    return this.sessionUpdate(
      "UPDATE sessions SET last_seen_at = ?, machine_name = ?, machine_os = ? WHERE id = ? RETURNING *",
      now,
      machineName,
      machineOs,
      id,
    );
  }

  /** Closes an open session; undefined if it was closed or deleted already. */
  closeSession(id: string, now: number): SessionRow | undefined {
    return this.sessionUpdate(
      "UPDATE sessions SET closed_at = ? WHERE id = ? AND closed_at IS NULL AND deleted_at IS NULL RETURNING *",
      now,
      id,
    );
  }

  /** Deletes a session (it stays in the table so its code keeps answering "invalid"); undefined if it was already. */
  deleteSession(id: string, now: number): SessionRow | undefined {
    return this.sessionUpdate(
      "UPDATE sessions SET deleted_at = ?, closed_at = coalesce(closed_at, ?) WHERE id = ? AND deleted_at IS NULL RETURNING *",
      now,
      now,
      id,
    );
  }

  /** Runs a conditional UPDATE … RETURNING * on sessions: the row as written, or undefined if none matched. */
  private sessionUpdate(sql: string, ...params: unknown[]): SessionRow | undefined {
    const r = this.st(sql).get(...params) as SessionDbRow | undefined;
    return r && toSession(r);
  }

  /** The same on access_requests. */
  private accessUpdate(sql: string, ...params: unknown[]): AccessRequestRow | undefined {
    const r = this.st(sql).get(...params) as AccessDbRow | undefined;
    return r && toAccess(r);
  }

  // ---- access requests ------------------------------------------------------------------------

  createAccessRequest(
    sessionId: string,
    scope: Scope,
    now: number,
    expiresAt: number,
    technicianFingerprint: string | null = null,
  ): AccessRequestRow {
    const r = this.st(
      `INSERT INTO access_requests (id, session_id, scope, status, created_at, expires_at, technician_fingerprint)
         VALUES (?, ?, ?, 'pending', ?, ?, ?) RETURNING *`,
    ).get(newId("ar_"), sessionId, scope, now, expiresAt, technicianFingerprint) as AccessDbRow;
    return toAccess(r);
  }

  /** A session's newest access request. */
  latestAccessRequest(sessionId: string): AccessRequestRow | undefined {
    const r = this.st("SELECT * FROM access_requests WHERE session_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1").get(sessionId) as
      AccessDbRow | undefined;
    return r && toAccess(r);
  }

  /** Records the fingerprint the app prepared for a pending request; undefined if it is not pending. */
  setAgentFingerprint(id: string, fingerprint: string): AccessRequestRow | undefined {
    return this.accessUpdate(
      "UPDATE access_requests SET agent_fingerprint = ? WHERE id = ? AND status = 'pending' RETURNING *",
      fingerprint,
      id,
    );
  }

  /** The technician withdraws a request the user has not answered yet; undefined if it was not pending. */
  cancelAccessRequest(id: string, now: number): AccessRequestRow | undefined {
    return this.accessUpdate(
      "UPDATE access_requests SET status = 'cancelled', answered_at = ? WHERE id = ? AND status = 'pending' AND expires_at > ? RETURNING *",
      now,
      id,
      now,
    );
  }

  /** Ends every live grant of a session (closed, deleted, or its app went away); returns their ids. */
  endGrantsOf(sessionId: string, now: number): AccessRequestRow[] {
    return (
      this.st("UPDATE access_requests SET ended_at = ? WHERE session_id = ? AND status = 'granted' AND ended_at IS NULL RETURNING *").all(
        now,
        sessionId,
      ) as AccessDbRow[]
    ).map(toAccess);
  }

  /** Sessions with a live grant (at broker start: their apps must come back within the grace period). */
  sessionsWithLiveGrants(): string[] {
    return (
      this.st("SELECT DISTINCT session_id FROM access_requests WHERE status = 'granted' AND ended_at IS NULL").all() as {
        session_id: string;
      }[]
    ).map((r) => r.session_id);
  }

  // ---- alerts ---------------------------------------------------------------------------------

  /** Adds an alert to a session, keeping the newest MAX_ALERTS_PER_SESSION. */
  addAlert(a: SessionAlertRow): void {
    this.db.transaction(() => {
      this.st("INSERT INTO session_alerts (session_id, kind, at, previous_machine, new_machine) VALUES (?, ?, ?, ?, ?)").run(
        a.sessionId,
        a.kind,
        a.at,
        a.previousMachine,
        a.newMachine,
      );
      this.st(
        `DELETE FROM session_alerts WHERE session_id = ? AND rowid NOT IN
             (SELECT rowid FROM session_alerts WHERE session_id = ? ORDER BY at DESC, rowid DESC LIMIT ?)`,
      ).run(a.sessionId, a.sessionId, MAX_ALERTS_PER_SESSION);
    })();
  }

  /** A session's alerts, oldest first. */
  alertsOf(sessionId: string): SessionAlertRow[] {
    return (
      this.st("SELECT session_id, kind, at, previous_machine, new_machine FROM session_alerts WHERE session_id = ? ORDER BY at, rowid").all(
        sessionId,
      ) as { session_id: string; kind: SessionAlertKind; at: number; previous_machine: string; new_machine: string }[]
    ).map((r) => ({ sessionId: r.session_id, kind: r.kind, at: r.at, previousMachine: r.previous_machine, newMachine: r.new_machine }));
  }

  accessRequest(id: string): AccessRequestRow | undefined {
    const r = this.st("SELECT * FROM access_requests WHERE id = ?").get(id) as AccessDbRow | undefined;
    return r && toAccess(r);
  }

  /** Requests still marked pending for a session (some may be past their deadline). */
  pendingAccessRequests(sessionId: string): AccessRequestRow[] {
    return (
      this.st("SELECT * FROM access_requests WHERE session_id = ? AND status = 'pending' ORDER BY created_at").all(
        sessionId,
      ) as AccessDbRow[]
    ).map(toAccess);
  }

  /** Records the user's answer if the request is still pending and in time; undefined otherwise. */
  answerAccessRequest(id: string, grantedScope: Scope | null, now: number): AccessRequestRow | undefined {
    return this.accessUpdate(
      `UPDATE access_requests SET status = ?, granted_scope = ?, answered_at = ?
       WHERE id = ? AND status = 'pending' AND expires_at > ? RETURNING *`,
      grantedScope ? "granted" : "denied",
      grantedScope,
      now,
      id,
      now,
    );
  }

  /** Grants still in force for a session (granted, not ended). */
  liveGrants(sessionId: string): AccessRequestRow[] {
    return (
      this.st("SELECT * FROM access_requests WHERE session_id = ? AND status = 'granted' AND ended_at IS NULL ORDER BY created_at").all(
        sessionId,
      ) as AccessDbRow[]
    ).map(toAccess);
  }

  /** Narrows a live grant's scope; undefined if it is not live. */
  narrowGrant(id: string, scope: Scope): AccessRequestRow | undefined {
    return this.accessUpdate(
      "UPDATE access_requests SET granted_scope = ? WHERE id = ? AND status = 'granted' AND ended_at IS NULL RETURNING *",
      scope,
      id,
    );
  }

  /** Ends a live grant; undefined if it is not live. */
  endGrant(id: string, now: number): AccessRequestRow | undefined {
    return this.accessUpdate(
      "UPDATE access_requests SET ended_at = ? WHERE id = ? AND status = 'granted' AND ended_at IS NULL RETURNING *",
      now,
      id,
    );
  }

  /** Marks pending requests expired: those past their deadline, or all of a session's (closure). */
  expireAccessRequests(sessionId: string, now: number, all = false): AccessRequestRow[] {
    return (
      this.st(
        `UPDATE access_requests SET status = 'expired'
           WHERE session_id = ? AND status = 'pending' AND (? OR expires_at <= ?) RETURNING *`,
      ).all(sessionId, all ? 1 : 0, now) as AccessDbRow[]
    ).map(toAccess);
  }
}

/** The history's entries in order (all, or one session's), read as they go; `db` may be opened read-only. */
export function* readHistory(db: Database.Database, sessionId?: string): Generator<HistoryEntry> {
  const rows = (
    sessionId === undefined
      ? db.prepare("SELECT * FROM history ORDER BY seq").iterate()
      : db.prepare("SELECT * FROM history WHERE session_id = ? ORDER BY seq").iterate(sessionId)
  ) as Iterable<HistoryDbRow>;
  for (const r of rows) yield toHistory(r);
}

export interface HistoryDbRow {
  seq: number;
  at: number;
  session_id: string;
  kind: string;
  actor: string;
  data: string;
  prev_hash: string;
  hash: string;
}

/** A stored entry as written; a `data` that is not JSON any more reads as {} (verify then names the entry). */
export function toHistory(r: HistoryDbRow): HistoryEntry {
  let data: HistoryEntry["data"] = {};
  try {
    const parsed: unknown = JSON.parse(r.data);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) data = parsed as HistoryEntry["data"];
  } catch {
    // edited into something else
  }
  return {
    seq: r.seq,
    at: r.at,
    sessionId: r.session_id,
    kind: r.kind as HistoryEntry["kind"],
    actor: r.actor as HistoryEntry["actor"],
    data,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}
