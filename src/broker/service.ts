/**
 * The broker's behaviour, between the transports (HTTP API, agent and console WebSockets) and the
 * store: it asks src/session for decisions and carries them out, and tells connected peers.
 */
import {
  sessionState,
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
import type { AccessRequestRow, BrokerStore, SessionAlertRow, SessionRow, Technician } from "./store.js";
import { accessInfo, accessView, sessionInfo, sessionView, type AccessRequestView, type SessionView } from "./views.js";
import { TetherError } from "./errors.js";
import { formatLink } from "../link/support-link.js";
import type { HistoryActor, HistoryEntry, HistoryKind } from "./history.js";
import type { tether } from "../gen/tether.js";
import { cleanName } from "../util/text.js";
import { MAX_FILE_NAME_CHARS as MAX_FILE_NAME } from "../session/file-transfer.js";

export type { AccessRequestView, AlertView, SessionView } from "./views.js";

export interface ServiceOptions {
  store: BrokerStore;
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

/** Chat messages per session and minute, each way (the API for the technician; the app's socket for the user). */
export const CHAT_PER_MINUTE = 60;

/** How long the app has to confirm that it told the user about a recording (ms). */
const RECORDING_ACK_MS = 5000;

/** How often a cluster node looks for what a gone node's timers would have done (startSweep). */
const SWEEP_MS = 1000;

/** How often the history's head is logged. */
const HISTORY_HEAD_LOG_MS = 3600_000;

export class BrokerService {
  private readonly timers = new Set<NodeJS.Timeout>();
  private headTimer: NodeJS.Timeout | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  constructor(private readonly o: ServiceOptions) {}

  get store() {
    return this.o.store;
  }

  /** At start: grants left live by a previous broker process end unless their app returns in time. */
  async start(): Promise<void> {
    for (const id of await this.o.store.sessionsWithLiveGrants()) this.scheduleGrantGrace(id);
    // The history's head in the log, at start and every hour: kept elsewhere (log shipping), it
    // shows a later rewrite of the history or its end cut off (see history.ts).
    const logHead = async () => {
      const head = await this.o.store.historyHead();
      if (head) this.o.log.info({ historySeq: head.seq, historyHash: head.hash }, "history head");
    };
    await logHead();
    this.headTimer = setInterval(() => void logHead().catch(() => {}), HISTORY_HEAD_LOG_MS);
    this.headTimer.unref();
  }

  dispose(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.headTimer) clearInterval(this.headTimer);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
  }

  private later(ms: number, f: () => Promise<void>): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      f().catch((err: unknown) => this.o.log.warn({ err }, "scheduled broker task failed"));
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  /** Appends to the session's history (history.ts); a failure to write it is logged, never fatal to the action. */
  private async record(sessionId: string, kind: HistoryKind, actor: HistoryActor, data: HistoryEntry["data"] = {}): Promise<void> {
    try {
      await this.o.store.appendHistory({ at: this.o.now(), sessionId, kind, actor, data });
    } catch (err) {
      this.o.log.warn({ err, sessionId, kind }, "history entry not written");
    }
  }

  // ---- chat ------------------------------------------------------------------------------------

  /**
   * A chat message into the session's history, to its technician's consoles and (from the
   * technician) to the app. `text` is cleaned already and not empty.
   */
  private async chat(s: SessionRow, from: "technician" | "user", name: string, text: string, actor: HistoryActor) {
    const e = await this.o.store.appendHistory({
      at: this.o.now(),
      sessionId: s.id,
      kind: "chat.message",
      actor,
      data: { from, name, text },
    });
    const msg = { id: String(e.seq), from, name, text, atMs: e.at, sessionId: s.id };
    this.o.hub.toTechnician(s.technicianId, encodeToConsole({ chat: msg }));
    if (from === "technician") this.o.hub.toAgent(s.id, encodeToAgent({ chat: msg }));
    return msg;
  }

  /** The technician writes to the user: only while the app is connected (it is not stored for later). */
  async chatFromTechnician(tech: Technician, sessionId: string, text: string) {
    const s = await this.ownSession(tech, sessionId);
    if (sessionState(s, this.o.now()) !== "active" || !(await this.o.hub.isOnline(s.id))) throw new TetherError("TETHER_ERR_CHAT_OFFLINE");
    return this.chat(s, "technician", tech.displayName, text, `technician:${tech.name}`);
  }

  /** When the user's chat messages of the last minute came, per session (every connection of its app counts). */
  private readonly userChatTimes = new Map<string, number[]>();

  /**
   * Whether the user may send another chat message now (CHAT_PER_MINUTE per session); counts it if
   * so. In a cluster the count is shared by the nodes (a fixed minute, cluster.ts).
   */
  private async userChatAllowed(sessionId: string): Promise<boolean> {
    const cluster = this.o.hub.cluster;
    if (cluster) return (await cluster.count(`chat-user:${sessionId}`, 60_000)).current <= CHAT_PER_MINUTE;
    const now = Date.now();
    for (const [id, times] of this.userChatTimes) {
      while (times.length && now - times[0]! > 60_000) times.shift();
      if (!times.length) this.userChatTimes.delete(id);
    }
    const times = this.userChatTimes.get(sessionId) ?? [];
    if (times.length >= CHAT_PER_MINUTE) return false;
    times.push(now);
    this.userChatTimes.set(sessionId, times);
    return true;
  }

  /** The user wrote in the app. False when the session is not open any more or the user wrote too much this minute. */
  async chatFromUser(sessionId: string, text: string): Promise<boolean> {
    const s = await this.o.store.session(sessionId);
    if (!s || s.closedAt !== null || s.deletedAt !== null) return false;
    if (!(await this.userChatAllowed(sessionId))) return false;
    await this.chat(s, "user", s.machineName ?? "", text, "user");
    return true;
  }

  /** The session's chat, oldest first (from its history). */
  async chatOf(tech: Technician, sessionId: string) {
    const s = await this.ownSession(tech, sessionId);
    return (await this.o.store.historyOf(s.id))
      .filter((e) => e.kind === "chat.message")
      .map((e) => ({
        id: String(e.seq),
        from: String(e.data["from"] ?? ""),
        name: String(e.data["name"] ?? ""),
        text: String(e.data["text"] ?? ""),
        at: new Date(e.at).toISOString(),
      }));
  }

  // ---- recording -------------------------------------------------------------------------------

  private readonly recordingAcks = new Map<string, (on: boolean) => void>();

  /**
   * The technician starts or stops recording a live grant's screen. Starting resolves once the app
   * confirmed that the user was told (RecordingShown), within RECORDING_ACK_MS; otherwise 504 and
   * nothing is recorded. Both go into the history.
   */
  async recording(tech: Technician, sessionId: string, requestId: string, on: boolean): Promise<void> {
    const r = await this.ownAccessRequest(tech, sessionId, requestId);
    if (on && (accessStatus(r, this.o.now()) !== "granted" || !(await this.o.hub.isOnline(sessionId))))
      throw new TetherError("TETHER_ERR_ACCESS_NOT_LIVE");
    // One question at a time per grant: a second start while the app is being asked would take
    // the first one's answer (or its timeout).
    if (on && this.recordingAcks.has(requestId)) throw new TetherError("TETHER_ERR_RECORDING_PENDING");
    if (on) {
      // In a cluster the app's answer may arrive at another node, which passes it on.
      let unlisten = () => {};
      const shown = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          this.recordingAcks.delete(requestId);
          unlisten();
          resolve(false);
        }, RECORDING_ACK_MS);
        timer.unref();
        this.recordingAcks.set(requestId, (ack) => {
          clearTimeout(timer);
          this.recordingAcks.delete(requestId);
          unlisten();
          resolve(ack);
        });
        unlisten = this.o.hub.listen(`tether.recording.${requestId}`, () => this.recordingAcks.get(requestId)?.(true));
      });
      this.o.hub.toAgent(sessionId, encodeToAgent({ recording: { accessRequestId: requestId, on: true } }));
      if (!(await shown)) throw new TetherError("TETHER_ERR_RECORDING_NOT_SHOWN");
      // The grant may have ended while the app was asked: then nothing starts.
      const now = await this.o.store.accessRequest(requestId);
      if (!now || accessStatus(now, this.o.now()) !== "granted") {
        this.o.hub.toAgent(sessionId, encodeToAgent({ recording: { accessRequestId: requestId, on: false } }));
        throw new TetherError("TETHER_ERR_ACCESS_NOT_LIVE");
      }
      await this.record(sessionId, "recording.started", `technician:${tech.name}`, { request: requestId });
    } else {
      this.o.hub.toAgent(sessionId, encodeToAgent({ recording: { accessRequestId: requestId, on: false } }));
      await this.record(sessionId, "recording.stopped", `technician:${tech.name}`, { request: requestId });
    }
  }

  /** The app told the user about a recording (only the "on" answer is waited for). */
  async recordingShown(sessionId: string, requestId: string, on: boolean): Promise<void> {
    const r = await this.o.store.accessRequest(requestId);
    if (!r || r.sessionId !== sessionId || !on) return;
    const ack = this.recordingAcks.get(requestId);
    if (ack) ack(true);
    else this.o.hub.announce(`tether.recording.${requestId}`);
  }

  /**
   * A tool record from the app (a file transfer ended, clipboard text moved) on a grant of the
   * session that is live or ended within five minutes: into the history, with fields bounded and
   * cleaned. False when it is not acceptable.
   */
  async toolRecord(sessionId: string, requestId: string, r: tether.v1.IToolRecord): Promise<boolean> {
    const req = await this.o.store.accessRequest(requestId);
    // Also for a grant that has just ended: the transfers it cut short are reported after its end.
    const status = req ? accessStatus(req, this.o.now()) : null;
    if (!req || req.sessionId !== sessionId || (status !== "granted" && status !== "ended")) return false;
    if (status === "ended" && req.endedAt !== null && this.o.now() - req.endedAt > 5 * 60_000) return false;
    const K = pb.ToolRecord.Kind;
    const kinds: Partial<Record<number, HistoryKind>> = {
      [K.KIND_FILE_TO_USER]: "file.to-user",
      [K.KIND_FILE_FROM_USER]: "file.from-user",
      [K.KIND_CLIPBOARD_TO_USER]: "clipboard.to-user",
      [K.KIND_CLIPBOARD_FROM_USER]: "clipboard.from-user",
    };
    const kind = kinds[r.kind ?? 0];
    const size = Number(r.size ?? 0);
    const outcome = r.outcome ?? "";
    const sha256 = r.sha256 ?? "";
    if (!kind || !Number.isSafeInteger(size) || size < 0) return false;
    if (!["done", "declined", "cancelled", "failed"].includes(outcome)) return false;
    if (sha256 !== "" && !/^[0-9a-f]{64}$/.test(sha256)) return false;
    const file = kind.startsWith("file.");
    const data: HistoryEntry["data"] = { request: requestId, outcome };
    if (file) {
      data["name"] = cleanName(r.name ?? "", MAX_FILE_NAME);
      data["bytes"] = size;
      if (sha256) data["sha256"] = sha256;
    } else data["characters"] = size;
    const reason = cleanName(r.reason ?? "", 32);
    if (reason && outcome !== "done") data["reason"] = reason;
    await this.record(sessionId, kind, "user", data);
    return true;
  }

  /** The technician's own session's history, oldest first. */
  async history(tech: Technician, sessionId: string): Promise<HistoryEntry[]> {
    const s = await this.ownSession(tech, sessionId);
    return await this.o.store.historyOf(s.id);
  }

  // ---- views ---------------------------------------------------------------------------------

  async sessionView(s: SessionRow): Promise<SessionView> {
    return sessionView(s, this.o.now(), await this.o.hub.isOnline(s.id), await this.o.store.alertsOf(s.id));
  }

  accessView(r: AccessRequestRow): AccessRequestView {
    return accessView(r, this.o.now());
  }

  /** A session as the console sees it. */
  async sessionInfo(s: SessionRow, online?: boolean) {
    return sessionInfo(s, this.o.now(), online ?? (await this.o.hub.isOnline(s.id)), await this.o.store.alertsOf(s.id));
  }

  /** A request as the console sees it. */
  accessInfo(r: AccessRequestRow) {
    return accessInfo(r, this.o.now());
  }

  // ---- technician actions ----------------------------------------------------------------------

  async createSession(
    tech: Technician,
    expiresInS: number,
    details: { label?: string | null; customer?: string | null; ticket?: string | null } = {},
  ): Promise<{ session: SessionRow; link: string }> {
    const code = newSessionCode();
    const now = this.o.now();
    const session = await this.o.store.createSession(tech.id, hashSecret(code), now, now + expiresInS * 1000, details);
    this.o.log.info({ sessionId: session.id, technician: tech.name }, "session created");
    await this.record(session.id, "session.created", `technician:${tech.name}`, {
      expiresAt: session.expiresAt,
      label: session.label,
      customer: session.customer,
      ticket: session.ticket,
    });
    await this.notifySession(session);
    return { session, link: formatLink(this.o.publicUrl(), code) };
  }

  /** The technician's own, not deleted session, or 404 (another's session looks the same as none). */
  async ownSession(tech: Technician, id: string): Promise<SessionRow> {
    const s = await this.o.store.session(id);
    if (!s || s.technicianId !== tech.id || s.deletedAt !== null) throw new TetherError("TETHER_ERR_SESSION_NOT_FOUND");
    return s;
  }

  async closeSession(tech: Technician, id: string): Promise<SessionRow> {
    const s = await this.ownSession(tech, id);
    const closed = await this.o.store.closeSession(id, this.o.now());
    if (!closed) return s; // closed already: nothing changes
    this.o.log.info({ sessionId: id }, "session closed by technician");
    await this.record(id, "session.closed", `technician:${tech.name}`);
    await this.endSession(closed, pb.SessionClosed.Reason.REASON_CLOSED);
    return closed;
  }

  async deleteSession(tech: Technician, id: string): Promise<void> {
    await this.ownSession(tech, id);
    const deleted = await this.o.store.deleteSession(id, this.o.now());
    if (!deleted) return;
    this.o.log.info({ sessionId: id }, "session deleted by technician");
    await this.record(id, "session.deleted", `technician:${tech.name}`);
    await this.endSession(deleted, pb.SessionClosed.Reason.REASON_DELETED);
  }

  /** After closure or deletion: pending requests and live grants end, the connected agent is told and let go. */
  private async endSession(s: SessionRow, reason: number): Promise<void> {
    const now = this.o.now();
    for (const r of await this.o.store.expireAccessRequests(s.id, now, true)) {
      await this.record(s.id, "access.expired", "broker", { request: r.id, why: "the session ended" });
      await this.notifyAccess(r, s.technicianId);
    }
    for (const r of await this.o.store.endGrantsOf(s.id, now)) {
      await this.record(s.id, "access.ended", "broker", { request: r.id, why: "the session ended" });
      await this.notifyAccess(r, s.technicianId);
    }
    this.o.hub.toAgent(s.id, encodeToAgent({ sessionClosed: { reason } }));
    this.o.hub.closeAgent(s.id, 1000, "session closed");
    await this.notifySession(s);
  }

  /**
   * A technician asks for access. Returns the new pending request, or (a view request while control
   * is granted) the live grant, narrowed at once without asking. `technicianFingerprint` is the
   * DTLS fingerprint of the asking console's viewer, for the safety code.
   */
  async requestAccess(
    tech: Technician,
    sessionId: string,
    scope: Scope,
    technicianFingerprint: string | null = null,
  ): Promise<{ request: AccessRequestRow; narrowed: boolean }> {
    const s = await this.ownSession(tech, sessionId);
    const now = this.o.now();
    const d = decideAccessRequest(
      s,
      now,
      await this.o.hub.isOnline(s.id),
      await this.o.store.pendingAccessRequests(s.id),
      await this.o.store.liveGrants(s.id),
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
      const narrowed = await this.o.store.narrowGrant(d.grantId, "view");
      if (!narrowed) throw new TetherError("TETHER_ERR_ACCESS_NOT_LIVE"); // it ended in between
      this.o.log.info({ sessionId: s.id, accessRequestId: d.grantId }, "grant narrowed to view by the technician");
      await this.record(s.id, "access.narrowed", `technician:${tech.name}`, { request: d.grantId, scope: "view" });
      this.o.hub.toAgent(s.id, encodeToAgent({ grantChanged: { accessRequestId: d.grantId, scope: scopeToWire("view") } }));
      await this.notifyAccess(narrowed, s.technicianId);
      return { request: narrowed, narrowed: true };
    }
    await this.o.store.expireAccessRequests(s.id, now); // tidy those past their deadline
    const req = await this.o.store.createAccessRequest(s.id, scope, now, now + this.o.consentTimeoutMs, technicianFingerprint);
    this.o.log.info({ sessionId: s.id, accessRequestId: req.id, scope }, "access requested");
    await this.record(s.id, "access.requested", `technician:${tech.name}`, { request: req.id, scope });
    this.deliverAccessRequest(req, tech);
    this.scheduleExpiry(req);
    await this.notifyAccess(req, s.technicianId);
    return { request: req, narrowed: false };
  }

  /** The technician ends a live grant (stops viewing): the app stops sharing and says so. */
  async endAccess(tech: Technician, sessionId: string, requestId: string): Promise<AccessRequestRow> {
    const r = await this.ownAccessRequest(tech, sessionId, requestId);
    const ended = await this.o.store.endGrant(r.id, this.o.now());
    if (!ended) throw new TetherError("TETHER_ERR_ACCESS_NOT_LIVE");
    this.o.log.info({ sessionId, accessRequestId: r.id }, "grant ended by the technician");
    await this.record(sessionId, "access.ended", `technician:${tech.name}`, { request: r.id });
    this.o.hub.toAgent(sessionId, encodeToAgent({ grantChanged: { accessRequestId: r.id, scope: pb.Scope.SCOPE_UNSPECIFIED } }));
    await this.notifyAccess(ended, tech.id);
    return ended;
  }

  /** The technician withdraws a request the user has not answered; the app's prompt closes. */
  async cancelAccessRequest(tech: Technician, sessionId: string, requestId: string): Promise<AccessRequestRow> {
    const r = await this.ownAccessRequest(tech, sessionId, requestId);
    const cancelled = await this.o.store.cancelAccessRequest(r.id, this.o.now());
    if (!cancelled) throw new TetherError("TETHER_ERR_ACCESS_NOT_PENDING");
    this.o.log.info({ sessionId, accessRequestId: r.id }, "access request cancelled by the technician");
    await this.record(sessionId, "access.cancelled", `technician:${tech.name}`, { request: r.id });
    this.o.hub.toAgent(
      sessionId,
      encodeToAgent({ accessRequestEnded: { id: r.id, reason: pb.AccessRequestEnded.Reason.REASON_WITHDRAWN } }),
    );
    await this.notifyAccess(cancelled, tech.id);
    return cancelled;
  }

  async ownAccessRequest(tech: Technician, sessionId: string, requestId: string): Promise<AccessRequestRow> {
    const s = await this.ownSession(tech, sessionId);
    const r = await this.o.store.accessRequest(requestId);
    if (!r || r.sessionId !== s.id) throw new TetherError("TETHER_ERR_ACCESS_REQUEST_NOT_FOUND");
    return r;
  }

  private deliverAccessRequest(req: AccessRequestRow, tech: Technician): void {
    this.o.hub.toAgent(
      req.sessionId,
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
    this.later(Math.max(0, req.expiresAt - this.o.now()) + 5, async () => {
      for (const r of await this.o.store.expireAccessRequests(req.sessionId, this.o.now())) await this.requestExpired(r);
    });
  }

  /**
   * Cluster (a PostgreSQL store): once a second, whatever the timers of a node that is gone would
   * have done. Requests past their expiry expire and grants whose app stayed away longer than the
   * grace period end, with their history entries and events, on whichever node's UPDATE takes the
   * row (the node that set the timer, if alive, usually does it first, to the millisecond).
   */
  startSweep(store: {
    expireDueAccessRequests(now: number): Promise<AccessRequestRow[]>;
    endGrantsOfAbsentApps(now: number, graceMs: number): Promise<AccessRequestRow[]>;
  }): void {
    let running = false;
    let lastWarned = 0;
    const sweep = async () => {
      if (running) return;
      running = true;
      try {
        for (const r of await store.expireDueAccessRequests(this.o.now())) await this.requestExpired(r);
        for (const r of await store.endGrantsOfAbsentApps(this.o.now(), this.o.grantGraceMs)) {
          this.o.log.info({ sessionId: r.sessionId, request: r.id }, "grant ended: the support app did not come back in time");
          await this.record(r.sessionId, "access.ended", "broker", { request: r.id, why: "the support app did not come back in time" });
          await this.notifyAccess(r);
        }
      } catch (err) {
        // The store unreachable for a moment (said once by the store's own warning): the next
        // sweep tries again. Anything else is a defect to see in the log, once a minute at most.
        if (!(err instanceof TetherError) && Date.now() - lastWarned > 60_000) {
          lastWarned = Date.now();
          this.o.log.warn({ err: (err as Error).message }, "cluster sweep failed");
        }
      } finally {
        running = false;
      }
    };
    this.sweepTimer = setInterval(() => void sweep(), SWEEP_MS);
    this.sweepTimer.unref();
  }

  private async requestExpired(r: AccessRequestRow): Promise<void> {
    await this.record(r.sessionId, "access.expired", "broker", { request: r.id, why: "the user did not answer in time" });
    this.o.hub.toAgent(
      r.sessionId,
      encodeToAgent({ accessRequestEnded: { id: r.id, reason: pb.AccessRequestEnded.Reason.REASON_EXPIRED } }),
    );
    await this.notifyAccess(r);
  }

  /** The session's app is gone (for `absentMs` already): its live grants end unless it is back within the grace period. */
  private scheduleGrantGrace(sessionId: string, absentMs = 0): void {
    this.later(Math.max(0, this.o.grantGraceMs - absentMs), async () => {
      if (await this.o.hub.isOnline(sessionId)) return; // back: reconcileGrants decided
      const ended = await this.o.store.endGrantsOf(sessionId, this.o.now());
      if (ended.length) this.o.log.info({ sessionId, grants: ended.length }, "grants ended: the support app did not come back in time");
      for (const r of ended) {
        await this.record(sessionId, "access.ended", "broker", { request: r.id, why: "the support app did not come back in time" });
        await this.notifyAccess(r);
      }
    });
  }

  // ---- agent side -----------------------------------------------------------------------------

  /**
   * Decides an activation and carries it out. Binding is one conditional UPDATE; a caller that loses
   * a race re-reads the row and decides again (then: valid if the winner was this same machine,
   * otherwise invalid).
   */
  async activate(
    code: string,
    machine: MachineIdentity,
    machineName: string,
    os: string,
  ): Promise<{ decision: ActivationDecision; session?: SessionRow }> {
    const codeHash = hashSecret(code);
    for (let attempt = 0; attempt < 2; attempt++) {
      const now = this.o.now();
      const s = await this.o.store.sessionByCodeHash(codeHash);
      const decision = decideActivation(s, machine, now);
      if (decision.kind === "bind") {
        const bound = await this.o.store.bindSession(s!.id, machine, machineName, os, now);
        if (bound) {
          await this.record(bound.id, "session.bound", "user", { machine: machineName, os, fingerprint: machine.fingerprint });
          return { decision, session: bound };
        }
        continue; // somebody else changed the row in between: decide again on fresh facts
      }
      if (decision.kind === "valid") {
        return { decision, session: (await this.o.store.touchSession(s!.id, machineName, os, now)) ?? s! };
      }
      return s ? { decision, session: s } : { decision };
    }
    return { decision: { kind: "invalid", reason: "bound-elsewhere" } };
  }

  /** A freshly activated agent is online: tell consoles, re-offer requests still waiting. */
  async agentOnline(session: SessionRow): Promise<void> {
    await this.record(session.id, "app.connected", "user", { machine: session.machineName });
    await this.notifySession(session);
    const tech = await this.o.store.technicianById(session.technicianId);
    const now = this.o.now();
    for (const r of await this.o.store.pendingAccessRequests(session.id)) {
      if (tech && accessStatus(r, now) === "pending") this.deliverAccessRequest(r, tech);
    }
  }

  /** The session's app connection closed; the app counts as gone for `absentMs` already (default 0). */
  async agentOffline(sessionId: string, absentMs = 0): Promise<void> {
    const s = await this.o.store.session(sessionId);
    // Last seen when it was last heard (a dead connection is noticed only after its silence).
    const touched = s && (await this.o.store.touchSession(s.id, s.machineName ?? "", s.machineOs ?? "", this.o.now() - absentMs));
    if (touched) {
      await this.record(s.id, "app.disconnected", "broker", absentMs > 0 ? { silentForMs: absentMs } : {});
      await this.notifySession(touched);
      if ((await this.o.store.liveGrants(s.id)).length > 0) this.scheduleGrantGrace(s.id, absentMs);
    }
  }

  /**
   * Cluster: the node that held the session's app is gone (killed, or cut off longer than its
   * lease). The app is offline from the consoles' view, and its live grants end now: the next
   * request asks the user again.
   */
  async agentLost(sessionId: string): Promise<void> {
    const s = await this.o.store.session(sessionId);
    const touched = s && (await this.o.store.touchSession(s.id, s.machineName ?? "", s.machineOs ?? "", this.o.now()));
    if (!touched) return;
    this.o.log.info({ sessionId }, "support app lost with its broker node");
    await this.record(s.id, "app.disconnected", "broker", { why: "its broker node stopped" });
    // The app may have come back through another node meanwhile: then consoles see it gone and at
    // once back (never offline while it is connected), and it is told that the grants it kept have
    // ended (the next request asks the user again).
    const back = await this.o.hub.isOnline(sessionId);
    await this.notifySession(touched, false);
    if (back) await this.notifySession(touched, true);
    for (const r of await this.o.store.endGrantsOf(s.id, this.o.now())) {
      await this.record(s.id, "access.ended", "broker", { request: r.id, why: "the broker node holding the support app stopped" });
      if (back) this.o.hub.toAgent(s.id, encodeToAgent({ grantChanged: { accessRequestId: r.id, scope: pb.Scope.SCOPE_UNSPECIFIED } }));
      await this.notifyAccess(r, s.technicianId);
    }
  }

  /**
   * Another connection of this session's app (another process: a second start, or a copy of the
   * identity on another computer) pushed the previous one off. The technician is alerted.
   */
  async agentReplaced(sessionId: string, previousMachine: string, newMachine: string): Promise<void> {
    const a: SessionAlertRow = { sessionId, kind: "replaced", at: this.o.now(), previousMachine, newMachine };
    await this.o.store.addAlert(a);
    this.o.log.warn({ sessionId, previousMachine, newMachine }, "support app replaced by another copy");
    await this.record(sessionId, "session.alert", "broker", { alert: "replaced", previousMachine, newMachine });
    const s = await this.o.store.session(sessionId);
    if (s) await this.notifySession(s);
  }

  /** The app prepared its end for a pending request: its DTLS fingerprint, for the console's safety code. */
  async accessPrepared(sessionId: string, requestId: string, fingerprint: string): Promise<boolean> {
    const r = await this.o.store.accessRequest(requestId);
    const prepared = r && r.sessionId === sessionId ? await this.o.store.setAgentFingerprint(requestId, fingerprint) : undefined;
    if (!prepared) return false;
    await this.notifyAccess(prepared);
    return true;
  }

  /** The user's answer. Returns whether it was recorded (false: the request was no longer pending). */
  async recordConsent(sessionId: string, requestId: string, granted: boolean, scope: Scope | null): Promise<boolean> {
    const r = await this.o.store.accessRequest(requestId);
    if (!r || r.sessionId !== sessionId) return false;
    const effective = granted ? grantedScope(r.scope, scope ?? r.scope) : null;
    const answered = await this.o.store.answerAccessRequest(requestId, effective, this.o.now());
    if (!answered) return false;
    this.o.log.info({ sessionId, accessRequestId: requestId, granted: effective ?? "denied" }, "consent answered");
    if (effective) await this.record(sessionId, "access.granted", "user", { request: requestId, scope: effective });
    else await this.record(sessionId, "access.denied", "user", { request: requestId });
    await this.notifyAccess(answered);
    return true;
  }

  /**
   * The user narrowed (control → view) or stopped (scope null) a grant from the app. Returns whether
   * it was applied; widening, or changing a request that is not live, is refused.
   */
  async consentChanged(sessionId: string, requestId: string, scope: Scope | null): Promise<boolean> {
    const r = await this.o.store.accessRequest(requestId);
    if (!r || r.sessionId !== sessionId) return false;
    const change = consentChange(r, scope, this.o.now());
    if (change === "refuse") return false;
    const changed =
      change === "end" ? await this.o.store.endGrant(requestId, this.o.now()) : await this.o.store.narrowGrant(requestId, change);
    if (!changed) return false; // it ended in between
    this.o.log.info({ sessionId, accessRequestId: requestId, scope: change }, "consent changed by the user");
    if (change === "end") await this.record(sessionId, "access.ended", "user", { request: requestId });
    else await this.record(sessionId, "access.narrowed", "user", { request: requestId, scope: change });
    await this.notifyAccess(changed);
    return true;
  }

  /**
   * On (re)activation the app lists the grants it still holds (e.g. a stream that outlived a broker
   * restart). Those stay live, narrowed if the app says so; every other live grant of the session
   * ends. `absentMs`: how long the app was away (its previous connection died without closing);
   * longer than the grace period ends every grant. Returns the ids that stay live.
   */
  async reconcileGrants(sessionId: string, held: readonly { id: string; scope: Scope | null }[], absentMs = 0): Promise<string[]> {
    const kept: string[] = [];
    // Back after longer than the grace period (its previous connection died without closing): nothing is kept.
    const tooLate = absentMs > this.o.grantGraceMs;
    for (const g of await this.o.store.liveGrants(sessionId)) {
      const h = tooLate ? undefined : held.find((x) => x.id === g.id);
      const change = h?.scope ? consentChange(g, h.scope, this.o.now()) : "end";
      if (change === "refuse" || change === "end") {
        const ended = await this.o.store.endGrant(g.id, this.o.now());
        if (ended) {
          const why = tooLate ? "the support app was away longer than the grace period" : "the support app no longer holds it";
          await this.record(sessionId, "access.ended", "broker", { request: g.id, why });
          await this.notifyAccess(ended);
        }
        continue;
      }
      kept.push(g.id);
      if (change !== g.grantedScope) {
        const narrowed = await this.o.store.narrowGrant(g.id, change);
        if (narrowed) {
          await this.record(sessionId, "access.narrowed", "user", { request: g.id, scope: change });
          await this.notifyAccess(narrowed);
        }
      }
    }
    return kept;
  }

  /** A live grant (granted, not ended) of this technician's session, or undefined. */
  async liveGrant(tech: Technician, requestId: string): Promise<AccessRequestRow | undefined> {
    const r = await this.o.store.accessRequest(requestId);
    const s = r && (await this.o.store.session(r.sessionId));
    if (!r || !s || s.technicianId !== tech.id || s.closedAt !== null) return undefined;
    return accessStatus(r, this.o.now()) === "granted" ? r : undefined;
  }

  // ---- console notifications ----------------------------------------------------------------

  /** Sends a session's state to its technician's consoles (`online`, when the caller knows it). */
  async notifySession(s: SessionRow, online?: boolean): Promise<void> {
    this.o.hub.toTechnician(s.technicianId, encodeToConsole({ session: await this.sessionInfo(s, online) }));
  }

  /** A session's newest access request, if it has any (a console that connects is told it). */
  async latestAccess(sessionId: string): Promise<AccessRequestRow | undefined> {
    return await this.o.store.latestAccessRequest(sessionId);
  }

  /** Sends a request's state to its technician's consoles (`technicianId`, when the caller knows it). */
  async notifyAccess(r: AccessRequestRow, technicianId?: string): Promise<void> {
    technicianId ??= (await this.o.store.session(r.sessionId))?.technicianId;
    if (technicianId) this.o.hub.toTechnician(technicianId, encodeToConsole({ accessRequest: this.accessInfo(r) }));
  }
}
