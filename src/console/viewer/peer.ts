/**
 * The browser's end of the WebRTC connection: a plain RTCPeerConnection that answers the agent's
 * offer (the agent is the initiator, src/agent/peer.ts), trickles its ICE candidates back, and
 * hands over the video track and the "input" / "control" data channels the agent created.
 */
import type { IceServerProps } from "../proto.js";
import { encodeAnswer, encodeCandidate, parseSignal } from "./signal.js";
import { sdpFingerprint } from "../../session/safety-code.js";

export interface PeerHandlers {
  /** Send a signaling payload to the agent (through the console socket). */
  signal(payload: Uint8Array): void;
  track(stream: MediaStream, receiver: RTCRtpReceiver): void;
  channel(ch: RTCDataChannel): void;
  /** The connection failed or closed on the far side. */
  lost(reason: string): void;
  connected(): void;
  /** The path broke ("disconnected"): the user's app repairs it with an ICE restart (a new offer). */
  interrupted?(): void;
  /** The offer is answered: both certificate fingerprints of this connection (for the safety code). */
  fingerprints(local: string | null, remote: string | null): void;
}

/** The receiver's latency knobs (jitterBufferTarget is standard; playoutDelayHint is Chrome's older one). */
type TunableReceiver = RTCRtpReceiver & { jitterBufferTarget?: number | null; playoutDelayHint?: number | null };

export function lowLatency(receiver: RTCRtpReceiver): void {
  const r = receiver as TunableReceiver;
  try {
    if ("jitterBufferTarget" in r) r.jitterBufferTarget = 0;
    if ("playoutDelayHint" in r) r.playoutDelayHint = 0;
  } catch {
    // not supported here; the defaults work, only with more delay
  }
}

/** The broker's ICE servers as RTCPeerConnection takes them. */
function rtcIceServers(iceServers: IceServerProps[]): RTCIceServer[] {
  return iceServers
    .filter((s) => (s.urls ?? []).length > 0)
    .map((s) => ({
      urls: [...(s.urls ?? [])],
      ...(s.username ? { username: s.username } : {}),
      ...(s.credential ? { credential: s.credential } : {}),
    }));
}

export class AnswerPeer {
  readonly pc: RTCPeerConnection;
  private chain: Promise<void> = Promise.resolve();
  private remoteSet = false;
  private early: RTCIceCandidateInit[] = [];
  private closed = false;

  constructor(
    iceServers: IceServerProps[],
    private readonly h: PeerHandlers,
    certificate: RTCCertificate | null = null,
  ) {
    this.pc = new RTCPeerConnection({ iceServers: rtcIceServers(iceServers), ...(certificate ? { certificates: [certificate] } : {}) });
    this.pc.onicecandidate = (e) => {
      if (!e.candidate || !e.candidate.candidate) return;
      this.h.signal(
        encodeCandidate({ candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex }),
      );
    };
    this.pc.ontrack = (e) => {
      lowLatency(e.receiver);
      this.h.track(e.streams[0] ?? new MediaStream([e.track]), e.receiver);
    };
    this.pc.ondatachannel = (e) => {
      e.channel.binaryType = "arraybuffer";
      this.h.channel(e.channel);
    };
    this.pc.onconnectionstatechange = () => {
      const s = this.pc.connectionState;
      if (s === "connected") this.h.connected();
      else if (s === "disconnected") this.h.interrupted?.();
      else if (s === "failed" || s === "closed")
        this.h.lost(s === "failed" ? "The connection to the user's computer failed." : "The connection closed.");
    };
  }

  /** New ICE servers (fresh TURN credentials); the connection's other settings stay as they are. */
  setIceServers(iceServers: IceServerProps[]): void {
    if (this.closed) return;
    try {
      this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers: rtcIceServers(iceServers) });
    } catch (err) {
      // a browser that refuses: the current credentials serve until they expire
      console.warn(`the viewer kept its ICE servers: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** One signaling payload from the agent; handled strictly in arrival order. */
  signal(payload: Uint8Array): void {
    const sig = parseSignal(payload);
    if (sig.kind === "ignore") return;
    this.chain = this.chain
      .then(async () => {
        if (this.closed) return;
        if (sig.kind === "offer") {
          await this.pc.setRemoteDescription({ type: "offer", sdp: sig.sdp });
          this.remoteSet = true;
          for (const c of this.early.splice(0)) await this.pc.addIceCandidate(c).catch(() => {});
          const answer = await this.pc.createAnswer();
          await this.pc.setLocalDescription(answer);
          if (answer.sdp) this.h.signal(encodeAnswer(answer.sdp));
          this.h.fingerprints(sdpFingerprint(answer.sdp ?? ""), sdpFingerprint(sig.sdp));
        } else if (this.remoteSet) {
          await this.pc.addIceCandidate(sig.candidate).catch(() => {});
        } else {
          this.early.push(sig.candidate);
        }
      })
      .catch((err: unknown) => {
        this.h.lost(`WebRTC setup failed: ${err instanceof Error ? err.message : String(err)}`);
      });
  }

  /**
   * Closes the connection, `afterMs` later (its events are not heard from now on): the app, told
   * first that the viewer closes (ControlMessage.Closing), ends its side before this side's close
   * reaches it. Safe to call twice.
   */
  close(afterMs = 0): void {
    if (this.closed) return;
    this.closed = true;
    this.pc.onicecandidate = this.pc.ontrack = this.pc.ondatachannel = this.pc.onconnectionstatechange = null;
    const close = () => {
      try {
        this.pc.close();
      } catch {
        // already closed
      }
    };
    if (afterMs > 0) setTimeout(close, afterMs);
    else close();
  }
}
