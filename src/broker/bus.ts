/**
 * Messages between broker nodes, over NATS (cluster mode only; one process needs none). Subjects:
 *
 *   tether.agent.<sessionId>        frames for (and the close of) a session's app, to the node holding it
 *   tether.tech.<technicianId>      frames for a technician's consoles, on every node that has one
 *   tether.node.<nodeId>.replace    request: let go of a session's app (another node has it now)
 *   tether.token-closed             a sign-in ended: close its console sockets everywhere
 *   tether.recording.<requestId>    the app confirmed a recording notice (to the node waiting for it)
 *
 * The client reconnects by itself, forever, and subscribes again; what is published while NATS is
 * away is buffered and sent after (nothing waits on it).
 */
import { connect, type NatsConnection, type Subscription } from "@nats-io/transport-node";

export interface Bus {
  publish(subject: string, data: Uint8Array): void;
  /** Returns the unsubscribe. */
  subscribe(subject: string, handler: (data: Uint8Array, subject: string) => void): () => void;
  /** One answer, or null when nobody subscribes to `subject` (or none came within `timeoutMs`). */
  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array | null>;
  /** Answers requests on `subject`. */
  serve(subject: string, handler: (data: Uint8Array) => Promise<Uint8Array> | Uint8Array): () => void;
  close(): Promise<void>;
}

export async function connectBus(url: string, name: string, log: { info(o: object, m: string): void; warn(o: object, m: string): void }) {
  const nc = await connect({
    servers: url.replace(/^nats:\/\//, "").split(","),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    pingInterval: 5000,
    waitOnFirstConnect: true,
  });
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect" || s.type === "reconnect") log.info({ bus: s.type }, `NATS ${s.type}`);
    }
  })().catch(() => {});
  return new NatsBus(nc);
}

class NatsBus implements Bus {
  private readonly subs = new Set<Subscription>();
  constructor(private readonly nc: NatsConnection) {}

  publish(subject: string, data: Uint8Array): void {
    try {
      this.nc.publish(subject, data);
    } catch {
      // closed: the node is shutting down
    }
  }

  subscribe(subject: string, handler: (data: Uint8Array, subject: string) => void): () => void {
    const sub = this.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return;
        // A handler that throws (a malformed message) must not stop this connection's reading.
        try {
          handler(msg.data, msg.subject);
        } catch {
          // dropped
        }
      },
    });
    this.subs.add(sub);
    return () => {
      this.subs.delete(sub);
      try {
        sub.unsubscribe();
      } catch {
        // closed already
      }
    };
  }

  async request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array | null> {
    try {
      return (await this.nc.request(subject, data, { timeout: timeoutMs })).data;
    } catch {
      return null; // no responders (the node is gone) or no answer in time
    }
  }

  serve(subject: string, handler: (data: Uint8Array) => Promise<Uint8Array> | Uint8Array): () => void {
    const sub = this.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return;
        void Promise.resolve()
          .then(() => handler(msg.data))
          .then(
            (answer) => msg.respond(answer),
            () => msg.respond(new Uint8Array()),
          );
      },
    });
    this.subs.add(sub);
    return () => {
      this.subs.delete(sub);
      sub.unsubscribe();
    };
  }

  async close(): Promise<void> {
    await this.nc.drain().catch(() => this.nc.close());
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder();
export const json = (v: unknown): Uint8Array => enc.encode(JSON.stringify(v));
export const unjson = <T>(d: Uint8Array): T => JSON.parse(dec.decode(d)) as T;
