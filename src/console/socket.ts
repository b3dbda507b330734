/**
 * The console WebSocket (/ws/console): binary protobuf frames, a heartbeat every 15 s, and
 * reconnection with jittered backoff when the socket drops. Authenticated at the upgrade by the
 * login cookie; if the upgrade is refused the owner is told (`onUnauthorized`) to check the login.
 */
import { backoffMs } from "./model.js";
import { pb, sendable, type BrokerToConsole } from "./proto.js";

export const HEARTBEAT_MS = 15_000;
/** Nothing heard for this long (not even a heartbeat ack): the socket is dead, reconnect. */
export const SILENCE_MS = 3 * HEARTBEAT_MS;

export type LinkState = "connecting" | "online" | "offline";

export interface SocketHandlers {
  message(m: BrokerToConsole): void;
  state(s: LinkState): void;
  /** The socket closed before it ever opened: perhaps the login ended. Resolve true to keep trying. */
  refused(): Promise<boolean>;
}

export class ConsoleSocket {
  private ws: WebSocket | null = null;
  private attempt = 0;
  private seq = 0;
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private lastHeard = 0;
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly h: SocketHandlers,
  ) {}

  start(): void {
    this.stopped = false;
    this.connect();
  }

  /** Sends a ConsoleToBroker message; false if the socket is not open. */
  send(m: Parameters<typeof pb.ConsoleToBroker.encode>[0]): boolean {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(sendable(pb.ConsoleToBroker.encode(m).finish()));
    return true;
  }

  /** Closes for good (sign-out). Safe to call twice. */
  stop(): void {
    this.stopped = true;
    this.clearTimers();
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close(1000, "signed out");
      } catch {
        // already closing
      }
    }
  }

  private clearTimers(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.retry) clearTimeout(this.retry);
    this.heartbeat = this.retry = null;
  }

  private connect(): void {
    if (this.stopped) return;
    this.h.state("connecting");
    let opened = false;
    const ws = new WebSocket(this.url);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onopen = () => {
      opened = true;
      this.attempt = 0;
      this.lastHeard = Date.now();
      this.h.state("online");
      this.heartbeat = setInterval(() => this.beat(), HEARTBEAT_MS);
    };
    ws.onmessage = (ev: MessageEvent) => {
      this.lastHeard = Date.now();
      if (!(ev.data instanceof ArrayBuffer)) return;
      let m: BrokerToConsole;
      try {
        m = pb.BrokerToConsole.decode(new Uint8Array(ev.data));
      } catch {
        return;
      }
      this.h.message(m);
    };
    ws.onerror = () => {
      // onclose follows and decides
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.clearTimers();
      if (this.stopped) return;
      this.h.state("offline");
      const next = () => {
        if (this.stopped) return;
        const delay = backoffMs(this.attempt++, Math.random());
        this.retry = setTimeout(() => this.connect(), delay);
      };
      if (opened) next();
      else void this.h.refused().then((keepTrying) => (keepTrying ? next() : this.stop()));
    };
  }

  private beat(): void {
    if (!this.ws) return;
    if (Date.now() - this.lastHeard > SILENCE_MS) {
      const ws = this.ws;
      ws.close(4000, "silent");
      ws.onclose?.(new CloseEvent("close", { code: 4000 })); // do not wait for a dead peer's close
      return;
    }
    this.send({ heartbeat: { seq: ++this.seq, sentAtMs: Date.now(), ack: false } });
  }
}
