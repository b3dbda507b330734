/**
 * The downloaded app's trailer parser (parseTrailer) under random tails and mutated trailers: it
 * never throws, accepts a trailer only when every byte of it is as the broker signed it, and finds
 * an intact trailer behind any file contents.
 */
import { describe, expect, it } from "vitest";
import { generateKeyPairSync } from "node:crypto";
import { makeTrailer, parseTrailer, TRAILER_MAGIC } from "../src/link/trailer.js";
import { rawPublicKey } from "../src/util/keys.js";
import { budget, check, fc, mutate, mutationArb } from "./support/fuzz.js";

const signing = generateKeyPairSync("ed25519").privateKey;
const publicKeyB64 = rawPublicKey(signing).toString("base64url");
const otherKeyB64 = rawPublicKey(generateKeyPairSync("ed25519").privateKey).toString("base64url");

/**
 * A payload as the broker issues it. The only place that knows the payload's fields: the
 * properties compare whole payloads, so a change of format touches this function alone.
 */
function payload(seed: { text: string; n: number }): Parameters<typeof makeTrailer>[0] {
  return {
    v: 2,
    broker: `https://help.example/${encodeURIComponent(seed.text)}`,
    code: seed.text,
    session: `s_${seed.n}`,
    issuedAt: seed.n,
    image: { size: seed.n, sha256: seed.n.toString(16).padStart(64, "0") },
  };
}
const seed = fc.record({ text: fc.string({ unit: "binary", maxLength: 200 }), n: fc.nat() });
/** The bytes before the trailer: the executable's end, anything at all. */
const prefix = fc.oneof(fc.uint8Array({ maxLength: 600 }), fc.constant(new Uint8Array(0)), fc.constant(Uint8Array.from(TRAILER_MAGIC)));

const parse = (tail: Uint8Array, key = publicKeyB64) => parseTrailer(Buffer.from(tail.buffer, tail.byteOffset, tail.byteLength), key);
const join = (...parts: Uint8Array[]) => Uint8Array.from(Buffer.concat(parts));

describe("the app trailer parser under fuzzing", () => {
  it(
    "finds a signed trailer behind any bytes and reads back the payload signed",
    async () => {
      await check(
        "trailer: intact trailers verify",
        fc.property(seed, prefix, (s, pre) => {
          const p = payload(s);
          const r = parse(join(pre, makeTrailer(p, signing)));
          expect(r).toEqual({ ok: true, payload: p });
          expect(parse(makeTrailer(p, signing), otherKeyB64).ok).toBe(false); // another broker's key
        }),
        300,
      );
    },
    budget(15_000),
  );

  it(
    "never throws on random tails and accepts none of them",
    async () => {
      await check(
        "trailer: random tails",
        fc.property(
          fc.oneof(
            fc.uint8Array({ maxLength: 5000 }),
            // Random bytes that end like a trailer: magic, with a random or a plausible length before it.
            fc.tuple(fc.uint8Array({ maxLength: 5000 }), fc.option(fc.integer({ min: 0, max: 2 ** 32 - 1 }))).map(([b, len]) => {
              const l = Buffer.alloc(4);
              l.writeUInt32BE(len ?? Math.max(0, b.length - 68));
              return join(b, l, TRAILER_MAGIC);
            }),
          ),
          (tail) => {
            const r = parse(tail);
            expect(r.ok).toBe(false);
          },
        ),
        500,
      );
    },
    budget(15_000),
  );

  it(
    "refuses a trailer with any byte changed, added or removed, without throwing",
    async () => {
      await check(
        "trailer: mutated trailers refused",
        fc.property(seed, prefix, fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (s, pre, edits) => {
          const trailer = makeTrailer(payload(s), signing);
          const changed = mutate(trailer, edits);
          const r = parse(join(pre, changed));
          // Bytes added in front of an intact trailer are file contents, not a change of the trailer.
          const c = Buffer.from(changed);
          if (c.length >= trailer.length && c.subarray(c.length - trailer.length).equals(trailer)) expect(r.ok).toBe(true);
          else expect(r, "a changed trailer was accepted").toMatchObject({ ok: false });
        }),
        1000,
      );
    },
    budget(15_000),
  );

  it(
    "refuses a changed payload or signature even when the length field is made to match",
    async () => {
      await check(
        "trailer: consistent forgeries refused",
        fc.property(seed, prefix, fc.array(mutationArb, { minLength: 1, maxLength: 3 }), fc.boolean(), (s, pre, edits, onSignature) => {
          // The documented layout: payload | signature (64) | payload length (u32 BE) | magic.
          const trailer = makeTrailer(payload(s), signing);
          const bodyLength = trailer.readUInt32BE(trailer.length - TRAILER_MAGIC.length - 4);
          const body = trailer.subarray(0, bodyLength);
          const sig = trailer.subarray(bodyLength, bodyLength + 64);
          const newBody = onSignature ? body : mutate(body, edits);
          const newSig = onSignature ? mutate(sig, edits).subarray(0, 64) : sig;
          const len = Buffer.alloc(4);
          len.writeUInt32BE(newBody.length);
          const forged = join(newBody, newSig, len, TRAILER_MAGIC);
          const r = parse(join(pre, forged));
          if (Buffer.from(forged).equals(trailer)) expect(r.ok).toBe(true);
          else expect(r, "a forged trailer was accepted").toMatchObject({ ok: false });
        }),
        1000,
      );
    },
    budget(15_000),
  );
});
