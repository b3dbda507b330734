/**
 * The agent's SDP and signaling helpers. Signaling payloads are UTF-8 JSON, the shape simple-peer
 * used and the console's viewer parses (src/console/viewer/signal.ts): `{type:"offer"|"answer",
 * sdp}` and `{type:"candidate", candidate:{candidate, sdpMid, sdpMLineIndex}}`. Pure.
 */

/**
 * Bitrate hints (kbit/s) for screen content. The start rate makes text sharp in the first frames
 * instead of after the bandwidth estimate has ramped up; the floor keeps a change after an idle
 * period from being paced out at a trickle. The send side reads them from the remote description.
 */
export const START_KBPS = 8000;
export const MIN_KBPS = 2000;
export const MAX_KBPS = 30000;

/** Adds x-google bitrate hints to every video codec of an SDP (the technician's answer). */
export function withBitrateHints(sdp: string): string {
  const hint = `x-google-start-bitrate=${START_KBPS};x-google-min-bitrate=${MIN_KBPS};x-google-max-bitrate=${MAX_KBPS}`;
  return sdp
    .split(/(?=^m=)/m)
    .map((section) => {
      if (!section.startsWith("m=video")) return section;
      const pts = [...section.matchAll(/^a=rtpmap:(\d+) (VP8|VP9|H264|AV1)\/90000/gm)].map((m) => m[1]!);
      let out = section;
      for (const pt of pts) {
        const fmtp = new RegExp(`^a=fmtp:${pt} (.*)$`, "m");
        out = fmtp.test(out)
          ? out.replace(
              fmtp,
              (_l, params: string) => `a=fmtp:${pt} ${params.replace(/\r$/, "")};${hint}${params.endsWith("\r") ? "\r" : ""}`,
            )
          : out.replace(new RegExp(`^(a=rtpmap:${pt} .*?)(\r?)$`, "m"), `$1$2\na=fmtp:${pt} ${hint}$2`);
      }
      return out;
    })
    .join("");
}

export interface Candidate {
  candidate: string;
  sdpMid: string | null;
  sdpMLineIndex: number | null;
}

/** A signaling payload from the technician, as the agent acts on it. */
export type PeerSignal = { kind: "answer"; sdp: string } | { kind: "candidate"; candidate: Candidate } | { kind: "ignore" };

/** Parses a payload from the network; anything else (garbage, an offer, renegotiation) is "ignore". */
export function parsePeerSignal(payload: Uint8Array): PeerSignal {
  let o: unknown;
  try {
    o = JSON.parse(Buffer.from(payload).toString("utf8"));
  } catch {
    return { kind: "ignore" };
  }
  if (!o || typeof o !== "object") return { kind: "ignore" };
  const r = o as Record<string, unknown>;
  if (r["type"] === "answer" && typeof r["sdp"] === "string") return { kind: "answer", sdp: r["sdp"] };
  const c = r["candidate"];
  if (c && typeof c === "object" && typeof (c as Record<string, unknown>)["candidate"] === "string") {
    const cr = c as Record<string, unknown>;
    return {
      kind: "candidate",
      candidate: {
        candidate: cr["candidate"] as string,
        sdpMid: typeof cr["sdpMid"] === "string" ? cr["sdpMid"] : null,
        sdpMLineIndex: typeof cr["sdpMLineIndex"] === "number" ? cr["sdpMLineIndex"] : null,
      },
    };
  }
  return { kind: "ignore" };
}

export function encodeOffer(sdp: string): Uint8Array {
  return Buffer.from(JSON.stringify({ type: "offer", sdp }));
}

export function encodeCandidate(c: Candidate): Uint8Array {
  return Buffer.from(JSON.stringify({ type: "candidate", candidate: c }));
}
