/**
 * The signaling payloads between the agent (the initiator) and this browser (a plain
 * RTCPeerConnection answering): UTF-8 JSON in simple-peer's shape (src/agent/sdp.ts). Pure parsing; anything
 * else (renegotiate, transceiverRequest, garbage) is "ignore".
 */

export interface Candidate {
  candidate: string;
  sdpMid: string | null;
  sdpMLineIndex: number | null;
}

export type Signal = { kind: "offer"; sdp: string } | { kind: "candidate"; candidate: Candidate } | { kind: "ignore" };

export function parseSignal(payload: Uint8Array): Signal {
  let o: unknown;
  try {
    o = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    return { kind: "ignore" };
  }
  if (!o || typeof o !== "object") return { kind: "ignore" };
  const r = o as Record<string, unknown>;
  if (r["type"] === "offer" && typeof r["sdp"] === "string") return { kind: "offer", sdp: r["sdp"] };
  const c = r["candidate"];
  if (c && typeof c === "object") {
    const cr = c as Record<string, unknown>;
    if (typeof cr["candidate"] === "string") {
      return {
        kind: "candidate",
        candidate: {
          candidate: cr["candidate"],
          sdpMid: typeof cr["sdpMid"] === "string" ? cr["sdpMid"] : null,
          sdpMLineIndex: typeof cr["sdpMLineIndex"] === "number" ? cr["sdpMLineIndex"] : null,
        },
      };
    }
  }
  return { kind: "ignore" };
}

export function encodeAnswer(sdp: string): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ type: "answer", sdp }));
}

export function encodeCandidate(c: Candidate): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ type: "candidate", candidate: c }));
}
