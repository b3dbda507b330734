/**
 * The technician console: sign-in, the live list of the technician's sessions (console WebSocket),
 * creating sessions, requesting access, closing and deleting, and the viewer once access is
 * granted. Served by the broker at `/` under a strict CSP (no inline script or style).
 */
import { api, ApiError, loginMessage, type ChatView, type Me } from "./api.js";
import { AppStatusBanner } from "./app-status.js";
import { byId, show } from "./dom.js";
import { accessKey, applySession, customExpiry, displayState, scopeName, sessionMatches, sortSessions } from "./model.js";
import { pb, type AccessRequestInfo, type BrokerToConsole, type IceServerProps, type SessionInfo } from "./proto.js";
import { renderChatRow, renderHistoryRow, renderRow, type RowActions, type RowState } from "./sessions.js";
import { ConsoleSocket, type LinkState } from "./socket.js";
import { Viewer } from "./viewer/viewer.js";
import { viewerCertificate, type ViewerCertificate } from "./viewer/certificate.js";
import { safetyCode } from "../session/safety-code.js";

type AccessState = Pick<AccessRequestInfo, "id" | "sessionId" | "status" | "scope" | "grantedScope">;

/** A viewer id for a ViewerReady: random, URL-safe. */
function newViewerId(): string {
  const b = crypto.getRandomValues(new Uint8Array(12));
  return "v_" + Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** Signals that arrive before their viewer exists (at most this many per request). */
const EARLY_SIGNALS = 64;

class ConsoleApp {
  private me: Me | null = null;
  private socket: ConsoleSocket | null = null;
  private iceServers: IceServerProps[] = [];
  /** The broker's file size limit (bytes), from its IceConfig. */
  private maxFileBytes = 0;
  private readonly sessions = new Map<string, SessionInfo>();
  /** The latest access request per session. */
  private readonly access = new Map<string, AccessState>();
  /** Requests made from this page: a grant opens the viewer. */
  private readonly mine = new Set<string>();
  private readonly early = new Map<string, Uint8Array[]>();
  private readonly messages = new Map<string, { text: string; error: boolean }>();
  private readonly confirming = new Set<string>();
  private readonly confirmingClose = new Set<string>();
  /** Safety codes of pending requests made from this browser, by request id. */
  private readonly codes = new Map<string, string>();
  /** The certificate this browser's viewers present (null until loaded, or if it cannot be kept). */
  private cert: ViewerCertificate | null = null;
  private readonly busy = new Set<string>();
  /** Chat messages by session (loaded when its panel opens; live ones added as they come). */
  private readonly chats = new Map<string, ChatView[]>();
  private readonly chatOpen = new Set<string>();
  private readonly unread = new Map<string, number>();
  private readonly chatErrors = new Map<string, string>();
  private readonly chatDrafts = new Map<string, string>();
  /** Open history panels, by session id. */
  private readonly histories = new Map<string, NonNullable<RowState["history"]>>();
  private viewer: Viewer | null = null;
  /** Warns when links created now would have no download (the support app is not built). */
  private readonly appStatus = new AppStatusBanner(byId("app-status", HTMLParagraphElement));
  private tick: ReturnType<typeof setInterval> | null = null;

  private readonly el = {
    loading: byId("loading", HTMLElement),
    login: byId("login", HTMLElement),
    app: byId("app", HTMLElement),
    who: byId("who", HTMLSpanElement),
    signOut: byId("sign-out", HTMLButtonElement),
    linkState: byId("link-state", HTMLSpanElement),
    loginForm: byId("login-form", HTMLFormElement),
    loginName: byId("login-name", HTMLInputElement),
    loginPassword: byId("login-password", HTMLInputElement),
    loginError: byId("login-error", HTMLParagraphElement),
    createForm: byId("create-form", HTMLFormElement),
    preset: byId("expiry-preset", HTMLSelectElement),
    custom: byId("custom-expiry", HTMLSpanElement),
    amount: byId("expiry-amount", HTMLInputElement),
    unit: byId("expiry-unit", HTMLSelectElement),
    createError: byId("create-error", HTMLParagraphElement),
    createLabel: byId("create-label", HTMLInputElement),
    createCustomer: byId("create-customer", HTMLInputElement),
    createTicket: byId("create-ticket", HTMLInputElement),
    search: byId("session-search", HTMLInputElement),
    noMatches: byId("no-matches", HTMLParagraphElement),
    created: byId("created", HTMLDivElement),
    createdLink: byId("created-link", HTMLInputElement),
    copy: byId("copy-link", HTMLButtonElement),
    copyNote: byId("copy-note", HTMLParagraphElement),
    rows: byId("sessions", HTMLTableSectionElement),
    table: byId("sessions-table", HTMLTableElement),
    empty: byId("no-sessions", HTMLParagraphElement),
  };

  async start(): Promise<void> {
    this.el.loginForm.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.login();
    });
    this.el.signOut.addEventListener("click", () => void this.logout());
    this.el.preset.addEventListener("change", () => show(this.el.custom, this.el.preset.value === "custom"));
    this.el.createForm.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.create();
    });
    this.el.copy.addEventListener("click", () => void this.copyLink());
    this.el.search.addEventListener("input", () => this.render());
    this.el.createdLink.addEventListener("focus", () => this.el.createdLink.select());
    try {
      this.signedIn(await api.me());
    } catch {
      this.signedOut();
    }
  }

  // ---- sign-in ------------------------------------------------------------------------------

  private async login(): Promise<void> {
    show(this.el.loginError, false);
    try {
      const r = await api.login(this.el.loginName.value.trim(), this.el.loginPassword.value);
      this.el.loginPassword.value = "";
      this.signedIn(r.technician);
    } catch (e) {
      this.el.loginError.textContent = loginMessage(e);
      show(this.el.loginError, true);
      this.el.loginPassword.select();
    }
  }

  private async logout(): Promise<void> {
    try {
      await api.logout();
    } catch {
      // the cookie may be gone already; sign out here either way
    }
    this.signedOut();
  }

  private signedIn(me: Me): void {
    this.me = me;
    this.el.who.textContent = me.displayName && me.displayName !== me.name ? `${me.displayName} (${me.name})` : me.name;
    show(this.el.who, true);
    show(this.el.signOut, true);
    show(this.el.loading, false);
    show(this.el.login, false);
    show(this.el.app, true);
    this.render();
    void this.appStatus.refresh();
    const url = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/ws/console`;
    this.socket = new ConsoleSocket(url, {
      message: (m) => this.onMessage(m),
      state: (s) => this.linkState(s),
      refused: async () => {
        try {
          await api.me();
          return true; // still signed in: the broker is restarting or unreachable
        } catch (e) {
          if (e instanceof ApiError && e.status === 401) {
            this.signedOut("Your sign-in has ended. Please sign in again.");
            return false;
          }
          return true;
        }
      },
    });
    this.socket.start();
    this.tick = setInterval(() => this.render(), 15_000); // relative times, local expiry
    void viewerCertificate().then((c) => (this.cert = c));
  }

  private signedOut(message?: string): void {
    this.me = null;
    this.socket?.stop();
    this.socket = null;
    if (this.tick) clearInterval(this.tick);
    this.tick = null;
    this.viewer?.close();
    this.viewer = null;
    for (const m of [this.sessions, this.access, this.early, this.messages, this.codes]) m.clear();
    this.mine.clear();
    this.confirming.clear();
    this.confirmingClose.clear();
    this.el.createdLink.value = "";
    show(this.el.created, false);
    show(this.el.who, false);
    show(this.el.signOut, false);
    show(this.el.linkState, false);
    show(this.el.loading, false);
    show(this.el.app, false);
    show(this.el.login, true);
    this.el.loginError.textContent = message ?? "";
    show(this.el.loginError, !!message);
    this.el.loginName.focus();
  }

  private linkState(s: LinkState): void {
    this.el.linkState.textContent = s === "online" ? "live" : s === "connecting" ? "connecting…" : "reconnecting…";
    this.el.linkState.className = `link-state link-${s}`;
    show(this.el.linkState, true);
  }

  // ---- live updates -------------------------------------------------------------------------

  private onMessage(m: BrokerToConsole): void {
    switch (m.body) {
      case "iceConfig":
        this.iceServers = m.iceConfig?.iceServers ?? [];
        if (!m.iceConfig?.renewal) this.maxFileBytes = Number(m.iceConfig?.maxFileBytes ?? 0);
        // A renewal: fresh TURN credentials for the open viewer too (the app restarts ICE on a
        // relayed connection now, and this end's new candidates need them).
        if (m.iceConfig?.renewal) {
          this.viewer?.setIceServers(this.iceServers);
          break;
        }
        // First on every (re)connect, followed by each session afresh: forget any deleted meanwhile.
        this.sessions.clear();
        this.render();
        break;
      case "session": {
        const s = m.session as SessionInfo;
        applySession(this.sessions, s);
        if (s.deleted || displayClosed(s)) this.sessionEnded(s);
        if (this.histories.has(s.id)) void this.loadHistory(s.id); // its history grew
        this.render();
        break;
      }
      case "chat": {
        const c = m.chat;
        const id = c?.sessionId ?? "";
        if (!c || !id) break;
        const isNew = this.addChat(id, {
          id: c.id ?? "",
          from: c.from ?? "",
          name: c.name ?? "",
          text: c.text ?? "",
          at: new Date(Number(c.atMs ?? 0)).toISOString(),
        });
        if (isNew && c.from === "user" && !this.chatOpen.has(id)) {
          this.unread.set(id, (this.unread.get(id) ?? 0) + 1);
          this.updateTitle();
        }
        this.render();
        break;
      }
      case "accessRequest":
        if (m.accessRequest) this.onAccess(m.accessRequest as AccessRequestInfo);
        if (m.accessRequest?.sessionId && this.histories.has(m.accessRequest.sessionId)) void this.loadHistory(m.accessRequest.sessionId);
        break;
      case "signal": {
        const id = m.signal?.accessRequestId ?? "";
        const viewerId = m.signal?.viewerId ?? "";
        const payload = m.signal?.payload ?? new Uint8Array();
        // Each viewer takes only its own connection's signals (another window may have its own).
        if (this.viewer && this.viewer.accessRequestId === id && this.viewer.viewerId === viewerId) this.viewer.signal(payload);
        else if (viewerId === "" && this.mine.has(id) && (!this.viewer || this.viewer.accessRequestId !== id)) {
          const q = this.early.get(id) ?? [];
          if (q.length < EARLY_SIGNALS) q.push(payload);
          this.early.set(id, q);
        }
        break;
      }
      case "error":
        // e.g. a signal after the grant ended: the viewer learns it from the access request update.
        break;
      default:
        break;
    }
  }

  private sessionEnded(s: SessionInfo): void {
    if (this.viewer && this.viewer.sessionId === s.id) {
      this.viewer.end(s.deleted ? "The session was deleted." : "The session was closed.");
    }
    this.confirming.delete(s.id);
    this.confirmingClose.delete(s.id);
  }

  private onAccess(r: AccessRequestInfo): void {
    this.access.set(r.sessionId, r);
    const key = accessKey(r.status);
    // The prompt's safety code, once the app has prepared: only for requests from this browser.
    const mineFp = this.cert?.fingerprint;
    if (key === "pending" && r.agentFingerprint && mineFp && r.technicianFingerprint === mineFp && !this.codes.has(r.id)) {
      void safetyCode(r.agentFingerprint, mineFp).then((c) => {
        if (c) this.codes.set(r.id, c);
        this.render();
      });
    }
    const v = this.viewer;
    if (v && v.accessRequestId === r.id) {
      if (key === "granted") v.setScope(scopeName(r.grantedScope));
      else if (key === "ended") v.end("The user stopped sharing their screen.");
      else if (key !== "pending") v.end("Remote access ended.");
    } else if (key === "granted" && this.mine.has(r.id) && (!v || v.isEnded)) {
      this.openViewer(r);
    }
    if (key !== "pending" && key !== "granted") this.early.delete(r.id);
    this.render();
  }

  /**
   * Opens the viewer on a grant: `viewerId` "" takes the connection the app opened on consent (a
   * request made in this window); any other id asks the app for a new one (ViewerReady).
   */
  private openViewer(r: AccessState, viewerId = ""): void {
    this.viewer?.close();
    const s = this.sessions.get(r.sessionId);
    const id = r.id;
    const sessionId = r.sessionId;
    this.viewer = new Viewer({
      accessRequestId: id,
      sessionId,
      viewerId,
      certificate: this.cert?.certificate ?? null,
      title: s?.machineName ?? "",
      scope: scopeName(r.grantedScope),
      iceServers: this.iceServers,
      maxFileBytes: this.maxFileBytes,
      sendSignal: (payload) => {
        this.socket?.send({ signal: { accessRequestId: id, payload, viewerId } });
      },
      setRecording: async (on) => {
        await api.recording(sessionId, id, on);
      },
      onClose: (stopped) => {
        this.viewer = null;
        this.render();
        // "Stop viewing" ends the grant: the user's app stops sharing and says so.
        if (stopped)
          void this.act(sessionId, async () => {
            await api.endAccess(sessionId, id);
            return "You stopped viewing; the user's app stopped sharing.";
          });
      },
    });
    if (viewerId) this.socket?.send({ viewerReady: { accessRequestId: id, viewerId } });
    for (const p of this.early.get(id) ?? []) this.viewer.signal(p);
    this.early.delete(id);
    this.render();
  }

  // ---- actions ------------------------------------------------------------------------------

  private readonly actions: RowActions = {
    request: (id, scope) => void this.request(id, scope),
    askClose: (id) => {
      this.confirmingClose.add(id);
      this.render();
    },
    cancelClose: (id) => {
      this.confirmingClose.delete(id);
      this.render();
    },
    confirmClose: (id) =>
      void this.act(id, async () => {
        await api.closeSession(id);
        this.confirmingClose.delete(id);
        return "Session closed.";
      }),
    cancelRequest: (id) => {
      const r = this.access.get(id);
      if (!r || accessKey(r.status) !== "pending") return;
      void this.act(id, async () => {
        await api.cancelAccess(id, r.id);
        return "Request cancelled.";
      });
    },
    askDelete: (id) => {
      this.confirming.add(id);
      this.render();
    },
    cancelDelete: (id) => {
      this.confirming.delete(id);
      this.render();
    },
    confirmDelete: (id) =>
      void this.act(id, async () => {
        await api.deleteSession(id);
        this.confirming.delete(id);
        this.sessions.delete(id);
        return null;
      }),
    openViewer: (id) => {
      // Any live grant of this technician, whoever asked and from where: a new connection for
      // this window's viewer, without asking the user again.
      const r = this.access.get(id);
      if (r && accessKey(r.status) === "granted") this.openViewer(r, newViewerId());
    },
    toggleChat: (id) => {
      if (this.chatOpen.delete(id)) return this.render();
      this.chatOpen.add(id);
      this.unread.delete(id);
      this.updateTitle();
      this.render();
      void this.loadChat(id);
    },
    sendChat: (id, text) => void this.sendChat(id, text),
    toggleHistory: (id) => {
      if (this.histories.has(id)) {
        this.histories.delete(id);
        return this.render();
      }
      this.histories.set(id, "loading");
      this.render();
      void this.loadHistory(id);
    },
  };

  /** Loads a session's chat into its open panel (messages that came meanwhile are kept). */
  private async loadChat(id: string): Promise<void> {
    try {
      const { messages } = await api.chat(id);
      for (const m of messages) this.addChat(id, m);
      this.chatErrors.delete(id);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return this.signedOut("Your sign-in has ended. Please sign in again.");
      this.chatErrors.set(id, e instanceof Error ? e.message : String(e));
    }
    this.render();
  }

  private async sendChat(id: string, text: string): Promise<void> {
    try {
      this.addChat(id, await api.sendChat(id, text));
      this.chatErrors.delete(id);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return this.signedOut("Your sign-in has ended. Please sign in again.");
      this.chatErrors.set(id, e instanceof Error ? e.message : String(e));
      this.chatDrafts.set(id, text); // not lost: it is back in the line
    }
    this.render();
  }

  /** Adds a message once (the API's answer and the socket's copy are the same message); true if it was new. */
  private addChat(id: string, m: ChatView): boolean {
    const list = this.chats.get(id) ?? [];
    if (list.some((x) => x.id === m.id)) return false;
    list.push(m);
    list.sort((a, b) => Number(a.id) - Number(b.id));
    this.chats.set(id, list);
    return true;
  }

  /** The page title counts unread messages (a notification without sound). */
  private updateTitle(): void {
    const n = [...this.unread.values()].reduce((a, b) => a + b, 0);
    document.title = n > 0 ? `(${n}) Tether console` : "Tether console";
  }

  /** Loads a session's history into its open panel (and again when the session changes while it is open). */
  private async loadHistory(id: string): Promise<void> {
    try {
      const { entries } = await api.history(id);
      if (this.histories.has(id)) this.histories.set(id, entries);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return this.signedOut("Your sign-in has ended. Please sign in again.");
      if (this.histories.has(id)) this.histories.set(id, { error: e instanceof Error ? e.message : String(e) });
    }
    this.render();
  }

  /** Runs an API action for a row, showing its result or error message in the row. */
  private async act(id: string, f: () => Promise<string | null>): Promise<void> {
    this.busy.add(id);
    this.messages.delete(id);
    this.render();
    try {
      const text = await f();
      if (text) this.messages.set(id, { text, error: false });
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return this.signedOut("Your sign-in has ended. Please sign in again.");
      this.messages.set(id, { text: e instanceof Error ? e.message : String(e), error: true });
    } finally {
      this.busy.delete(id);
      this.render();
    }
  }

  private async request(id: string, scope: "view" | "control"): Promise<void> {
    await this.act(id, async () => {
      const r = await api.requestAccess(id, scope, this.cert?.fingerprint ?? null);
      this.mine.add(r.id);
      // The socket may have told us already (even the answer); keep the newer state.
      const known = this.access.get(id);
      if (!known || known.id !== r.id) {
        this.access.set(id, {
          id: r.id,
          sessionId: id,
          status: pb.AccessStatus.ACCESS_STATUS_PENDING,
          scope: scope === "control" ? pb.Scope.SCOPE_CONTROL : pb.Scope.SCOPE_VIEW,
          grantedScope: pb.Scope.SCOPE_UNSPECIFIED,
        });
      } else if (accessKey(known.status) === "granted" && !this.viewer && r.status === "pending") {
        this.openViewer(known);
      }
      return null;
    });
  }

  private async create(): Promise<void> {
    show(this.el.createError, false);
    let seconds: number;
    if (this.el.preset.value === "custom") {
      const c = customExpiry(this.el.amount.value, this.el.unit.value);
      if (!c.ok) {
        this.el.createError.textContent = c.message;
        show(this.el.createError, true);
        return;
      }
      seconds = c.seconds;
    } else {
      seconds = Number(this.el.preset.value);
    }
    try {
      const details = {
        ...(this.el.createLabel.value.trim() && { label: this.el.createLabel.value }),
        ...(this.el.createCustomer.value.trim() && { customer: this.el.createCustomer.value }),
        ...(this.el.createTicket.value.trim() && { ticket: this.el.createTicket.value }),
      };
      const s = await api.createSession(seconds, details);
      this.el.createLabel.value = this.el.createCustomer.value = this.el.createTicket.value = "";
      this.el.createdLink.value = s.link;
      void this.appStatus.refresh();
      this.el.copyNote.textContent = "";
      show(this.el.created, true);
      this.el.createdLink.focus();
      this.el.createdLink.select();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return this.signedOut("Your sign-in has ended. Please sign in again.");
      this.el.createError.textContent = e instanceof Error ? e.message : String(e);
      show(this.el.createError, true);
    }
  }

  private async copyLink(): Promise<void> {
    const text = this.el.createdLink.value;
    try {
      if (!navigator.clipboard || !window.isSecureContext) throw new Error("no clipboard");
      await navigator.clipboard.writeText(text);
      this.el.copyNote.textContent = "Copied.";
    } catch {
      this.el.createdLink.focus();
      this.el.createdLink.select();
      let ok: boolean;
      try {
        ok = document.execCommand("copy");
      } catch {
        ok = false;
      }
      this.el.copyNote.textContent = ok ? "Copied." : "The link is selected: press Ctrl+C (⌘C) to copy it.";
    }
  }

  // ---- rendering ----------------------------------------------------------------------------

  private renderQueued = false;

  /** Re-renders the list, at most once per animation frame (a reconnect brings a burst of updates). */
  private render(): void {
    if (this.renderQueued) return;
    this.renderQueued = true;
    requestAnimationFrame(() => {
      this.renderQueued = false;
      this.renderNow();
    });
  }

  private renderNow(): void {
    if (!this.me) return;
    const now = Date.now();
    // The list is rebuilt: a chat line being written keeps its focus (its text is kept as a draft).
    const active = document.activeElement;
    const writing =
      active instanceof HTMLInputElement && active.classList.contains("chat-input")
        ? active.closest("tr")?.getAttribute("data-chat-of")
        : null;
    const all = sortSessions(this.sessions.values());
    const list = all.filter((s) => sessionMatches(s, this.el.search.value));
    this.el.rows.replaceChildren(
      ...list.flatMap((s) => {
        const access = this.access.get(s.id);
        const message = this.messages.get(s.id);
        const row = renderRow(
          {
            session: s,
            ...(access ? { access } : {}),
            ...(message ? { message } : {}),
            confirmingDelete: this.confirming.has(s.id),
            confirmingClose: this.confirmingClose.has(s.id),
            ...(access && this.codes.has(access.id) ? { safetyCode: this.codes.get(access.id)! } : {}),
            busy: this.busy.has(s.id),
            viewing: !!this.viewer && this.viewer.sessionId === s.id && !this.viewer.isEnded,
            ...(this.histories.has(s.id) ? { history: this.histories.get(s.id)! } : {}),
            unread: this.unread.get(s.id) ?? 0,
            chatOpen: this.chatOpen.has(s.id),
          },
          now,
          this.actions,
        );
        const rows: HTMLTableRowElement[] = [row];
        if (this.chatOpen.has(s.id)) {
          const online = displayState(s, now) === "active" && s.online;
          const error = this.chatErrors.get(s.id);
          rows.push(
            renderChatRow(s.id, this.chats.get(s.id) ?? [], {
              canWrite: online,
              why: "The support app is not connected: messages can be written while it runs",
              ...(error ? { error } : {}),
              columns: row.cells.length,
              draft: this.chatDrafts.get(s.id) ?? "",
              onDraft: (t) => this.chatDrafts.set(s.id, t),
              send: (t) => this.actions.sendChat(s.id, t),
            }),
          );
        }
        const history = this.histories.get(s.id);
        if (history) rows.push(renderHistoryRow(s.id, history, row.cells.length));
        return rows;
      }),
    );
    if (writing) {
      const input = this.el.rows.querySelector<HTMLInputElement>(`tr[data-chat-of="${CSS.escape(writing)}"] .chat-input`);
      if (input) {
        input.focus();
        input.setSelectionRange(input.value.length, input.value.length);
      }
    }
    show(this.el.table, list.length > 0);
    show(this.el.empty, all.length === 0);
    show(this.el.noMatches, all.length > 0 && list.length === 0);
  }
}

function displayClosed(s: SessionInfo): boolean {
  return s.state === pb.SessionState.SESSION_STATE_CLOSED;
}

void new ConsoleApp().start();
