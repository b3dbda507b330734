/**
 * Who is connected right now: the support app (agent) of each session, and each technician's
 * console sockets (with the token each was opened with). In-process; a cluster would put a bus
 * behind the same methods.
 */
import { Close } from "../proto/wire.js";

/** One live WebSocket, as the hub sees it. `send` never throws; `close` is idempotent. */
export interface Peer {
  send(frame: Uint8Array): void;
  close(code: number, reason: string): void;
}

/** What the hub remembers of an agent connection. */
export interface AgentMeta {
  /** Hello.instance_id (hex): the same for reconnects of one running app, new for another copy. */
  instanceId: string;
  machineName: string;
}

/** A console socket and the sign-in it rests on. */
export interface ConsolePeer extends Peer {
  /** SHA-256 of the token the socket was opened with. */
  readonly tokenHash: string;
  /** Whether the sign-in still holds; closes the socket (4401) when it does not. */
  check(): boolean;
}

export class Hub {
  private readonly agents = new Map<string, { peer: Peer; meta: AgentMeta }>();
  private readonly consoles = new Map<string, Set<ConsolePeer>>();

  /**
   * Registers the agent of a session; an earlier connection of the same session is superseded.
   * Returns what was known of the connection it replaced, if any.
   */
  attachAgent(sessionId: string, peer: Peer, meta: AgentMeta): AgentMeta | undefined {
    const previous = this.agents.get(sessionId);
    this.agents.set(sessionId, { peer, meta });
    if (previous && previous.peer !== peer) {
      previous.peer.close(Close.REPLACED, "the support app connected again from this computer");
      return previous.meta;
    }
    return undefined;
  }

  /** Unregisters, unless a newer connection has taken the place already. Returns whether it did. */
  detachAgent(sessionId: string, peer: Peer): boolean {
    if (this.agents.get(sessionId)?.peer !== peer) return false;
    this.agents.delete(sessionId);
    return true;
  }

  agent(sessionId: string): Peer | undefined {
    return this.agents.get(sessionId)?.peer;
  }

  isOnline(sessionId: string): boolean {
    return this.agents.has(sessionId);
  }

  attachConsole(technicianId: string, peer: ConsolePeer): void {
    let set = this.consoles.get(technicianId);
    if (!set) this.consoles.set(technicianId, (set = new Set()));
    set.add(peer);
  }

  detachConsole(technicianId: string, peer: ConsolePeer): void {
    const set = this.consoles.get(technicianId);
    set?.delete(peer);
    if (set && set.size === 0) this.consoles.delete(technicianId);
  }

  /** Sends a frame to every console socket of a technician. */
  toTechnician(technicianId: string, frame: Uint8Array): void {
    for (const peer of this.consoles.get(technicianId) ?? []) peer.send(frame);
  }

  /** Every console socket, with its technician (for the sign-in sweep). */
  *allConsoles(): Iterable<[string, ConsolePeer]> {
    for (const [tech, set] of this.consoles) for (const p of set) yield [tech, p];
  }

  /** Closes every console socket opened with this token (signed out or revoked): 4401. */
  closeToken(tokenHash: string, reason: string): void {
    for (const [, p] of [...this.allConsoles()]) if (p.tokenHash === tokenHash) p.close(Close.UNAUTHORIZED, reason);
  }

  /** Closes everything (broker shutdown): clients are told to come back (1001). */
  closeAll(): void {
    for (const { peer } of this.agents.values()) peer.close(Close.GOING_AWAY, "the broker is shutting down");
    for (const set of this.consoles.values()) for (const p of set) p.close(Close.GOING_AWAY, "the broker is shutting down");
    this.agents.clear();
    this.consoles.clear();
  }
}
