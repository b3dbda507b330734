/**
 * The signaling payloads the support app accepts from the technician (src/agent/sdp.ts,
 * parsePeerSignal), under random bytes, random JSON and mutated valid payloads: never throws; what
 * it returns is an answer with SDP text or a candidate with a candidate string, else "ignore".
 * And the bitrate hints never throw on any SDP text.
 */
import { describe, expect, it } from "vitest";
import { parsePeerSignal, withBitrateHints } from "../src/agent/sdp.js";
import { budget, check, fc, validAndMutated } from "./support/fuzz.js";

const valid: fc.Arbitrary<Uint8Array> = fc
  .oneof(
    fc.record({ type: fc.constant("answer"), sdp: fc.string({ unit: "binary" }) }),
    fc.record({
      type: fc.constant("candidate"),
      candidate: fc.record(
        { candidate: fc.string(), sdpMid: fc.option(fc.string()), sdpMLineIndex: fc.option(fc.integer()) },
        { requiredKeys: [] },
      ),
    }),
    fc.record({ type: fc.constantFrom("offer", "renegotiate", "transceiverRequest"), sdp: fc.string() }),
  )
  .map((o) => Buffer.from(JSON.stringify(o)));

describe("the app's signaling decoder under fuzzing", () => {
  it(
    "never throws; answers carry SDP text, candidates a candidate string, anything else is ignored",
    async () => {
      await check(
        "peer signal: well-formed results",
        fc.property(
          fc.oneof(
            { arbitrary: validAndMutated(valid), weight: 5 },
            { arbitrary: fc.json().map((j) => Buffer.from(j)), weight: 3 },
            { arbitrary: fc.uint8Array({ maxLength: 512 }), weight: 2 },
          ),
          (bytes) => {
            const s = parsePeerSignal(bytes);
            if (s.kind === "answer") expect(typeof s.sdp).toBe("string");
            else if (s.kind === "candidate") {
              expect(typeof s.candidate.candidate).toBe("string");
              expect(s.candidate.sdpMid === null || typeof s.candidate.sdpMid === "string").toBe(true);
              expect(s.candidate.sdpMLineIndex === null || typeof s.candidate.sdpMLineIndex === "number").toBe(true);
            } else expect(s.kind).toBe("ignore");
          },
        ),
        2000,
      );
    },
    budget(15_000),
  );

  it(
    "adds bitrate hints to any SDP text without throwing, and only to video sections",
    async () => {
      await check(
        "peer signal: bitrate hints",
        fc.property(
          fc.array(
            fc.oneof(
              fc.constantFrom(
                "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n",
                "a=rtpmap:96 VP8/90000\r\n",
                "a=fmtp:96 x=1\r\n",
                "m=audio 9 RTP 0\r\n",
                "a=rtpmap:0 PCMU/8000\r\n",
              ),
              fc.string(),
            ),
            { maxLength: 20 },
          ),
          (parts) => {
            const sdp = parts.join("");
            const out = withBitrateHints(sdp);
            const audio = sdp
              .split(/(?=^m=)/m)
              .filter((x) => !x.startsWith("m=video"))
              .join("");
            expect(
              out
                .split(/(?=^m=)/m)
                .filter((x) => !x.startsWith("m=video"))
                .join(""),
            ).toBe(audio);
          },
        ),
        1000,
      );
    },
    budget(15_000),
  );
});
