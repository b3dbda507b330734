/**
 * Which way a WebRTC connection's media goes, from its getStats() report: "relayed" when either end
 * of the selected candidate pair is a TURN relay candidate, "direct" otherwise (host, server- or
 * peer-reflexive: through NATs, but not through a relay). Pure; used by the console's stats overlay
 * and the support app's trace.
 */
export type IcePath = "direct" | "relayed";

export interface SelectedPath {
  path: IcePath;
  /** Candidate types of the selected pair: "host", "srflx", "prflx" or "relay". */
  local: string;
  remote: string;
}

/** The id of the candidate pair the transport sends on (its selectedCandidatePairId), or null. */
export function selectedPairId(entries: Iterable<Record<string, unknown>>): string | null {
  for (const e of entries) {
    if (e["type"] === "transport" && typeof e["selectedCandidatePairId"] === "string" && e["selectedCandidatePairId"] !== "") {
      return e["selectedCandidatePairId"];
    }
  }
  return null;
}

/** The selected pair's path, or null while none is selected (or the report lacks the candidates). */
export function selectedPath(entries: Iterable<Record<string, unknown>>): SelectedPath | null {
  const byId = new Map<string, Record<string, unknown>>();
  let selectedPairId: string | undefined;
  for (const e of entries) {
    if (typeof e["id"] === "string") byId.set(e["id"], e);
    if (e["type"] === "transport" && typeof e["selectedCandidatePairId"] === "string") selectedPairId = e["selectedCandidatePairId"];
  }
  const pairs = [...byId.values()].filter((e) => e["type"] === "candidate-pair");
  const pair =
    (selectedPairId !== undefined ? byId.get(selectedPairId) : undefined) ??
    pairs.find((p) => p["nominated"] === true && p["state"] === "succeeded");
  if (!pair) return null;
  const type = (id: unknown) => {
    const c = typeof id === "string" ? byId.get(id) : undefined;
    return typeof c?.["candidateType"] === "string" ? c["candidateType"] : null;
  };
  const local = type(pair["localCandidateId"]);
  const remote = type(pair["remoteCandidateId"]);
  if (local === null || remote === null) return null;
  return { path: local === "relay" || remote === "relay" ? "relayed" : "direct", local, remote };
}
