/**
 * The technician console's WebSocket (/ws/console), authenticated at upgrade (see app.ts). On
 * connect it sends each of the technician's sessions and their latest access request; afterwards
 * every change to a session or an access request of theirs. Frames are BrokerToConsole /
 * ConsoleToBroker protobuf messages.
 *
 * The socket lives only as long as the sign-in it was opened with: every frame in or out is
 * checked against a live token (not revoked, not expired, technician not removed), and the socket
 * closes with 4401 when it is not. Idle sockets are checked by the broker's sweep (app.ts), so a
 * token revoked from the CLI or one that expires closes its sockets within seconds too.
 */
import type { WebSocket } from "ws";
import { Close, encodeToAgent, encodeToConsole, pb, toBuffer, type ConsoleToBroker } from "../proto/wire.js";
import type { ConsolePeer, Hub } from "./hub.js";
import type { BrokerService } from "./service.js";
import type { Technician } from "./store.js";

/** A viewer id: chosen by the console, echoed in signals. */
const VIEWER_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** With a store that answers later (a cluster), how often a busy socket's sign-in is asked again, ms. */
const CHECK_MS = 1000;

export interface ConsoleSocketOptions {
  service: BrokerService;
  hub: Hub;
  technician: Technician;
  /** SHA-256 of the token the socket was opened with, and whether it is still good. */
  tokenHash: string;
  /** A cluster's store answers later: then the last answer holds meanwhile, asked at most every CHECK_MS. */
  signedIn: () => boolean | Promise<boolean>;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /** The ICE servers for this technician, with TURN credentials made now. */
  iceServers: () => { urls: string[]; username?: string; credential?: string }[];
  /** Fresh TURN credentials every this many ms (undefined: none to renew). */
  iceRenewalMs?: number | undefined;
  /** The largest file a transfer may carry (bytes), for the viewer. */
  maxFileBytes: number;
}

export function handleConsoleSocket(socket: WebSocket, o: ConsoleSocketOptions): void {
  const tech = o.technician;
  let closed = false;
  const close = (code: number, reason: string) => {
    if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) socket.close(code, reason);
  };
  /** Whether the sign-in still holds; closes the socket (4401) when it does not. */
  let lastAsked = 0;
  const live = (): boolean => {
    if (closed) return false;
    if (Date.now() - lastAsked < CHECK_MS) return true;
    const answer = o.signedIn();
    if (typeof answer === "boolean") return settle(answer);
    lastAsked = Date.now();
    void answer.then(settle, () => {}); // the store unreachable: the socket stays until it answers
    return true;
  };
  const settle = (ok: boolean): boolean => {
    if (ok) return true;
    if (closed) return false;
    closed = true;
    o.log.info({ technician: tech.name }, "console socket closed: its sign-in ended");
    close(Close.UNAUTHORIZED, "your sign-in has ended: sign in again");
    return false;
  };
  const peer: ConsolePeer = {
    tokenHash: o.tokenHash,
    check: live,
    send(frame) {
      if (socket.readyState === socket.OPEN && live()) socket.send(frame);
    },
    close(code, reason) {
      closed = true;
      close(code, reason);
    },
  };
  o.hub.attachConsole(tech.id, peer);
  // TURN credentials expire: the console gets new ones well before, for the connections it opens
  // next and for the ICE restart the app makes on a relayed connection at the same moment.
  const renewal = o.iceRenewalMs
    ? setInterval(() => peer.send(encodeToConsole({ iceConfig: { iceServers: o.iceServers(), renewal: true } })), o.iceRenewalMs)
    : null;
  socket.on("close", () => {
    closed = true;
    if (renewal) clearInterval(renewal);
    o.hub.detachConsole(tech.id, peer);
  });
  socket.on("error", () => peer.close(Close.INTERNAL, "socket error"));
  peer.send(encodeToConsole({ iceConfig: { iceServers: o.iceServers(), maxFileBytes: o.maxFileBytes } }));

  /** Work is done in order (each step may wait for the store): the session list first, then each message. */
  let queue: Promise<void> = Promise.resolve();
  const inOrder = (f: () => Promise<void> | void) => {
    queue = queue.then(f).catch((err: unknown) => {
      o.log.warn({ err, technician: tech.name }, "console message failed");
      peer.close(Close.INTERNAL, "internal error");
    });
  };
  inOrder(async () => {
    for (const s of await o.service.store.sessionsOf(tech.id)) {
      peer.send(encodeToConsole({ session: await o.service.sessionInfo(s) }));
      const latest = await o.service.latestAccess(s.id);
      if (latest) peer.send(encodeToConsole({ accessRequest: o.service.accessInfo(latest) }));
    }
  });

  const refuse = (id: string, what: string) => {
    o.log.warn({ technician: tech.name, accessRequestId: id }, `console ${what} refused`);
    peer.send(encodeToConsole({ error: { code: pb.Error.Code.CODE_NOT_ALLOWED, message: "no live granted access request" } }));
  };

  socket.on("message", (data, isBinary) => {
    if (!live()) return;
    if (!isBinary) return peer.close(Close.UNSUPPORTED_DATA, "binary protobuf frames only");
    let msg: ConsoleToBroker;
    try {
      msg = pb.ConsoleToBroker.decode(toBuffer(data));
    } catch {
      return peer.close(Close.MALFORMED, "malformed message");
    }
    if (msg.body === "heartbeat") {
      peer.send(encodeToConsole({ heartbeat: { seq: msg.heartbeat?.seq ?? 0, sentAtMs: Date.now(), ack: true } }));
    } else if (msg.body === "signal") {
      const id = msg.signal?.accessRequestId ?? "";
      const viewerId = msg.signal?.viewerId ?? "";
      if (viewerId !== "" && !VIEWER_ID.test(viewerId)) return peer.close(Close.POLICY, "bad viewer id");
      const payload = msg.signal?.payload ?? new Uint8Array();
      inOrder(async () => {
        const req = await o.service.liveGrant(tech, id);
        if (!req || !(await o.hub.isOnline(req.sessionId))) return refuse(id, "signal");
        o.hub.toAgent(req.sessionId, encodeToAgent({ signal: { accessRequestId: id, payload, viewerId } }));
      });
    } else if (msg.body === "viewerReady") {
      const id = msg.viewerReady?.accessRequestId ?? "";
      const viewerId = msg.viewerReady?.viewerId ?? "";
      if (!VIEWER_ID.test(viewerId)) return peer.close(Close.POLICY, "bad viewer id");
      inOrder(async () => {
        const req = await o.service.liveGrant(tech, id);
        if (!req || !(await o.hub.isOnline(req.sessionId))) return refuse(id, "viewer");
        o.log.info({ sessionId: req.sessionId, accessRequestId: id }, "viewer opened on a live grant");
        o.hub.toAgent(req.sessionId, encodeToAgent({ viewerReady: { accessRequestId: id, viewerId } }));
      });
    } else {
      peer.close(Close.POLICY, "unknown message");
    }
  });
}
