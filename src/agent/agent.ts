/**
 * The support app's core: connect to the broker, activate (bind) the session code with this
 * computer's identity, keep the connection alive, ask the user for consent on each access request,
 * and end with the exit code of the case that happened (see messages.ts `Exit`).
 *
 * Everything that varies is injected (output, input lines, identity, clock-free timers), so the
 * same code runs under `tether agent <link>` and inside the single-file support app.
 */
import WebSocket from "ws";
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

/** A running remote-access stream (see remote-access.ts). */
export interface AccessHandle {
  signal(payload: Uint8Array): void;
  narrowToView(): void;
  stop(): void;
}

export interface AccessHooks {
  signal: (payload: Uint8Array) => void;
  onConnected: () => void;
  onEnded: (reason: string) => void;
}

export type IceServers = { urls: string[]; username?: string; credential?: string }[];

/** Remote access the user has granted and not (yet) stopped, by access request id. */
interface Grant {
  technician: string;
  scope: Scope;
  access?: AccessHandle;
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
  /** Starts screen sharing for a grant; throws with a reason a person can read if it cannot. */
  startAccess: (scope: Scope, hooks: AccessHooks, iceServers: IceServers) => Promise<AccessHandle>;
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
  let quitting = false;
  let current: WebSocket | null = null;
  /** Grants outlive a connection: they are the user's decisions, not the broker's. */
  const grants = new Map<string, Grant>();
  let iceServers: IceServers = [];
  const toBroker = (msg: Parameters<typeof encodeToBroker>[0]) => {
    if (current?.readyState === WebSocket.OPEN) current.send(encodeToBroker(msg));
  };
  const ended = (id: string) => toBroker({ consentChanged: { accessRequestId: id, scope: pb.Scope.SCOPE_UNSPECIFIED } });
  /** Capture starts only now, after consent. */
  const begin = async (id: string, g: Grant) => {
    try {
      const h = await o.startAccess(
        g.scope,
        {
          signal: (payload) => toBroker({ signal: { accessRequestId: id, payload } }),
          onConnected: () => o.out(m.viewing(g.technician, g.scope)),
          onEnded: () => {
            if (grants.get(id) !== g) return;
            grants.delete(id);
            ended(id);
            o.out(m.viewerLeft(g.technician));
          },
        },
        iceServers,
      );
      if (grants.get(id) !== g) return h.stop(); // the user stopped while it was starting
      g.access = h;
      if (g.scope === "view") h.narrowToView();
    } catch (err) {
      if (grants.get(id) !== g) return;
      grants.delete(id);
      ended(id);
      o.out(m.cannotShare((err as Error).message));
    }
  };
  const stopAll = () => {
    for (const g of grants.values()) g.access?.stop();
  };
  /** The user narrows (view) or stops (null) every grant in force. */
  const changeGrants = (scope: Scope | null) => {
    for (const [id, g] of grants) {
      if (scope === "view" && g.scope === "view") continue;
      toBroker({ consentChanged: { accessRequestId: id, scope: scope ? scopeToWire(scope) : pb.Scope.SCOPE_UNSPECIFIED } });
      if (scope === null) {
        grants.delete(id);
        g.access?.stop();
        o.out(m.stopped(g.technician));
      } else {
        g.scope = scope;
        g.access?.narrowToView();
        o.out(m.narrowed(g.technician));
      }
    }
  };
  o.input.onIdleLine((line) => {
    const cmd = line.trim().toLowerCase();
    if (grants.size === 0 || cmd === "") return;
    if (cmd === "s") changeGrants(null);
    else if (cmd === "v") changeGrants("view");
    else o.out(m.sharingHelp);
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
      const prompts = new ConsentPrompts(
        o,
        (frame) => ws.readyState === ws.OPEN && ws.send(frame),
        (id, grant) => {
          grants.set(id, grant);
          void begin(id, grant);
        },
      );

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
              o.out(m.connected(a.technicianName ?? ""));
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
            grants.get(sig.accessRequestId ?? "")?.access?.signal(sig.payload ?? new Uint8Array());
            return;
          }
          case "accessRequest": {
            const r = msg.accessRequest!;
            const scope = scopeFromWire(r.scope);
            if (r.id && scope) prompts.add({ id: r.id, scope, technician: r.technicianName || "Your technician" });
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
}

/**
 * Asks the user about access requests one at a time, in arrival order. Each prompt takes the next
 * line typed after it; a request that ends (expires, withdrawn) while asked is dropped.
 */
class ConsentPrompts {
  private readonly queue: PendingRequest[] = [];
  private asking: PendingRequest | null = null;
  private stopped = false;

  constructor(
    private readonly o: AgentOptions,
    private readonly send: (frame: Uint8Array) => unknown,
    private readonly granted: (id: string, grant: Grant) => void,
  ) {}

  add(r: PendingRequest): void {
    if (this.asking?.id === r.id || this.queue.some((q) => q.id === r.id)) return;
    this.queue.push(r);
    if (!this.asking) void this.loop();
  }

  ended(id: string, reason: number): void {
    const i = this.queue.findIndex((q) => q.id === id);
    if (i >= 0) this.queue.splice(i, 1);
    if (this.asking?.id === id) {
      const m = this.o.messages;
      this.o.out(
        reason === pb.AccessRequestEnded.Reason.REASON_WITHDRAWN
          ? m.requestWithdrawn(this.asking.technician)
          : m.requestExpired(this.asking.technician),
      );
      this.asking = null;
      this.o.input.cancel();
    }
  }

  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    if (this.asking) {
      this.asking = null;
      this.o.input.cancel();
    }
  }

  private async loop(): Promise<void> {
    const m = this.o.messages;
    while (!this.stopped && this.queue.length > 0) {
      const r = this.queue.shift()!;
      this.asking = r;
      this.o.out(r.scope === "control" ? m.requestControl(r.technician) : m.requestView(r.technician));
      const line = await this.o.input.next();
      if (this.asking !== r || line === undefined) continue; // ended while asked
      this.asking = null;
      const scope = parseConsentAnswer(line, r.scope);
      this.send(
        encodeToBroker({
          consent: { accessRequestId: r.id, granted: scope !== null, grantedScope: scope ? scopeToWire(scope) : pb.Scope.SCOPE_UNSPECIFIED },
        }),
      );
      if (scope) this.granted(r.id, { technician: r.technician, scope });
      if (scope === "control") this.o.out(m.grantedControl(r.technician));
      else if (scope === "view") this.o.out(m.grantedView(r.technician));
      else this.o.out(m.denied(r.technician));
    }
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
