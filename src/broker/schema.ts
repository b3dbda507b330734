/**
 * The store's schema and rows: the SQLite migrations (applied in order, the applied version kept in
 * `user_version`), the rows as the rest of the broker sees them, and the mapping from database rows.
 * The queries are in store.ts.
 */
import type { AccessAnswer, Scope, SessionFacts } from "../session/rules.js";

export interface Technician {
  id: string;
  name: string;
  displayName: string;
  passwordHash: string | null;
  createdAt: number;
  /** Set when the technician was removed: no sign-in, no token; their sessions stay for the record. */
  removedAt: number | null;
}

export type TokenKind = "api" | "login";

/** A token as listed: never the secret, never its hash. */
export interface TokenInfo {
  /** Public id ("tk_…"), for listing and revoking. */
  id: string;
  technicianId: string;
  technicianName: string;
  /** "api": for scripts and the CLI; "login": a console sign-in (12 h). */
  kind: TokenKind;
  label: string | null;
  createdAt: number;
  expiresAt: number;
  /** Last accepted use, recorded to the minute; null if never used. */
  lastUsedAt: number | null;
}

/** An API token's lifetime unless one is given: 90 days. */
export const API_TOKEN_DEFAULT_TTL_MS = 90 * 24 * 60 * 60 * 1000;
/** Uses of a token closer together than this are recorded once (a write per minute, not per request). */
export const TOKEN_USE_RESOLUTION_MS = 60_000;

export interface SessionRow extends SessionFacts {
  id: string;
  technicianId: string;
  createdAt: number;
  boundAt: number | null;
  machineName: string | null;
  machineOs: string | null;
  lastSeenAt: number | null;
  /** What the technician called it, for whom, and the ticket it belongs to (plain text, cleaned; null when not given). */
  label: string | null;
  customer: string | null;
  ticket: string | null;
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
  /** DTLS fingerprints for the safety code ("sha-256 AB:…"), when known. */
  technicianFingerprint: string | null;
  agentFingerprint: string | null;
}

export type SessionAlertKind = "replaced";

export interface SessionAlertRow {
  sessionId: string;
  kind: SessionAlertKind;
  at: number;
  previousMachine: string;
  newMachine: string;
}

/**
 * One schema step in both dialects: the embedded SQLite store and the cluster's PostgreSQL store
 * apply the same list in the same order, each its own text (SQLite counts in `user_version`,
 * PostgreSQL in `schema_version`). The PostgreSQL texts reach the same tables and columns; where
 * SQLite has to rebuild a table (a CHECK changed), PostgreSQL alters it in place. Times are
 * milliseconds: BIGINT there.
 */
export interface Migration {
  sqlite: string;
  postgres: string;
}

/** Schema migrations, applied in order on open. */
export const MIGRATIONS: readonly Migration[] = [
  {
    sqlite: `CREATE TABLE technicians (
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
    postgres: `CREATE TABLE technicians (
       id TEXT PRIMARY KEY,
       name TEXT NOT NULL,
       display_name TEXT NOT NULL,
       password_hash TEXT,
       created_at BIGINT NOT NULL
     );
     CREATE UNIQUE INDEX technicians_by_name ON technicians (lower(name));
     CREATE TABLE api_tokens (
       token_hash TEXT PRIMARY KEY,
       technician_id TEXT NOT NULL REFERENCES technicians(id) ON DELETE CASCADE,
       kind TEXT NOT NULL CHECK (kind IN ('api', 'login')),
       created_at BIGINT NOT NULL,
       expires_at BIGINT
     );
     CREATE TABLE sessions (
       id TEXT PRIMARY KEY,
       technician_id TEXT NOT NULL REFERENCES technicians(id),
       code_hash TEXT NOT NULL UNIQUE,
       created_at BIGINT NOT NULL,
       expires_at BIGINT NOT NULL,
       closed_at BIGINT,
       deleted_at BIGINT,
       bound_public_key TEXT,
       bound_fingerprint TEXT,
       bound_at BIGINT,
       machine_name TEXT,
       machine_os TEXT,
       last_seen_at BIGINT
     );
     CREATE INDEX sessions_by_technician ON sessions(technician_id, created_at);
     CREATE TABLE access_requests (
       n BIGSERIAL UNIQUE,
       id TEXT PRIMARY KEY,
       session_id TEXT NOT NULL REFERENCES sessions(id),
       scope TEXT NOT NULL CHECK (scope IN ('view', 'control')),
       status TEXT NOT NULL CHECK (status IN ('pending', 'granted', 'denied', 'expired')),
       granted_scope TEXT CHECK (granted_scope IN ('view', 'control')),
       created_at BIGINT NOT NULL,
       expires_at BIGINT NOT NULL,
       answered_at BIGINT
     );
     CREATE INDEX access_requests_by_session ON access_requests(session_id, created_at);`,
  },
  // 2: a granted request can end (the user stopped sharing); its scope can narrow.
  {
    sqlite: `ALTER TABLE access_requests ADD COLUMN ended_at INTEGER;`,
    postgres: `ALTER TABLE access_requests ADD COLUMN ended_at BIGINT;`,
  },
  // 3: tokens get a public id (to list and revoke them), a label, a last use and always an expiry
  // (API tokens that had none expire 90 days after this upgrade); technicians can be removed.
  {
    sqlite: `CREATE TABLE api_tokens_v3 (
     id TEXT PRIMARY KEY,
     token_hash TEXT NOT NULL UNIQUE,
     technician_id TEXT NOT NULL REFERENCES technicians(id) ON DELETE CASCADE,
     kind TEXT NOT NULL CHECK (kind IN ('api', 'login')),
     label TEXT,
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     last_used_at INTEGER
   );
   INSERT INTO api_tokens_v3 (id, token_hash, technician_id, kind, label, created_at, expires_at, last_used_at)
     SELECT 'tk_' || lower(hex(randomblob(8))), token_hash, technician_id, kind, NULL, created_at,
            coalesce(expires_at, CAST(strftime('%s', 'now') AS INTEGER) * 1000 + 90 * 86400000), NULL
     FROM api_tokens;
   DROP TABLE api_tokens;
   ALTER TABLE api_tokens_v3 RENAME TO api_tokens;
   CREATE INDEX api_tokens_by_technician ON api_tokens(technician_id, created_at);
   ALTER TABLE technicians ADD COLUMN removed_at INTEGER;`,
    postgres: `ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_pkey;
     ALTER TABLE api_tokens ADD COLUMN id TEXT;
     UPDATE api_tokens SET id = 'tk_' || substr(md5(random()::text || token_hash), 1, 16),
       expires_at = coalesce(expires_at, (extract(epoch FROM now()) * 1000)::bigint + 90::bigint * 86400000);
     ALTER TABLE api_tokens ALTER COLUMN id SET NOT NULL, ADD PRIMARY KEY (id), ADD UNIQUE (token_hash),
       ALTER COLUMN expires_at SET NOT NULL, ADD COLUMN label TEXT, ADD COLUMN last_used_at BIGINT;
     CREATE INDEX api_tokens_by_technician ON api_tokens(technician_id, created_at);
     ALTER TABLE technicians ADD COLUMN removed_at BIGINT;`,
  },
  // 4: a request can be cancelled by the technician; the two DTLS fingerprints of the safety code;
  // alerts on a session (another copy of the app took over). SQLite cannot change a CHECK
  // constraint in place, so access_requests is rebuilt (nothing references it).
  {
    sqlite: `CREATE TABLE access_requests_v3 (
     id TEXT PRIMARY KEY,
     session_id TEXT NOT NULL REFERENCES sessions(id),
     scope TEXT NOT NULL CHECK (scope IN ('view', 'control')),
     status TEXT NOT NULL CHECK (status IN ('pending', 'granted', 'denied', 'expired', 'cancelled')),
     granted_scope TEXT CHECK (granted_scope IN ('view', 'control')),
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     answered_at INTEGER,
     ended_at INTEGER,
     technician_fingerprint TEXT,
     agent_fingerprint TEXT
   );
   INSERT INTO access_requests_v3 (id, session_id, scope, status, granted_scope, created_at, expires_at, answered_at, ended_at)
     SELECT id, session_id, scope, status, granted_scope, created_at, expires_at, answered_at, ended_at FROM access_requests;
   DROP TABLE access_requests;
   ALTER TABLE access_requests_v3 RENAME TO access_requests;
   CREATE INDEX access_requests_by_session ON access_requests(session_id, created_at);
   CREATE TABLE session_alerts (
     session_id TEXT NOT NULL REFERENCES sessions(id),
     kind TEXT NOT NULL CHECK (kind IN ('replaced')),
     at INTEGER NOT NULL,
     previous_machine TEXT NOT NULL,
     new_machine TEXT NOT NULL
   );
   CREATE INDEX session_alerts_by_session ON session_alerts(session_id, at);`,
    postgres: `ALTER TABLE access_requests DROP CONSTRAINT access_requests_status_check,
       ADD CONSTRAINT access_requests_status_check
         CHECK (status IN ('pending', 'granted', 'denied', 'expired', 'cancelled')),
       ADD COLUMN technician_fingerprint TEXT, ADD COLUMN agent_fingerprint TEXT;
     CREATE TABLE session_alerts (
       n BIGSERIAL PRIMARY KEY,
       session_id TEXT NOT NULL REFERENCES sessions(id),
       kind TEXT NOT NULL CHECK (kind IN ('replaced')),
       at BIGINT NOT NULL,
       previous_machine TEXT NOT NULL,
       new_machine TEXT NOT NULL
     );
     CREATE INDEX session_alerts_by_session ON session_alerts(session_id, at);`,
  },
  // 5: the tamper-evident history (one hash chain over every session's events, src/broker/history.ts;
  // no foreign key: a session's history outlives its row), and a session's label, customer and
  // ticket reference.
  {
    sqlite: `CREATE TABLE history (
     seq INTEGER PRIMARY KEY,
     at INTEGER NOT NULL,
     session_id TEXT NOT NULL,
     kind TEXT NOT NULL,
     actor TEXT NOT NULL,
     data TEXT NOT NULL,
     prev_hash TEXT NOT NULL,
     hash TEXT NOT NULL
   );
   CREATE INDEX history_by_session ON history(session_id, seq);
   ALTER TABLE sessions ADD COLUMN label TEXT;
   ALTER TABLE sessions ADD COLUMN customer TEXT;
   ALTER TABLE sessions ADD COLUMN ticket TEXT;`,
    postgres: `CREATE TABLE history (
       seq BIGINT PRIMARY KEY,
       at BIGINT NOT NULL,
       session_id TEXT NOT NULL,
       kind TEXT NOT NULL,
       actor TEXT NOT NULL,
       data TEXT NOT NULL,
       prev_hash TEXT NOT NULL,
       hash TEXT NOT NULL
     );
     CREATE INDEX history_by_session ON history(session_id, seq);
     ALTER TABLE sessions ADD COLUMN label TEXT, ADD COLUMN customer TEXT, ADD COLUMN ticket TEXT;`,
  },
];

/** Alerts kept per session (the oldest go first). */
export const MAX_ALERTS_PER_SESSION = 20;

export interface SessionDbRow {
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
  label: string | null;
  customer: string | null;
  ticket: string | null;
}

export interface AccessDbRow {
  id: string;
  session_id: string;
  scope: Scope;
  status: AccessAnswer;
  granted_scope: Scope | null;
  created_at: number;
  expires_at: number;
  answered_at: number | null;
  ended_at: number | null;
  technician_fingerprint: string | null;
  agent_fingerprint: string | null;
}

export interface TechnicianDbRow {
  id: string;
  name: string;
  display_name: string;
  password_hash: string | null;
  created_at: number;
  removed_at: number | null;
}

export interface TokenDbRow {
  id: string;
  technician_id: string;
  technician_name: string;
  kind: TokenKind;
  label: string | null;
  created_at: number;
  expires_at: number;
  last_used_at: number | null;
}

export const toTechnician = (r: TechnicianDbRow): Technician => ({
  id: r.id,
  name: r.name,
  displayName: r.display_name,
  passwordHash: r.password_hash,
  createdAt: r.created_at,
  removedAt: r.removed_at,
});

export const toToken = (r: TokenDbRow): TokenInfo => ({
  id: r.id,
  technicianId: r.technician_id,
  technicianName: r.technician_name,
  kind: r.kind,
  label: r.label,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  lastUsedAt: r.last_used_at,
});

export const toSession = (r: SessionDbRow): SessionRow => ({
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
  label: r.label,
  customer: r.customer,
  ticket: r.ticket,
});

export const toAccess = (r: AccessDbRow): AccessRequestRow => ({
  id: r.id,
  sessionId: r.session_id,
  scope: r.scope,
  status: r.status,
  grantedScope: r.granted_scope,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  answeredAt: r.answered_at,
  endedAt: r.ended_at,
  technicianFingerprint: r.technician_fingerprint,
  agentFingerprint: r.agent_fingerprint,
});
