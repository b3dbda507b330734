/**
 * The user's live grants: what they allowed, to whom, and the connection that carries it. Grants
 * outlive a broker connection (they are the user's decisions, not the broker's); each has at most
 * one connection at a time, to one viewer, and a viewer opened elsewhere replaces it.
 *
 * Every change the user makes goes to the broker (`ConsentChanged`) and is said in one line.
 */
import type { Scope } from "../session/rules.js";
import { pb, scopeToWire, type encodeToBroker } from "../proto/wire.js";
import type { Messages } from "./messages.js";
import type { InputGuard, Shared } from "./ui.js";
import type { ConnectionTools } from "./transfers.js";

/**
 * One connection to a technician's viewer (see remote-access.ts). Prepared when a request arrives
 * (a DTLS certificate, nothing captured, nothing sent), begun only after consent.
 */
export interface AccessHandle {
  /** This end's DTLS certificate fingerprint ("sha-256 AB:…"), or null if it could not be read. */
  readonly fingerprint: string | null;
  /** Starts capture and sends the offer. Throws, with a reason a person can read, if capture is impossible. */
  begin(scope: Scope): void;
  signal(payload: Uint8Array): void;
  narrowToView(): void;
  /** The computer's network changed: repair the path now (ICE restart). */
  networkChanged?(): void;
  /** Fresh TURN credentials from the broker. */
  iceServersChanged?(servers: IceServers): void;
  /** The broker connection is back: send a pending repair now. */
  signalingBack?(): void;
  /** Ends it (idempotent); `replaced`: a viewer opened elsewhere takes over, and this one is told. */
  stop(replaced?: boolean): void;
}

export interface AccessHooks {
  signal: (payload: Uint8Array) => void;
  /** The technician's viewer is connected; its certificate fingerprint, from its answer. */
  onConnected: (remoteFingerprint: string | null) => void;
  /** The connection ended without stop(); `reason` is CERTIFICATE_MISMATCH or a description. */
  onEnded: (reason: string) => void;
  /** The path to the viewer broke (the network dropped or changed) and is being repaired. */
  onInterrupted: () => void;
  /** It works again. */
  onResumed: () => void;
  /** The part of the screen shared now (a monitor), or null for all of it. */
  onArea: (area: Area | null) => void;
  /** Where the technician's input must not go (the app's windows; everything while a question is open). */
  inputGuard: InputGuard;
  /** File transfer and the clipboard on this connection. */
  tools?: ConnectionTools;
}

/**
 * Why sharing cannot start, as a key messages.ts renders in the user's language; `detail` is a
 * technical addition (an error code or the system's own words), shown in parentheses.
 */
export class ShareError extends Error {
  constructor(
    readonly reason: "no-display" | "capture-failed" | "webrtc-failed",
    readonly detail = "",
  ) {
    super(`${reason}${detail ? `: ${detail}` : ""}`);
  }
}

/** onEnded's reason when the answer carried another certificate than the request announced. */
export const CERTIFICATE_MISMATCH = "certificate-mismatch";

export type IceServers = { urls: string[]; username?: string; credential?: string }[];

/** A connection of a grant: which viewer it serves, and its handle once prepared. */
export interface Connection {
  readonly viewerId: string;
  handle: AccessHandle | null;
}

export type Area = { x: number; y: number; width: number; height: number };

export interface Grant {
  technician: string;
  scope: Scope;
  /** The monitor this grant's viewer watches, if it chose one (the sharing bar goes there). */
  area?: Area | null;
  /** The connection in use, if any. */
  conn: Connection | null;
  /** The technician records this grant's screen. */
  recording?: boolean;
}

export interface GrantsOptions {
  messages: Messages;
  out: (line: string) => void;
  /** To the broker, while connected (dropped otherwise). */
  toBroker: (msg: Parameters<typeof encodeToBroker>[0]) => void;
  prepareAccess: (hooks: AccessHooks, iceServers: IceServers, expectRemote: string | null) => Promise<AccessHandle>;
  safetyCode: (a: string, b: string) => Promise<string | null>;
  /** The broker's ICE servers from the latest activation. */
  iceServers: () => IceServers;
  /** What is shared changed (a grant began, narrowed or ended): the sharing bar follows. */
  changed: (shared: Shared[]) => void;
  inputGuard: InputGuard;
  /** A viewer's connection broke (the network dropped or changed): the broker connection may be dead too. */
  pathBroke?: () => void;
  /** The tools (files, clipboard) for a connection of grant `id`. */
  tools?: (id: string, technician: () => string) => ConnectionTools;
}

export class Grants {
  private readonly live = new Map<string, Grant>();

  constructor(private readonly o: GrantsOptions) {}

  get size(): number {
    return this.live.size;
  }

  /** What is shared now, for the sharing bar. */
  shared(): Shared[] {
    return [...this.live.values()].map((g) => ({
      technician: g.technician,
      scope: g.scope,
      ...(g.area && { area: g.area }),
      ...(g.recording && { recording: true }),
    }));
  }

  private changed(): void {
    this.o.changed(this.shared());
  }

  /** What Hello.live_access carries: the grants this app holds, with the scope in force. */
  held(): { accessRequestId: string; scope: number }[] {
    return [...this.live].map(([id, g]) => ({ accessRequestId: id, scope: scopeToWire(g.scope) }));
  }

  /**
   * After an activation: the broker keeps `kept`; every other grant ends (and says so). Returns the
   * grants still live, for the line that says what is shared now.
   */
  keepOnly(kept: Iterable<string>): Grant[] {
    const keep = new Set(kept);
    for (const [id, g] of [...this.live]) {
      if (keep.has(id)) continue;
      this.live.delete(id);
      g.conn?.handle?.stop();
      this.o.out(this.o.messages.sharingEnded(g.technician));
    }
    this.changed();
    for (const g of this.live.values()) g.conn?.handle?.signalingBack?.();
    return [...this.live.values()];
  }

  /** The safety code of two fingerprints, if both are known. */
  async code(local: string | null, remote: string | null): Promise<string | null> {
    return local && remote ? await this.o.safetyCode(local, remote).catch(() => null) : null;
  }

  /** Says the safety code of two fingerprints, if both are known. */
  async showCode(local: string | null, remote: string | null, line: (code: string) => string): Promise<void> {
    const code = await this.code(local, remote);
    if (code) this.o.out(line(code));
  }

  /**
   * Prepares a connection for request `id` to the viewer `viewerId`: its certificate, nothing
   * captured or sent. Throws if sharing is impossible here.
   */
  async prepare(id: string, viewerId: string, expectRemote: string | null): Promise<Connection> {
    const m = this.o.messages;
    const conn: Connection = { viewerId, handle: null };
    /** The grant this connection serves, if it still does (a stopped grant or a newer viewer retire it). */
    const owner = () => {
      const g = this.live.get(id);
      return g && g.conn === conn ? g : undefined;
    };
    conn.handle = await this.o.prepareAccess(
      {
        signal: (payload) => {
          if (owner()) this.o.toBroker({ signal: { accessRequestId: id, payload, viewerId } });
        },
        onConnected: (remote) => {
          const g = owner();
          if (!g) return;
          this.o.out(m.viewing(g.technician, g.scope));
          void this.showCode(conn.handle?.fingerprint ?? null, remote, m.safetyCodeConnected);
        },
        onEnded: (reason) => {
          const g = owner();
          if (!g) return;
          g.conn = null;
          if (reason === CERTIFICATE_MISMATCH) {
            this.live.delete(id);
            this.changed();
            this.ended(id);
            this.o.out(m.certificateMismatch(g.technician));
          } else {
            // The viewer went away (a reload, a network failure): the grant stays, so the
            // technician can connect again without asking; the user can stop it at any time.
            this.o.out(m.viewerLost(g.technician));
          }
        },
        onInterrupted: () => {
          const g = owner();
          if (g) this.o.out(m.connectionInterrupted(g.technician));
          this.o.pathBroke?.();
        },
        onResumed: () => {
          const g = owner();
          if (g) this.o.out(m.connectionResumed(g.technician));
        },
        onArea: (area) => {
          const g = owner();
          if (!g) return;
          g.area = area;
          this.changed();
        },
        inputGuard: this.o.inputGuard,
        ...(this.o.tools && { tools: this.o.tools(id, () => this.live.get(id)?.technician ?? "") }),
      },
      this.o.iceServers(),
      expectRemote,
    );
    return conn;
  }

  /** The user granted request `id`: capture starts on `prepared` (made at the prompt) or a new connection. */
  granted(id: string, g: Grant, prepared: Connection | null): void {
    this.live.set(id, g);
    this.changed();
    void this.connect(id, g, prepared, "");
  }

  /** A viewer opened on a live grant (another window, a reload): a new connection for it, no new consent. */
  viewerReady(id: string, viewerId: string): void {
    const g = this.live.get(id);
    if (g) void this.connect(id, g, null, viewerId);
  }

  /** A signal from the technician, for the viewer the grant's connection serves (others are dropped). */
  signal(id: string, viewerId: string, payload: Uint8Array): void {
    const conn = this.live.get(id)?.conn;
    if (conn && conn.viewerId === viewerId) conn.handle?.signal(payload);
  }

  /** The technician narrowed (view) or ended (null) a grant; never a widening. */
  technicianChanged(id: string, scope: Scope | null): void {
    const g = this.live.get(id);
    if (!g) return;
    if (scope === null) {
      this.live.delete(id);
      g.conn?.handle?.stop();
      this.changed();
      this.o.out(this.o.messages.viewerLeft(g.technician));
    } else if (scope === "view" && g.scope === "control") {
      g.scope = "view";
      g.conn?.handle?.narrowToView();
      this.changed();
      this.o.out(this.o.messages.narrowedByTechnician(g.technician));
    }
  }

  /**
   * The technician starts or stops recording a live grant's screen: the user is told (a line and
   * the sharing bar's mark) before the app confirms to the broker, which only then lets the
   * console record.
   */
  recording(id: string, on: boolean): void {
    const g = this.live.get(id);
    if (!g) return;
    if (g.recording !== on) {
      g.recording = on;
      this.changed();
      this.o.out(on ? this.o.messages.recordingStarted(g.technician) : this.o.messages.recordingStopped(g.technician));
    }
    this.o.toBroker({ recordingShown: { accessRequestId: id, on } });
  }

  /** The user narrows (view) or stops (null) every grant in force; `quiet`: the caller says it. */
  userChanged(scope: Scope | null, quiet = false): void {
    const m = this.o.messages;
    for (const [id, g] of [...this.live]) {
      if (scope === "view" && g.scope === "view") continue;
      this.o.toBroker({ consentChanged: { accessRequestId: id, scope: scope ? scopeToWire(scope) : pb.Scope.SCOPE_UNSPECIFIED } });
      if (scope === null) {
        this.live.delete(id);
        g.conn?.handle?.stop();
        if (!quiet) this.o.out(m.stopped(g.technician));
      } else {
        g.scope = scope;
        g.conn?.handle?.narrowToView();
        if (!quiet) this.o.out(m.narrowed(g.technician));
      }
    }
    this.changed();
  }

  /** Fresh TURN credentials from the broker: every live connection takes them. */
  iceServersChanged(): void {
    for (const g of this.live.values()) g.conn?.handle?.iceServersChanged?.(this.o.iceServers());
  }

  /** The computer's network changed: every live connection restarts ICE now. */
  networkChanged(): void {
    for (const g of this.live.values()) g.conn?.handle?.networkChanged?.();
  }

  /** The session is over: every connection stops (nothing is said; the session's end is). */
  stopAll(): void {
    for (const g of this.live.values()) g.conn?.handle?.stop();
    this.live.clear();
    this.changed();
  }

  private ended(id: string): void {
    this.o.toBroker({ consentChanged: { accessRequestId: id, scope: pb.Scope.SCOPE_UNSPECIFIED } });
  }

  /** Capture starts only now, after consent: begins `prepared` or a new connection to `viewerId`. */
  private async connect(id: string, g: Grant, prepared: Connection | null, viewerId: string): Promise<void> {
    g.conn?.handle?.stop(true);
    g.conn = null;
    let conn = prepared;
    try {
      conn ??= await this.prepare(id, viewerId, null);
      if (this.live.get(id) !== g) return conn.handle?.stop(); // the user stopped while it was starting
      g.conn = conn;
      conn.handle!.begin(g.scope);
    } catch (err) {
      conn?.handle?.stop();
      if (this.live.get(id) !== g) return;
      this.live.delete(id);
      this.changed();
      this.ended(id);
      const e = err instanceof ShareError ? err : new ShareError("webrtc-failed", (err as Error).message.split("\n")[0]);
      this.o.out(this.o.messages.cannotShare(e.reason, e.detail));
    }
  }
}
