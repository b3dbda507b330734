/**
 * The technician console's WebSocket (/ws/console), authenticated at upgrade (see app.ts). On
 * connect it sends each of the technician's sessions; afterwards every change to a session or an
 * access request of theirs. Frames are BrokerToConsole / ConsoleToBroker protobuf messages.
 */
import type { WebSocket } from "ws";
import { Close, encodeToAgent, encodeToConsole, pb, toBuffer, type ConsoleToBroker } from "../proto/wire.js";
import { peerOf } from "./agent-socket.js";
import type { Hub } from "./hub.js";
import type { BrokerService } from "./service.js";
import type { Technician } from "./store.js";

export function handleConsoleSocket(
  socket: WebSocket,
  o: {
    service: BrokerService;
    hub: Hub;
    technician: Technician;
    log: { warn(obj: object, msg: string): void };
    iceServers: { urls: string[]; username?: string; credential?: string }[];
  },
): void {
  const peer = peerOf(socket);
  const tech = o.technician;
  o.hub.attachConsole(tech.id, peer);
  socket.on("close", () => o.hub.detachConsole(tech.id, peer));
  socket.on("error", () => peer.close(Close.INTERNAL, "socket error"));
  peer.send(encodeToConsole({ iceConfig: { iceServers: o.iceServers } }));
  for (const s of o.service.store.sessionsOf(tech.id)) peer.send(encodeToConsole({ session: o.service.sessionInfo(s) }));

  socket.on("message", (data, isBinary) => {
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
      const req = o.service.liveGrant(tech, id);
      const agent = req && o.hub.agent(req.sessionId);
      if (!req || !agent) {
        o.log.warn({ technician: tech.name, accessRequestId: id }, "console signal refused");
        peer.send(encodeToConsole({ error: { code: pb.Error.Code.CODE_NOT_ALLOWED, message: "no live granted access request" } }));
        return;
      }
      agent.send(encodeToAgent({ signal: { accessRequestId: id, payload: msg.signal?.payload ?? new Uint8Array() } }));
    } else {
      peer.close(Close.POLICY, "unknown message");
    }
  });
}
