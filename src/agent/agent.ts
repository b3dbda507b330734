/**
 * The support app's core: connect to the broker, activate (bind) the session code with this
 * computer's identity, keep the connection alive, ask the user for consent on each access request,
 * and end with the exit code of the case that happened (see messages.ts `Exit`).
 *
 * Everything that varies is injected (output, input lines, identity, clock-free timers), so the
 * same code runs under `tether agent <link>` and inside the single-file support app.
 */
import { randomBytes } from "node:crypto";
import WebSocket from "ws";
import { normalizeFingerprint } from "../session/safety-code.js";
import { cleanName, MAX_DISPLAY_NAME } from "../util/text.js";
import { parseConsentAnswer } from "./consent.js";
import type { Identity } from "./identity.js";
import type { SupportLink } from "./link.js";
import { Exit, type Messages } from "./messages.js";
import {
  activationSignedBytes,
  Close,
  encodeToBroker,
  MAX_FRAME_BYTES,
  pb,
  scopeFromWire,
  scopeToWire,
  toBuffer,
  type BrokerToAgent,
} from "../proto/wire.js";
import type { Scope } from "../session/rules.js";

/** A source of input lines. `next()` resolves with the next line typed after the call, or null at end of input. */
export interface LineSource {
  next(): Promise<string | null | undefined>;
  /** Abandons a pending `next()` (it resolves with undefined). */
  cancel(): void;
  /** Receives the lines typed while no `next()` waits (the user's commands). */
  onIdleLine(handler: (line: string) => void): void;
}

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
  /** Ends it (idempotent); `replaced`: a viewer opened elsewhere takes over, and this one is told. */
  stop(replaced?: boolean): void;
}

export interface AccessHooks {
  signal: (payload: Uint8Array) => void;
  /** The technician's viewer is connected; its certificate fingerprint, from its answer. */
  onConnected: (remoteFingerprint: string | null) => void;
  /** The connection ended without stop(); `reason` is CERTIFICATE_MISMATCH or a description. */
  onEnded: (reason: string) => void;
}

/** onEnded's reason when the answer carried another certificate than the request announced. */
export const CERTIFICATE_MISMATCH = "certificate-mismatch";

export type IceServers = { urls: string[]; username?: string; credential?: string }[];

/** A connection of a grant: which viewer it serves, and its handle once prepared. */
interface Connection {
  readonly viewerId: string;
  handle: AccessHandle | null;
}

/** Remote access the user has granted and not (yet) stopped, by access request id. */
interface Grant {
  technician: string;
  scope: Scope;
  /** The connection in use; a viewer opened elsewhere replaces it. */
  conn: Connection | null;
}

export interface AgentOptions {
  link: SupportLink;
  identity: () => Identity;
  fingerprint: Buffer;
  machineName: string;
  os: string;
  version: string;
  locale: string;
  messages: Messages;
  out: (line: string) => void;
  input: LineSource;
  /** Give up after the broker has been unreachable this long (ms). */
  giveUpAfterMs: number;
  /** Resolves when the user asks to quit (SIGINT/SIGTERM). */
  quit: Promise<void>;
  /**
   * Prepares a connection (no capture, nothing sent until begin). `expectRemote`: the fingerprint
   * the technician's viewer announced; an answer with another one ends it (CERTIFICATE_MISMATCH).
   * Throws with a reason a person can read if sharing is impossible here.
   */
  prepareAccess: (hooks: AccessHooks, iceServers: IceServers, expectRemote: string | null) => Promise<AccessHandle>;
  /** The safety code of two fingerprints (src/session/safety-code.ts). */
  safetyCode: (a: string, b: string) => Promise<string | null>;
  /** 16 random bytes for this process (Hello.instance_id); injected for tests. */
  instanceId?: Uint8Array;
}

type Outcome = { final: number } | { retry: "unreachable" | "lost" | "busy"; reason: string; delayMs?: number };

const BACKOFF_BASE_MS = 250;
const BACKOFF_CAP_MS = 5_000;

/** Full-jitter exponential backoff: uniform in [cap/2, cap] where cap grows 250 ms · 2^n up to 5 s. */
export function backoffMs(attempt: number, random = Math.random): number {
  const cap = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
  return Math.round(cap / 2 + (random() * cap) / 2);
}

export async function runAgent(o: AgentOptions): Promise<number> {
  const m = o.messages;
  const instanceId = o.instanceId ?? randomBytes(16);
  let quitting = false;
  let current: WebSocket | null = null;
  /** Grants outlive a connection: they are the user's decisions, not the broker's. */
  const grants = new Map<string, Grant>();
  let iceServers: IceServers = [];
  const toBroker = (msg: Parameters<typeof encodeToBroker>[0]) => {
    if (current?.readyState === WebSocket.OPEN) current.send(encodeToBroker(msg));
  };
  const ended = (id: string) => toBroker({ consentChanged: { accessRequestId: id, scope: pb.Scope.SCOPE_UNSPECIFIED } });
  const showCode = async (local: string | null, remote: string | null, line: (code: string) => string) => {
    const code = local && remote ? await o.safetyCode(local, remote).catch(() => null) : null;
    if (code) o.out(line(code));
  };
  /** The grant this connection serves, if it still does (a stopped grant or a newer viewer retire it). */
  const owner = (id: string, conn: Connection): Grant | undefined => {
    const g = grants.get(id);
    return g && g.conn === conn ? g : undefined;
  };

  /** Prepares a connection for a request, to the viewer `viewerId`. Nothing is captured or sent yet. */
  const prepare = async (id: string, viewerId: string, expectRemote: string | null): Promise<Connection> => {
    const conn: Connection = { viewerId, handle: null };
    conn.handle = await o.prepareAccess(
      {
        signal: (payload) => {
          if (owner(id, conn)) toBroker({ signal: { accessRequestId: id, payload, viewerId } });
        },
        onConnected: (remote) => {
          const g = owner(id, conn);
          if (!g) return;
          o.out(m.viewing(g.technician, g.scope));
          void showCode(conn.handle?.fingerprint ?? null, remote, m.safetyCodeConnected);
        },
        onEnded: (reason) => {
          const g = owner(id, conn);
          if (!g) return;
          g.conn = null;
          if (reason === CERTIFICATE_MISMATCH) {
            grants.delete(id);
            ended(id);
            o.out(m.certificateMismatch(g.technician));
          } else {
            // The viewer went away (a reload, a network failure): the grant stays, so the
            // technician can connect again without asking; the user can stop it at any time.
            o.out(m.viewerLost(g.technician));
          }
        },
      },
      iceServers,
      expectRemote,
    );
    return conn;
  };

  /** Capture starts only now, after consent: begins `conn` (prepared at the prompt) or a new one. */
  const begin = async (id: string, g: Grant, prepared: Connection | null, viewerId = "") => {
    g.conn?.handle?.stop(true);
    g.conn = null;
    let conn = prepared;
    try {
      conn ??= await prepare(id, viewerId, null);
      if (grants.get(id) !== g) return conn.handle?.stop(); // the user stopped while it was starting
      g.conn = conn;
      conn.handle!.begin(g.scope);
    } catch (err) {
      conn?.handle?.stop();
      if (grants.get(id) !== g) return;
      grants.delete(id);
      ended(id);
      o.out(m.cannotShare((err as Error).message));
    }
  };
  const stopAll = () => {
    for (const g of grants.values()) g.conn?.handle?.stop();
  };
  /** The user narrows (view) or stops (null) every grant in force. */
  const changeGrants = (scope: Scope | null, quiet = false) => {
    for (const [id, g] of grants) {
      if (scope === "view" && g.scope === "view") continue;
      toBroker({ consentChanged: { accessRequestId: id, scope: scope ? scopeToWire(scope) : pb.Scope.SCOPE_UNSPECIFIED } });
      if (scope === null) {
        grants.delete(id);
        g.conn?.handle?.stop();
        if (!quiet) o.out(m.stopped(g.technician));
      } else {
        g.scope = scope;
        g.conn?.handle?.narrowToView();
        if (!quiet) o.out(m.narrowed(g.technician));
      }
    }
  };
  /**
   * `s` and `v` act on the live grants, whether or not a prompt is open: no request, however
   * often it is sent, can turn them into an answer. Returns what was done, or null if `line` is
   * not such a command (or nothing is shared).
   */
  const command = (line: string): "stop" | "narrow" | null => {
    const cmd = line.trim().toLowerCase();
    if (grants.size === 0) return null;
    if (cmd === "s") return "stop";
    if (cmd === "v" && [...grants.values()].some((g) => g.scope === "control")) return "narrow";
    return null;
  };
  o.input.onIdleLine((line) => {
    const c = command(line);
    if (c === "stop") changeGrants(null);
    else if (c === "narrow") changeGrants("view");
    else if (grants.size > 0 && line.trim() !== "") o.out(m.sharingHelp);
  });
  o.quit.then(() => {
    quitting = true;
    changeGrants(null);
    current?.close(Close.NORMAL, "user quit");
  });

  let attempt = 0;
  let unreachableSince: number | null = null;
  o.out(m.connecting(o.link.host));
  for (;;) {
    const outcome = await connectOnce();
    if (quitting) {
      o.out(m.quit);
      return Exit.OK;
    }
    if ("final" in outcome) return outcome.final;
    const now = Date.now();
    if (outcome.retry === "lost") {
      attempt = 0;
      unreachableSince = now;
    } else {
      unreachableSince ??= now;
    }
    if (now - unreachableSince >= o.giveUpAfterMs) {
      o.out(m.giveUp(o.link.host));
      return Exit.UNREACHABLE;
    }
    const delay = outcome.delayMs ?? backoffMs(attempt++);
    const secs = Math.max(1, Math.round(delay / 1000));
    if (outcome.retry === "lost") o.out(m.lost(secs));
    else if (outcome.retry === "busy") o.out(m.busy(secs));
    else o.out(m.unreachable(o.link.host, outcome.reason, secs));
    const stop = await Promise.race([sleep(delay).then(() => false), o.quit.then(() => true)]);
    if (stop) {
      o.out(m.quit);
      return Exit.OK;
    }
  }

  /** One connection, from dialling to its end. Resolves with what to do next. */
  function connectOnce(): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      const ws = new WebSocket(o.link.wsUrl, { maxPayload: MAX_FRAME_BYTES, handshakeTimeout: 10_000 });
      current = ws;
      let outcome: Outcome | null = null;
      let activated = false;
      let lastHeard = Date.now();
      let heartbeat: NodeJS.Timeout | null = null;
      let seq = 0;
      const prompts = new ConsentPrompts({
        o,
        send: (frame) => ws.readyState === ws.OPEN && ws.send(frame),
        prepare: async (r) => {
          try {
            const conn = await prepare(r.id, "", r.technicianFingerprint);
            const fp = conn.handle?.fingerprint;
            if (fp) send({ accessPrepared: { accessRequestId: r.id, fingerprint: fp } });
            return conn;
          } catch {
            return null; // sharing is impossible here; begin() says why if the user allows it
          }
        },
        showCode: (conn, r) => showCode(conn?.handle?.fingerprint ?? null, r.technicianFingerprint, m.safetyCodePrompt),
        command: (line, r) => {
          const c = command(line);
          if (c === "stop") {
            changeGrants(null, true);
            o.out(m.stoppedAndDeclined(r.technician));
          } else if (c === "narrow") changeGrants("view");
          return c;
        },
        granted: (id, grant, conn) => {
          grants.set(id, grant);
          void begin(id, grant, conn);
        },
      });

      const finish = (out: Outcome) => {
        outcome ??= out;
        if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.terminate();
      };
      const send = (msg: Parameters<typeof encodeToBroker>[0]) => {
        if (ws.readyState === ws.OPEN) ws.send(encodeToBroker(msg));
      };

      ws.on("unexpected-response", (_req, res) => {
        const status = res.statusCode ?? 0;
        const retryAfter = Number(res.headers["retry-after"]);
        res.resume();
        if (status === 429) finish({ retry: "busy", reason: "429", delayMs: (Number.isFinite(retryAfter) ? retryAfter : 5) * 1000 });
        else if (status >= 500) finish({ retry: "unreachable", reason: `HTTP ${status}` });
        else {
          o.out(m.refusedByServer(o.link.host, status));
          finish({ final: Exit.UNREACHABLE });
        }
      });
      ws.on("error", (err: NodeJS.ErrnoException) => {
        if (!outcome) finish({ retry: activated ? "lost" : "unreachable", reason: err.code ?? err.message });
      });

      ws.on("message", (data, isBinary) => {
        lastHeard = Date.now();
        if (!isBinary) return finish({ retry: "lost", reason: "text frame" });
        let msg: BrokerToAgent;
        try {
          msg = pb.BrokerToAgent.decode(toBuffer(data));
        } catch {
          return finish({ retry: "lost", reason: "malformed message" });
        }
        handle(msg);
      });

      ws.on("close", (code, reasonBuf) => {
        if (heartbeat) clearInterval(heartbeat);
        prompts.stop();
        current = null;
        if (!outcome) {
          const reason = reasonBuf.toString() || `close ${code}`;
          if (code === Close.REPLACED) {
            o.out(m.replaced);
            outcome = { final: Exit.OK };
          } else if (code === Close.POLICY || code === Close.MALFORMED || code === Close.UNSUPPORTED_DATA || code === Close.TOO_BIG) {
            o.out(m.protocolError(reason));
            outcome = { final: Exit.UNREACHABLE };
          } else {
            outcome = { retry: activated ? "lost" : "unreachable", reason };
          }
        }
        resolve(outcome);
      });

      function handle(msg: BrokerToAgent): void {
        switch (msg.body) {
          case "challenge": {
            const id = o.identity();
            const nonce = msg.challenge?.nonce ?? new Uint8Array();
            send({
              hello: {
                code: o.link.code,
                publicKey: id.publicKey,
                machineFingerprint: o.fingerprint,
                signature: id.sign(activationSignedBytes(nonce, o.link.code, id.publicKey, o.fingerprint)),
                machineName: o.machineName,
                os: o.os,
                agentVersion: o.version,
                locale: o.locale,
                liveAccess: [...grants].map(([id, g]) => ({ accessRequestId: id, scope: scopeToWire(g.scope) })),
                instanceId,
              },
            });
            return;
          }
          case "activation": {
            const a = msg.activation!;
            const S = pb.ActivationResult.Status;
            if (a.status === S.STATUS_OK) {
              activated = true;
              attempt = 0;
              unreachableSince = null;
              // What the app says matches what is shared now: grants the broker did not keep end.
              const kept = new Set(a.liveAccess ?? []);
              for (const [id, g] of [...grants]) {
                if (kept.has(id)) continue;
                grants.delete(id);
                g.conn?.handle?.stop();
                o.out(m.sharingEnded(g.technician));
              }
              const live = [...grants.values()];
              if (live.length === 0) o.out(m.connected(cleanName(a.technicianName ?? "", MAX_DISPLAY_NAME)));
              for (const g of live) o.out(m.reconnectedSharing(g.technician, g.scope));
              iceServers = (a.iceServers ?? []).map((i) => ({
                urls: i.urls ?? [],
                ...(i.username ? { username: i.username } : {}),
                ...(i.credential ? { credential: i.credential } : {}),
              }));
              const interval = a.heartbeatIntervalMs || 10_000;
              heartbeat = setInterval(() => {
                if (Date.now() - lastHeard > 3 * interval) return finish({ retry: "lost", reason: "heartbeat timeout" });
                send({ heartbeat: { seq: ++seq, sentAtMs: Date.now() } });
              }, interval);
            } else if (a.status === S.STATUS_EXPIRED) {
              o.out(m.expired);
              finish({ final: Exit.EXPIRED });
            } else {
              o.out(m.invalid);
              finish({ final: Exit.INVALID });
            }
            return;
          }
          case "sessionClosed":
            stopAll();
            o.out(m.closed);
            return finish({ final: Exit.CLOSED });
          case "signal": {
            const sig = msg.signal!;
            const conn = grants.get(sig.accessRequestId ?? "")?.conn;
            // Only for the viewer this connection serves: a late answer from a replaced one is dropped.
            if (conn && conn.viewerId === (sig.viewerId ?? "")) conn.handle?.signal(sig.payload ?? new Uint8Array());
            return;
          }
          case "viewerReady": {
            // A viewer opened on a live grant (another window, a reload): a new connection for it,
            // without asking again; the one it replaces ends.
            const id = msg.viewerReady?.accessRequestId ?? "";
            const viewerId = msg.viewerReady?.viewerId ?? "";
            const g = grants.get(id);
            if (g && /^[A-Za-z0-9_-]{1,64}$/.test(viewerId)) void begin(id, g, null, viewerId);
            return;
          }
          case "grantChanged": {
            // The technician narrowed (or ended) a grant: never a widening.
            const id = msg.grantChanged?.accessRequestId ?? "";
            const g = grants.get(id);
            const scope = scopeFromWire(msg.grantChanged?.scope);
            if (!g) return;
            if (scope === null) {
              grants.delete(id);
              g.conn?.handle?.stop();
              o.out(m.viewerLeft(g.technician));
            } else if (scope === "view" && g.scope === "control") {
              g.scope = "view";
              g.conn?.handle?.narrowToView();
              o.out(m.narrowedByTechnician(g.technician));
            }
            return;
          }
          case "accessRequest": {
            const r = msg.accessRequest!;
            const scope = scopeFromWire(r.scope);
            const technician = cleanName(r.technicianName ?? "", MAX_DISPLAY_NAME) || m.yourTechnician;
            const fp = normalizeFingerprint(r.technicianFingerprint ?? "");
            if (r.id && scope) prompts.add({ id: r.id, scope, technician, technicianFingerprint: fp });
            return;
          }
          case "accessRequestEnded":
            prompts.ended(msg.accessRequestEnded?.id ?? "", msg.accessRequestEnded?.reason ?? 0);
            return;
          case "consentRecorded":
            if (!msg.consentRecorded?.accepted) o.out(m.answerTooLate);
            return;
          case "error":
            if (msg.error?.code === pb.Error.Code.CODE_BAD_SIGNATURE) {
              o.out(m.protocolError(msg.error.message || "bad signature"));
              finish({ final: Exit.UNREACHABLE });
            }
            return;
          default:
            return; // heartbeat acks (lastHeard is updated above) and later additions
        }
      }
    });
  }
}

interface PendingRequest {
  id: string;
  scope: Scope;
  technician: string;
  /** The DTLS fingerprint the technician's viewer announced, if any. */
  technicianFingerprint: string | null;
}

interface PromptDeps {
  o: AgentOptions;
  send: (frame: Uint8Array) => unknown;
  /** Prepares the connection for a request before it is asked (for the safety code); null if impossible. */
  prepare: (r: PendingRequest) => Promise<Connection | null>;
  showCode: (conn: Connection | null, r: PendingRequest) => Promise<void>;
  /** A line that acts on live grants (s, v) instead of answering; see runAgent's `command`. */
  command: (line: string, r: PendingRequest) => "stop" | "narrow" | null;
  granted: (id: string, grant: Grant, conn: Connection | null) => void;
}

/**
 * Asks the user about access requests one at a time, in arrival order. Each prompt takes the next
 * line typed after it that is not a command on a live grant (s, v); a request that ends (expires,
 * withdrawn) while asked is dropped.
 */
class ConsentPrompts {
  private readonly queue: PendingRequest[] = [];
  private asking: PendingRequest | null = null;
  private stopped = false;

  constructor(private readonly d: PromptDeps) {}

  add(r: PendingRequest): void {
    if (this.asking?.id === r.id || this.queue.some((q) => q.id === r.id)) return;
    this.queue.push(r);
    if (!this.asking) void this.loop();
  }

  ended(id: string, reason: number): void {
    const i = this.queue.findIndex((q) => q.id === id);
    if (i >= 0) this.queue.splice(i, 1);
    if (this.asking?.id === id) {
      const m = this.d.o.messages;
      this.d.o.out(
        reason === pb.AccessRequestEnded.Reason.REASON_WITHDRAWN
          ? m.requestWithdrawn(this.asking.technician)
          : m.requestExpired(this.asking.technician),
      );
      this.asking = null;
      this.d.o.input.cancel();
    }
  }

  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    if (this.asking) {
      this.asking = null;
      this.d.o.input.cancel();
    }
  }

  private async loop(): Promise<void> {
    const m = this.d.o.messages;
    while (!this.stopped && this.queue.length > 0) {
      const r = this.queue.shift()!;
      this.asking = r;
      const conn = await this.d.prepare(r);
      if (this.asking !== r) {
        conn?.handle?.stop(); // ended (or the connection dropped) while preparing
        continue;
      }
      await this.d.showCode(conn, r);
      this.d.o.out(r.scope === "control" ? m.requestControl(r.technician) : m.requestView(r.technician));
      let line: string | null | undefined;
      let declinedByStop = false;
      for (;;) {
        line = await this.d.o.input.next();
        if (this.asking !== r || line === undefined || line === null) break;
        const c = this.d.command(line, r);
        if (c === "stop") declinedByStop = true;
        if (c === null || c === "stop") break;
      }
      if (this.asking !== r || line === undefined) {
        conn?.handle?.stop(); // ended while asked
        continue;
      }
      this.asking = null;
      const scope = declinedByStop ? null : parseConsentAnswer(line, r.scope);
      this.d.send(
        encodeToBroker({
          consent: { accessRequestId: r.id, granted: scope !== null, grantedScope: scope ? scopeToWire(scope) : pb.Scope.SCOPE_UNSPECIFIED },
        }),
      );
      if (scope) this.d.granted(r.id, { technician: r.technician, scope, conn: null }, conn);
      else conn?.handle?.stop();
      if (scope === "control") this.d.o.out(m.grantedControl(r.technician));
      else if (scope === "view") this.d.o.out(m.grantedView(r.technician));
      else if (!declinedByStop) this.d.o.out(m.denied(r.technician));
    }
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
