/**
 * The broker's store: an embedded SQLite database (better-sqlite3, WAL) at <data>/tether.db.
 * Every statement is parameterized. Secrets (session codes, API tokens, passwords) are stored only
 * as hashes. Other processes (the `tether technician` CLI) may open the same file while the broker
 * runs; WAL and a busy timeout make that safe.
 */
import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { AccessAnswer, MachineIdentity, Scope, SessionFacts } from "../session/rules.js";
import { hashSecret, newApiToken, newId } from "../util/secrets.js";

export interface Technician {
  id: string;
  name: string;
  displayName: string;
  passwordHash: string | null;
  createdAt: number;
}

export interface SessionRow extends SessionFacts {
  id: string;
  technicianId: string;
  createdAt: number;
  boundAt: number | null;
  machineName: string | null;
  machineOs: string | null;
  lastSeenAt: number | null;
}

export interface AccessRequestRow {
  id: string;
  sessionId: string;
  scope: Scope;
  status: AccessAnswer;
  grantedScope: Scope | null;
  createdAt: number;
  expiresAt: number;
  answeredAt: number | null;
  endedAt: number | null;
}

/** Schema migrations, applied in order on open; the applied version is kept in `user_version`. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE technicians (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE COLLATE NOCASE,
     display_name TEXT NOT NULL,
     password_hash TEXT,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE api_tokens (
     token_hash TEXT PRIMARY KEY,
     technician_id TEXT NOT NULL REFERENCES technicians(id) ON DELETE CASCADE,
     kind TEXT NOT NULL CHECK (kind IN ('api', 'login')),
     created_at INTEGER NOT NULL,
     expires_at INTEGER
   );
   CREATE TABLE sessions (
     id TEXT PRIMARY KEY,
     technician_id TEXT NOT NULL REFERENCES technicians(id),
     code_hash TEXT NOT NULL UNIQUE,
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     closed_at INTEGER,
     deleted_at INTEGER,
     bound_public_key TEXT,
     bound_fingerprint TEXT,
     bound_at INTEGER,
     machine_name TEXT,
     machine_os TEXT,
     last_seen_at INTEGER
   );
   CREATE INDEX sessions_by_technician ON sessions(technician_id, created_at);
   CREATE TABLE access_requests (
     id TEXT PRIMARY KEY,
     session_id TEXT NOT NULL REFERENCES sessions(id),
     scope TEXT NOT NULL CHECK (scope IN ('view', 'control')),
     status TEXT NOT NULL CHECK (status IN ('pending', 'granted', 'denied', 'expired')),
     granted_scope TEXT CHECK (granted_scope IN ('view', 'control')),
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     answered_at INTEGER
   );
   CREATE INDEX access_requests_by_session ON access_requests(session_id, created_at);`,
  // 2: a granted request can end (the user stopped sharing); its scope can narrow.
  `ALTER TABLE access_requests ADD COLUMN ended_at INTEGER;`,
];

interface SessionDbRow {
  id: string;
  technician_id: string;
  created_at: number;
  expires_at: number;
  closed_at: number | null;
  deleted_at: number | null;
  bound_public_key: string | null;
  bound_fingerprint: string | null;
  bound_at: number | null;
  machine_name: string | null;
  machine_os: string | null;
  last_seen_at: number | null;
}

interface AccessDbRow {
  id: string;
  session_id: string;
  scope: Scope;
  status: AccessAnswer;
  granted_scope: Scope | null;
  created_at: number;
  expires_at: number;
  answered_at: number | null;
  ended_at: number | null;
}

interface TechnicianDbRow {
  id: string;
  name: string;
  display_name: string;
  password_hash: string | null;
  created_at: number;
}

const toTechnician = (r: TechnicianDbRow): Technician => ({
  id: r.id,
  name: r.name,
  displayName: r.display_name,
  passwordHash: r.password_hash,
  createdAt: r.created_at,
});

const toSession = (r: SessionDbRow): SessionRow => ({
  id: r.id,
  technicianId: r.technician_id,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  closedAt: r.closed_at,
  deletedAt: r.deleted_at,
  boundTo:
    r.bound_public_key !== null && r.bound_fingerprint !== null
      ? { publicKey: r.bound_public_key, fingerprint: r.bound_fingerprint }
      : null,
  boundAt: r.bound_at,
  machineName: r.machine_name,
  machineOs: r.machine_os,
  lastSeenAt: r.last_seen_at,
});

const toAccess = (r: AccessDbRow): AccessRequestRow => ({
  id: r.id,
  sessionId: r.session_id,
  scope: r.scope,
  status: r.status,
  grantedScope: r.granted_scope,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  answeredAt: r.answered_at,
  endedAt: r.ended_at,
});

export class Store {
  readonly db: Database.Database;

  /** Opens (creating if needed) `<dataDir>/tether.db` and applies pending migrations. */
  static open(dataDir: string): Store {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    return new Store(join(dataDir, "tether.db"));
  }

  constructor(file: string) {
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
      throw new Error(
        `the database was written by a newer Tether (schema ${current}, this version knows ${MIGRATIONS.length})`,
      );
    }
    for (let v = current; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]!);
        this.db.pragma(`user_version = ${v + 1}`);
      }).immediate();
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  // ---- technicians and tokens -----------------------------------------------------------------

  countTechnicians(): number {
    return (this.db.prepare("SELECT count(*) AS n FROM technicians").get() as { n: number }).n;
  }

  createTechnician(name: string, displayName: string, passwordHash: string | null, now: number): Technician {
    const t: Technician = { id: newId("t_"), name, displayName, passwordHash, createdAt: now };
    this.db
      .prepare(
        "INSERT INTO technicians (id, name, display_name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
      )
      .run(t.id, t.name, t.displayName, t.passwordHash, t.createdAt);
    return t;
  }

  listTechnicians(): Technician[] {
    return (this.db.prepare("SELECT * FROM technicians ORDER BY name").all() as TechnicianDbRow[]).map(toTechnician);
  }

  technicianByName(name: string): Technician | undefined {
    const r = this.db.prepare("SELECT * FROM technicians WHERE name = ?").get(name) as TechnicianDbRow | undefined;
    return r && toTechnician(r);
  }

  technicianById(id: string): Technician | undefined {
    const r = this.db.prepare("SELECT * FROM technicians WHERE id = ?").get(id) as TechnicianDbRow | undefined;
    return r && toTechnician(r);
  }

  setPassword(technicianId: string, passwordHash: string): void {
    this.db.prepare("UPDATE technicians SET password_hash = ? WHERE id = ?").run(passwordHash, technicianId);
  }

  /** Creates a token and returns it; only its hash is stored. */
  createToken(technicianId: string, kind: "api" | "login", now: number, expiresAt: number | null): string {
    const token = newApiToken();
    this.db
      .prepare("INSERT INTO api_tokens (token_hash, technician_id, kind, created_at, expires_at) VALUES (?, ?, ?, ?, ?)")
      .run(hashSecret(token), technicianId, kind, now, expiresAt);
    return token;
  }

  technicianByToken(token: string, now: number): Technician | undefined {
    const r = this.db
      .prepare(
        `SELECT t.* FROM api_tokens k JOIN technicians t ON t.id = k.technician_id
         WHERE k.token_hash = ? AND (k.expires_at IS NULL OR k.expires_at > ?)`,
      )
      .get(hashSecret(token), now) as TechnicianDbRow | undefined;
    return r && toTechnician(r);
  }

  deleteToken(token: string): void {
    this.db.prepare("DELETE FROM api_tokens WHERE token_hash = ?").run(hashSecret(token));
  }

  // ---- sessions -------------------------------------------------------------------------------

  createSession(technicianId: string, codeHash: string, now: number, expiresAt: number): SessionRow {
    const id = newId("s_");
    this.db
      .prepare("INSERT INTO sessions (id, technician_id, code_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)")
      .run(id, technicianId, codeHash, now, expiresAt);
    return this.session(id)!;
  }

  /** A session by id, deleted ones included (callers decide what "deleted" means for them). */
  session(id: string): SessionRow | undefined {
    const r = this.db.prepare("SELECT * FROM sessions WHERE id = ?").get(id) as SessionDbRow | undefined;
    return r && toSession(r);
  }

  sessionByCodeHash(codeHash: string): SessionRow | undefined {
    const r = this.db.prepare("SELECT * FROM sessions WHERE code_hash = ?").get(codeHash) as SessionDbRow | undefined;
    return r && toSession(r);
  }

  /** A technician's sessions that are not deleted, newest first. */
  sessionsOf(technicianId: string): SessionRow[] {
    return (
      this.db
        .prepare("SELECT * FROM sessions WHERE technician_id = ? AND deleted_at IS NULL ORDER BY created_at DESC, id")
        .all(technicianId) as SessionDbRow[]
    ).map(toSession);
  }

  /**
   * Binds an unbound, open, unexpired session to a machine in one conditional UPDATE. Of any number
   * of racing callers exactly one gets true; the others re-read and re-decide.
   */
  bindSession(id: string, machine: MachineIdentity, machineName: string, machineOs: string, now: number): boolean {
    const res = this.db
      .prepare(
        `UPDATE sessions SET bound_public_key = ?, bound_fingerprint = ?, bound_at = ?, machine_name = ?,
           machine_os = ?, last_seen_at = ?
         WHERE id = ? AND bound_public_key IS NULL AND closed_at IS NULL AND deleted_at IS NULL AND expires_at > ?`,
      )
      .run(machine.publicKey, machine.fingerprint, now, machineName, machineOs, now, id, now);
    return res.changes === 1;
  }

  /** Records that the bound machine connected again (its name may have changed). */
  touchSession(id: string, machineName: string, machineOs: string, now: number): void {
    this.db
      .prepare("UPDATE sessions SET last_seen_at = ?, machine_name = ?, machine_os = ? WHERE id = ?")
      .run(now, machineName, machineOs, id);
  }

  /** Closes an open session; returns false if it was closed or deleted already. */
  closeSession(id: string, now: number): boolean {
    return (
      this.db.prepare("UPDATE sessions SET closed_at = ? WHERE id = ? AND closed_at IS NULL AND deleted_at IS NULL").run(now, id)
        .changes === 1
    );
  }

  /** Deletes a session (it stays in the table so its code keeps answering "invalid"). */
  deleteSession(id: string, now: number): boolean {
    return (
      this.db
        .prepare("UPDATE sessions SET deleted_at = ?, closed_at = coalesce(closed_at, ?) WHERE id = ? AND deleted_at IS NULL")
        .run(now, now, id).changes === 1
    );
  }

  // ---- access requests ------------------------------------------------------------------------

  createAccessRequest(sessionId: string, scope: Scope, now: number, expiresAt: number): AccessRequestRow {
    const id = newId("ar_");
    this.db
      .prepare(
        "INSERT INTO access_requests (id, session_id, scope, status, created_at, expires_at) VALUES (?, ?, ?, 'pending', ?, ?)",
      )
      .run(id, sessionId, scope, now, expiresAt);
    return this.accessRequest(id)!;
  }

  accessRequest(id: string): AccessRequestRow | undefined {
    const r = this.db.prepare("SELECT * FROM access_requests WHERE id = ?").get(id) as AccessDbRow | undefined;
    return r && toAccess(r);
  }

  /** Requests still marked pending for a session (some may be past their deadline). */
  pendingAccessRequests(sessionId: string): AccessRequestRow[] {
    return (
      this.db
        .prepare("SELECT * FROM access_requests WHERE session_id = ? AND status = 'pending' ORDER BY created_at")
        .all(sessionId) as AccessDbRow[]
    ).map(toAccess);
  }

  /** Records the user's answer if the request is still pending and in time; false otherwise. */
  answerAccessRequest(id: string, grantedScope: Scope | null, now: number): boolean {
    return (
      this.db
        .prepare(
          `UPDATE access_requests SET status = ?, granted_scope = ?, answered_at = ?
           WHERE id = ? AND status = 'pending' AND expires_at > ?`,
        )
        .run(grantedScope ? "granted" : "denied", grantedScope, now, id, now).changes === 1
    );
  }

  /** Grants still in force for a session (granted, not ended). */
  liveGrants(sessionId: string): AccessRequestRow[] {
    return (
      this.db
        .prepare("SELECT * FROM access_requests WHERE session_id = ? AND status = 'granted' AND ended_at IS NULL ORDER BY created_at")
        .all(sessionId) as AccessDbRow[]
    ).map(toAccess);
  }

  /** Narrows a live grant's scope. */
  narrowGrant(id: string, scope: Scope): boolean {
    return (
      this.db.prepare("UPDATE access_requests SET granted_scope = ? WHERE id = ? AND status = 'granted' AND ended_at IS NULL").run(scope, id)
        .changes === 1
    );
  }

  /** Ends a live grant. */
  endGrant(id: string, now: number): boolean {
    return (
      this.db.prepare("UPDATE access_requests SET ended_at = ? WHERE id = ? AND status = 'granted' AND ended_at IS NULL").run(now, id)
        .changes === 1
    );
  }

  /** Marks pending requests expired: those past their deadline, or all of a session's (closure). */
  expireAccessRequests(sessionId: string, now: number, all = false): string[] {
    const rows = this.db
      .prepare(
        `UPDATE access_requests SET status = 'expired'
         WHERE session_id = ? AND status = 'pending' AND (? OR expires_at <= ?) RETURNING id`,
      )
      .all(sessionId, all ? 1 : 0, now) as { id: string }[];
    return rows.map((r) => r.id);
  }
}
