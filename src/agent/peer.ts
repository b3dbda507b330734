/**
 * The agent's end of one WebRTC connection: an RTCPeerConnection (@roamhq/wrtc) that offers (the
 * agent is the initiator), trickles its ICE candidates, takes the technician's answer and
 * candidates, and carries a video track and the "input" and "control" data channels. Owned
 * directly (no wrapper): the same shape as the console's AnswerPeer on the other side.
 *
 * Nothing leaves before `release()`: the offer and candidates are held, so the connection can be
 * prepared (its certificate known) before the user consents. `close()` is idempotent.
 */
import { encodeCandidate, encodeOffer, parsePeerSignal } from "./sdp.js";

/** A data channel, as much of it as is used here. */
export interface Channel {
  readyState: string;
  binaryType: string;
  /** Bytes queued and not yet sent (flow control for the "files" channel). */
  readonly bufferedAmount?: number;
  bufferedAmountLowThreshold?: number;
  onbufferedamountlow?: (() => void) | null;
  send(data: Uint8Array): void;
  close(): void;
  onmessage: ((ev: { data: ArrayBuffer | Uint8Array }) => void) | null;
  onopen: (() => void) | null;
  onclose: (() => void) | null;
}

/** An RTP sender, for the encoding parameters. */
export interface Sender {
  track: { kind: string } | null;
  getParameters(): { degradationPreference?: string; encodings?: { maxBitrate?: number }[] };
  setParameters(p: object): Promise<void>;
}

/** The parts of RTCPeerConnection used here (@roamhq/wrtc's, or a fake). */
export interface PeerConnection {
  createDataChannel(label: string, o?: object): Channel;
  addTrack(track: unknown, stream: unknown): unknown;
  createOffer(o?: { iceRestart?: boolean }): Promise<{ type: string; sdp?: string }>;
  setLocalDescription(d: { type: string; sdp?: string }): Promise<void>;
  setRemoteDescription(d: { type: string; sdp: string }): Promise<void>;
  addIceCandidate(c: object): Promise<void>;
  getSenders(): Sender[];
  getStats(): Promise<Map<string, Record<string, unknown>>>;
  setConfiguration(c: { iceServers: { urls: string[]; username?: string; credential?: string }[] }): void;
  close(): void;
  connectionState: string;
  onicecandidate: ((e: { candidate: { candidate: string; sdpMid: string | null; sdpMLineIndex: number | null } | null }) => void) | null;
  onconnectionstatechange: (() => void) | null;
}

export interface OfferPeerOptions {
  createConnection: () => PeerConnection;
  /** The video track and its stream. */
  track: unknown;
  stream: unknown;
  /** Data channels to open, in order (ordered, reliable). */
  channels: readonly string[];
  /** A signaling payload for the technician (only after release()). */
  signal: (payload: Uint8Array) => void;
  /** The "connected" moment: every data channel is open. */
  connected: () => void;
  /** The connection failed or the technician's side closed it. */
  closed: (reason: string) => void;
  /** The path broke (e.g. the network dropped or the address changed): an ICE restart is under way. */
  interrupted?: () => void;
  /** The path works again after an interruption. */
  resumed?: () => void;
  /** Diagnostics: one line per signaling step and state change (TETHER_TRACE_PEER=1). */
  trace?: (event: string) => void;
}

/** How long a connection may stay "disconnected" before an ICE restart, and between restarts (ms). */
const RESTART_AFTER_MS = 1000;
const RETRY_MS = 2000;
/** ICE restarts in a row without success before the connection is given up (about 15 s). */
const MAX_RESTARTS = 7;

export class OfferPeer {
  private readonly pc: PeerConnection;
  private readonly channels = new Map<string, Channel>();
  private held: Uint8Array[] | null = [];
  /** Candidates gathered before the offer was made (they must follow it). */
  private beforeOffer: Uint8Array[] | null = [];
  private chain: Promise<void> = Promise.resolve();
  private remoteSet = false;
  private early: object[] = [];
  private isClosed = false;
  private opened = 0;
  private offerSdp: string | null = null;
  /** An offer is out and its answer not yet applied (one answer per offer). */
  private awaitingAnswer = false;
  /** ICE restarts since the path last worked, and the next one's timer. */
  private restarts = 0;
  private restartTimer: ReturnType<typeof setTimeout> | null = null;
  private interrupted = false;

  constructor(private readonly o: OfferPeerOptions) {
    const pc = (this.pc = o.createConnection());
    pc.addTrack(o.track, o.stream);
    for (const label of o.channels) {
      const ch = pc.createDataChannel(label, { ordered: true });
      ch.binaryType = "arraybuffer";
      ch.onopen = () => {
        if (++this.opened === o.channels.length && !this.isClosed) o.connected();
      };
      ch.onclose = () => this.fail("the technician's viewer closed");
      this.channels.set(label, ch);
    }
    pc.onicecandidate = (e) => {
      if (!e.candidate?.candidate) return;
      const payload = encodeCandidate({
        candidate: e.candidate.candidate,
        sdpMid: e.candidate.sdpMid,
        sdpMLineIndex: e.candidate.sdpMLineIndex,
      });
      // Gathering starts inside setLocalDescription: a candidate can come before the offer is out.
      if (this.beforeOffer) this.beforeOffer.push(payload);
      else this.emit(payload);
    };
    pc.onconnectionstatechange = () => {
      const state = pc.connectionState;
      o.trace?.(`connection ${state}`);
      if (state === "connected") {
        // A restart's offer still unanswered (lost with a dead broker connection, say): keep retrying.
        if (!this.awaitingAnswer) {
          if (this.restartTimer) clearTimeout(this.restartTimer);
          this.restartTimer = null;
          this.restarts = 0;
          if (this.interrupted) {
            this.interrupted = false;
            o.resumed?.();
          }
        }
      } else if ((state === "disconnected" || state === "failed") && this.opened === o.channels.length) {
        // Once connected, a broken path is repaired with ICE restarts (new candidates from whatever
        // network the computer has now) rather than given up: the grant is still live.
        if (!this.interrupted) {
          this.interrupted = true;
          o.interrupted?.();
        }
        this.scheduleRestart(state === "failed" ? 0 : RESTART_AFTER_MS);
      } else if (state === "failed") {
        this.fail("the connection to the technician's viewer failed");
      }
    };
  }

  /** Creates the offer (held until release()). Resolves with its SDP. */
  async offer(): Promise<string> {
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    this.offerSdp = offer.sdp ?? "";
    this.awaitingAnswer = true;
    this.emit(encodeOffer(this.offerSdp));
    const early = this.beforeOffer ?? [];
    this.beforeOffer = null;
    for (const c of early) this.emit(c);
    return this.offerSdp;
  }

  /** Sends what was held and everything from now on. */
  release(): void {
    const held = this.held;
    this.held = null;
    this.o.trace?.(`release ${held?.length ?? 0} held signals`);
    for (const p of held ?? []) this.o.signal(p);
  }

  /**
   * A signaling payload from the technician, handled strictly in arrival order. `answer` is given
   * the answer's SDP first and returns the one to apply, or null to refuse it (the connection then
   * fails with `reason`).
   */
  signal(payload: Uint8Array, answer: (sdp: string) => { sdp: string } | { refuse: string }): void {
    const sig = parsePeerSignal(payload);
    this.o.trace?.(`signal in: ${sig.kind}${this.isClosed ? " (closed)" : ""}`);
    if (sig.kind === "ignore" || this.isClosed) return;
    this.chain = this.chain
      .then(async () => {
        if (this.isClosed) return;
        if (sig.kind === "answer") {
          if (!this.awaitingAnswer) return; // one answer per offer
          const r = answer(sig.sdp);
          if ("refuse" in r) return this.fail(r.refuse);
          await this.pc.setRemoteDescription({ type: "answer", sdp: r.sdp });
          this.awaitingAnswer = false;
          this.remoteSet = true;
          if (this.pc.connectionState === "connected") {
            if (this.restartTimer) clearTimeout(this.restartTimer);
            this.restartTimer = null;
            this.restarts = 0;
            if (this.interrupted) {
              this.interrupted = false;
              this.o.resumed?.();
            }
          }
          this.o.trace?.(`answer applied, ${this.early.length} early candidates`);
          for (const c of this.early.splice(0)) await this.pc.addIceCandidate(c).catch(() => {});
        } else if (this.remoteSet) {
          await this.pc.addIceCandidate(sig.candidate).catch(() => {});
        } else if (this.early.length < 64) {
          this.early.push(sig.candidate);
        }
      })
      .catch((err: Error) => {
        // a malformed answer: the connection never forms, and the viewer says so
        this.o.trace?.(`signal failed: ${err.message}`);
      });
  }

  channel(label: string): Channel | undefined {
    return this.channels.get(label);
  }

  senders(): Sender[] {
    return this.isClosed ? [] : this.pc.getSenders();
  }

  stats(): Promise<Map<string, Record<string, unknown>>> | null {
    return this.isClosed ? null : this.pc.getStats();
  }

  /** Closes the connection and its channels, without calling `closed`. Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    this.pc.onicecandidate = this.pc.onconnectionstatechange = null;
    for (const ch of this.channels.values()) {
      ch.onmessage = ch.onopen = ch.onclose = null;
    }
    try {
      this.pc.close();
    } catch {
      // already closed
    }
  }

  /**
   * The computer's network changed (an address came or went): restart ICE now, before the checks
   * notice the old path is gone. Only on a connection that was up.
   */
  networkChanged(): void {
    if (this.isClosed || this.opened !== this.o.channels.length) return;
    if (!this.interrupted) {
      this.interrupted = true;
      this.o.interrupted?.();
    }
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    void this.restartIce(true);
  }

  /**
   * Nothing arrived from the viewer for `ms` although the connection still says "connected":
   * libwebrtc (in @roamhq/wrtc) does not always notice a lost path (two CI runs saw the app's
   * relayed connection say "connected" through a 12 s network drop, once 0.1 s and once 3 s after
   * it came up), so the app repairs it as after a network change. Not while a repair is under way.
   */
  silent(ms: number): void {
    if (this.isClosed || this.interrupted || this.opened !== this.o.channels.length) return;
    this.o.trace?.(`nothing received for ${ms} ms while ${this.pc.connectionState}: the path is treated as broken`);
    this.networkChanged();
  }

  /**
   * New ICE servers (fresh TURN credentials from the broker): used from now on. A live connection
   * whose path runs through a relay (`relayed`) restarts ICE quietly, so that its relay is
   * allocated again with them before the old credentials expire (the relay would refuse to keep
   * the old allocation then); the picture goes on over the old path meanwhile.
   */
  renewIceServers(servers: { urls: string[]; username?: string; credential?: string }[], relayed: boolean): void {
    if (this.isClosed) return;
    try {
      this.pc.setConfiguration({ iceServers: servers });
    } catch (err) {
      this.o.trace?.(`new ice servers refused: ${(err as Error).message}`);
      return;
    }
    this.o.trace?.(`ice servers renewed${relayed ? ", restarting the relayed path" : ""}`);
    if (!relayed || this.opened !== this.o.channels.length || this.interrupted || this.awaitingAnswer) return;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    void this.restartIce(true);
  }

  /** Signaling works again (the broker connection is back): an interrupted connection's restart goes out now. */
  signalingBack(): void {
    if (this.isClosed || !(this.interrupted || this.awaitingAnswer) || this.opened !== this.o.channels.length) return;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    void this.restartIce(true);
  }

  private scheduleRestart(afterMs: number): void {
    if (this.restartTimer || this.isClosed) return;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      void this.restartIce();
    }, afterMs);
    this.restartTimer.unref?.();
  }

  /** A new offer with new ICE credentials; again every RETRY_MS until the path works, at most MAX_RESTARTS times. */
  private async restartIce(force = false): Promise<void> {
    if (this.isClosed || (!force && this.pc.connectionState === "connected" && !this.awaitingAnswer)) return;
    if (this.restarts >= MAX_RESTARTS) return this.fail("the connection to the technician's viewer failed");
    this.restarts++;
    this.o.trace?.(`ice restart ${this.restarts}`);
    try {
      const offer = await this.pc.createOffer({ iceRestart: true });
      await this.pc.setLocalDescription(offer);
      this.awaitingAnswer = true;
      this.emit(encodeOffer(offer.sdp ?? ""));
    } catch (err) {
      this.o.trace?.(`ice restart failed: ${(err as Error).message}`);
    }
    this.scheduleRestart(RETRY_MS);
  }

  private emit(payload: Uint8Array): void {
    if (this.isClosed) return;
    if (this.held) this.held.push(payload);
    else this.o.signal(payload);
  }

  private fail(reason: string): void {
    if (this.isClosed) return;
    this.close();
    this.o.closed(reason);
  }
}
