/**
 * Who is connected right now: the support app (agent) of each session, and each technician's
 * console sockets (with the token each was opened with). In one process (the default) all of it is
 * in memory. In a cluster (a ClusterNode given) the same methods also reach the other nodes: which
 * node holds a session's app is in PostgreSQL (presence, with the node's lease), and frames go over
 * NATS to the node holding the app (tether.agent.<session>) or to every node with a console of the
 * technician (tether.tech.<technician>).
 */
import { Close } from "../proto/wire.js";
import { json, unjson } from "./bus.js";
import type { ClusterNode, Holder } from "./cluster.js";
import type { Awaitable } from "./store.js";

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
  /** For how long (ms) the app counts as gone if this connection is dead (see agent-socket.ts). */
  absentMs?: () => number;
}

/** The connection an attach replaced; `nodeLost` when it was held by a cluster node that is gone. */
export type Replaced = AgentMeta & { nodeLost?: boolean };

/** A console socket and the sign-in it rests on. */
export interface ConsolePeer extends Peer {
  /** SHA-256 of the token the socket was opened with. */
  readonly tokenHash: string;
  /** Whether the sign-in still holds; closes the socket (4401) when it does not. */
  check(): boolean;
}

/** How long a node waits for the node that held an app to let go of it, ms. */
const REPLACE_TIMEOUT_MS = 1000;

// Frames on tether.agent.<session>: the first byte says what the rest is.
const TO_AGENT_FRAME = 0;
const TO_AGENT_CLOSE = 1;

interface LocalAgent {
  peer: Peer;
  meta: AgentMeta;
  /** Cluster only: this connection's id in the presence table, and its subscription. */
  connId?: string;
  unsubscribe?: () => void;
}

export class Hub {
  private readonly agents = new Map<string, LocalAgent>();
  private readonly consoles = new Map<string, Set<ConsolePeer>>();
  private readonly techSubs = new Map<string, () => void>();
  private readonly clusterSubs: (() => void)[] = [];

  constructor(readonly cluster?: ClusterNode) {
    if (!cluster) return;
    // Another node took over one of our apps: let go of it (without "offline": it is online there).
    this.clusterSubs.push(
      cluster.bus.serve(`tether.node.${cluster.nodeId}.replace`, (data) => {
        const { sessionId } = unjson<{ sessionId: string }>(data);
        const a = this.agents.get(sessionId);
        if (!a) return json({});
        this.agents.delete(sessionId);
        a.unsubscribe?.();
        a.peer.close(Close.REPLACED, "the support app connected again from this computer");
        return json({ instanceId: a.meta.instanceId, machineName: a.meta.machineName, absentMs: a.meta.absentMs?.() ?? 0 });
      }),
      cluster.bus.subscribe("tether.token-closed", (data) => {
        const { tokenHash, reason } = unjson<{ tokenHash: string; reason: string }>(data);
        this.closeTokenHere(tokenHash, reason);
      }),
    );
  }

  /**
   * Registers the agent of a session; an earlier connection of the same session is superseded
   * (here, or on the node that held it). Returns what was known of the connection it replaced.
   */
  attachAgent(sessionId: string, peer: Peer, meta: AgentMeta): Awaitable<Replaced | undefined> {
    const previous = this.agents.get(sessionId);
    const entry: LocalAgent = { peer, meta };
    this.agents.set(sessionId, entry);
    let replaced: Replaced | undefined;
    if (previous && previous.peer !== peer) {
      previous.unsubscribe?.();
      previous.peer.close(Close.REPLACED, "the support app connected again from this computer");
      replaced = previous.meta;
    }
    return this.cluster ? this.attachInCluster(sessionId, entry, replaced) : replaced;
  }

  private async attachInCluster(sessionId: string, entry: LocalAgent, replacedHere: Replaced | undefined): Promise<Replaced | undefined> {
    const c = this.cluster!;
    entry.connId = c.newConnId();
    entry.unsubscribe = c.bus.subscribe(`tether.agent.${sessionId}`, (data) => {
      if (this.agents.get(sessionId) !== entry) return;
      if (data[0] === TO_AGENT_FRAME) entry.peer.send(data.subarray(1));
      else if (data[0] === TO_AGENT_CLOSE) {
        const { code, reason } = unjson<{ code: number; reason: string }>(data.subarray(1));
        entry.peer.close(code, reason);
      }
    });
    let previous: (Holder & { nodeAlive: boolean }) | undefined;
    try {
      previous = await c.claim(sessionId, { connId: entry.connId, instanceId: entry.meta.instanceId, machineName: entry.meta.machineName });
    } catch (err) {
      entry.unsubscribe();
      if (this.agents.get(sessionId) === entry) this.agents.delete(sessionId);
      throw err;
    }
    if (!previous || previous.nodeId === c.nodeId) return replacedHere;
    // Held by another node: ask it to let go. No answer means the node is gone (NATS says at once
    // that nobody listens on a dead node's subject).
    const answer = previous.nodeAlive
      ? await c.bus.request(`tether.node.${previous.nodeId}.replace`, json({ sessionId }), REPLACE_TIMEOUT_MS)
      : null;
    if (answer === null) return { instanceId: previous.instanceId, machineName: previous.machineName, nodeLost: true };
    const a = unjson<{ instanceId?: string; machineName?: string; absentMs?: number }>(answer);
    if (a.instanceId === undefined) return replacedHere; // it had let go already
    return { instanceId: a.instanceId, machineName: a.machineName ?? "", absentMs: () => a.absentMs ?? 0 };
  }

  /** Unregisters, unless a newer connection has taken the place already. Returns whether it did. */
  detachAgent(sessionId: string, peer: Peer): Awaitable<boolean> {
    const a = this.agents.get(sessionId);
    if (a?.peer !== peer) return false;
    this.agents.delete(sessionId);
    a.unsubscribe?.();
    if (!this.cluster || !a.connId) return true;
    const cluster = this.cluster;
    const connId = a.connId;
    // While PostgreSQL is down the release fails: it is tried again every second (for up to ten
    // minutes), or the session would read online until its app came back.
    return (async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          await cluster.release(sessionId, connId);
          return true;
        } catch (err) {
          if (attempt >= 600) throw err;
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    })();
  }

  /** The app's connection if this process holds it. */
  localAgent(sessionId: string): Peer | undefined {
    return this.agents.get(sessionId)?.peer;
  }

  /** The apps this node holds (to claim again after a cut-off, see cluster.ts). */
  heldAgents(): { sessionId: string; holder: Holder }[] {
    return [...this.agents].map(([sessionId, a]) => ({
      sessionId,
      holder: { nodeId: "", connId: a.connId ?? "", instanceId: a.meta.instanceId, machineName: a.meta.machineName },
    }));
  }

  /** Sends a frame to the session's app, wherever it is connected; nothing when it is not. */
  toAgent(sessionId: string, frame: Uint8Array): void {
    const local = this.agents.get(sessionId);
    if (local || !this.cluster) return local?.peer.send(frame);
    const data = new Uint8Array(frame.length + 1);
    data[0] = TO_AGENT_FRAME;
    data.set(frame, 1);
    this.cluster.bus.publish(`tether.agent.${sessionId}`, data);
  }

  /** Closes the session's app connection, wherever it is. */
  closeAgent(sessionId: string, code: number, reason: string): void {
    const local = this.agents.get(sessionId);
    if (local || !this.cluster) return local?.peer.close(code, reason);
    const body = json({ code, reason });
    const data = new Uint8Array(body.length + 1);
    data[0] = TO_AGENT_CLOSE;
    data.set(body, 1);
    this.cluster.bus.publish(`tether.agent.${sessionId}`, data);
  }

  isOnline(sessionId: string): Awaitable<boolean> {
    if (this.agents.has(sessionId)) return true;
    return this.cluster ? this.cluster.isOnline(sessionId) : false;
  }

  attachConsole(technicianId: string, peer: ConsolePeer): void {
    let set = this.consoles.get(technicianId);
    if (!set) this.consoles.set(technicianId, (set = new Set()));
    set.add(peer);
    if (this.cluster && !this.techSubs.has(technicianId)) {
      this.techSubs.set(
        technicianId,
        this.cluster.bus.subscribe(`tether.tech.${technicianId}`, (frame) => this.toTechnicianHere(technicianId, frame)),
      );
    }
  }

  detachConsole(technicianId: string, peer: ConsolePeer): void {
    const set = this.consoles.get(technicianId);
    set?.delete(peer);
    if (set && set.size === 0) {
      this.consoles.delete(technicianId);
      this.techSubs.get(technicianId)?.();
      this.techSubs.delete(technicianId);
    }
  }

  /** Sends a frame to every console socket of a technician (on every node). */
  toTechnician(technicianId: string, frame: Uint8Array): void {
    if (this.cluster) this.cluster.bus.publish(`tether.tech.${technicianId}`, frame);
    else this.toTechnicianHere(technicianId, frame);
  }

  private toTechnicianHere(technicianId: string, frame: Uint8Array): void {
    for (const peer of this.consoles.get(technicianId) ?? []) peer.send(frame);
  }

  /** Every console socket of this process, with its technician (for the sign-in sweep). */
  *allConsoles(): Iterable<[string, ConsolePeer]> {
    for (const [tech, set] of this.consoles) for (const p of set) yield [tech, p];
  }

  /** Closes every console socket opened with this token (signed out or revoked): 4401, on every node. */
  closeToken(tokenHash: string, reason: string): void {
    this.closeTokenHere(tokenHash, reason);
    this.cluster?.bus.publish("tether.token-closed", json({ tokenHash, reason }));
  }

  private closeTokenHere(tokenHash: string, reason: string): void {
    for (const [, p] of [...this.allConsoles()]) if (p.tokenHash === tokenHash) p.close(Close.UNAUTHORIZED, reason);
  }

  /** Calls `f` on each message on `subject` (cluster only: nothing arrives in one process); returns the unsubscribe. */
  listen(subject: string, f: () => void): () => void {
    return this.cluster ? this.cluster.bus.subscribe(subject, f) : () => {};
  }

  /** An empty message on `subject` to every node (cluster only). */
  announce(subject: string): void {
    this.cluster?.bus.publish(subject, new Uint8Array());
  }

  /** Closes everything (broker shutdown): clients are told to come back (1001). */
  closeAll(): void {
    for (const { peer, unsubscribe } of this.agents.values()) {
      unsubscribe?.();
      peer.close(Close.GOING_AWAY, "the broker is shutting down");
    }
    for (const set of this.consoles.values()) for (const p of set) p.close(Close.GOING_AWAY, "the broker is shutting down");
    for (const u of [...this.techSubs.values(), ...this.clusterSubs]) u();
    this.techSubs.clear();
    this.agents.clear();
    this.consoles.clear();
  }
}
