/**
 * File transfer between the technician's viewer and the support app, over the peer connection's
 * "files" data channel (FileMessage in proto/tether.proto; the broker never sees a byte). One
 * implementation for both ends: the app (Node: files on disk, node:crypto) and the viewer (the
 * browser: File and Blob, a JavaScript SHA-256) inject what differs.
 *
 * Nothing moves before the receiving end accepts (the app asks its user for every file); the
 * sender keeps at most FILE_WINDOW_BYTES ahead of the receiver's acknowledgements (so a slow disk
 * holds it back) and the channel's own buffer under CHANNEL_HIGH_WATER (so the screen's packets are
 * never queued behind megabytes of file); the SHA-256 of what was sent is checked at the end.
 */
import { cleanName } from "../util/text.js";

/** One Chunk's payload: small enough for every SCTP implementation, big enough to cost little per byte. */
export const FILE_CHUNK_BYTES = 16 * 1024;
/** Bytes the sender may have sent beyond the receiver's last acknowledgement. */
export const FILE_WINDOW_BYTES = 4 * 1024 * 1024;
/** The receiver acknowledges (once written) after this many bytes, and at the end. */
export const FILE_ACK_BYTES = 256 * 1024;
/** The sender waits while the channel holds more than this unsent... */
export const CHANNEL_HIGH_WATER = 512 * 1024;
/** ...until it is down to this (RTCDataChannel.bufferedAmountLowThreshold). */
export const CHANNEL_LOW_WATER = 128 * 1024;
/**
 * The most a sender sends, bytes per second (100 Mbit/s): faster than most users' uplinks, and on a
 * LAN or loopback it keeps the agent's CPU for the screen (measured: at ~35 MB/s unpaced the
 * small-change p95 rose from 14 to 22 ms on two cores; see the README's benchmark).
 */
export const FILE_RATE_BYTES_PER_S = 12_500_000;
/** Transfers at once on one connection, each way. */
export const MAX_TRANSFERS = 8;
/** Transfers one connection may see in all (a viewer flooding offers or requests is refused after it). */
export const MAX_TRANSFERS_PER_CONNECTION = 256;
export const MAX_FILE_NAME_CHARS = 200;
export const MAX_PATH_CHARS = 4096;
export const MAX_ID_CHARS = 16;
/** Progress is reported at most this often (status changes always). */
const PROGRESS_EVERY_MS = 250;

/** FileMessage as plain objects (the generated $Properties, sizes as numbers). */
export interface FileMsg {
  offer?: { id?: string | null; name?: string | null; size?: number | null } | null;
  request?: { id?: string | null; path?: string | null } | null;
  accept?: { id?: string | null } | null;
  decline?: { id?: string | null; reason?: string | null } | null;
  chunk?: { id?: string | null; data?: Uint8Array | null } | null;
  end?: { id?: string | null; sha256?: Uint8Array | null } | null;
  ack?: { id?: string | null; received?: number | null } | null;
  done?: { id?: string | null; ok?: boolean | null; reason?: string | null; savedAs?: string | null } | null;
  cancel?: { id?: string | null; reason?: string | null } | null;
}

/** The data channel, as the endpoint needs it (messages are encoded by the caller). */
export interface FileChannel {
  send(msg: FileMsg): void;
  readonly bufferedAmount: number;
  /** Resolves once the channel's buffer is down to CHANNEL_LOW_WATER, or it closed. */
  drained(): Promise<void>;
}

export interface Hasher {
  update(data: Uint8Array): void;
  digest(): Uint8Array;
}

/** A file to send. `read` returns fewer bytes than asked only at its end. */
export interface FileSource {
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): void;
}

/** Where a received file goes. Nothing is kept unless finish() is called (abort() removes it). */
export interface FileSink {
  write(data: Uint8Array): Promise<void>;
  /** The file is complete and checked: keep it. Resolves with the name it was kept under. */
  finish(): Promise<string>;
  abort(): void;
}

export type TransferStatus =
  | "asking" // the receiving user is asked (or, for a request, the user whose file it is)
  | "moving"
  | "checking" // all sent; waiting for the receiver's check
  | "done"
  | "declined"
  | "cancelled"
  | "failed";

export interface TransferView {
  id: string;
  /** "out": this end sends; "in": this end receives. */
  direction: "out" | "in";
  name: string;
  size: number;
  /** Bytes confirmed: written here (in), acknowledged by the receiver (out). */
  bytes: number;
  status: TransferStatus;
  /** Why it is not done (declined, cancelled, failed): a code, see FileMessage in the protocol. */
  reason?: string;
  /** Which end cancelled it. */
  cancelledBy?: "here" | "there";
  /** The name the receiving app saved it under (with Done). */
  savedAs?: string;
  /** Hex SHA-256 once checked. */
  sha256?: string;
  /** A request of this end (the file was asked for, not offered). */
  requested?: boolean;
  /** When bytes began to move, and when it ended (ms, the endpoint's clock). */
  startedAt?: number;
  endedAt?: number;
}

export interface Offered {
  id: string;
  name: string;
  size: number;
  /** This end asked for the file (a Request): the offer answers it. */
  requested: boolean;
}

export interface FileEndpointOptions {
  channel: FileChannel;
  /** "a" (the app) or "b" (the browser): ids this end chooses start with it. */
  idPrefix: string;
  /** The broker's limit; larger offers are declined ("too-large"), larger sends refused. */
  maxBytes: number;
  sha256: () => Hasher;
  /** An offer arrived: a sink accepts it, a string declines it with that reason. `signal` aborts when the sender cancels meanwhile. */
  offered: (o: Offered, signal: AbortSignal) => Promise<FileSink | string>;
  /** The other end asks for a file here (only the app allows it; absent: declined). */
  requested?: (r: { id: string; path: string }, signal: AbortSignal) => Promise<{ source: FileSource; name: string } | string>;
  /** A transfer changed (status at once, progress at most every 250 ms). */
  changed: (t: Readonly<TransferView>) => void;
  /** Sending pace (bytes per second; default FILE_RATE_BYTES_PER_S; 0: unpaced). */
  maxBytesPerSecond?: number;
  now?: () => number;
}

interface Outgoing {
  view: TransferView;
  source: FileSource | null;
  acked: number;
  wake: (() => void) | null;
  lastEmit: number;
  /** Hex SHA-256 of what was sent, once all of it was. */
  digest?: string;
}

interface Incoming {
  view: TransferView;
  sink: FileSink | null;
  hasher: Hasher | null;
  /** Bytes arrived (hashed), bytes written, and the write in flight. */
  arrived: number;
  written: number;
  ackedAt: number;
  writes: Promise<void>;
  ask: AbortController | null;
  lastEmit: number;
  /** The checked file is being kept (sink.finish): too late to cancel. */
  finishing?: boolean;
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const isEnded = (s: TransferStatus) => s === "done" || s === "declined" || s === "cancelled" || s === "failed";

/** Reserved device names on Windows: a file cannot be called that, with any extension. */
const WINDOWS_DEVICES = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;

/**
 * A file name as it may be saved on Linux and Windows alike: its last path component, cleaned
 * like a name (no control or direction characters), no characters Windows forbids, no trailing
 * dots or spaces, no device names, at most MAX_FILE_NAME_CHARS (the extension kept); "file" when
 * nothing is left.
 */
export function safeFileName(name: string): string {
  const last = name.split(/[\\/]/).pop() ?? "";
  let s = cleanName(last, 10_000)
    .replace(/[<>:"|?*]/g, "_")
    .replace(/[. ]+$/, "");
  if (s === "" || s === "." || s === "..") return "file";
  if (WINDOWS_DEVICES.test(s)) s = `_${s}`;
  const points = Array.from(s);
  if (points.length > MAX_FILE_NAME_CHARS) {
    const dot = s.lastIndexOf(".");
    const ext = dot > 0 ? Array.from(s.slice(dot)) : [];
    const keepExt = ext.length > 0 && ext.length <= 16 ? ext : [];
    s = points.slice(0, MAX_FILE_NAME_CHARS - keepExt.length).join("") + keepExt.join("");
  }
  return s;
}

/** Time left (ms) at the average rate so far, or null while that is unknown. */
export function timeLeftMs(t: TransferView, now: number): number | null {
  if (t.status !== "moving" || t.startedAt === undefined || t.bytes <= 0) return null;
  const elapsed = now - t.startedAt;
  if (elapsed < 500) return null;
  return Math.max(0, Math.round(((t.size - t.bytes) * elapsed) / t.bytes));
}

/** "1.5 MB", "320 KB", "12 bytes" (decimal units, as file managers show them). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} ${n === 1 ? "byte" : "bytes"}`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = n / 1000;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v >= 100 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

/** One end of the "files" channel: its transfers both ways. */
export class FileEndpoint {
  private readonly out = new Map<string, Outgoing>();
  private readonly in = new Map<string, Incoming>();
  private nextId = 1;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly o: FileEndpointOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Every transfer of this connection, oldest first. */
  list(): TransferView[] {
    return [...this.out.values(), ...this.in.values()].map((t) => ({ ...t.view })).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** Offers `source` as `name` to the other end; the bytes move once it accepts. */
  send(source: FileSource, name: string): string {
    const id = this.newId();
    const view: TransferView = { id, direction: "out", name: safeFileName(name), size: source.size, bytes: 0, status: "asking" };
    const t: Outgoing = { view, source, acked: 0, wake: null, lastEmit: 0 };
    this.out.set(id, t);
    if (source.size > this.o.maxBytes) {
      this.endOut(t, "declined", "too-large");
      return id;
    }
    if (this.active("out") > MAX_TRANSFERS) {
      this.endOut(t, "declined", "busy");
      return id;
    }
    this.emit(view);
    this.o.channel.send({ offer: { id, name: view.name, size: source.size } });
    return id;
  }

  /** Asks the other end (the app) for the file at `path`; it arrives as an offer of the same id. */
  request(path: string): string {
    const id = this.newId();
    const name = safeFileName(path);
    const t = this.newIncoming({ id, direction: "in", name, size: 0, bytes: 0, status: "asking", requested: true });
    this.emit(t.view);
    this.o.channel.send({ request: { id, path: path.slice(0, MAX_PATH_CHARS) } });
    return id;
  }

  /** Cancels a transfer this end takes part in (either way); the other end is told. */
  cancel(id: string): void {
    const o = this.out.get(id);
    if (o && !isEnded(o.view.status)) {
      this.o.channel.send({ cancel: { id, reason: "cancelled" } });
      o.view.cancelledBy = "here";
      this.endOut(o, "cancelled", "cancelled");
    }
    const i = this.in.get(id);
    if (i && !isEnded(i.view.status) && !i.finishing) {
      this.o.channel.send({ cancel: { id, reason: "cancelled" } });
      i.view.cancelledBy = "here";
      this.endIn(i, "cancelled", "cancelled");
    }
  }

  /** The channel closed: whatever is under way fails ("closed"), partial files are removed. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.out.values()) if (!isEnded(t.view.status)) this.endOut(t, "failed", "closed");
    for (const t of this.in.values()) if (!isEnded(t.view.status)) this.endIn(t, "failed", "closed");
  }

  /** A message from the other end. Anything out of order cancels the transfer it names. */
  handle(msg: FileMsg): void {
    if (this.closed) return;
    if (msg.offer) return this.onOffer(String(msg.offer.id ?? ""), String(msg.offer.name ?? ""), Number(msg.offer.size ?? 0));
    if (msg.request) return this.onRequest(String(msg.request.id ?? ""), String(msg.request.path ?? ""));
    if (msg.chunk) return this.onChunk(String(msg.chunk.id ?? ""), msg.chunk.data ?? new Uint8Array(0));
    if (msg.ack) return this.onAck(String(msg.ack.id ?? ""), Number(msg.ack.received ?? 0));
    if (msg.accept) return this.onAccept(String(msg.accept.id ?? ""));
    if (msg.end) return this.onEnd(String(msg.end.id ?? ""), msg.end.sha256 ?? new Uint8Array(0));
    if (msg.done)
      return this.onDone(String(msg.done.id ?? ""), Boolean(msg.done.ok), String(msg.done.reason ?? ""), msg.done.savedAs ?? "");
    if (msg.decline) return this.onDecline(String(msg.decline.id ?? ""), String(msg.decline.reason ?? "declined"));
    if (msg.cancel) return this.onCancel(String(msg.cancel.id ?? ""));
  }

  // ---- receiving ----------------------------------------------------------------------------

  private onOffer(id: string, rawName: string, size: number): void {
    if (!validId(id)) return;
    const asked = this.in.get(id);
    // A file this end asked for keeps the name taken from the path asked for (the other end cannot
    // turn "syslog" into "update.exe").
    const name = asked ? asked.view.name : safeFileName(rawName);
    if (!asked && this.in.size + this.out.size >= MAX_TRANSFERS_PER_CONNECTION) return this.protocolError(id);
    if (asked && !(asked.view.requested && asked.view.status === "asking" && asked.view.size === 0 && asked.sink === null && !asked.ask)) {
      return this.protocolError(id);
    }
    if (!asked && (id.startsWith(this.o.idPrefix) || this.out.has(id))) return this.protocolError(id);
    const t = asked ?? this.newIncoming({ id, direction: "in", name, size, bytes: 0, status: "asking" });
    t.view.size = size;
    if (!Number.isSafeInteger(size) || size < 0 || size > this.o.maxBytes) {
      this.o.channel.send({ decline: { id, reason: "too-large" } });
      return this.endIn(t, "declined", "too-large");
    }
    if (!asked && this.active("in") > MAX_TRANSFERS) {
      this.o.channel.send({ decline: { id, reason: "busy" } });
      return this.endIn(t, "declined", "busy");
    }
    this.emit(t.view);
    const ask = (t.ask = new AbortController());
    this.o.offered({ id, name, size, requested: Boolean(asked) }, ask.signal).then(
      (answer) => {
        t.ask = null;
        if (typeof answer === "string") {
          if (isEnded(t.view.status)) return;
          this.o.channel.send({ decline: { id, reason: answer } });
          return this.endIn(t, "declined", answer);
        }
        if (isEnded(t.view.status) || this.closed) return answer.abort();
        t.sink = answer;
        t.hasher = this.o.sha256();
        t.view.status = "moving";
        t.view.startedAt = this.now();
        this.emit(t.view);
        this.o.channel.send({ accept: { id } });
      },
      () => {
        t.ask = null;
        if (isEnded(t.view.status)) return;
        this.o.channel.send({ decline: { id, reason: "declined" } });
        this.endIn(t, "declined", "declined");
      },
    );
  }

  private onChunk(id: string, data: Uint8Array): void {
    const t = this.in.get(id);
    if (!t || isEnded(t.view.status)) return; // cancelled here: what was in flight is dropped
    if (t.view.status !== "moving" || !t.sink || !t.hasher) return this.protocolError(id);
    if (t.arrived + data.length > t.view.size) {
      this.o.channel.send({ cancel: { id, reason: "protocol" } });
      return this.endIn(t, "failed", "size");
    }
    // A sender that ignores the window would park the file in this end's memory, waiting for the disk.
    if (t.arrived + data.length - t.written > FILE_WINDOW_BYTES + FILE_CHUNK_BYTES) return this.protocolError(id);
    t.arrived += data.length;
    t.hasher.update(data);
    const sink = t.sink;
    // Writes go in order; each acknowledgement waits for its write (a slow disk holds the sender back).
    t.writes = t.writes.then(async () => {
      if (isEnded(t.view.status)) return;
      await sink.write(data);
      t.written += data.length;
      t.view.bytes = t.written;
      if (t.written - t.ackedAt >= FILE_ACK_BYTES || t.written === t.view.size) {
        t.ackedAt = t.written;
        this.o.channel.send({ ack: { id, received: t.written } });
      }
      this.progress(t);
    });
    t.writes.catch(() => {
      if (isEnded(t.view.status)) return;
      this.o.channel.send({ cancel: { id, reason: "disk" } });
      this.endIn(t, "failed", "disk");
    });
  }

  private onEnd(id: string, digest: Uint8Array): void {
    const t = this.in.get(id);
    if (!t || isEnded(t.view.status)) return;
    if (t.view.status !== "moving" || !t.sink || !t.hasher) return this.protocolError(id);
    t.view.status = "checking";
    this.emit(t.view);
    const sink = t.sink;
    const mine = t.hasher.digest();
    void t.writes.then(
      async () => {
        if (isEnded(t.view.status)) return;
        if (t.written !== t.view.size) {
          this.o.channel.send({ done: { id, ok: false, reason: "size" } });
          return this.endIn(t, "failed", "size");
        }
        if (hex(mine) !== hex(digest)) {
          this.o.channel.send({ done: { id, ok: false, reason: "checksum" } });
          return this.endIn(t, "failed", "checksum");
        }
        let savedAs: string;
        t.finishing = true; // from here on the file is kept or fails; a cancel comes too late
        try {
          savedAs = await sink.finish();
        } catch {
          t.finishing = false;
          this.o.channel.send({ done: { id, ok: false, reason: "disk" } });
          return this.endIn(t, "failed", "disk");
        }
        t.sink = null; // kept: nothing to abort any more
        if (isEnded(t.view.status)) return; // closed while it was kept: the file stays, said as failed
        t.view.sha256 = hex(mine);
        t.view.savedAs = savedAs;
        this.o.channel.send({ done: { id, ok: true, savedAs } });
        this.endIn(t, "done");
      },
      () => {},
    );
  }

  private onRequest(id: string, path: string): void {
    if (!validId(id) || id.startsWith(this.o.idPrefix) || this.out.has(id) || this.in.has(id)) return this.protocolError(id);
    if (this.in.size + this.out.size >= MAX_TRANSFERS_PER_CONNECTION) return this.protocolError(id);
    const view: TransferView = { id, direction: "out", name: safeFileName(path), size: 0, bytes: 0, status: "asking", requested: true };
    const t: Outgoing = { view, source: null, acked: 0, wake: null, lastEmit: 0 };
    this.out.set(id, t);
    if (!this.o.requested) {
      this.o.channel.send({ decline: { id, reason: "declined" } });
      return this.endOut(t, "declined", "declined");
    }
    if (this.active("out") > MAX_TRANSFERS) {
      this.o.channel.send({ decline: { id, reason: "busy" } });
      return this.endOut(t, "declined", "busy");
    }
    this.emit(view);
    const ask = new AbortController();
    t.wake = () => ask.abort();
    this.o.requested({ id, path: path.slice(0, MAX_PATH_CHARS) }, ask.signal).then(
      (answer) => {
        t.wake = null;
        if (typeof answer === "string") {
          if (isEnded(view.status)) return;
          this.o.channel.send({ decline: { id, reason: answer } });
          return this.endOut(t, "declined", answer);
        }
        if (isEnded(view.status) || this.closed) return answer.source.close();
        t.source = answer.source;
        view.name = safeFileName(answer.name);
        view.size = answer.source.size;
        if (view.size > this.o.maxBytes) {
          this.o.channel.send({ decline: { id, reason: "too-large" } });
          return this.endOut(t, "declined", "too-large");
        }
        this.emit(view);
        this.o.channel.send({ offer: { id, name: view.name, size: view.size } });
      },
      () => {
        t.wake = null;
        if (isEnded(view.status)) return;
        this.o.channel.send({ decline: { id, reason: "unreadable" } });
        this.endOut(t, "declined", "unreadable");
      },
    );
  }

  // ---- sending ------------------------------------------------------------------------------

  private onAccept(id: string): void {
    const t = this.out.get(id);
    if (!t || isEnded(t.view.status)) return;
    if (t.view.status !== "asking" || !t.source) return this.protocolError(id);
    t.view.status = "moving";
    t.view.startedAt = this.now();
    this.emit(t.view);
    void this.pump(t);
  }

  private async pump(t: Outgoing): Promise<void> {
    const { id, size } = t.view;
    const source = t.source!;
    const hasher = this.o.sha256();
    const rate = this.o.maxBytesPerSecond ?? FILE_RATE_BYTES_PER_S;
    const started = performance.now();
    let offset = 0;
    try {
      while (offset < size) {
        if (t.view.status !== "moving") return;
        // Paced: never more than `rate` on average since the start (a burst of a window's worth at first).
        const early = rate > 0 ? (offset - FILE_WINDOW_BYTES) / rate - (performance.now() - started) / 1000 : 0;
        if (early > 0.002) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, Math.min(early * 1000, 250));
            t.wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          t.wake = null;
          continue;
        }
        if (offset - t.acked >= FILE_WINDOW_BYTES) {
          await new Promise<void>((resolve) => (t.wake = resolve));
          t.wake = null;
          continue;
        }
        if (this.o.channel.bufferedAmount > CHANNEL_HIGH_WATER) {
          await this.o.channel.drained();
          continue;
        }
        const data = await source.read(offset, Math.min(FILE_CHUNK_BYTES, size - offset));
        if (t.view.status !== "moving") return;
        if (data.length === 0) throw new Error("the file got shorter while it was sent");
        hasher.update(data);
        this.o.channel.send({ chunk: { id, data } });
        offset += data.length;
      }
      if (t.view.status !== "moving") return;
      t.view.status = "checking";
      this.emit(t.view);
      const digest = hasher.digest();
      t.digest = hex(digest);
      this.o.channel.send({ end: { id, sha256: digest } });
    } catch {
      if (isEnded(t.view.status)) return;
      this.o.channel.send({ cancel: { id, reason: "unreadable" } });
      this.endOut(t, "failed", "unreadable");
    }
  }

  private onAck(id: string, received: number): void {
    const t = this.out.get(id);
    if (!t || isEnded(t.view.status)) return;
    if (received < t.acked || received > t.view.size) return this.protocolError(id);
    t.acked = received;
    t.view.bytes = received;
    t.wake?.();
    this.progress(t);
  }

  private onDone(id: string, ok: boolean, reason: string, savedAs: string): void {
    const t = this.out.get(id);
    if (!t || isEnded(t.view.status)) return;
    if (t.view.status !== "checking") return this.protocolError(id);
    if (ok) {
      t.view.bytes = t.view.size;
      if (t.digest) t.view.sha256 = t.digest;
      if (savedAs) t.view.savedAs = safeFileName(savedAs);
      this.endOut(t, "done");
    } else this.endOut(t, "failed", reason || "failed");
  }

  private onDecline(id: string, reason: string): void {
    const o = this.out.get(id);
    if (o && o.view.status === "asking") return this.endOut(o, "declined", reason);
    const i = this.in.get(id);
    if (i && i.view.requested && i.view.status === "asking") return this.endIn(i, "declined", reason);
  }

  private onCancel(id: string): void {
    const o = this.out.get(id);
    if (o && !isEnded(o.view.status)) {
      o.view.cancelledBy = "there";
      this.endOut(o, "cancelled", "cancelled");
    }
    const i = this.in.get(id);
    if (i && !isEnded(i.view.status) && !i.finishing) {
      i.view.cancelledBy = "there";
      this.endIn(i, "cancelled", "cancelled");
    }
  }

  // ---- both ---------------------------------------------------------------------------------

  private protocolError(id: string): void {
    if (!validId(id)) return;
    this.o.channel.send({ cancel: { id, reason: "protocol" } });
    const o = this.out.get(id);
    if (o && !isEnded(o.view.status)) this.endOut(o, "failed", "protocol");
    const i = this.in.get(id);
    if (i && !isEnded(i.view.status) && !i.finishing) this.endIn(i, "failed", "protocol");
  }

  private newIncoming(view: TransferView): Incoming {
    const t: Incoming = {
      view,
      sink: null,
      hasher: null,
      arrived: 0,
      written: 0,
      ackedAt: 0,
      writes: Promise.resolve(),
      ask: null,
      lastEmit: 0,
    };
    this.in.set(view.id, t);
    return t;
  }

  private endOut(t: Outgoing, status: TransferStatus, reason?: string): void {
    t.view.status = status;
    if (reason && status !== "done") t.view.reason = reason;
    t.view.endedAt = this.now();
    t.source?.close();
    t.source = null;
    const wake = t.wake;
    t.wake = null;
    wake?.();
    this.emit(t.view);
  }

  private endIn(t: Incoming, status: TransferStatus, reason?: string): void {
    t.view.status = status;
    if (reason && status !== "done") t.view.reason = reason;
    t.view.endedAt = this.now();
    t.ask?.abort();
    t.ask = null;
    t.sink?.abort();
    t.sink = null;
    this.emit(t.view);
  }

  private progress(t: Outgoing | Incoming): void {
    const now = this.now();
    if (now - t.lastEmit < PROGRESS_EVERY_MS && t.view.bytes < t.view.size) return;
    t.lastEmit = now;
    this.emit(t.view);
  }

  private emit(view: TransferView): void {
    this.o.changed({ ...view });
  }

  private active(direction: "out" | "in"): number {
    const m: Map<string, { view: TransferView }> = direction === "out" ? this.out : this.in;
    let n = 0;
    for (const t of m.values()) if (!isEnded(t.view.status)) n++;
    return n;
  }

  private newId(): string {
    return `${this.o.idPrefix}${this.nextId++}`;
  }
}

function validId(id: string): boolean {
  return id.length > 0 && id.length <= MAX_ID_CHARS && /^[A-Za-z0-9_-]+$/.test(id);
}
