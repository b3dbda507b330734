/**
 * Property and fuzz testing with fast-check: a bounded run in `npm test`, a long one under
 * `npm run fuzz` (FUZZ_SECONDS per property), plus the byte-level mutations and protobuf shapes the
 * fuzz tests share.
 *
 * Environment:
 *   FUZZ_SECONDS  run each property for this long instead of its bounded number of runs
 *   FUZZ_SEED     fast-check seed, to replay a failure (fast-check prints seed and path on failure)
 *   FUZZ_SUMMARY  file to append one JSON line per property to (runs, time, failure)
 */
import fc from "fast-check";
import { expect } from "vitest";
import { appendFileSync } from "node:fs";
import { basename } from "node:path";
import { runInNewContext } from "node:vm";
import { setFlagsFromString } from "node:v8";

export { fc };

const SECONDS = Number(process.env.FUZZ_SECONDS ?? "0");
/** True under `npm run fuzz`. */
export const longRun = Number.isFinite(SECONDS) && SECONDS > 0;

const BOUNDED_RUN_LIMIT_MS = 25_000;

/** A test timeout: `ms` in `npm test`; the property budget plus shrinking time under `npm run fuzz`. */
export function budget(ms: number): number {
  return longRun ? SECONDS * 1000 + Math.max(ms, 120_000) : Math.max(ms, BOUNDED_RUN_LIMIT_MS + 15_000);
}

/**
 * Checks a property: `runs` runs normally, FUZZ_SECONDS under `npm run fuzz`. Throws fast-check's
 * report (counterexample, seed and path to replay it) when it fails.
 */
export async function check<Ts>(name: string, property: fc.IProperty<Ts> | fc.IAsyncProperty<Ts>, runs: number): Promise<void> {
  const params: fc.Parameters<Ts> = longRun
    ? { numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: SECONDS * 1000, markInterruptAsFailure: false }
    : // A bounded run that takes this long (slow runs, or shrinking slow ones) fails rather than drags on.
      { numRuns: runs, interruptAfterTimeLimit: BOUNDED_RUN_LIMIT_MS, markInterruptAsFailure: true };
  params.includeErrorInReport = true;
  if (process.env.FUZZ_SEED) params.seed = Number(process.env.FUZZ_SEED);
  const started = performance.now();
  const details = await fc.check(property as fc.IAsyncProperty<Ts>, params);
  const ms = Math.round(performance.now() - started);
  if (process.env.FUZZ_SUMMARY) {
    const file = basename(expect.getState().testPath ?? "?");
    appendFileSync(
      process.env.FUZZ_SUMMARY,
      JSON.stringify({ file, name, runs: details.numRuns, ms, failed: details.failed, seed: details.seed }) + "\n",
    );
  }
  if (details.failed) {
    // Counterexamples can be megabytes (oversize frames and bodies): keep each line readable.
    const report = fc
      .defaultReportMessage(details)!
      .split("\n")
      .map((l) => (l.length > 3000 ? `${l.slice(0, 3000)}… (${l.length} characters)` : l))
      .join("\n");
    throw new Error(`${name}: ${report}`);
  }
}

/** `global.gc`, enabled at run time (no --expose-gc needed): for heap measurements. */
export function gcFunction(): () => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

/** Heap in use after a full collection. */
export async function settledHeap(gc: () => void): Promise<number> {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
  return process.memoryUsage().heapUsed;
}

/**
 * Median heap growth per item over batches of `items` items: two warm-up batches (JIT, statement
 * caches, lazily built state), then the heap after each of four more. A leak grows it every batch;
 * one-off growth (a cache filling) shows in one batch only, so the median of the four steps skips it.
 * Returns the growth per item in bytes and the heaps, for the failure message.
 */
export async function heapGrowthPerItem(
  gc: () => void,
  items: number,
  batch: () => Promise<void>,
): Promise<{ perItem: number; heaps: number[] }> {
  await batch();
  await batch();
  const heaps = [await settledHeap(gc)];
  for (let i = 0; i < 4; i++) {
    await batch();
    heaps.push(await settledHeap(gc));
  }
  const deltas = heaps
    .slice(1)
    .map((h, i) => h - heaps[i]!)
    .sort((a, b) => a - b);
  return { perItem: (deltas[1]! + deltas[2]!) / 2 / items, heaps };
}

// ---- byte mutations -------------------------------------------------------------------------------

/** One edit of a byte string; positions are taken modulo the length. */
export type Mutation =
  | { op: "flip"; at: number; bit: number }
  | { op: "set"; at: number; value: number }
  | { op: "truncate"; at: number }
  | { op: "insert"; at: number; bytes: Uint8Array }
  | { op: "delete"; at: number; count: number }
  | { op: "duplicate"; at: number; count: number }
  | { op: "hugeVarint"; at: number }
  | { op: "append"; bytes: Uint8Array };

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant("set" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ op: fc.constant("delete" as const), at: fc.nat(), count: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ op: fc.constant("duplicate" as const), at: fc.nat(), count: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ op: fc.constant("hugeVarint" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("append" as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 32 }) }),
);

/** Applies the edits in order. Never returns the input array itself. */
export function mutate(input: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let b: Uint8Array = Uint8Array.from(input);
  for (const m of mutations) {
    const pos = (n: number) => (b.length === 0 ? 0 : n % (b.length + 1));
    const idx = (n: number) => n % b.length;
    switch (m.op) {
      case "flip":
        if (b.length) b[idx(m.at)]! ^= 1 << m.bit;
        break;
      case "set":
        if (b.length) b[idx(m.at)] = m.value;
        break;
      case "truncate":
        b = b.slice(0, pos(m.at));
        break;
      case "insert": {
        const p = pos(m.at);
        b = concat(b.subarray(0, p), m.bytes, b.subarray(p));
        break;
      }
      case "delete": {
        const p = pos(m.at);
        b = concat(b.subarray(0, p), b.subarray(p + m.count));
        break;
      }
      case "duplicate": {
        const p = pos(m.at);
        b = concat(b.subarray(0, p + m.count), b.subarray(p));
        break;
      }
      case "hugeVarint": {
        // A length or value of 2^63 and more: 9 continuation bytes then 0x01.
        const p = pos(m.at);
        b = concat(b.subarray(0, p), Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), b.subarray(p));
        break;
      }
      case "append":
        b = concat(b, m.bytes);
        break;
    }
  }
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

/** Valid encodings, and the same with 1–4 edits: what a confused or hostile peer sends. */
export function validAndMutated(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { arbitrary: valid, weight: 1 },
    { arbitrary: fc.tuple(valid, fc.array(mutationArb, { minLength: 1, maxLength: 4 })).map(([v, m]) => mutate(v, m)), weight: 3 },
  );
}

// ---- protobuf shapes ------------------------------------------------------------------------------

function varint(n: bigint): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, n);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v) byte |= 0x80;
    out.push(byte);
  } while (v);
  return out;
}

/**
 * Protobuf-shaped noise: fields with any number (small ones collide with real fields) and any wire
 * type, including groups, the deprecated start/end-group wire types 3 and 4, and the invalid 6 and 7;
 * length-delimited fields nest more of the same.
 */
export const protoSoup: fc.Arbitrary<Uint8Array> = fc.letrec<{ msg: Uint8Array; field: number[] }>((tie) => ({
  field: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc
      .tuple(fc.integer({ min: 1, max: 12 }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }))
      .map(([f, v]) => [...varint(BigInt(f << 3)), ...varint(v)]),
    fc
      .tuple(fc.integer({ min: 1, max: 12 }), tie("msg"))
      .map(([f, m]) => [...varint(BigInt((f << 3) | 2)), ...varint(BigInt(m.length)), ...m]),
    fc
      .tuple(fc.integer({ min: 1, max: 12 }), fc.uint8Array({ maxLength: 40 }))
      .map(([f, m]) => [...varint(BigInt((f << 3) | 2)), ...varint(BigInt(m.length)), ...m]),
    fc
      .tuple(fc.integer({ min: 1, max: 12 }), fc.uint8Array({ minLength: 4, maxLength: 4 }))
      .map(([f, m]) => [...varint(BigInt((f << 3) | 5)), ...m]),
    fc
      .tuple(fc.integer({ min: 1, max: 12 }), fc.uint8Array({ minLength: 8, maxLength: 8 }))
      .map(([f, m]) => [...varint(BigInt((f << 3) | 1)), ...m]),
    fc
      .tuple(fc.integer({ min: 1, max: 12 }), tie("msg"))
      .map(([f, m]) => [...varint(BigInt((f << 3) | 3)), ...m, ...varint(BigInt((f << 3) | 4))]),
    fc
      .tuple(fc.integer({ min: 0, max: 2 ** 29 - 1 }), fc.integer({ min: 0, max: 7 }), fc.uint8Array({ maxLength: 12 }))
      .map(([f, w, m]) => [...varint(BigInt(f * 8 + w)), ...m]),
  ),
  msg: fc.array(tie("field") as fc.Arbitrary<number[]>, { maxLength: 6 }).map((fs) => Uint8Array.from(fs.flat())),
})).msg;

/** Pathological nesting: `depth` start-group tags, or length-delimited fields inside each other. */
export const deepNesting: fc.Arbitrary<Uint8Array> = fc
  .tuple(fc.constantFrom("groups", "messages"), fc.integer({ min: 1, max: 20_000 }), fc.integer({ min: 1, max: 5 }))
  .map(([kind, depth, field]) => {
    if (kind === "groups") return new Uint8Array(depth).fill((field << 3) | 3);
    // Field `field`, length-delimited, each wrapping the next: the headers, built inside out.
    const headers: number[][] = [];
    let length = 0;
    for (let i = 0; i < depth; i++) {
      const h = [(field << 3) | 2, ...varint(BigInt(length))];
      headers.push(h);
      length += h.length;
    }
    return Uint8Array.from(headers.reverse().flat());
  });

/** A float32 field value as protobuf carries it: any value, including NaN, ±Infinity, -0, subnormals. */
export const anyFloat: fc.Arbitrary<number> = fc.oneof(
  fc.float(),
  fc.constantFrom(Number.NaN, Infinity, -Infinity, -0, 0, 1, 0.9999999, 1e-45, 3.4e38, -3.4e38, 0.5),
);

/** An int32/uint32/sint32 value, biased to the edges. */
export const anyInt32: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  fc.constantFrom(0, 1, -1, 20, 21, -20, -21, 100, 101, 2 ** 31 - 1, -(2 ** 31)),
);
