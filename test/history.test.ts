/** The history's hash chain (src/broker/history.ts): what verify says about an intact, an edited, a cut and a reordered chain. */
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { mkdtempSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { entryHash, GENESIS, historyKey, verifyHistory, type HistoryEntry } from "../src/broker/history.js";

const key = randomBytes(32);

function chain(n: number): HistoryEntry[] {
  const out: HistoryEntry[] = [];
  let prev = GENESIS;
  for (let seq = 1; seq <= n; seq++) {
    const e = {
      at: 1_800_000_000_000 + seq * 1000,
      sessionId: `s_${seq % 3}`,
      kind: "access.requested" as const,
      actor: "technician:jane" as const,
      data: { request: `r_${seq}`, scope: "view" },
    };
    const hash = entryHash(key, prev, e);
    out.push({ ...e, seq, prevHash: prev, hash });
    prev = hash;
  }
  return out;
}

describe("the history's chain", () => {
  it("holds when nothing was touched, and says where it ends (the head)", () => {
    const c = chain(6);
    expect(verifyHistory(key, c)).toEqual({ ok: true, count: 6, head: { seq: 6, hash: c[5]!.hash } });
    expect(verifyHistory(key, [])).toEqual({ ok: true, count: 0, head: null });
  });

  it("names an edited entry: its data, its time, its actor", () => {
    for (const edit of [
      (e: HistoryEntry) => (e.data = { ...e.data, scope: "control" }),
      (e: HistoryEntry) => (e.at += 1),
      (e: HistoryEntry) => (e.actor = "user"),
    ]) {
      const c = chain(6);
      edit(c[3]!);
      const r = verifyHistory(key, c);
      expect(r).toMatchObject({ ok: false, seq: 4, problem: "edited", checked: 3 });
      expect(!r.ok && r.message).toMatch(/^entry 4 \(access\.requested of session s_1 at .+\) was changed after it was written$/);
    }
  });

  it("names where an entry was removed (with the gap) and where entries were moved", () => {
    const removed = chain(6);
    removed.splice(2, 1); // entry 3 gone
    expect(verifyHistory(key, removed)).toMatchObject({ ok: false, seq: 4, problem: "out-of-order" });
    expect((verifyHistory(key, removed) as { message: string }).message).toMatch(/does not follow entry 2: .*\(entries 3–3 are missing\)/);

    const swapped = chain(6);
    // Entries 3 and 4 change places, each keeping its number (the rows' contents swapped).
    const a = swapped[2]!;
    const b = swapped[3]!;
    swapped[2] = { ...b, seq: 3 };
    swapped[3] = { ...a, seq: 4 };
    expect(verifyHistory(key, swapped)).toMatchObject({ ok: false, seq: 3, problem: "out-of-order" });

    const cutStart = chain(6).slice(2);
    expect(verifyHistory(key, cutStart)).toMatchObject({ ok: false, seq: 3, problem: "missing-start" });
  });

  it("a chain rewritten without the key does not hold (a plain SHA-256 chain would)", () => {
    const c = chain(3);
    const other = randomBytes(32);
    const forged: HistoryEntry[] = [];
    let prev = GENESIS;
    for (const e of c) {
      const hash = entryHash(other, prev, { ...e, data: { ...e.data, scope: "control" } });
      forged.push({ ...e, data: { ...e.data, scope: "control" }, prevHash: prev, hash });
      prev = hash;
    }
    expect(verifyHistory(key, forged)).toMatchObject({ ok: false, seq: 1, problem: "edited" });
  });

  it("the key: made once, readable by its owner only, the same for every later reader; none is made when asked not to", () => {
    const dir = mkdtempSync(join(tmpdir(), "tether-history-"));
    expect(historyKey(dir, false)).toBeNull();
    const a = historyKey(dir, true)!;
    expect(a).toHaveLength(32);
    expect(historyKey(dir, true)!.equals(a)).toBe(true);
    expect(historyKey(dir, false)!.equals(a)).toBe(true);
    expect(statSync(join(dir, "history.key")).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(["history.key"]); // no temporary file left
  });
});
