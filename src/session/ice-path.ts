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

/**
 * What a connection has received over its transports (RTP, RTCP, data channels; not ICE's own
 * checks), from its getStats() report; null when the report has no transport yet.
 */
export function bytesReceived(entries: Iterable<Record<string, unknown>>): number | null {
  let total: number | null = null;
  for (const e of entries) {
    if (e["type"] === "transport" && typeof e["bytesReceived"] === "number") total = (total ?? 0) + e["bytesReceived"];
  }
  return total;
}

/**
 * Notices a connection that hears nothing from its peer. A live WebRTC receiver sends RTCP
 * reports at least every 1.5 s, also for a still picture (measured: at most 1.4 s between two
 * increments of the sender's bytesReceived), so `limitMs` without one new byte means the path is
 * gone, whatever the connection's state still says. Pure: fed the counter and the time.
 */
export class SilenceWatch {
  private last: number | null = null;
  private since = 0;
  private told = false;

  constructor(readonly limitMs: number) {}

  /** True once per silence: the first observation `limitMs` after the counter last grew. */
  observe(received: number | null, now: number): boolean {
    if (received === null) return false;
    if (received !== this.last) {
      this.last = received;
      this.since = now;
      this.told = false;
      return false;
    }
    if (this.told || now - this.since < this.limitMs) return false;
    this.told = true;
    return true;
  }

  /** Starts over (e.g. after a repair): the next silence is measured from `now`. */
  reset(now: number): void {
    this.since = now;
    this.told = false;
  }
}
