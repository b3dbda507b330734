/**
 * The broker's behaviour, between the transports (HTTP API, agent and console WebSockets) and the
 * store: it asks src/session for decisions and carries them out, and tells connected peers.
 */
import {
  accessStatus,
  checkAccessRequest,
  consentChange,
  decideActivation,
  grantedScope,
  sessionState,
  type AccessStatus,
  type ActivationDecision,
  type MachineIdentity,
  type Scope,
  type SessionState,
} from "../session/rules.js";
import { encodeToAgent, encodeToConsole, pb, scopeToWire } from "../proto/wire.js";
import { hashSecret, newSessionCode } from "../util/secrets.js";
import type { Hub } from "./hub.js";
import type { AccessRequestRow, SessionRow, Store, Technician } from "./store.js";
import { TetherError } from "./errors.js";

export interface SessionView {
  id: string;
  state: SessionState;
  online: boolean;
  createdAt: string;
  expiresAt: string;
  closedAt?: string;
  machine?: { name: string; os: string; boundAt: string; lastSeenAt: string | null };
}

export interface AccessRequestView {
  id: string;
  sessionId: string;
  scope: Scope;
  status: AccessStatus;
  /** The scope in force now (the user may have narrowed it). */
  grantedScope?: Scope;
  createdAt: string;
  expiresAt: string;
  answeredAt?: string;
  endedAt?: string;
}

export interface ServiceOptions {
  store: Store;
  hub: Hub;
  now: () => number;
  /** Base of the links handed out, e.g. "http://127.0.0.1:8080". */
  publicUrl: () => string;
  /** How long an access request waits for the user's answer, ms. */
  consentTimeoutMs: number;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The path of a session link; the code follows it. */
export const LINK_PATH = "/s/";

export class BrokerService {
  private readonly timers = new Set<NodeJS.Timeout>();
  constructor(private readonly o: ServiceOptions) {}

  get store() {
    return this.o.store;
  }

  dispose(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  // ---- views ---------------------------------------------------------------------------------

  sessionView(s: SessionRow): SessionView {
    const v: SessionView = {
      id: s.id,
      state: sessionState(s, this.o.now()),
      online: this.o.hub.isOnline(s.id),
      createdAt: iso(s.createdAt),
      expiresAt: iso(s.expiresAt),
    };
    if (s.closedAt !== null) v.closedAt = iso(s.closedAt);
    if (s.boundAt !== null) {
      v.machine = {
        name: s.machineName ?? "",
        os: s.machineOs ?? "",
        boundAt: iso(s.boundAt),
        lastSeenAt: s.lastSeenAt === null ? null : iso(s.lastSeenAt),
      };
    }
    return v;
  }

  accessView(r: AccessRequestRow): AccessRequestView {
    const v: AccessRequestView = {
      id: r.id,
      sessionId: r.sessionId,
      scope: r.scope,
      status: accessStatus(r, this.o.now()),
      createdAt: iso(r.createdAt),
      expiresAt: iso(r.expiresAt),
    };
    if (r.grantedScope) v.grantedScope = r.grantedScope;
    if (r.answeredAt !== null) v.answeredAt = iso(r.answeredAt);
    if (r.endedAt !== null) v.endedAt = iso(r.endedAt);
    return v;
  }

  // ---- technician actions ----------------------------------------------------------------------

  createSession(tech: Technician, expiresInS: number): { session: SessionRow; link: string } {
    const code = newSessionCode();
    const now = this.o.now();
    const session = this.o.store.createSession(tech.id, hashSecret(code), now, now + expiresInS * 1000);
    this.o.log.info({ sessionId: session.id, technician: tech.name }, "session created");
    this.notifySession(session);
    return { session, link: this.o.publicUrl() + LINK_PATH + code };
  }

  /** The technician's own, not deleted session, or 404 (another's session looks the same as none). */
  ownSession(tech: Technician, id: string): SessionRow {
    const s = this.o.store.session(id);
    if (!s || s.technicianId !== tech.id || s.deletedAt !== null) throw new TetherError("TETHER_ERR_SESSION_NOT_FOUND");
    return s;
  }

  closeSession(tech: Technician, id: string): SessionRow {
    const s = this.ownSession(tech, id);
    if (this.o.store.closeSession(id, this.o.now())) {
      this.o.log.info({ sessionId: id }, "session closed by technician");
      this.endSession(id, pb.SessionClosed.Reason.REASON_CLOSED);
    }
    return this.o.store.session(s.id)!;
  }

  deleteSession(tech: Technician, id: string): void {
    this.ownSession(tech, id);
    if (this.o.store.deleteSession(id, this.o.now())) {
      this.o.log.info({ sessionId: id }, "session deleted by technician");
      this.endSession(id, pb.SessionClosed.Reason.REASON_DELETED);
    }
  }

  /** After closure or deletion: pending requests end, the connected agent is told and let go. */
  private endSession(id: string, reason: number): void {
    const now = this.o.now();
    for (const rid of this.o.store.expireAccessRequests(id, now, true)) this.notifyAccess(rid);
    const agent = this.o.hub.agent(id);
    if (agent) {
      agent.send(encodeToAgent({ sessionClosed: { reason } }));
      agent.close(1000, "session closed");
    }
    const s = this.o.store.session(id);
    if (s) this.notifySession(s);
  }

  requestAccess(tech: Technician, sessionId: string, scope: Scope): AccessRequestRow {
    const s = this.ownSession(tech, sessionId);
    const now = this.o.now();
    const refusal = checkAccessRequest(s, now, this.o.hub.isOnline(s.id), this.o.store.pendingAccessRequests(s.id));
    if (refusal === "not-active") throw new TetherError("TETHER_ERR_SESSION_NOT_ACTIVE");
    if (refusal === "offline") throw new TetherError("TETHER_ERR_AGENT_OFFLINE");
    if (refusal === "already-pending") throw new TetherError("TETHER_ERR_ACCESS_PENDING");
    this.o.store.expireAccessRequests(s.id, now); // tidy those past their deadline
    const req = this.o.store.createAccessRequest(s.id, scope, now, now + this.o.consentTimeoutMs);
    this.o.log.info({ sessionId: s.id, accessRequestId: req.id, scope }, "access requested");
    this.deliverAccessRequest(req, tech);
    this.scheduleExpiry(req);
    this.notifyAccess(req.id);
    return req;
  }

  ownAccessRequest(tech: Technician, sessionId: string, requestId: string): AccessRequestRow {
    const s = this.ownSession(tech, sessionId);
    const r = this.o.store.accessRequest(requestId);
    if (!r || r.sessionId !== s.id) throw new TetherError("TETHER_ERR_ACCESS_REQUEST_NOT_FOUND");
    return r;
  }

  private deliverAccessRequest(req: AccessRequestRow, tech: Technician): void {
    this.o.hub.agent(req.sessionId)?.send(
      encodeToAgent({
        accessRequest: {
          id: req.id,
          scope: scopeToWire(req.scope),
          technicianName: tech.displayName,
          expiresAtMs: req.expiresAt,
        },
      }),
    );
  }

  private scheduleExpiry(req: AccessRequestRow): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      const expired = this.o.store.expireAccessRequests(req.sessionId, this.o.now());
      for (const rid of expired) {
        this.o.hub.agent(req.sessionId)?.send(
          encodeToAgent({ accessRequestEnded: { id: rid, reason: pb.AccessRequestEnded.Reason.REASON_EXPIRED } }),
        );
        this.notifyAccess(rid);
      }
    }, Math.max(0, req.expiresAt - this.o.now()) + 5);
    t.unref();
    this.timers.add(t);
  }

  // ---- agent side -----------------------------------------------------------------------------

  /**
   * Decides an activation and carries it out. Binding is one conditional UPDATE; a caller that loses
   * a race re-reads the row and decides again (then: valid if the winner was this same machine,
   * otherwise invalid).
   */
  activate(code: string, machine: MachineIdentity, machineName: string, os: string): { decision: ActivationDecision; session?: SessionRow } {
    const codeHash = hashSecret(code);
    for (let attempt = 0; attempt < 2; attempt++) {
      const now = this.o.now();
      const s = this.o.store.sessionByCodeHash(codeHash);
      const decision = decideActivation(s, machine, now);
      if (decision.kind === "bind") {
        if (this.o.store.bindSession(s!.id, machine, machineName, os, now)) {
          return { decision, session: this.o.store.session(s!.id)! };
        }
        continue; // somebody else changed the row in between: decide again on fresh facts
      }
      if (decision.kind === "valid") {
        this.o.store.touchSession(s!.id, machineName, os, now);
        return { decision, session: this.o.store.session(s!.id)! };
      }
      return s ? { decision, session: s } : { decision };
    }
    return { decision: { kind: "invalid", reason: "bound-elsewhere" } };
  }

  /** A freshly activated agent is online: tell consoles, re-offer requests still waiting. */
  agentOnline(session: SessionRow): void {
    this.notifySession(session);
    const tech = this.o.store.technicianById(session.technicianId);
    const now = this.o.now();
    for (const r of this.o.store.pendingAccessRequests(session.id)) {
      if (tech && accessStatus(r, now) === "pending") this.deliverAccessRequest(r, tech);
    }
  }

  agentOffline(sessionId: string): void {
    const s = this.o.store.session(sessionId);
    if (s) {
      this.o.store.touchSession(s.id, s.machineName ?? "", s.machineOs ?? "", this.o.now());
      this.notifySession(this.o.store.session(sessionId)!);
    }
  }

  /** The user's answer. Returns whether it was recorded (false: the request was no longer pending). */
  recordConsent(sessionId: string, requestId: string, granted: boolean, scope: Scope | null): boolean {
    const r = this.o.store.accessRequest(requestId);
    if (!r || r.sessionId !== sessionId) return false;
    const effective = granted ? grantedScope(r.scope, scope ?? r.scope) : null;
    const ok = this.o.store.answerAccessRequest(requestId, effective, this.o.now());
    if (ok) {
      this.o.log.info({ sessionId, accessRequestId: requestId, granted: effective ?? "denied" }, "consent answered");
      this.notifyAccess(requestId);
    }
    return ok;
  }

  /**
   * The user narrowed (control → view) or stopped (scope null) a grant from the app. Returns whether
   * it was applied; widening, or changing a request that is not live, is refused.
   */
  consentChanged(sessionId: string, requestId: string, scope: Scope | null): boolean {
    const r = this.o.store.accessRequest(requestId);
    if (!r || r.sessionId !== sessionId) return false;
    const change = consentChange(r, scope, this.o.now());
    if (change === "refuse") return false;
    if (change === "end") this.o.store.endGrant(requestId, this.o.now());
    else this.o.store.narrowGrant(requestId, change);
    this.o.log.info({ sessionId, accessRequestId: requestId, scope: change }, "consent changed by the user");
    this.notifyAccess(requestId);
    return true;
  }

  /**
   * On (re)activation the app lists the grants it still holds (e.g. a stream that outlived a broker
   * restart). Those stay live, narrowed if the app says so; every other live grant of the session
   * ends. Returns the ids that stay live.
   */
  reconcileGrants(sessionId: string, held: readonly { id: string; scope: Scope | null }[]): string[] {
    const kept: string[] = [];
    for (const g of this.o.store.liveGrants(sessionId)) {
      const h = held.find((x) => x.id === g.id);
      if (h && h.scope && this.consentChangedQuiet(g.id, h.scope)) kept.push(g.id);
      else if (this.o.store.endGrant(g.id, this.o.now())) this.notifyAccess(g.id);
    }
    return kept;
  }

  private consentChangedQuiet(id: string, scope: Scope): boolean {
    const r = this.o.store.accessRequest(id)!;
    const change = consentChange(r, scope, this.o.now());
    if (change === "refuse" || change === "end") return false;
    if (change !== r.grantedScope) {
      this.o.store.narrowGrant(id, change);
      this.notifyAccess(id);
    }
    return true;
  }

  /** A live grant (granted, not ended) of this technician's session, or undefined. */
  liveGrant(tech: Technician, requestId: string): AccessRequestRow | undefined {
    const r = this.o.store.accessRequest(requestId);
    const s = r && this.o.store.session(r.sessionId);
    if (!r || !s || s.technicianId !== tech.id || s.closedAt !== null) return undefined;
    return accessStatus(r, this.o.now()) === "granted" ? r : undefined;
  }

  // ---- console notifications ----------------------------------------------------------------

  private static readonly wireState: Record<SessionState, number> = {
    waiting: pb.SessionState.SESSION_STATE_WAITING,
    active: pb.SessionState.SESSION_STATE_ACTIVE,
    expired: pb.SessionState.SESSION_STATE_EXPIRED,
    closed: pb.SessionState.SESSION_STATE_CLOSED,
  };

  sessionInfo(s: SessionRow) {
    return {
      id: s.id,
      state: BrokerService.wireState[sessionState(s, this.o.now())],
      online: this.o.hub.isOnline(s.id),
      expiresAtMs: s.expiresAt,
      createdAtMs: s.createdAt,
      machineName: s.machineName ?? "",
      deleted: s.deletedAt !== null,
    };
  }

  notifySession(s: SessionRow): void {
    this.o.hub.toTechnician(s.technicianId, encodeToConsole({ session: this.sessionInfo(s) }));
  }

  private static readonly wireAccess = {
    pending: pb.AccessStatus.ACCESS_STATUS_PENDING,
    granted: pb.AccessStatus.ACCESS_STATUS_GRANTED,
    denied: pb.AccessStatus.ACCESS_STATUS_DENIED,
    expired: pb.AccessStatus.ACCESS_STATUS_EXPIRED,
    ended: pb.AccessStatus.ACCESS_STATUS_ENDED,
  } as const;

  private notifyAccess(requestId: string): void {
    const r = this.o.store.accessRequest(requestId);
    const s = r && this.o.store.session(r.sessionId);
    if (!r || !s) return;
    this.o.hub.toTechnician(
      s.technicianId,
      encodeToConsole({
        accessRequest: {
          id: r.id,
          sessionId: r.sessionId,
          scope: scopeToWire(r.scope),
          status: BrokerService.wireAccess[accessStatus(r, this.o.now())],
          grantedScope: r.grantedScope ? scopeToWire(r.grantedScope) : pb.Scope.SCOPE_UNSPECIFIED,
        },
      }),
    );
  }
}
