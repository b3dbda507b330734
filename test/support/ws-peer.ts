/**
 * Protocol-level WebSocket clients for broker tests: a socket that decodes every frame and can be
 * awaited for a message or its close, and an agent that activates the way the support app does
 * (challenge → Hello signed with an Ed25519 key over the broker's nonce).
 */
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import WebSocket from "ws";
import { rawPublicKey } from "../../src/util/keys.js";
import { activationSignedBytes, encodeToBroker, pb, type AgentToBroker, type BrokerToAgent } from "../../src/proto/wire.js";

export interface Closed {
  code: number;
  reason: string;
}

/** A WebSocket that keeps every decoded frame and its close. Undecodable frames are kept as null. */
export class Peer<T> {
  readonly got: (T | null)[] = [];
  readonly closed: Promise<Closed>;
  closedWith: Closed | null = null;
  private wake: () => void = () => {};

  private constructor(
    readonly ws: WebSocket,
    decode: (b: Buffer) => T,
  ) {
    ws.on("message", (d) => {
      let m: T | null = null;
      try {
        m = decode(d as Buffer);
      } catch {
        // kept as null: the test decides whether that is a failure
      }
      this.got.push(m);
      this.wake();
    });
    // A write after the broker closed (EPIPE, ECONNRESET) ends in "close" as well.
    ws.on("error", () => {});
    this.closed = new Promise((resolve) =>
      ws.on("close", (code, reason) => {
        this.closedWith = { code, reason: reason.toString() };
        resolve(this.closedWith);
        this.wake();
      }),
    );
  }

  static open<T>(url: string, decode: (b: Buffer) => T, headers: Record<string, string> = {}): Promise<Peer<T>> {
    const ws = new WebSocket(url, { headers, maxPayload: 1 << 20 });
    const peer = new Peer(ws, decode);
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(peer));
      ws.once("unexpected-response", (_req, res) =>
        reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { statusCode: res.statusCode })),
      );
      ws.once("error", reject);
    });
  }

  /**
   * Resolves with the first message from index `from` on that matches, or null if the socket closed
   * first; rejects after `ms` (the peer hangs).
   */
  async next(pred: (m: T) => boolean, ms: number, from = 0): Promise<T | null> {
    const deadline = Date.now() + ms;
    for (;;) {
      for (let i = from; i < this.got.length; i++) {
        const m = this.got[i];
        if (m !== null && m !== undefined && pred(m)) return m;
      }
      if (this.closedWith) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching message within ${ms} ms (got ${this.got.length}, socket ${this.ws.readyState})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => (clearTimeout(t), resolve());
      });
    }
  }

  /** The close, or a rejection after `ms` (the broker left the socket hanging). */
  closedWithin(ms: number): Promise<Closed> {
    let t: NodeJS.Timeout;
    return Promise.race([
      this.closed.finally(() => clearTimeout(t)),
      new Promise<never>((_r, reject) => (t = setTimeout(() => reject(new Error(`socket not closed within ${ms} ms`)), ms))),
    ]);
  }

  /** Closes from this side and waits for the close to complete. */
  async end(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(1000);
    await this.closedWithin(5000).catch(() => this.ws.terminate());
  }
}

/** An agent identity: an Ed25519 key and a machine fingerprint. */
export interface AgentIdentity {
  key: KeyObject;
  publicKey: Buffer;
  fingerprint: Buffer;
}

export function newIdentity(): AgentIdentity {
  const key = generateKeyPairSync("ed25519").privateKey;
  return { key, publicKey: rawPublicKey(key), fingerprint: randomBytes(32) };
}

/** A Hello for this connection's nonce, signed with `id` (fields may be overridden after signing). */
export function signedHello(
  nonce: Uint8Array,
  code: string,
  id: AgentIdentity,
  extra: Partial<NonNullable<AgentToBroker["hello"]>> = {},
): Uint8Array {
  const signature = sign(null, activationSignedBytes(nonce, code, id.publicKey, id.fingerprint), id.key);
  return encodeToBroker({
    hello: {
      code,
      publicKey: id.publicKey,
      machineFingerprint: id.fingerprint,
      signature,
      machineName: "fuzz-pc",
      os: "linux x64",
      ...extra,
    },
  });
}

export type AgentPeer = Peer<BrokerToAgent>;

/** Opens /ws/agent and waits for the challenge; returns the socket and the nonce. */
export async function openAgent(wsBase: string, ms = 5000): Promise<{ peer: AgentPeer; nonce: Uint8Array }> {
  const peer = await Peer.open(`${wsBase}/ws/agent`, (b) => pb.BrokerToAgent.decode(b));
  const challenge = await peer.next((m) => m.body === "challenge", ms);
  if (!challenge) throw new Error(`agent socket closed before the challenge: ${JSON.stringify(peer.closedWith)}`);
  return { peer, nonce: challenge.challenge!.nonce! };
}

/** Opens /ws/agent and activates `code` with `id`; throws unless the broker says STATUS_OK. */
export async function activatedAgent(wsBase: string, code: string, id: AgentIdentity, ms = 5000): Promise<AgentPeer> {
  const { peer, nonce } = await openAgent(wsBase, ms);
  peer.ws.send(signedHello(nonce, code, id));
  const act = await peer.next((m) => m.body === "activation", ms);
  if (act?.activation?.status !== pb.ActivationResult.Status.STATUS_OK) {
    throw new Error(`activation failed: ${JSON.stringify(act?.activation)} ${JSON.stringify(peer.closedWith)}`);
  }
  return peer;
}

/** Sends a heartbeat and waits for its ack; false if the socket closed instead. */
export async function heartbeatAcked<T extends { body?: string | null; heartbeat?: { seq?: number | null; ack?: boolean | null } | null }>(
  peer: Peer<T>,
  encode: (seq: number) => Uint8Array,
  ms: number,
): Promise<boolean> {
  const seq = Math.floor(Math.random() * 2 ** 40) + 1;
  const from = peer.got.length;
  if (peer.ws.readyState !== WebSocket.OPEN) return false;
  peer.ws.send(encode(seq));
  const ack = await peer.next((m) => m.body === "heartbeat" && m.heartbeat?.ack === true && Number(m.heartbeat?.seq) === seq, ms, from);
  return ack !== null;
}
