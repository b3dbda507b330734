/**
 * The broker's behaviour, between the transports (HTTP API, agent and console WebSockets) and the
 * store: it asks src/session for decisions and carries them out, and tells connected peers.
 */
import {
  accessStatus,
  consentChange,
  decideAccessRequest,
  decideActivation,
  grantedScope,
  type ActivationDecision,
  type MachineIdentity,
  type Scope,
} from "../session/rules.js";
import { encodeToAgent, encodeToConsole, pb, scopeToWire } from "../proto/wire.js";
import { hashSecret, newSessionCode } from "../util/secrets.js";
import type { Hub } from "./hub.js";
import type { AccessRequestRow, SessionAlertRow, SessionRow, Store, Technician } from "./store.js";
import { accessInfo, accessView, sessionInfo, sessionView, type AccessRequestView, type SessionView } from "./views.js";
import { TetherError } from "./errors.js";
import { formatLink } from "../link/support-link.js";

export type { AccessRequestView, AlertView, SessionView } from "./views.js";

export interface ServiceOptions {
  store: Store;
  hub: Hub;
  now: () => number;
  /** Base of the links handed out, e.g. "http://127.0.0.1:8080". */
  publicUrl: () => string;
  /** How long an access request waits for the user's answer, ms. */
  consentTimeoutMs: number;
  /**
   * How long a live grant outlives its app's connection, ms: an app that comes back within it (a
   * network drop, a broker restart) keeps streaming without a new consent; after it the grant ends.
   */
  grantGraceMs: number;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

export class BrokerService {
  private readonly timers = new Set<NodeJS.Timeout>();
  constructor(private readonly o: ServiceOptions) {}

  get store() {
    return this.o.store;
  }

  /** At start: grants left live by a previous broker process end unless their app returns in time. */
  start(): void {
    for (const id of this.o.store.sessionsWithLiveGrants()) this.scheduleGrantGrace(id);
  }

  dispose(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private later(ms: number, f: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      f();
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  // ---- views ---------------------------------------------------------------------------------

  sessionView(s: SessionRow): SessionView {
    return sessionView(s, this.o.now(), this.o.hub.isOnline(s.id), this.o.store.alertsOf(s.id));
  }

  accessView(r: AccessRequestRow): AccessRequestView {
    return accessView(r, this.o.now());
  }

  /** A session as the console sees it. */
  sessionInfo(s: SessionRow) {
    return sessionInfo(s, this.o.now(), this.o.hub.isOnline(s.id), this.o.store.alertsOf(s.id));
  }

  /** A request as the console sees it. */
  accessInfo(r: AccessRequestRow) {
    return accessInfo(r, this.o.now());
  }

  // ---- technician actions ----------------------------------------------------------------------

  createSession(tech: Technician, expiresInS: number): { session: SessionRow; link: string } {
    const code = newSessionCode();
    const now = this.o.now();
    const session = this.o.store.createSession(tech.id, hashSecret(code), now, now + expiresInS * 1000);
    this.o.log.info({ sessionId: session.id, technician: tech.name }, "session created");
    this.notifySession(session);
    return { session, link: formatLink(this.o.publicUrl(), code) };
  }

  /** The technician's own, not deleted session, or 404 (another's session looks the same as none). */
  ownSession(tech: Technician, id: string): SessionRow {
    const s = this.o.store.session(id);
    if (!s || s.technicianId !== tech.id || s.deletedAt !== null) throw new TetherError("TETHER_ERR_SESSION_NOT_FOUND");
    return s;
  }

  closeSession(tech: Technician, id: string): SessionRow {
    const s = this.ownSession(tech, id);
    const closed = this.o.store.closeSession(id, this.o.now());
    if (!closed) return s; // closed already: nothing changes
    this.o.log.info({ sessionId: id }, "session closed by technician");
    this.endSession(closed, pb.SessionClosed.Reason.REASON_CLOSED);
    return closed;
  }

  deleteSession(tech: Technician, id: string): void {
    this.ownSession(tech, id);
    const deleted = this.o.store.deleteSession(id, this.o.now());
    if (!deleted) return;
    this.o.log.info({ sessionId: id }, "session deleted by technician");
    this.endSession(deleted, pb.SessionClosed.Reason.REASON_DELETED);
  }

  /** After closure or deletion: pending requests and live grants end, the connected agent is told and let go. */
  private endSession(s: SessionRow, reason: number): void {
    const now = this.o.now();
    for (const r of this.o.store.expireAccessRequests(s.id, now, true)) this.notifyAccess(r, s.technicianId);
    for (const r of this.o.store.endGrantsOf(s.id, now)) this.notifyAccess(r, s.technicianId);
    const agent = this.o.hub.agent(s.id);
    if (agent) {
      agent.send(encodeToAgent({ sessionClosed: { reason } }));
      agent.close(1000, "session closed");
    }
    this.notifySession(s);
  }

  /**
   * A technician asks for access. Returns the new pending request, or (a view request while control
   * is granted) the live grant, narrowed at once without asking. `technicianFingerprint` is the
   * DTLS fingerprint of the asking console's viewer, for the safety code.
   */
  requestAccess(
    tech: Technician,
    sessionId: string,
    scope: Scope,
    technicianFingerprint: string | null = null,
  ): { request: AccessRequestRow; narrowed: boolean } {
    const s = this.ownSession(tech, sessionId);
    const now = this.o.now();
    const d = decideAccessRequest(
      s,
      now,
      this.o.hub.isOnline(s.id),
      this.o.store.pendingAccessRequests(s.id),
      this.o.store.liveGrants(s.id),
      scope,
    );
    if (d.kind === "refuse") {
      throw new TetherError(
        (
          {
            "not-active": "TETHER_ERR_SESSION_NOT_ACTIVE",
            offline: "TETHER_ERR_AGENT_OFFLINE",
            "already-pending": "TETHER_ERR_ACCESS_PENDING",
            "already-granted": "TETHER_ERR_ACCESS_GRANTED",
          } as const
        )[d.why],
      );
    }
    if (d.kind === "narrow") {
      const narrowed = this.o.store.narrowGrant(d.grantId, "view");
      if (!narrowed) throw new TetherError("TETHER_ERR_ACCESS_NOT_LIVE"); // it ended in between
      this.o.log.info({ sessionId: s.id, accessRequestId: d.grantId }, "grant narrowed to view by the technician");
      this.o.hub.agent(s.id)?.send(encodeToAgent({ grantChanged: { accessRequestId: d.grantId, scope: scopeToWire("view") } }));
      this.notifyAccess(narrowed, s.technicianId);
      return { request: narrowed, narrowed: true };
    }
    this.o.store.expireAccessRequests(s.id, now); // tidy those past their deadline
    const req = this.o.store.createAccessRequest(s.id, scope, now, now + this.o.consentTimeoutMs, technicianFingerprint);
    this.o.log.info({ sessionId: s.id, accessRequestId: req.id, scope }, "access requested");
    this.deliverAccessRequest(req, tech);
    this.scheduleExpiry(req);
    this.notifyAccess(req, s.technicianId);
    return { request: req, narrowed: false };
  }

  /** The technician ends a live grant (stops viewing): the app stops sharing and says so. */
  endAccess(tech: Technician, sessionId: string, requestId: string): AccessRequestRow {
    const r = this.ownAccessRequest(tech, sessionId, requestId);
    const ended = this.o.store.endGrant(r.id, this.o.now());
    if (!ended) throw new TetherError("TETHER_ERR_ACCESS_NOT_LIVE");
    this.o.log.info({ sessionId, accessRequestId: r.id }, "grant ended by the technician");
    this.o.hub.agent(sessionId)?.send(encodeToAgent({ grantChanged: { accessRequestId: r.id, scope: pb.Scope.SCOPE_UNSPECIFIED } }));
    this.notifyAccess(ended, tech.id);
    return ended;
  }

  /** The technician withdraws a request the user has not answered; the app's prompt closes. */
  cancelAccessRequest(tech: Technician, sessionId: string, requestId: string): AccessRequestRow {
    const r = this.ownAccessRequest(tech, sessionId, requestId);
    const cancelled = this.o.store.cancelAccessRequest(r.id, this.o.now());
    if (!cancelled) throw new TetherError("TETHER_ERR_ACCESS_NOT_PENDING");
    this.o.log.info({ sessionId, accessRequestId: r.id }, "access request cancelled by the technician");
    this.o.hub
      .agent(sessionId)
      ?.send(encodeToAgent({ accessRequestEnded: { id: r.id, reason: pb.AccessRequestEnded.Reason.REASON_WITHDRAWN } }));
    this.notifyAccess(cancelled, tech.id);
    return cancelled;
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
          expiresInMs: Math.max(0, Math.min(req.expiresAt - this.o.now(), 0xffffffff)),
          technicianFingerprint: req.technicianFingerprint ?? "",
        },
      }),
    );
  }

  private scheduleExpiry(req: AccessRequestRow): void {
    this.later(Math.max(0, req.expiresAt - this.o.now()) + 5, () => {
      const expired = this.o.store.expireAccessRequests(req.sessionId, this.o.now());
      for (const r of expired) {
        this.o.hub
          .agent(req.sessionId)
          ?.send(encodeToAgent({ accessRequestEnded: { id: r.id, reason: pb.AccessRequestEnded.Reason.REASON_EXPIRED } }));
        this.notifyAccess(r);
      }
    });
  }

  /** The session's app is gone: its live grants end unless it is back within the grace period. */
  private scheduleGrantGrace(sessionId: string): void {
    this.later(this.o.grantGraceMs, () => {
      if (this.o.hub.isOnline(sessionId)) return; // back: reconcileGrants decided
      const ended = this.o.store.endGrantsOf(sessionId, this.o.now());
      if (ended.length) this.o.log.info({ sessionId, grants: ended.length }, "grants ended: the support app did not come back in time");
      for (const r of ended) this.notifyAccess(r);
    });
  }

  // ---- agent side -----------------------------------------------------------------------------

  /**
   * Decides an activation and carries it out. Binding is one conditional UPDATE; a caller that loses
   * a race re-reads the row and decides again (then: valid if the winner was this same machine,
   * otherwise invalid).
   */
  activate(
    code: string,
    machine: MachineIdentity,
    machineName: string,
    os: string,
  ): { decision: ActivationDecision; session?: SessionRow } {
    const codeHash = hashSecret(code);
    for (let attempt = 0; attempt < 2; attempt++) {
      const now = this.o.now();
      const s = this.o.store.sessionByCodeHash(codeHash);
      const decision = decideActivation(s, machine, now);
      if (decision.kind === "bind") {
        const bound = this.o.store.bindSession(s!.id, machine, machineName, os, now);
        if (bound) return { decision, session: bound };
        continue; // somebody else changed the row in between: decide again on fresh facts
      }
      if (decision.kind === "valid") {
        return { decision, session: this.o.store.touchSession(s!.id, machineName, os, now) ?? s! };
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
    const touched = s && this.o.store.touchSession(s.id, s.machineName ?? "", s.machineOs ?? "", this.o.now());
    if (touched) {
      this.notifySession(touched);
      if (this.o.store.liveGrants(s.id).length > 0) this.scheduleGrantGrace(s.id);
    }
  }

  /**
   * Another connection of this session's app (another process: a second start, or a copy of the
   * identity on another computer) pushed the previous one off. The technician is alerted.
   */
  agentReplaced(sessionId: string, previousMachine: string, newMachine: string): void {
    const a: SessionAlertRow = { sessionId, kind: "replaced", at: this.o.now(), previousMachine, newMachine };
    this.o.store.addAlert(a);
    this.o.log.warn({ sessionId, previousMachine, newMachine }, "support app replaced by another copy");
    const s = this.o.store.session(sessionId);
    if (s) this.notifySession(s);
  }

  /** The app prepared its end for a pending request: its DTLS fingerprint, for the console's safety code. */
  accessPrepared(sessionId: string, requestId: string, fingerprint: string): boolean {
    const r = this.o.store.accessRequest(requestId);
    const prepared = r && r.sessionId === sessionId ? this.o.store.setAgentFingerprint(requestId, fingerprint) : undefined;
    if (!prepared) return false;
    this.notifyAccess(prepared);
    return true;
  }

  /** The user's answer. Returns whether it was recorded (false: the request was no longer pending). */
  recordConsent(sessionId: string, requestId: string, granted: boolean, scope: Scope | null): boolean {
    const r = this.o.store.accessRequest(requestId);
    if (!r || r.sessionId !== sessionId) return false;
    const effective = granted ? grantedScope(r.scope, scope ?? r.scope) : null;
    const answered = this.o.store.answerAccessRequest(requestId, effective, this.o.now());
    if (!answered) return false;
    this.o.log.info({ sessionId, accessRequestId: requestId, granted: effective ?? "denied" }, "consent answered");
    this.notifyAccess(answered);
    return true;
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
    const changed = change === "end" ? this.o.store.endGrant(requestId, this.o.now()) : this.o.store.narrowGrant(requestId, change);
    if (!changed) return false; // it ended in between
    this.o.log.info({ sessionId, accessRequestId: requestId, scope: change }, "consent changed by the user");
    this.notifyAccess(changed);
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
      const change = h?.scope ? consentChange(g, h.scope, this.o.now()) : "end";
      if (change === "refuse" || change === "end") {
        const ended = this.o.store.endGrant(g.id, this.o.now());
        if (ended) this.notifyAccess(ended);
        continue;
      }
      kept.push(g.id);
      if (change !== g.grantedScope) {
        const narrowed = this.o.store.narrowGrant(g.id, change);
        if (narrowed) this.notifyAccess(narrowed);
      }
    }
    return kept;
  }

  /** A live grant (granted, not ended) of this technician's session, or undefined. */
  liveGrant(tech: Technician, requestId: string): AccessRequestRow | undefined {
    const r = this.o.store.accessRequest(requestId);
    const s = r && this.o.store.session(r.sessionId);
    if (!r || !s || s.technicianId !== tech.id || s.closedAt !== null) return undefined;
    return accessStatus(r, this.o.now()) === "granted" ? r : undefined;
  }

  // ---- console notifications ----------------------------------------------------------------

  notifySession(s: SessionRow): void {
    this.o.hub.toTechnician(s.technicianId, encodeToConsole({ session: this.sessionInfo(s) }));
  }

  /** A session's newest access request, if it has any (a console that connects is told it). */
  latestAccess(sessionId: string): AccessRequestRow | undefined {
    return this.o.store.latestAccessRequest(sessionId);
  }

  /** Sends a request's state to its technician's consoles (`technicianId`, when the caller knows it). */
  notifyAccess(r: AccessRequestRow, technicianId = this.o.store.session(r.sessionId)?.technicianId): void {
    if (technicianId) this.o.hub.toTechnician(technicianId, encodeToConsole({ accessRequest: this.accessInfo(r) }));
  }
}
