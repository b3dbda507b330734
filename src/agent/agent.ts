/**
 * The support app's core: connect to the broker, activate (bind) the session code with this
 * computer's identity, keep the connection alive, ask the user for consent on each access request,
 * and end with the exit code of the case that happened (see messages.ts `Exit`).
 *
 * Two objects: `SupportApp` runs the connection loop (dial, retry with backoff, give up, quit) and
 * holds what outlives a connection (the user's grants); `BrokerConnection` is one connection, from
 * dialling to its end, and decides what happens next (an `Outcome`). Everything that varies is
 * injected (output, input lines, identity, the connection to a viewer), so the same code runs under
 * `tether agent <link>`, inside the single-file support app, and in-process in tests.
 */
import { randomBytes } from "node:crypto";
import { networkInterfaces } from "node:os";
import WebSocket from "ws";
import { normalizeFingerprint } from "../session/safety-code.js";
import { cleanChat, cleanName, MAX_CHAT, MAX_DISPLAY_NAME, MAX_ORGANIZATION } from "../util/text.js";
import { ConsentPrompts } from "./consent.js";
import { Grants, type AccessHandle, type AccessHooks, type IceServers } from "./grants.js";
import type { Identity } from "./identity.js";
import type { SupportLink } from "../link/support-link.js";
import { Exit, hostOs, type Messages } from "./messages.js";
import { Tools } from "./transfers.js";
import type { InputGuard, UserInterface } from "./ui.js";
import { isCertificateError } from "../util/tls.js";
import { currentNetwork } from "./network-watch.js";
import {
  activationSignedBytes,
  Close,
  encodeToBroker,
  MAX_FRAME_BYTES,
  pb,
  scopeFromWire,
  toBuffer,
  type BrokerToAgent,
} from "../proto/wire.js";

export type { AccessHandle, AccessHooks, IceServers } from "./grants.js";
export { CERTIFICATE_MISMATCH } from "./grants.js";
export type { LineSource } from "./consent.js";
export type { UserInterface } from "./ui.js";

export interface AgentOptions {
  link: SupportLink;
  identity: () => Identity;
  fingerprint: Buffer;
  machineName: string;
  os: string;
  version: string;
  locale: string;
  /** What the user sees and answers: the terminal or the app window. */
  ui: UserInterface;
  /** Give up after the broker has been unreachable this long (ms). */
  giveUpAfterMs: number;
  /**
   * Prepares a connection (no capture, nothing sent until begin). `expectRemote`: the fingerprint
   * the technician's viewer announced; an answer with another one ends it (CERTIFICATE_MISMATCH).
   * Throws with a reason a person can read if sharing is impossible here.
   */
  prepareAccess: (hooks: AccessHooks, iceServers: IceServers, expectRemote: string | null) => Promise<AccessHandle>;
  /** The safety code of two fingerprints (src/session/safety-code.ts). */
  safetyCode: (a: string, b: string) => Promise<string | null>;
  /** Root certificates for an https:// link (src/util/tls.ts); Node's own when absent. */
  ca?: string[];
  /** This computer's network as one comparable string (network-watch.ts; polled once a second); injected for tests. */
  networkAddresses?: () => string;
  /** 16 random bytes for this process (Hello.instance_id); injected for tests. */
  instanceId?: Uint8Array;
}

/** How a connection ended: with the app's exit code, or to be tried again. */
type Outcome = { final: number; line?: string } | { retry: "unreachable" | "lost" | "busy"; reason: string; delayMs?: number };

/** How often the computer's addresses are compared with the last ones (ms). */
const NETWORK_POLL_MS = 500;

/** How long the broker may take to answer a ping after a network change before the app reconnects. */
const PROBE_TIMEOUT_MS = 1500;
const BACKOFF_BASE_MS = 250;
const BACKOFF_CAP_MS = 5_000;
/** A viewer id from ViewerReady: chosen by the console. */
const VIEWER_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Full-jitter exponential backoff: uniform in [cap/2, cap] where cap grows 250 ms · 2^n up to 5 s. */
export function backoffMs(attempt: number, random = Math.random): number {
  const cap = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
  return Math.round(cap / 2 + (random() * cap) / 2);
}

export function runAgent(o: AgentOptions): Promise<number> {
  return new SupportApp(o).run();
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The app across connections: the loop, the backoff, and the user's grants. */
class SupportApp {
  readonly m: Messages;
  readonly instanceId: Uint8Array;
  readonly grants: Grants;
  iceServers: IceServers = [];
  quitting = false;
  /** The broker's organisation, from the latest activation. */
  organization = "";
  /** The largest file a transfer may carry, from the latest activation (0: none allowed). */
  maxFileBytes = 0;
  readonly tools: Tools;
  /** Failed attempts since the last activation (the backoff's exponent). */
  attempt = 0;
  private unreachableSince: number | null = null;
  private current: BrokerConnection | null = null;

  constructor(readonly o: AgentOptions) {
    const ui = o.ui;
    this.m = ui.messages;
    this.instanceId = o.instanceId ?? randomBytes(16);
    // Nothing answers for the user: while a question is open the technician's input goes nowhere,
    // and never into the app's own windows.
    // (Also while a file question is open: the technician could otherwise answer it, in the terminal.)
    const questionOpen = () => this.asking() || this.tools.askingFile;
    const guard: InputGuard = {
      blocksPointerAt: (x, y) => questionOpen() || ui.guard.blocksPointerAt(x, y),
      blocksKeys: () => questionOpen() || ui.guard.blocksKeys(),
    };
    this.tools = new Tools({
      ui,
      messages: ui.messages,
      os: hostOs(),
      maxFileBytes: () => this.maxFileBytes,
      record: (r) => this.current?.send({ toolRecord: r }),
    });
    this.grants = new Grants({
      messages: ui.messages,
      out: (line) => ui.say(line),
      toBroker: (msg) => this.current?.send(msg),
      prepareAccess: o.prepareAccess,
      safetyCode: o.safetyCode,
      iceServers: () => this.iceServers,
      changed: (shared) => ui.sharing(shared),
      inputGuard: guard,
      // The restart's offer goes through the broker: make sure that connection still works.
      pathBroke: () => this.current?.probe(),
      tools: (id, technician) => this.tools.forGrant(id, technician),
    });
    ui.onAction((action) => this.grants.userChanged(action === "stop" ? null : "view"));
    ui.onChat((text) => {
      if (Array.from(text).length > MAX_CHAT) ui.say(ui.messages.chatTooLong);
      else if (this.current?.isActivated) this.current.send({ chat: { text } });
      else ui.say(ui.messages.chatNotSent);
    });
    void ui.quit.then(() => {
      this.quitting = true;
      this.grants.userChanged(null);
      this.current?.close(Close.NORMAL, "user quit");
    });
  }

  /** A consent question is open (or being prepared). */
  asking(): boolean {
    return this.current?.asking ?? false;
  }

  /** An activation went through: the backoff starts over. */
  activated(): void {
    this.attempt = 0;
    this.unreachableSince = null;
  }

  async run(): Promise<number> {
    const addresses = this.o.networkAddresses ?? currentNetwork;
    let last = addresses();
    // A network change (another address, a link back up) is acted on at once: the broker
    // connection is checked and live connections restart ICE, instead of waiting seconds for
    // their checks to fail.
    const watch = setInterval(() => {
      const now = addresses();
      // Offline (no default route) is no change to act on: the same network coming back is none
      // either (the stream resumes by itself), another one is.
      if (now === last || now === "") return;
      last = now;
      this.current?.probe();
      this.grants.networkChanged();
    }, NETWORK_POLL_MS);
    watch.unref();
    try {
      return await this.loop();
    } finally {
      clearInterval(watch);
    }
  }

  private async loop(): Promise<number> {
    const { o, m } = this;
    const ui = o.ui;
    ui.say(m.connecting(o.link.host));
    for (;;) {
      this.current = new BrokerConnection(this);
      const outcome = await this.current.run();
      this.current = null;
      if (this.quitting) {
        ui.say(m.quit);
        return Exit.OK;
      }
      if ("final" in outcome) {
        await ui.finish(outcome.line ?? null);
        return outcome.final;
      }
      const now = Date.now();
      if (outcome.retry === "lost") {
        this.attempt = 0;
        this.unreachableSince = now;
      } else {
        this.unreachableSince ??= now;
      }
      if (now - this.unreachableSince >= o.giveUpAfterMs) {
        await ui.finish(m.giveUp(o.link.host));
        return Exit.UNREACHABLE;
      }
      const delay = outcome.delayMs ?? backoffMs(this.attempt++);
      const secs = Math.max(1, Math.round(delay / 1000));
      if (outcome.retry === "lost") ui.say(m.lost(secs));
      else if (outcome.retry === "busy") ui.say(m.busy(secs));
      else ui.say(m.unreachable(o.link.host, outcome.reason, secs));
      const stop = await Promise.race([sleep(delay).then(() => false), ui.quit.then(() => true)]);
      if (stop) {
        ui.say(m.quit);
        return Exit.OK;
      }
    }
  }
}

/**
 * One connection to the broker: challenge → hello → activation → heartbeats, prompts and
 * signaling, until it ends. `run()` resolves with what to do next.
 */
class BrokerConnection {
  private readonly ws: WebSocket;
  private readonly prompts: ConsentPrompts;
  private outcome: Outcome | null = null;
  private activated = false;
  /** The broker accepted this connection's app (chat and consent answers can go out). */
  get isActivated(): boolean {
    return this.activated && this.ws.readyState === this.ws.OPEN;
  }
  private lastHeard = Date.now();
  private heartbeat: NodeJS.Timeout | null = null;
  private seq = 0;

  constructor(private readonly app: SupportApp) {
    const { o, grants } = app;
    this.ws = new WebSocket(o.link.wsUrl, { maxPayload: MAX_FRAME_BYTES, handshakeTimeout: 10_000, ...(o.ca && { ca: o.ca }) });
    this.prompts = new ConsentPrompts({
      ui: o.ui,
      organization: () => app.organization,
      send: (frame) => this.ws.readyState === this.ws.OPEN && this.ws.send(frame),
      prepare: async (r) => {
        try {
          const conn = await grants.prepare(r.id, "", r.technicianFingerprint);
          const fp = conn.handle?.fingerprint;
          if (fp) this.send({ accessPrepared: { accessRequestId: r.id, fingerprint: fp } });
          return conn;
        } catch {
          return null; // sharing is impossible here; the grant says why if the user allows it
        }
      },
      code: (conn, r) => grants.code(conn?.handle?.fingerprint ?? null, r.technicianFingerprint),
      stopAll: () => grants.userChanged(null, true),
      granted: (id, grant, conn) => grants.granted(id, grant, conn),
    });
  }

  /** A consent question is open on this connection. */
  get asking(): boolean {
    return this.prompts.asking;
  }

  private probing = false;
  /** The address the broker connection was made from (its socket's local address). */
  private localAddress: string | null = null;

  /**
   * Checks that the broker still answers (a WebSocket ping) and drops the connection if it does
   * not within `timeoutMs`: after a network change the old socket is dead long before heartbeats
   * would say so, and an ICE restart needs signaling now.
   */
  probe(timeoutMs = PROBE_TIMEOUT_MS): void {
    if (this.probing || this.ws.readyState !== this.ws.OPEN) return;
    // The address this connection was made from is gone (the computer has another one now): it
    // is dead, and waiting for the ping's answer would only delay the next one.
    const local = this.localAddress;
    if (local && !Object.values(networkInterfaces()).some((list) => list?.some((a) => a.address === local))) {
      return this.finish({ retry: "lost", reason: "its address is gone after a network change" });
    }
    this.probing = true;
    const heard = this.lastHeard;
    this.ws.ping();
    setTimeout(() => {
      this.probing = false;
      if (this.lastHeard === heard) this.finish({ retry: "lost", reason: "no answer after a network change" });
    }, timeoutMs).unref();
  }

  send(msg: Parameters<typeof encodeToBroker>[0]): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(encodeToBroker(msg));
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }

  run(): Promise<Outcome> {
    const { o, m } = this.app;
    const ws = this.ws;
    return new Promise<Outcome>((resolve) => {
      ws.on("unexpected-response", (_req, res) => {
        const status = res.statusCode ?? 0;
        const retryAfter = Number(res.headers["retry-after"]);
        res.resume();
        if (status === 429) this.finish({ retry: "busy", reason: "429", delayMs: (Number.isFinite(retryAfter) ? retryAfter : 5) * 1000 });
        else if (status >= 500) this.finish({ retry: "unreachable", reason: `HTTP ${status}` });
        else {
          this.finish({ final: Exit.UNREACHABLE, line: m.refusedByServer(o.link.host, status) });
        }
      });
      ws.on("error", (err: NodeJS.ErrnoException) => {
        // A certificate that does not verify is not a network hiccup: say so once and stop.
        if (!this.outcome && isCertificateError(err.code)) {
          return this.finish({ final: Exit.UNREACHABLE, line: o.ui.messages.untrustedServer(o.link.host, err.code ?? "") });
        }
        if (!this.outcome) this.finish({ retry: this.activated ? "lost" : "unreachable", reason: err.code ?? err.message });
      });
      ws.on("pong", () => (this.lastHeard = Date.now()));
      ws.on("upgrade", (res) => (this.localAddress = res.socket.localAddress ?? null));
      ws.on("message", (data, isBinary) => {
        this.lastHeard = Date.now();
        if (!isBinary) return this.finish({ retry: "lost", reason: "text frame" });
        let msg: BrokerToAgent;
        try {
          msg = pb.BrokerToAgent.decode(toBuffer(data));
        } catch {
          return this.finish({ retry: "lost", reason: "malformed message" });
        }
        this.handle(msg);
      });
      ws.on("close", (code, reasonBuf) => {
        if (this.heartbeat) clearInterval(this.heartbeat);
        this.prompts.stop();
        if (!this.outcome) {
          const reason = reasonBuf.toString() || `close ${code}`;
          if (code === Close.REPLACED) {
            this.outcome = { final: Exit.OK, line: m.replaced };
          } else if (code === Close.POLICY || code === Close.MALFORMED || code === Close.UNSUPPORTED_DATA || code === Close.TOO_BIG) {
            this.outcome = { final: Exit.UNREACHABLE, line: m.protocolError(reason) };
          } else {
            this.outcome = { retry: this.activated ? "lost" : "unreachable", reason };
          }
        }
        resolve(this.outcome);
      });
    });
  }

  /** Decides the outcome (the first decision stands) and drops the socket. */
  private finish(out: Outcome): void {
    this.outcome ??= out;
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.terminate();
  }

  private handle(msg: BrokerToAgent): void {
    const { o, m, grants } = this.app;
    switch (msg.body) {
      case "challenge":
        return this.hello(msg.challenge?.nonce ?? new Uint8Array());
      case "activation":
        return this.onActivation(msg.activation!);
      case "sessionClosed":
        grants.stopAll();
        return this.finish({ final: Exit.CLOSED, line: m.closed });
      case "signal": {
        // Only for the viewer the grant's connection serves: a late answer from a replaced one is dropped.
        const sig = msg.signal!;
        return grants.signal(sig.accessRequestId ?? "", sig.viewerId ?? "", sig.payload ?? new Uint8Array());
      }
      case "viewerReady": {
        const viewerId = msg.viewerReady?.viewerId ?? "";
        if (VIEWER_ID.test(viewerId)) grants.viewerReady(msg.viewerReady?.accessRequestId ?? "", viewerId);
        return;
      }
      case "grantChanged":
        return grants.technicianChanged(msg.grantChanged?.accessRequestId ?? "", scopeFromWire(msg.grantChanged?.scope));
      case "accessRequest": {
        const r = msg.accessRequest!;
        const scope = scopeFromWire(r.scope);
        const technician = cleanName(r.technicianName ?? "", MAX_DISPLAY_NAME) || m.yourTechnician;
        const technicianFingerprint = normalizeFingerprint(r.technicianFingerprint ?? "");
        // The broker's time left (its clock); an older broker sends only its deadline.
        const expiresInMs = r.expiresInMs || Math.max(0, Number(r.expiresAtMs ?? 0) - Date.now());
        if (r.id && scope) this.prompts.add({ id: r.id, scope, technician, technicianFingerprint, expiresInMs });
        return;
      }
      case "accessRequestEnded":
        return this.prompts.ended(msg.accessRequestEnded?.id ?? "", msg.accessRequestEnded?.reason ?? 0);
      case "consentRecorded":
        if (!msg.consentRecorded?.accepted) o.ui.say(m.answerTooLate);
        return;
      case "recording":
        return grants.recording(msg.recording?.accessRequestId ?? "", Boolean(msg.recording?.on));
      case "chat": {
        const name = cleanName(msg.chat?.name ?? "", MAX_DISPLAY_NAME) || m.yourTechnician;
        const text = cleanChat(msg.chat?.text ?? "");
        if (text && msg.chat?.from === "technician") o.ui.chat(name, text);
        return;
      }
      case "iceConfig":
        // Fresh TURN credentials before the current ones expire.
        this.app.iceServers = iceServersOf(msg.iceConfig?.iceServers);
        grants.iceServersChanged();
        return;
      case "error":
        if (msg.error?.code === pb.Error.Code.CODE_RATE_LIMITED) return o.ui.say(m.chatRateLimited);
        if (msg.error?.code === pb.Error.Code.CODE_BAD_SIGNATURE) {
          this.finish({ final: Exit.UNREACHABLE, line: m.protocolError(msg.error.message || "bad signature") });
        }
        return;
      default:
        return; // heartbeat acks (lastHeard is updated on every message) and later additions
    }
  }

  private hello(nonce: Uint8Array): void {
    const { o, grants, instanceId } = this.app;
    const id = o.identity();
    this.send({
      hello: {
        code: o.link.code,
        publicKey: id.publicKey,
        machineFingerprint: o.fingerprint,
        signature: id.sign(activationSignedBytes(nonce, o.link.code, id.publicKey, o.fingerprint)),
        machineName: o.machineName,
        os: o.os,
        agentVersion: o.version,
        locale: o.locale,
        liveAccess: grants.held(),
        instanceId,
      },
    });
  }

  private onActivation(a: NonNullable<BrokerToAgent["activation"]>): void {
    const { o, m, grants } = this.app;
    const S = pb.ActivationResult.Status;
    if (a.status === S.STATUS_EXPIRED) {
      return this.finish({ final: Exit.EXPIRED, line: m.expired });
    }
    if (a.status !== S.STATUS_OK) {
      return this.finish({ final: Exit.INVALID, line: m.invalid });
    }
    this.activated = true;
    this.app.activated();
    // What the app says matches what is shared now: grants the broker did not keep end.
    const live = grants.keepOnly(a.liveAccess ?? []);
    this.app.organization = cleanName(a.organization ?? "", MAX_ORGANIZATION);
    o.ui.organization(this.app.organization);
    if (live.length === 0) o.ui.say(m.connected(cleanName(a.technicianName ?? "", MAX_DISPLAY_NAME)));
    for (const g of live) o.ui.say(m.reconnectedSharing(g.technician, g.scope));
    this.app.iceServers = iceServersOf(a.iceServers);
    this.app.maxFileBytes = Number(a.maxFileBytes ?? 0);
    // Connections kept across the reconnect take the new credentials too.
    if (live.length) grants.iceServersChanged();
    const interval = a.heartbeatIntervalMs || 10_000;
    this.heartbeat = setInterval(() => {
      if (Date.now() - this.lastHeard > 3 * interval) return this.finish({ retry: "lost", reason: "heartbeat timeout" });
      this.send({ heartbeat: { seq: ++this.seq, sentAtMs: Date.now() } });
    }, interval);
  }
}

/** The broker's ICE servers as RTCPeerConnection takes them. */
function iceServersOf(
  list: { urls?: string[] | null; username?: string | null; credential?: string | null }[] | null | undefined,
): IceServers {
  return (list ?? []).map((i) => ({
    urls: i.urls ?? [],
    ...(i.username ? { username: i.username } : {}),
    ...(i.credential ? { credential: i.credential } : {}),
  }));
}
