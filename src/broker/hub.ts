/**
 * Who is connected right now: the support app (agent) of each session, and each technician's
 * console sockets. In-process; a cluster would put a bus (Redis) behind the same methods.
 */
import { Close } from "../proto/wire.js";

/** One live WebSocket, as the hub sees it. `send` never throws; `close` is idempotent. */
export interface Peer {
  send(frame: Uint8Array): void;
  close(code: number, reason: string): void;
}

export class Hub {
  private readonly agents = new Map<string, Peer>();
  private readonly consoles = new Map<string, Set<Peer>>();

  /** Registers the agent of a session; an earlier connection of the same session is superseded. */
  attachAgent(sessionId: string, peer: Peer): void {
    const previous = this.agents.get(sessionId);
    this.agents.set(sessionId, peer);
    if (previous && previous !== peer) {
      previous.close(Close.REPLACED, "the support app connected again from this computer");
    }
  }

  /** Unregisters, unless a newer connection has taken the place already. Returns whether it did. */
  detachAgent(sessionId: string, peer: Peer): boolean {
    if (this.agents.get(sessionId) !== peer) return false;
    this.agents.delete(sessionId);
    return true;
  }

  agent(sessionId: string): Peer | undefined {
    return this.agents.get(sessionId);
  }

  isOnline(sessionId: string): boolean {
    return this.agents.has(sessionId);
  }

  attachConsole(technicianId: string, peer: Peer): void {
    let set = this.consoles.get(technicianId);
    if (!set) this.consoles.set(technicianId, (set = new Set()));
    set.add(peer);
  }

  detachConsole(technicianId: string, peer: Peer): void {
    const set = this.consoles.get(technicianId);
    set?.delete(peer);
    if (set && set.size === 0) this.consoles.delete(technicianId);
  }

  /** Sends a frame to every console socket of a technician. */
  toTechnician(technicianId: string, frame: Uint8Array): void {
    for (const peer of this.consoles.get(technicianId) ?? []) peer.send(frame);
  }

  /** Closes everything (broker shutdown): clients are told to come back (1001). */
  closeAll(): void {
    for (const peer of this.agents.values()) peer.close(Close.GOING_AWAY, "the broker is shutting down");
    for (const set of this.consoles.values()) for (const p of set) p.close(Close.GOING_AWAY, "the broker is shutting down");
    this.agents.clear();
    this.consoles.clear();
  }
}
