/** The path of a WebRTC connection from its stats (src/session/ice-path.ts). */
import { describe, expect, it } from "vitest";
import { bytesReceived, selectedPairId, selectedPath, SilenceWatch } from "../src/session/ice-path.js";

const report = (local: string, remote: string, how: "transport" | "nominated" | "none") => [
  { id: "T1", type: "transport", ...(how === "transport" ? { selectedCandidatePairId: "P2" } : {}) },
  { id: "P1", type: "candidate-pair", localCandidateId: "L1", remoteCandidateId: "R1", state: "failed", nominated: false },
  { id: "P2", type: "candidate-pair", localCandidateId: "L2", remoteCandidateId: "R2", state: "succeeded", nominated: how !== "none" },
  { id: "L1", type: "local-candidate", candidateType: "host" },
  { id: "R1", type: "remote-candidate", candidateType: "host" },
  { id: "L2", type: "local-candidate", candidateType: local },
  { id: "R2", type: "remote-candidate", candidateType: remote },
];

describe("the selected ICE path", () => {
  it("is relayed when either end of the selected pair is a relay candidate, direct otherwise", () => {
    expect(selectedPath(report("relay", "prflx", "transport"))).toEqual({ path: "relayed", local: "relay", remote: "prflx" });
    expect(selectedPath(report("srflx", "relay", "nominated"))).toEqual({ path: "relayed", local: "srflx", remote: "relay" });
    expect(selectedPath(report("srflx", "prflx", "transport"))).toEqual({ path: "direct", local: "srflx", remote: "prflx" });
    expect(selectedPath(report("host", "host", "nominated"))?.path).toBe("direct");
  });

  it("is unknown before a pair is selected, or when the report lacks its candidates", () => {
    expect(selectedPath(report("relay", "relay", "none"))).toBeNull();
    expect(selectedPath([{ id: "T1", type: "transport", selectedCandidatePairId: "P9" }])).toBeNull();
    expect(selectedPath(report("relay", "relay", "transport").filter((e) => e.id !== "R2"))).toBeNull();
  });

  it("the selected pair's id is the transport's, and none without one", () => {
    expect(selectedPairId(report("relay", "prflx", "transport"))).toBe("P2");
    expect(selectedPairId(report("relay", "prflx", "nominated"))).toBeNull();
    expect(selectedPairId([{ id: "T1", type: "transport", selectedCandidatePairId: "" }])).toBeNull();
  });
});

describe("a connection that hears nothing", () => {
  it("counts what the transports received, and nothing without a transport", () => {
    expect(
      bytesReceived([
        { type: "transport", bytesReceived: 4687 },
        { type: "candidate-pair", bytesReceived: 99 },
      ]),
    ).toBe(4687);
    expect(
      bytesReceived([
        { type: "transport", bytesReceived: 10 },
        { type: "transport", bytesReceived: 5 },
      ]),
    ).toBe(15);
    expect(bytesReceived([{ type: "candidate-pair", bytesReceived: 99 }])).toBeNull();
  });

  it("is silent once the counter stood still for the limit, said once, and again after it grew and stood still again", () => {
    const w = new SilenceWatch(4000);
    expect(w.observe(100, 0)).toBe(false);
    expect(w.observe(100, 3999)).toBe(false);
    expect(w.observe(100, 4000)).toBe(true);
    expect(w.observe(100, 5000)).toBe(false); // said once
    expect(w.observe(null, 6000)).toBe(false); // no report: no news
    expect(w.observe(250, 7000)).toBe(false); // it hears again
    expect(w.observe(250, 10_999)).toBe(false);
    expect(w.observe(250, 11_000)).toBe(true);
  });

  it("a reset (after a repair) measures from then, and the still counter is said again", () => {
    const w = new SilenceWatch(4000);
    w.observe(100, 0);
    expect(w.observe(100, 4000)).toBe(true);
    w.reset(5000);
    expect(w.observe(100, 8999)).toBe(false);
    expect(w.observe(100, 9000)).toBe(true);
  });
});
