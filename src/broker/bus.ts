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

/** Where the bus is and how a node proves itself to it, from `--bus` (see parseBusUrl). */
export interface BusAddress {
  servers: string[];
  /** TLS to every server (a tls:// URL, or a CA given): the server's certificate is verified. */
  tls: boolean;
  user?: string;
  pass?: string;
  /** A user without a password is NATS's token authentication. */
  token?: string;
  /** The URL without its secret, for messages and logs. */
  shown: string;
}

/**
 * `nats://[user:password@]host:port[,host:port…]`, or `tls://…` for TLS (what NATS's own tools
 * take). Credentials are percent-decoded (a password with "@" or ":" is written %40, %3A); a user
 * without a password is a token. Throws a readable Error for anything else.
 */
export function parseBusUrl(url: string): BusAddress {
  const m = /^(nats|tls):\/\/(?:([^@/]*)@)?([^@/?#]+)\/?$/.exec(url.trim());
  if (!m) throw new Error(`--bus needs nats://[user:password@]host:port[,host:port] or tls://…, not "${redact(url)}"`);
  const [, scheme, auth, hosts] = m;
  const servers = hosts!.split(",").map((h) => h.trim());
  for (const h of servers) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.test(h)) throw new Error(`--bus: "${h}" is not a host[:port]`);
  }
  const a: BusAddress = { servers, tls: scheme === "tls", shown: redact(url.trim()) };
  if (auth !== undefined) {
    const colon = auth.indexOf(":");
    const decode = (x: string) => {
      try {
        return decodeURIComponent(x);
      } catch {
        throw new Error("--bus: the credentials before @ are not valid percent-encoding");
      }
    };
    if (colon < 0) a.token = decode(auth);
    else {
      a.user = decode(auth.slice(0, colon));
      a.pass = decode(auth.slice(colon + 1));
    }
  }
  return a;
}

/** A URL without its secret (the password, or a token before "@"). */
function redact(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, (_all, auth: string) => `//${auth.includes(":") ? `${auth.split(":")[0]}:***` : "***"}@`);
}

/** How often a node that starts before NATS tries again (ms). */
const FIRST_CONNECT_RETRY_MS = 1000;

/**
 * Why NATS refused this node for good (wrong credentials, a certificate it cannot trust, TLS on
 * one side only), as one line that says what to change; null for what may pass by itself (NATS not
 * up yet, a name not resolving yet, a timeout).
 */
export function busRefusal(err: Error & { code?: unknown }): string | null {
  const code = typeof err.code === "string" ? err.code : "";
  if (err.name === "AuthorizationError" || /authorization violation|authentication/i.test(err.message)) {
    return "NATS refused the node's credentials (Authorization Violation): check the user and password (or token) in --bus";
  }
  if (/^(ERR_TLS_|UNABLE_TO_|CERT_|SELF_SIGNED|DEPTH_ZERO)/.test(code)) {
    return `the NATS server's certificate is not trusted (${err.message}): give the CA that signed it with --bus-ca, or a name it was issued for in --bus`;
  }
  if (/does not support 'tls'/.test(err.message))
    return "the NATS server does not offer TLS: use a nats:// URL without --bus-ca, or turn TLS on at the server";
  if (/tls required|requires tls/i.test(err.message)) return "the NATS server requires TLS: use a tls:// URL";
  return null;
}

export async function connectBus(
  address: BusAddress,
  name: string,
  log: { info(o: object, m: string): void; warn(o: object, m: string): void },
  caFile?: string,
) {
  const options = {
    servers: address.servers,
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    pingInterval: 5000,
    ...(address.user !== undefined && { user: address.user, pass: address.pass ?? "" }),
    ...(address.token !== undefined && { token: address.token }),
    ...((address.tls || caFile) && { tls: caFile ? { caFile } : {} }),
  };
  // The first connection: a refusal (credentials, certificate) ends the start with its reason;
  // NATS not being there yet is waited for, and said once.
  let nc: NatsConnection;
  for (let said = false; ;) {
    try {
      nc = await connect({ ...options, waitOnFirstConnect: false });
      break;
    } catch (err) {
      const refusal = busRefusal(err as Error);
      if (refusal) throw new Error(refusal, { cause: err });
      if (!said) log.info({}, `NATS at ${address.shown} is not reachable yet (${(err as Error).message}); waiting for it`);
      said = true;
      await new Promise((r) => setTimeout(r, FIRST_CONNECT_RETRY_MS));
    }
  }
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect" || s.type === "reconnect") log.info({ bus: s.type }, `NATS ${s.type}`);
      // e.g. the credentials changed at the server: the node keeps trying, and the log says why.
      else if (s.type === "error") log.warn({ bus: "error" }, `NATS: ${busRefusal(s.error) ?? s.error.message}`);
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
