/**
 * One broker node of a cluster: its lease in PostgreSQL, the presence of the apps it holds, the
 * shared rate-limit counters, and its NATS bus. The hub (hub.ts) asks it where a session's app is
 * and sends through it; a node that stops renewing its lease (killed, cut off) is gone: another
 * node takes its apps' presence away and the service ends what depended on them.
 *
 * Why counters in PostgreSQL rather than NATS KV: every node already needs PostgreSQL for each
 * request, one upsert is one round trip and exact, and NATS stays a plain message bus (no
 * JetStream to configure and keep).
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { FastifyRateLimitStore } from "@fastify/rate-limit";
import type { Bus } from "./bus.js";
import type { PgStore } from "./pg-store.js";

/** A node's lease: renewed every LEASE_RENEW_MS, gone LEASE_MS after its last renewal. */
export const LEASE_MS = 3000;
const LEASE_RENEW_MS = 1000;
/** Old rate counters are removed this long after their window ended. */
const COUNTER_KEEP_MS = 120_000;

export interface Holder {
  nodeId: string;
  connId: string;
  instanceId: string;
  machineName: string;
}

export class ClusterNode {
  readonly nodeId = `${hostname()
    .replace(/[^A-Za-z0-9_-]/g, "_")
    .slice(0, 32)}-${randomBytes(4).toString("hex")}`;
  private timer: NodeJS.Timeout | null = null;
  /** Since when this node's renewals have succeeded without a break (null: the last one failed). */
  private renewedSince: number | null = null;
  private stopped = false;

  constructor(
    readonly store: PgStore,
    readonly bus: Bus,
    private readonly log: { info(o: object, m: string): void; warn(o: object, m: string): void },
  ) {}

  /**
   * Registers the node and keeps its lease. `lost` is told of apps whose node is gone (once per
   * app, by whichever node reaps it); `reclaim` lists this node's apps, to claim again after this
   * node was itself taken for gone (cut off from PostgreSQL longer than its lease).
   */
  async start(lost: (sessionId: string) => void, reclaim: () => { sessionId: string; holder: Holder }[]) {
    const now = Date.now();
    await this.store.q("INSERT INTO nodes (node_id, started_at, lease_until) VALUES ($1, $2, $3)", [this.nodeId, now, now + LEASE_MS]);
    this.renewedSince = now;
    const tick = async () => {
      if (this.stopped) return;
      try {
        await this.renew(lost, reclaim);
      } catch (err) {
        if (this.renewedSince !== null) this.log.warn({ err: (err as Error).message }, "cluster lease not renewed");
        this.renewedSince = null;
      }
      if (!this.stopped) this.timer = setTimeout(() => void tick(), LEASE_RENEW_MS);
    };
    this.timer = setTimeout(() => void tick(), LEASE_RENEW_MS);
  }

  private async renew(lost: (sessionId: string) => void, reclaim: () => { sessionId: string; holder: Holder }[]) {
    const now = Date.now();
    const rows = await this.store.q(
      "UPDATE nodes SET lease_until = $2 WHERE node_id = $1 RETURNING node_id",
      [this.nodeId, now + LEASE_MS],
      this.store.leasePool,
    );
    if (rows.length === 0) {
      // Taken for gone while cut off: register again and claim this node's apps (unless another node has them now).
      await this.store.q(
        "INSERT INTO nodes (node_id, started_at, lease_until) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        [this.nodeId, now, now + LEASE_MS],
        this.store.leasePool,
      );
      for (const { sessionId, holder } of reclaim()) {
        await this.store.q(
          `INSERT INTO presence (session_id, node_id, conn_id, instance_id, machine_name, since) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT DO NOTHING`,
          [sessionId, this.nodeId, holder.connId, holder.instanceId, holder.machineName, now],
        );
      }
      this.log.warn({ node: this.nodeId }, "cluster: this node had been taken for gone; registered again");
    }
    this.renewedSince ??= now;
    // Reap only after a full lease of good renewals: after an outage of PostgreSQL every node must
    // first have had its chance to renew, or live nodes would be taken for gone.
    if (now - this.renewedSince < LEASE_MS + LEASE_RENEW_MS) return;
    const gone = await this.store.q<{ session_id: string }>(
      `DELETE FROM presence p WHERE NOT EXISTS (SELECT 1 FROM nodes n WHERE n.node_id = p.node_id AND n.lease_until > $1)
       RETURNING session_id`,
      [now],
    );
    for (const r of gone) lost(r.session_id);
    if (Math.random() < 0.05) {
      await this.store.q("DELETE FROM nodes WHERE lease_until < $1", [now - 10 * LEASE_MS]);
      await this.store.q("DELETE FROM rate_counters WHERE reset_at < $1", [now - COUNTER_KEEP_MS]);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.store.q("DELETE FROM nodes WHERE node_id = $1", [this.nodeId]).catch(() => {});
  }

  newConnId(): string {
    return randomBytes(8).toString("hex");
  }

  /** Claims a session's app for this node; returns the holder it took over from, if any (its node may be gone). */
  async claim(sessionId: string, h: Omit<Holder, "nodeId">): Promise<(Holder & { nodeAlive: boolean }) | undefined> {
    const now = Date.now();
    const rows = await this.store.q<{ node_id: string | null; conn_id: string; instance_id: string; machine_name: string; alive: boolean }>(
      `WITH old AS (
         SELECT p.*, EXISTS (SELECT 1 FROM nodes n WHERE n.node_id = p.node_id AND n.lease_until > $7) AS alive
         FROM presence p WHERE session_id = $1
       ), up AS (
         INSERT INTO presence (session_id, node_id, conn_id, instance_id, machine_name, since) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (session_id) DO UPDATE SET node_id = $2, conn_id = $3, instance_id = $4, machine_name = $5, since = $6
         RETURNING session_id
       )
       SELECT old.node_id, old.conn_id, old.instance_id, old.machine_name, old.alive FROM up LEFT JOIN old USING (session_id)`,
      [sessionId, this.nodeId, h.connId, h.instanceId, h.machineName, now, now],
    );
    const o = rows[0];
    if (!o || o.node_id === null) return undefined;
    return { nodeId: o.node_id, connId: o.conn_id, instanceId: o.instance_id, machineName: o.machine_name, nodeAlive: o.alive };
  }

  /** Lets go of a session's app, unless another connection has claimed it since. */
  async release(sessionId: string, connId: string): Promise<void> {
    await this.store.q("DELETE FROM presence WHERE session_id = $1 AND conn_id = $2", [sessionId, connId]);
  }

  /** Whether some live node holds the session's app. */
  async isOnline(sessionId: string): Promise<boolean> {
    const rows = await this.store.q(
      `SELECT 1 FROM presence p JOIN nodes n ON n.node_id = p.node_id WHERE p.session_id = $1 AND n.lease_until > $2`,
      [sessionId, Date.now()],
    );
    return rows.length > 0;
  }

  /** Counts one event under `key` in a fixed window shared by every node; returns the count and the ms left. */
  async count(key: string, windowMs: number): Promise<{ current: number; ttl: number }> {
    const now = Date.now();
    const r = await this.store.q<{ count: number; reset_at: number }>(
      `INSERT INTO rate_counters (key, count, reset_at) VALUES ($1, 1, $2::bigint + $3::bigint)
       ON CONFLICT (key) DO UPDATE SET
         count = CASE WHEN rate_counters.reset_at <= $2 THEN 1 ELSE rate_counters.count + 1 END,
         reset_at = CASE WHEN rate_counters.reset_at <= $2 THEN $2::bigint + $3::bigint ELSE rate_counters.reset_at END
       RETURNING count, reset_at`,
      [key, now, windowMs],
    );
    return { current: r[0]!.count, ttl: Math.max(0, r[0]!.reset_at - now) };
  }

  /** A @fastify/rate-limit store whose counters are shared by the cluster's nodes. */
  rateLimitStore(): new () => FastifyRateLimitStore {
    const count = (key: string, windowMs: number) => this.count(key, windowMs);
    class SharedRateLimitStore implements FastifyRateLimitStore {
      constructor(private readonly prefix = "") {}
      incr(key: string, cb: (err: Error | null, res?: { current: number; ttl: number }) => void, timeWindow?: number) {
        count(this.prefix + key, Number(timeWindow ?? 60_000)).then(
          (r) => cb(null, r),
          (err: Error) => cb(err),
        );
      }
      child(routeOptions: Parameters<FastifyRateLimitStore["child"]>[0]) {
        const info = (routeOptions as unknown as { routeInfo?: { method?: string; url?: string } }).routeInfo;
        return new SharedRateLimitStore(`${info?.method ?? ""}${info?.url ?? ""}:`);
      }
    }
    return SharedRateLimitStore as unknown as new () => FastifyRateLimitStore;
  }
}
