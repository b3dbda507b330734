/**
 * The agent's WebSocket (/ws/agent): challenge → Hello (code, key, fingerprint, signature) →
 * activation result; then heartbeats, consent answers and signaling. Every frame is one
 * AgentToBroker protobuf message, binary, at most MAX_FRAME_BYTES (ws closes larger ones with 1009).
 */
import { createPublicKey, randomBytes, verify } from "node:crypto";
import type { WebSocket } from "ws";
import {
  activationSignedBytes,
  Close,
  ED25519_PUBLIC_KEY_BYTES,
  ED25519_SIGNATURE_BYTES,
  encodeToAgent,
  encodeToConsole,
  FINGERPRINT_BYTES,
  MAX_CODE_CHARS,
  MAX_MACHINE_NAME_CHARS,
  NONCE_BYTES,
  pb,
  PROTOCOL_VERSION,
  scopeFromWire,
  toBuffer,
  type AgentToBroker,
} from "../proto/wire.js";
import type { Hub, Peer } from "./hub.js";
import { cleanChat, cleanName, MAX_CHAT } from "../util/text.js";
import { normalizeFingerprint } from "../session/safety-code.js";
import type { BrokerService } from "./service.js";
import type { SessionRow } from "./store.js";

export interface AgentSocketOptions {
  service: BrokerService;
  hub: Hub;
  heartbeatIntervalMs: number;
  helloTimeoutMs: number;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  remoteAddress: string;
  iceServers: (sessionId: string) => { urls: string[]; username?: string; credential?: string }[];
  /** Fresh TURN credentials every this many ms while activated (undefined: none to renew). */
  iceRenewalMs?: number | undefined;
  /** The broker's --organization, cleaned; "" when not set. */
  organization: string;
  /** The largest file a transfer may carry (bytes). */
  maxFileBytes: number;
}

// DER prefix of an Ed25519 SubjectPublicKeyInfo; the raw 32-byte key follows it.
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/** Wraps a ws socket as a hub Peer: sends only while open, closes once. */
export function peerOf(socket: WebSocket): Peer {
  return {
    send(frame) {
      if (socket.readyState === socket.OPEN) socket.send(frame);
    },
    close(code, reason) {
      if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) socket.close(code, reason);
    },
  };
}

/** Hello.instance_id: 16 random bytes per app process (an empty one counts as a new process). */
const INSTANCE_ID_BYTES = 16;

export function handleAgentSocket(socket: WebSocket, o: AgentSocketOptions): void {
  const peer = peerOf(socket);
  const nonce = randomBytes(NONCE_BYTES);
  let session: SessionRow | null = null;
  let lastHeard = Date.now();
  /** Access requests granted over this connection: signaling is relayed only for these. */
  const granted = new Set<string>();
  /** When this connection's last tool records came (a rate limit). */
  let toolRecords: number[] = [];

  const helloTimer = setTimeout(() => peer.close(Close.HELLO_TIMEOUT, "no hello in time"), o.helloTimeoutMs);
  const liveness = setInterval(() => {
    if (Date.now() - lastHeard > 3 * o.heartbeatIntervalMs) peer.close(Close.HEARTBEAT_TIMEOUT, "heartbeat timeout");
  }, o.heartbeatIntervalMs);
  liveness.unref();
  /** Fresh TURN credentials while activated (see IceConfig in the protocol). */
  let renewal: ReturnType<typeof setInterval> | null = null;

  /**
   * For how long (ms) the app counts as gone if this connection turns out dead: since its next
   * heartbeat was due after the last thing heard from it (a dropped network closes nothing, so the
   * socket itself says nothing until the liveness check or the app's next connection), else 0.
   */
  const absentMs = () => Math.max(0, Date.now() - (lastHeard + o.heartbeatIntervalMs));

  const refuse = (code: number, reason: string, detail: object = {}) => {
    o.log.warn({ remoteAddress: o.remoteAddress, closeCode: code, ...detail }, `agent socket refused: ${reason}`);
    peer.close(code, reason);
  };

  /**
   * Messages are handled one after the other, in order (each may wait for the store): a consent
   * answer is recorded before the signal that follows it, and the close after the hello.
   */
  let queue: Promise<void> = Promise.resolve();
  /** Messages waiting their turn: an app that sends faster than the store answers is cut off. */
  let waiting = 0;
  const inOrder = (f: () => Promise<void> | void) => {
    if (++waiting > 256) return refuse(Close.POLICY, "too many messages at once");
    queue = queue
      .then(f)
      .finally(() => waiting--)
      .catch((err: unknown) => {
        o.log.warn({ err }, "agent message failed");
        refuse(Close.INTERNAL, (err as { code?: string }).code === "TETHER_ERR_STORE_UNAVAILABLE" ? "store unavailable" : "internal error");
      });
  };

  socket.on("message", (data, isBinary) => {
    lastHeard = Date.now();
    if (!isBinary) return refuse(Close.UNSUPPORTED_DATA, "binary protobuf frames only");
    let msg: AgentToBroker;
    try {
      msg = pb.AgentToBroker.decode(toBuffer(data));
    } catch {
      return refuse(Close.MALFORMED, "malformed message");
    }
    inOrder(() => (session ? onActiveMessage(msg, session) : onHello(msg)));
  });

  // The app's probe after a network change is a WebSocket ping: it is a sign of life too.
  socket.on("ping", () => (lastHeard = Date.now()));
  socket.on("close", () => {
    clearTimeout(helloTimer);
    clearInterval(liveness);
    if (renewal) clearInterval(renewal);
    const absent = absentMs();
    inOrder(async () => {
      if (session && (await o.hub.detachAgent(session.id, peer))) {
        o.log.info({ sessionId: session.id }, "agent disconnected");
        await o.service.agentOffline(session.id, absent);
      }
    });
  });
  socket.on("error", () => peer.close(Close.INTERNAL, "socket error"));

  peer.send(encodeToAgent({ challenge: { nonce, protocolVersion: PROTOCOL_VERSION } }));

  async function onHello(msg: AgentToBroker): Promise<void> {
    const h = msg.hello;
    if (msg.body !== "hello" || !h) return refuse(Close.POLICY, "expected hello");
    clearTimeout(helloTimer);
    const code = h.code ?? "";
    const pub = h.publicKey ?? new Uint8Array();
    const fp = h.machineFingerprint ?? new Uint8Array();
    const sig = h.signature ?? new Uint8Array();
    if (
      code.length === 0 ||
      code.length > MAX_CODE_CHARS ||
      pub.length !== ED25519_PUBLIC_KEY_BYTES ||
      fp.length !== FINGERPRINT_BYTES ||
      sig.length !== ED25519_SIGNATURE_BYTES ||
      (h.machineName ?? "").length > 4 * MAX_MACHINE_NAME_CHARS ||
      (h.os ?? "").length > 200 ||
      (h.instanceId !== undefined && h.instanceId !== null && h.instanceId.length !== 0 && h.instanceId.length !== INSTANCE_ID_BYTES)
    ) {
      return refuse(Close.POLICY, "hello fields out of bounds");
    }
    const key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, pub]), format: "der", type: "spki" });
    if (!verify(null, activationSignedBytes(nonce, code, pub, fp), key, sig)) {
      peer.send(encodeToAgent({ error: { code: pb.Error.Code.CODE_BAD_SIGNATURE, message: "signature does not verify" } }));
      return refuse(Close.POLICY, "bad signature");
    }
    const machine = { publicKey: Buffer.from(pub).toString("base64url"), fingerprint: Buffer.from(fp).toString("hex") };
    const name = cleanName(h.machineName ?? "", MAX_MACHINE_NAME_CHARS);
    const os = cleanName(h.os ?? "", 64);
    const instanceId = h.instanceId?.length ? Buffer.from(h.instanceId).toString("hex") : `anonymous-${nonce.toString("hex")}`;
    const { decision, session: s } = await o.service.activate(code, machine, name, os);
    const S = pb.ActivationResult.Status;
    if ((decision.kind === "valid" || decision.kind === "bind") && s) {
      // The socket may have closed while the store answered: then nothing is attached.
      if (socket.readyState !== socket.OPEN) return;
      session = s;
      const replaced = await o.hub.attachAgent(s.id, peer, { instanceId, machineName: name, absentMs });
      // Cluster: the node that held this app is gone; what depended on it ends first (consoles see
      // the app offline, then online again below).
      if (replaced?.nodeLost) await o.service.agentLost(s.id);
      // The same running app reconnecting (its old socket not yet timed out) is no news; another
      // process with this identity is: a second start here, or a copied identity elsewhere.
      else if (replaced && replaced.instanceId !== instanceId) await o.service.agentReplaced(s.id, replaced.machineName, name);
      for (const id of await o.service.reconcileGrants(
        s.id,
        (h.liveAccess ?? []).slice(0, 16).map((g) => ({ id: g.accessRequestId ?? "", scope: scopeFromWire(g.scope) })),
        // A connection this one replaces (its network dropped, so it never closed): the app was
        // away since then, and its grants end if that is longer than the grace period.
        replaced?.absentMs?.(),
      )) {
        granted.add(id);
      }
      const tech = await o.service.store.technicianById(s.technicianId);
      peer.send(
        encodeToAgent({
          activation: {
            status: S.STATUS_OK,
            sessionId: s.id,
            technicianName: tech?.displayName ?? "",
            expiresAtMs: s.expiresAt,
            heartbeatIntervalMs: o.heartbeatIntervalMs,
            iceServers: o.iceServers(s.id),
            liveAccess: [...granted],
            organization: o.organization,
            maxFileBytes: o.maxFileBytes,
          },
        }),
      );
      if (o.iceRenewalMs) {
        const id = s.id;
        renewal = setInterval(
          () => peer.send(encodeToAgent({ iceConfig: { iceServers: o.iceServers(id), renewal: true } })),
          o.iceRenewalMs,
        );
      }
      o.log.info(
        { sessionId: s.id, bound: decision.kind === "bind" ? "now" : "before", remoteAddress: o.remoteAddress },
        "agent activated",
      );
      await o.service.agentOnline(s);
      return;
    }
    // Unknown, closed, deleted and bound-elsewhere answer identically; only the log tells them apart.
    const status = decision.kind === "expired" ? S.STATUS_EXPIRED : S.STATUS_INVALID;
    o.log.info(
      {
        sessionId: s?.id,
        decision: decision.kind,
        reason: decision.kind === "invalid" ? decision.reason : undefined,
        remoteAddress: o.remoteAddress,
      },
      "agent activation refused",
    );
    peer.send(encodeToAgent({ activation: { status } }));
    peer.close(Close.NORMAL, decision.kind);
  }

  async function onActiveMessage(msg: AgentToBroker, s: SessionRow): Promise<void> {
    switch (msg.body) {
      case "heartbeat":
        peer.send(encodeToAgent({ heartbeat: { seq: msg.heartbeat?.seq ?? 0, sentAtMs: Date.now(), ack: true } }));
        return;
      case "consent": {
        const c = msg.consent!;
        const id = c.accessRequestId ?? "";
        const scope = scopeFromWire(c.grantedScope);
        const accepted = await o.service.recordConsent(s.id, id, Boolean(c.granted) && scope !== null, scope);
        if (accepted && c.granted && scope) granted.add(id);
        peer.send(encodeToAgent({ consentRecorded: { accessRequestId: id, accepted } }));
        return;
      }
      case "consentChanged": {
        const c = msg.consentChanged!;
        const id = c.accessRequestId ?? "";
        const scope = scopeFromWire(c.scope);
        if (!granted.has(id) || !(await o.service.consentChanged(s.id, id, scope))) {
          peer.send(encodeToAgent({ error: { code: pb.Error.Code.CODE_NOT_ALLOWED, message: "no such live grant, or a widening" } }));
          return;
        }
        if (scope === null) granted.delete(id);
        return;
      }
      case "recordingShown": {
        const id = msg.recordingShown?.accessRequestId ?? "";
        if (granted.has(id)) await o.service.recordingShown(s.id, id, Boolean(msg.recordingShown?.on));
        return;
      }
      case "toolRecord": {
        // What the app did with a tool on a live grant of this session: into the history, bounded.
        const r = msg.toolRecord!;
        const id = r.accessRequestId ?? "";
        // At most 120 a minute per connection (each is a history entry).
        const now = Date.now();
        toolRecords = toolRecords.filter((t) => now - t < 60_000);
        if (toolRecords.length >= 120) {
          peer.send(encodeToAgent({ error: { code: pb.Error.Code.CODE_RATE_LIMITED, message: "too many tool records" } }));
          return;
        }
        toolRecords.push(now);
        if (!(await o.service.toolRecord(s.id, id, r))) {
          peer.send(
            encodeToAgent({ error: { code: pb.Error.Code.CODE_NOT_ALLOWED, message: "no such live grant, or a record out of bounds" } }),
          );
        }
        return;
      }
      case "chat": {
        // The user writes: bounded in size (the frame limit) and rate, cleaned like a name.
        const raw = msg.chat?.text ?? "";
        const text = Array.from(raw).length <= MAX_CHAT ? cleanChat(raw) : "";
        if (!text) {
          peer.send(encodeToAgent({ error: { code: pb.Error.Code.CODE_NOT_ALLOWED, message: "empty or too long chat message" } }));
        } else if (!(await o.service.chatFromUser(s.id, text))) {
          // 60 a minute per session, whichever connection of its app they come from
          peer.send(encodeToAgent({ error: { code: pb.Error.Code.CODE_RATE_LIMITED, message: "too many chat messages" } }));
        }
        return;
      }
      case "accessPrepared": {
        const id = msg.accessPrepared?.accessRequestId ?? "";
        const fp = normalizeFingerprint(msg.accessPrepared?.fingerprint ?? "");
        if (!fp) return refuse(Close.POLICY, "bad fingerprint");
        await o.service.accessPrepared(s.id, id, fp); // false for a request no longer pending: nothing to do
        return;
      }
      case "signal": {
        const sig = msg.signal!;
        const id = sig.accessRequestId ?? "";
        if (!granted.has(id)) {
          o.log.warn({ sessionId: s.id, accessRequestId: id }, "signal refused: no granted access request on this connection");
          peer.send(encodeToAgent({ error: { code: pb.Error.Code.CODE_NOT_ALLOWED, message: "no granted access request" } }));
          return;
        }
        o.hub.toTechnician(
          s.technicianId,
          encodeToConsole({
            signal: { accessRequestId: id, payload: sig.payload ?? new Uint8Array(), viewerId: (sig.viewerId ?? "").slice(0, 64) },
          }),
        );
        return;
      }
      case "hello":
        return refuse(Close.POLICY, "already activated");
      default:
        return refuse(Close.POLICY, "unknown message");
    }
  }
}
