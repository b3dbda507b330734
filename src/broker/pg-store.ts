/**
 * The cluster's store: the same rows and rules as the embedded SQLite store (store.ts), in
 * PostgreSQL (node-postgres pool), shared by every broker node. Each method is one statement or one
 * short transaction; binding stays one conditional UPDATE. Migrations come from the same list as
 * SQLite's (schema.ts) and run under an advisory lock, so nodes starting at once apply each step
 * once. History appends take a transaction-scoped advisory lock: one chain per database.
 *
 * While PostgreSQL cannot be reached every call fails with TETHER_ERR_STORE_UNAVAILABLE (503); the
 * pool connects again by itself once it is back.
 */
import pg from "pg";
import { createHmac } from "node:crypto";
import { entryHash, GENESIS, type HistoryEntry } from "./history.js";
import type { MachineIdentity, Scope } from "../session/rules.js";
import { hashSecret, newApiToken, newId } from "../util/secrets.js";
import { TetherError } from "./errors.js";
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
import { toHistory, type BrokerStore, type HistoryDbRow } from "./store.js";

/**
 * Tables only a cluster has, after the shared steps: broker nodes with their lease, which node
 * holds each session's app (valid while that node's lease is), shared rate-limit counters, and
 * facts every node must agree on (the history key's check value).
 */
export const CLUSTER_MIGRATIONS: readonly string[] = [
  `CREATE TABLE nodes (
     node_id TEXT PRIMARY KEY,
     started_at BIGINT NOT NULL,
     lease_until BIGINT NOT NULL
   );
   CREATE TABLE presence (
     session_id TEXT PRIMARY KEY,
     node_id TEXT NOT NULL,
     conn_id TEXT NOT NULL,
     instance_id TEXT NOT NULL,
     machine_name TEXT NOT NULL,
     since BIGINT NOT NULL
   );
   CREATE INDEX presence_by_node ON presence(node_id);
   CREATE TABLE rate_counters (
     key TEXT PRIMARY KEY,
     count INTEGER NOT NULL,
     reset_at BIGINT NOT NULL
   );
   CREATE TABLE cluster_meta (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL
   );`,
  // What every node looks for once a second (BrokerService.startSweep): pending requests by expiry, live grants.
  `CREATE INDEX access_pending_by_expiry ON access_requests(expires_at) WHERE status = 'pending';
   CREATE INDEX access_live_grants ON access_requests(session_id) WHERE status = 'granted' AND ended_at IS NULL;`,
];

/** Advisory lock ids (one namespace: "te" "th"). */
const LOCK_MIGRATE = 0x7465_7468_0001;
const LOCK_HISTORY = 0x7465_7468_0002;

/** SQLSTATE classes and client errors that mean "the database is not reachable right now". */
function unavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (typeof e.code === "string") {
    if (/^(08|57P0[1-3]|53300)/.test(e.code)) return true; // connection exception, shutdown, too many connections
    if (["ECONNREFUSED", "ECONNRESET", "ENOENT", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH"].includes(e.code)) return true;
  }
  return /Connection terminated|connection timeout|Client has encountered a connection error|not queryable/i.test(e.message ?? "");
}

type Q = Pick<pg.PoolClient, "query">;

export class PgStore implements BrokerStore {
  readonly pool: pg.Pool;
  /**
   * One connection of its own for the node's lease (cluster.ts): a renewal must not wait behind a
   * busy pool (measured under load: 0.75 s on average, 1.8 s at worst, on a 1 s timer with a 3 s
   * lease), or other nodes would take this live node for gone.
   */
  readonly leasePool: pg.Pool;

  private constructor(
    url: string,
    private readonly historyKey: Buffer | null,
    onError: (err: Error) => void,
  ) {
    const options = {
      connectionString: url,
      connectionTimeoutMillis: 2000,
      // BIGINT (times in ms) as numbers: every value fits in 2^53.
      types: {
        getTypeParser: ((oid: number, format?: string) =>
          oid === 20 ? Number : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
      },
    };
    this.pool = new pg.Pool({ ...options, max: 10 });
    this.leasePool = new pg.Pool({ ...options, max: 1 });
    for (const pool of [this.pool, this.leasePool]) {
      // An idle connection dropped by the server (a restart) is reported here; the pool replaces it.
      pool.on("error", onError);
      // A connection that drops while checked out (between two statements of a transaction) reports
      // on the client too: the statement in flight fails with it, the pool drops the client.
      pool.on("connect", (client) => client.on("error", () => {}));
    }
  }

  /** Connects, applies pending migrations (one node at a time) and checks the history key against the cluster's. */
  static async open(url: string, historyKey: Buffer | null, onError: (err: Error) => void = () => {}): Promise<PgStore> {
    const store = new PgStore(url, historyKey, onError);
    try {
      await store.migrate();
      if (historyKey) await store.checkHistoryKey();
    } catch (err) {
      await store.pool.end().catch(() => {});
      await store.leasePool.end().catch(() => {});
      throw err;
    }
    return store;
  }

  /**
   * Connects for reading only (tether audit): nothing is created or migrated. Refuses a database
   * that holds no Tether cluster, or one whose schema is not this version's (older: its nodes
   * migrate it when they start; newer: written by a newer Tether).
   */
  static async openForReading(url: string): Promise<PgStore> {
    const store = new PgStore(url, null, () => {});
    try {
      const known = MIGRATIONS.length + CLUSTER_MIGRATIONS.length;
      const exists = await store.one<{ t: string | null }>("SELECT to_regclass('schema_version')::text AS t");
      if (!exists?.t) throw new Error("this database holds no Tether cluster (no schema_version table)");
      const current = (await store.one<{ version: number }>("SELECT version FROM schema_version"))?.version ?? 0;
      if (current < known) {
        throw new Error(
          `the database is at schema ${current} and this Tether reads ${known}: start a node of this version first (it migrates the database)`,
        );
      }
      if (current > known) throw new Error(`the database was written by a newer Tether (schema ${current}, this version knows ${known})`);
    } catch (err) {
      await store.pool.end().catch(() => {});
      await store.leasePool.end().catch(() => {});
      throw err;
    }
    return store;
  }

  private async migrate(): Promise<void> {
    const steps = [...MIGRATIONS.map((m) => m.postgres), ...CLUSTER_MIGRATIONS];
    const c = await this.pool.connect();
    try {
      await c.query("SELECT pg_advisory_lock($1)", [LOCK_MIGRATE]);
      await c.query("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
      const r = await c.query<{ version: number }>("SELECT version FROM schema_version");
      let current = r.rows[0]?.version ?? 0;
      if (!r.rows.length) await c.query("INSERT INTO schema_version VALUES (0)");
      if (current > steps.length) {
        throw new Error(`the database was written by a newer Tether (schema ${current}, this version knows ${steps.length})`);
      }
      for (; current < steps.length; current++) {
        await c.query("BEGIN");
        try {
          await c.query(steps[current]!);
          await c.query("UPDATE schema_version SET version = $1", [current + 1]);
          await c.query("COMMIT");
        } catch (err) {
          await c.query("ROLLBACK");
          throw err;
        }
      }
    } finally {
      await c.query("SELECT pg_advisory_unlock($1)", [LOCK_MIGRATE]).catch(() => {});
      c.release();
    }
  }

  /**
   * The history is one chain per database, so every node must hash with the same key: the first
   * node stores a check value of its key, the others compare theirs (the key itself never goes into
   * the database, which is what the chain protects against).
   */
  private async checkHistoryKey(): Promise<void> {
    const check = keyCheck(this.historyKey!);
    await this.pool.query("INSERT INTO cluster_meta (key, value) VALUES ('history_key_check', $1) ON CONFLICT DO NOTHING", [check]);
    const r = await this.pool.query<{ value: string }>("SELECT value FROM cluster_meta WHERE key = 'history_key_check'");
    if (r.rows[0]?.value !== check) {
      throw new Error(
        "this node's history key differs from the one the cluster's history is written with: give every node the same key file (--history-key-file)",
      );
    }
  }

  /** Whether `key` is the one the cluster's history is written with (null: no node has written the check yet). Reads only. */
  async isHistoryKey(key: Buffer): Promise<boolean | null> {
    const r = await this.one<{ value: string }>("SELECT value FROM cluster_meta WHERE key = 'history_key_check'");
    return r ? r.value === keyCheck(key) : null;
  }

  /** One statement; a connection failure becomes TETHER_ERR_STORE_UNAVAILABLE. */
  async q<R extends pg.QueryResultRow>(sql: string, params: unknown[] = [], on: Q = this.pool): Promise<R[]> {
    try {
      return (await on.query<R>(sql, params)).rows;
    } catch (err) {
      if (unavailable(err)) throw new TetherError("TETHER_ERR_STORE_UNAVAILABLE");
      throw err;
    }
  }

  /** A transaction on one connection. */
  async tx<T>(f: (c: Q) => Promise<T>): Promise<T> {
    let c: pg.PoolClient;
    try {
      c = await this.pool.connect();
    } catch (err) {
      if (unavailable(err)) throw new TetherError("TETHER_ERR_STORE_UNAVAILABLE");
      throw err;
    }
    let broken = false;
    try {
      await this.q("BEGIN", [], c);
      const out = await f(c);
      await this.q("COMMIT", [], c);
      return out;
    } catch (err) {
      await c.query("ROLLBACK").catch(() => (broken = true));
      throw err;
    } finally {
      c.release(broken);
    }
  }

  private async one<R extends pg.QueryResultRow>(sql: string, params: unknown[] = [], on?: Q): Promise<R | undefined> {
    return (await this.q<R>(sql, params, on))[0];
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => {});
    await this.leasePool.end().catch(() => {});
  }

  // ---- technicians and tokens -----------------------------------------------------------------

  async countTechnicians(): Promise<number> {
    return Number((await this.one<{ n: string }>("SELECT count(*) AS n FROM technicians"))!.n);
  }

  async createTechnician(name: string, displayName: string, passwordHash: string | null, now: number): Promise<Technician> {
    const t: Technician = { id: newId("t_"), name, displayName, passwordHash, createdAt: now, removedAt: null };
    await this.q("INSERT INTO technicians (id, name, display_name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)", [
      t.id,
      t.name,
      t.displayName,
      t.passwordHash,
      t.createdAt,
    ]);
    return t;
  }

  async createFirstTechnician(name: string, displayName: string, passwordHash: string, now: number): Promise<Technician | undefined> {
    const t: Technician = { id: newId("t_"), name, displayName, passwordHash, createdAt: now, removedAt: null };
    // Two nodes starting at once both see no technician: the lock makes the check and insert one step.
    return this.tx(async (c) => {
      await this.q("LOCK TABLE technicians IN SHARE ROW EXCLUSIVE MODE", [], c);
      const rows = await this.q(
        `INSERT INTO technicians (id, name, display_name, password_hash, created_at)
         SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM technicians) RETURNING id`,
        [t.id, t.name, t.displayName, t.passwordHash, t.createdAt],
        c,
      );
      return rows.length === 1 ? t : undefined;
    });
  }

  async listTechnicians(includeRemoved = false): Promise<Technician[]> {
    return (
      await this.q<TechnicianDbRow>(`SELECT * FROM technicians ${includeRemoved ? "" : "WHERE removed_at IS NULL"} ORDER BY lower(name)`)
    ).map(toTechnician);
  }

  async technicianByName(name: string, includeRemoved = false): Promise<Technician | undefined> {
    const r = await this.one<TechnicianDbRow>(
      `SELECT * FROM technicians WHERE lower(name) = lower($1) ${includeRemoved ? "" : "AND removed_at IS NULL"}`,
      [name],
    );
    return r && toTechnician(r);
  }

  async technicianById(id: string): Promise<Technician | undefined> {
    const r = await this.one<TechnicianDbRow>("SELECT * FROM technicians WHERE id = $1", [id]);
    return r && toTechnician(r);
  }

  async setPassword(technicianId: string, passwordHash: string, previousHash?: string): Promise<boolean> {
    const rows =
      previousHash === undefined
        ? await this.q("UPDATE technicians SET password_hash = $1 WHERE id = $2 AND removed_at IS NULL RETURNING id", [
            passwordHash,
            technicianId,
          ])
        : await this.q(
            "UPDATE technicians SET password_hash = $1 WHERE id = $2 AND removed_at IS NULL AND password_hash = $3 RETURNING id",
            [passwordHash, technicianId, previousHash],
          );
    return rows.length === 1;
  }

  async removeTechnician(technicianId: string, now: number): Promise<number | null> {
    return this.tx(async (c) => {
      const rows = await this.q(
        "UPDATE technicians SET removed_at = $1, password_hash = NULL WHERE id = $2 AND removed_at IS NULL RETURNING id",
        [now, technicianId],
        c,
      );
      if (rows.length !== 1) return null;
      return (await this.q("DELETE FROM api_tokens WHERE technician_id = $1 RETURNING id", [technicianId], c)).length;
    });
  }

  async issueToken(
    technicianId: string,
    kind: TokenKind,
    now: number,
    expiresAt: number | null,
    label: string | null = null,
  ): Promise<{ id: string; token: string; expiresAt: number }> {
    const token = newApiToken();
    const id = newId("tk_");
    const expires = expiresAt ?? now + API_TOKEN_DEFAULT_TTL_MS;
    await this.q(
      `INSERT INTO api_tokens (id, token_hash, technician_id, kind, label, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [id, this.tokenHashOf(token), technicianId, kind, label, now, expires],
    );
    return { id, token, expiresAt: expires };
  }

  async createToken(technicianId: string, kind: TokenKind, now: number, expiresAt: number | null, label: string | null = null) {
    return (await this.issueToken(technicianId, kind, now, expiresAt, label)).token;
  }

  tokenHashOf(token: string): string {
    return hashSecret(token);
  }

  technicianByToken(token: string, now: number): Promise<Technician | undefined> {
    return this.technicianByTokenHash(this.tokenHashOf(token), now);
  }

  async technicianByTokenHash(tokenHash: string, now: number): Promise<Technician | undefined> {
    const r = await this.one<TechnicianDbRow & { token_id: string; token_last_used_at: number | null }>(
      `SELECT t.*, k.id AS token_id, k.last_used_at AS token_last_used_at
       FROM api_tokens k JOIN technicians t ON t.id = k.technician_id
       WHERE k.token_hash = $1 AND k.expires_at > $2 AND t.removed_at IS NULL`,
      [tokenHash, now],
    );
    if (!r) return undefined;
    if (r.token_last_used_at === null || now - r.token_last_used_at >= TOKEN_USE_RESOLUTION_MS) {
      await this.q("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2", [now, r.token_id]);
    }
    return toTechnician(r);
  }

  async listTokens(technicianId?: string): Promise<TokenInfo[]> {
    return (
      await this.q<TokenDbRow>(
        `SELECT k.id, k.technician_id, t.name AS technician_name, k.kind, k.label, k.created_at, k.expires_at, k.last_used_at
         FROM api_tokens k JOIN technicians t ON t.id = k.technician_id
         WHERE $1::text IS NULL OR k.technician_id = $1
         ORDER BY k.created_at DESC, k.id`,
        [technicianId ?? null],
      )
    ).map(toToken);
  }

  async token(id: string): Promise<TokenInfo | undefined> {
    const r = await this.one<TokenDbRow>(
      `SELECT k.id, k.technician_id, t.name AS technician_name, k.kind, k.label, k.created_at, k.expires_at, k.last_used_at
       FROM api_tokens k JOIN technicians t ON t.id = k.technician_id WHERE k.id = $1`,
      [id],
    );
    return r && toToken(r);
  }

  async revokeToken(id: string): Promise<boolean> {
    return (await this.q("DELETE FROM api_tokens WHERE id = $1 RETURNING id", [id])).length === 1;
  }

  async revokeTokensOf(technicianId: string): Promise<number> {
    return (await this.q("DELETE FROM api_tokens WHERE technician_id = $1 RETURNING id", [technicianId])).length;
  }

  async deleteToken(token: string): Promise<void> {
    await this.q("DELETE FROM api_tokens WHERE token_hash = $1", [this.tokenHashOf(token)]);
  }

  // ---- history ---------------------------------------------------------------------------------

  /** Appends to the one chain: the advisory lock orders appends from every node, so each reads the head the previous one wrote. */
  appendHistory(e: Omit<HistoryEntry, "seq" | "hash" | "prevHash">): Promise<HistoryEntry> {
    const key = this.historyKey;
    if (!key) throw new Error("this store was opened without the history key: it cannot write history");
    return this.tx(async (c) => {
      await this.q("SELECT pg_advisory_xact_lock($1)", [LOCK_HISTORY], c);
      const last = await this.one<{ seq: number; hash: string }>("SELECT seq, hash FROM history ORDER BY seq DESC LIMIT 1", [], c);
      const prevHash = last?.hash ?? GENESIS;
      const entry: HistoryEntry = { ...e, seq: (last?.seq ?? 0) + 1, prevHash, hash: entryHash(key, prevHash, e) };
      await this.q(
        "INSERT INTO history (seq, at, session_id, kind, actor, data, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        [entry.seq, entry.at, entry.sessionId, entry.kind, entry.actor, JSON.stringify(entry.data), entry.prevHash, entry.hash],
        c,
      );
      return entry;
    });
  }

  async historyHead(): Promise<{ seq: number; hash: string } | null> {
    return (await this.one<{ seq: number; hash: string }>("SELECT seq, hash FROM history ORDER BY seq DESC LIMIT 1")) ?? null;
  }

  async historyOf(sessionId: string): Promise<HistoryEntry[]> {
    return (await this.q<HistoryDbRow>("SELECT * FROM history WHERE session_id = $1 ORDER BY seq", [sessionId])).map(toHistory);
  }

  /** Every entry (or one session's) in order, read a page at a time (tether audit against a cluster). */
  async *historyEntries(sessionId?: string, pageSize = 1000): AsyncGenerator<HistoryEntry> {
    for (let after = -1; ;) {
      const rows =
        sessionId === undefined
          ? await this.q<HistoryDbRow>("SELECT * FROM history WHERE seq > $1 ORDER BY seq LIMIT $2", [after, pageSize])
          : await this.q<HistoryDbRow>("SELECT * FROM history WHERE session_id = $1 AND seq > $2 ORDER BY seq LIMIT $3", [
              sessionId,
              after,
              pageSize,
            ]);
      for (const r of rows) yield toHistory(r);
      if (rows.length < pageSize) return;
      after = Number(rows.at(-1)!.seq);
    }
  }

  // ---- sessions -------------------------------------------------------------------------------

  async createSession(
    technicianId: string,
    codeHash: string,
    now: number,
    expiresAt: number,
    details: { label?: string | null; customer?: string | null; ticket?: string | null } = {},
  ): Promise<SessionRow> {
    const r = await this.one<SessionDbRow>(
      `INSERT INTO sessions (id, technician_id, code_hash, created_at, expires_at, label, customer, ticket)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
      [newId("s_"), technicianId, codeHash, now, expiresAt, details.label ?? null, details.customer ?? null, details.ticket ?? null],
    );
    return toSession(r!);
  }

  async session(id: string): Promise<SessionRow | undefined> {
    const r = await this.one<SessionDbRow>("SELECT * FROM sessions WHERE id = $1", [id]);
    return r && toSession(r);
  }

  async sessionByCodeHash(codeHash: string): Promise<SessionRow | undefined> {
    const r = await this.one<SessionDbRow>("SELECT * FROM sessions WHERE code_hash = $1", [codeHash]);
    return r && toSession(r);
  }

  async sessionsOf(technicianId: string): Promise<SessionRow[]> {
    return (
      await this.q<SessionDbRow>("SELECT * FROM sessions WHERE technician_id = $1 AND deleted_at IS NULL ORDER BY created_at DESC, id", [
        technicianId,
      ])
    ).map(toSession);
  }

  /** One conditional UPDATE, as in SQLite: of any number of racing nodes exactly one gets the row. */
  bindSession(id: string, machine: MachineIdentity, machineName: string, machineOs: string, now: number) {
    return this.sessionUpdate(
      `UPDATE sessions SET bound_public_key = $1, bound_fingerprint = $2, bound_at = $3, machine_name = $4,
         machine_os = $5, last_seen_at = $3
       WHERE id = $6 AND bound_public_key IS NULL AND closed_at IS NULL AND deleted_at IS NULL AND expires_at > $3 RETURNING *`,
      machine.publicKey,
      machine.fingerprint,
      now,
      machineName,
      machineOs,
      id,
    );
  }

  touchSession(id: string, machineName: string, machineOs: string, now: number) {
    return this.sessionUpdate(
      "UPDATE sessions SET last_seen_at = $1, machine_name = $2, machine_os = $3 WHERE id = $4 RETURNING *",
      now,
      machineName,
      machineOs,
      id,
    );
  }

  closeSession(id: string, now: number) {
    return this.sessionUpdate(
      "UPDATE sessions SET closed_at = $1 WHERE id = $2 AND closed_at IS NULL AND deleted_at IS NULL RETURNING *",
      now,
      id,
    );
  }

  deleteSession(id: string, now: number) {
    return this.sessionUpdate(
      "UPDATE sessions SET deleted_at = $1, closed_at = coalesce(closed_at, $1) WHERE id = $2 AND deleted_at IS NULL RETURNING *",
      now,
      id,
    );
  }

  private async sessionUpdate(sql: string, ...params: unknown[]): Promise<SessionRow | undefined> {
    const r = await this.one<SessionDbRow>(sql, params);
    return r && toSession(r);
  }

  private async accessUpdate(sql: string, ...params: unknown[]): Promise<AccessRequestRow | undefined> {
    const r = await this.one<AccessDbRow>(sql, params);
    return r && toAccess(r);
  }

  private async accessRows(sql: string, ...params: unknown[]): Promise<AccessRequestRow[]> {
    return (await this.q<AccessDbRow>(sql, params)).map(toAccess);
  }

  // ---- access requests ------------------------------------------------------------------------

  async createAccessRequest(
    sessionId: string,
    scope: Scope,
    now: number,
    expiresAt: number,
    technicianFingerprint: string | null = null,
  ): Promise<AccessRequestRow> {
    return (await this.accessUpdate(
      `INSERT INTO access_requests (id, session_id, scope, status, created_at, expires_at, technician_fingerprint)
       VALUES ($1, $2, $3, 'pending', $4, $5, $6) RETURNING *`,
      newId("ar_"),
      sessionId,
      scope,
      now,
      expiresAt,
      technicianFingerprint,
    ))!;
  }

  latestAccessRequest(sessionId: string) {
    return this.accessUpdate("SELECT * FROM access_requests WHERE session_id = $1 ORDER BY created_at DESC, n DESC LIMIT 1", sessionId);
  }

  setAgentFingerprint(id: string, fingerprint: string) {
    return this.accessUpdate(
      "UPDATE access_requests SET agent_fingerprint = $1 WHERE id = $2 AND status = 'pending' RETURNING *",
      fingerprint,
      id,
    );
  }

  cancelAccessRequest(id: string, now: number) {
    return this.accessUpdate(
      "UPDATE access_requests SET status = 'cancelled', answered_at = $1 WHERE id = $2 AND status = 'pending' AND expires_at > $1 RETURNING *",
      now,
      id,
    );
  }

  endGrantsOf(sessionId: string, now: number) {
    return this.accessRows(
      "UPDATE access_requests SET ended_at = $1 WHERE session_id = $2 AND status = 'granted' AND ended_at IS NULL RETURNING *",
      now,
      sessionId,
    );
  }

  /**
   * Every pending request past its expiry, of any session, marked expired; each row goes to exactly
   * one caller (the node whose UPDATE took it). The timers that expire a request run on the node
   * that made it: this is what makes it happen when that node is gone.
   */
  expireDueAccessRequests(now: number) {
    return this.accessRows("UPDATE access_requests SET status = 'expired' WHERE status = 'pending' AND expires_at <= $1 RETURNING *", now);
  }

  /**
   * Live grants whose app has been away longer than `graceMs` (last seen before then, and no node
   * with a live lease holds it) ended, each row to exactly one caller: the grace period's timer
   * runs on the node the app left, and this ends them when that node is gone too.
   */
  endGrantsOfAbsentApps(now: number, graceMs: number) {
    return this.accessRows(
      `UPDATE access_requests a SET ended_at = $1::bigint FROM sessions s
       WHERE a.session_id = s.id AND a.status = 'granted' AND a.ended_at IS NULL
         AND s.last_seen_at IS NOT NULL AND s.last_seen_at <= $1::bigint - $2::bigint
         AND NOT EXISTS (SELECT 1 FROM presence p JOIN nodes n ON n.node_id = p.node_id
                         WHERE p.session_id = s.id AND n.lease_until > $1::bigint)
       RETURNING a.*`,
      now,
      graceMs,
    );
  }

  async sessionsWithLiveGrants(): Promise<string[]> {
    return (
      await this.q<{ session_id: string }>("SELECT DISTINCT session_id FROM access_requests WHERE status = 'granted' AND ended_at IS NULL")
    ).map((r) => r.session_id);
  }

  // ---- alerts ---------------------------------------------------------------------------------

  async addAlert(a: SessionAlertRow): Promise<void> {
    await this.tx(async (c) => {
      await this.q(
        "INSERT INTO session_alerts (session_id, kind, at, previous_machine, new_machine) VALUES ($1, $2, $3, $4, $5)",
        [a.sessionId, a.kind, a.at, a.previousMachine, a.newMachine],
        c,
      );
      await this.q(
        `DELETE FROM session_alerts WHERE session_id = $1 AND n NOT IN
           (SELECT n FROM session_alerts WHERE session_id = $1 ORDER BY at DESC, n DESC LIMIT $2)`,
        [a.sessionId, MAX_ALERTS_PER_SESSION],
        c,
      );
    });
  }

  async alertsOf(sessionId: string): Promise<SessionAlertRow[]> {
    return (
      await this.q<{ session_id: string; kind: SessionAlertKind; at: number; previous_machine: string; new_machine: string }>(
        "SELECT session_id, kind, at, previous_machine, new_machine FROM session_alerts WHERE session_id = $1 ORDER BY at, n",
        [sessionId],
      )
    ).map((r) => ({ sessionId: r.session_id, kind: r.kind, at: r.at, previousMachine: r.previous_machine, newMachine: r.new_machine }));
  }

  accessRequest(id: string) {
    return this.accessUpdate("SELECT * FROM access_requests WHERE id = $1", id);
  }

  pendingAccessRequests(sessionId: string) {
    return this.accessRows("SELECT * FROM access_requests WHERE session_id = $1 AND status = 'pending' ORDER BY created_at", sessionId);
  }

  answerAccessRequest(id: string, grantedScope: Scope | null, now: number) {
    return this.accessUpdate(
      `UPDATE access_requests SET status = $1, granted_scope = $2, answered_at = $3
       WHERE id = $4 AND status = 'pending' AND expires_at > $3 RETURNING *`,
      grantedScope ? "granted" : "denied",
      grantedScope,
      now,
      id,
    );
  }

  liveGrants(sessionId: string) {
    return this.accessRows(
      "SELECT * FROM access_requests WHERE session_id = $1 AND status = 'granted' AND ended_at IS NULL ORDER BY created_at",
      sessionId,
    );
  }

  narrowGrant(id: string, scope: Scope) {
    return this.accessUpdate(
      "UPDATE access_requests SET granted_scope = $1 WHERE id = $2 AND status = 'granted' AND ended_at IS NULL RETURNING *",
      scope,
      id,
    );
  }

  endGrant(id: string, now: number) {
    return this.accessUpdate(
      "UPDATE access_requests SET ended_at = $1 WHERE id = $2 AND status = 'granted' AND ended_at IS NULL RETURNING *",
      now,
      id,
    );
  }

  expireAccessRequests(sessionId: string, now: number, all = false) {
    return this.accessRows(
      `UPDATE access_requests SET status = 'expired'
       WHERE session_id = $1 AND status = 'pending' AND ($2 OR expires_at <= $3) RETURNING *`,
      sessionId,
      all,
      now,
    );
  }
}

/** What the cluster keeps of its history key: an HMAC of a fixed text, which does not give the key away. */
function keyCheck(key: Buffer): string {
  return createHmac("sha256", key).update("tether history key check").digest("hex");
}
