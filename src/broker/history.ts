/**
 * A session's history, tamper-evident: every event of every session is one entry of a single
 * hash chain (issue 21). Each entry's hash is an HMAC-SHA256, with the broker's history key
 * (`<data>/history.key`, readable by the broker's user only), over the previous entry's hash and the
 * entry's own fields. `verifyHistory` walks the chain in order and names the first entry that does
 * not hold: edited (its hash does not match its fields), out of order or removed (it does not follow
 * the entry before it), or missing at the start.
 *
 * What it protects against: an entry changed, removed or moved by anyone who can write the database
 * but not read the key (a copy of the database, SQL access). Someone with both the database and the
 * key can write a new chain; the head (last sequence number and hash) that `tether audit verify`
 * prints and the broker logs every hour is what to keep elsewhere to catch that, and the end of the
 * chain cut off (entries removed from the end) only shows against such a head.
 */
import { createHmac, randomBytes } from "node:crypto";
import { chmodSync, existsSync, linkSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Kinds of entries (what happened); `data` carries the details. */
export const HISTORY_KINDS = [
  "session.created",
  "session.bound",
  "session.closed",
  "session.deleted",
  "session.alert",
  "app.connected",
  "app.disconnected",
  "access.requested",
  "access.granted",
  "access.denied",
  "access.expired",
  "access.cancelled",
  "access.narrowed",
  "access.ended",
  "chat.message",
  "recording.started",
  "recording.stopped",
  "file.to-user",
  "file.from-user",
  "clipboard.to-user",
  "clipboard.from-user",
] as const;
export type HistoryKind = (typeof HISTORY_KINDS)[number];

/** Who did it: the technician (by account name), the user (in the app), or the broker itself. */
export type HistoryActor = `technician:${string}` | "user" | "broker";

export interface HistoryEntry {
  seq: number;
  at: number;
  sessionId: string;
  kind: HistoryKind;
  actor: HistoryActor;
  data: Record<string, string | number | boolean | null>;
  prevHash: string;
  hash: string;
}

/** The hash before the first entry. */
export const GENESIS = "0".repeat(64);
const KEY_FILE = "history.key";

/** A history key from a file of its own (a cluster's nodes share one: --history-key-file). */
export function readHistoryKeyFile(file: string): Buffer {
  const key = Buffer.from(readFileSync(file, "utf8").trim(), "base64");
  if (key.length < 32) throw new Error(`${file} holds no history key (32 bytes, base64)`);
  return key;
}

/** The broker's history key from `dataDir` (created on the first call when `create`), or null when there is none. */
export function historyKey(dataDir: string, create: boolean): Buffer | null {
  const file = join(dataDir, KEY_FILE);
  if (existsSync(file)) {
    const key = Buffer.from(readFileSync(file, "utf8").trim(), "base64");
    if (key.length < 32) throw new Error(`${file} holds no history key (32 bytes, base64)`);
    return key;
  }
  if (!create) return null;
  const key = randomBytes(32);
  // Written whole under another name, then linked into place: a process starting at the same
  // moment (a second broker, the CLI) sees either no key or a complete one, and one key wins.
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}`;
  writeFileSync(tmp, key.toString("base64") + "\n", { mode: 0o600, flag: "wx" });
  chmodSync(tmp, 0o600);
  try {
    linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return historyKey(dataDir, false); // the other one's
    throw err;
  } finally {
    unlinkSync(tmp);
  }
  return key;
}

/** The entry's fields as hashed: a fixed order, the data's keys sorted. */
function canonical(e: Omit<HistoryEntry, "seq" | "hash" | "prevHash">): string {
  const data = Object.fromEntries(Object.entries(e.data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return JSON.stringify([e.at, e.sessionId, e.kind, e.actor, data]);
}

export function entryHash(key: Buffer, prevHash: string, e: Omit<HistoryEntry, "seq" | "hash" | "prevHash">): string {
  return createHmac("sha256", key).update(prevHash).update("\n").update(canonical(e)).digest("hex");
}

export type VerifyResult =
  | { ok: true; count: number; head: { seq: number; hash: string } | null }
  | { ok: false; seq: number; sessionId: string; problem: "edited" | "out-of-order" | "missing-start"; message: string; checked: number };

/** Walks the chain (entries in `seq` order) and stops at the first entry that does not hold. */
export function verifyHistory(key: Buffer, entries: Iterable<HistoryEntry>): VerifyResult {
  const v = new HistoryVerifier(key);
  for (const e of entries) {
    const bad = v.add(e);
    if (bad) return bad;
  }
  return v.result();
}

/**
 * The same walk, one entry at a time (entries read in pages from a database): `add` returns the
 * failure at the first entry that does not hold, else null; `result` the outcome so far.
 */
export class HistoryVerifier {
  private prev: HistoryEntry | null = null;
  private count = 0;

  constructor(private readonly key: Buffer) {}

  add(e: HistoryEntry): (VerifyResult & { ok: false }) | null {
    const prev = this.prev;
    const where = (x: HistoryEntry) => `entry ${x.seq} (${x.kind} of session ${x.sessionId} at ${new Date(x.at).toISOString()})`;
    const fail = (problem: "edited" | "out-of-order" | "missing-start", message: string) =>
      ({ ok: false, seq: e.seq, sessionId: e.sessionId, problem, message, checked: this.count }) as const;
    if (entryHash(this.key, e.prevHash, e) !== e.hash) return fail("edited", `${where(e)} was changed after it was written`);
    if (e.prevHash !== (prev ? prev.hash : GENESIS)) {
      if (!prev) return fail("missing-start", `the history does not start at its beginning: entries before ${where(e)} were removed`);
      const gap = e.seq !== prev.seq + 1 ? ` (entries ${prev.seq + 1}–${e.seq - 1} are missing)` : "";
      return fail(
        "out-of-order",
        `${where(e)} does not follow entry ${prev.seq}: an entry between them was removed, or entries were moved${gap}`,
      );
    }
    this.prev = e;
    this.count++;
    return null;
  }

  result(): VerifyResult & { ok: true } {
    return { ok: true, count: this.count, head: this.prev ? { seq: this.prev.seq, hash: this.prev.hash } : null };
  }
}
