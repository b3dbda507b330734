/**
 * The baseline's technician: a minimal RFB 3.8 viewer written here (no auth, raw encoding, 32 bpp
 * BGRX, an incremental FramebufferUpdateRequest after every update) for x11vnc on the same display
 * (on loopback, or across the network profile's port forward: network.ts).
 */
import net from "node:net";

import { H, W } from "./config.js";
import { now } from "./harness.js";
import type { Pt, Viewer } from "./viewer.js";

/** Buffered reads of exact byte counts from a socket. */
class SockReader {
  private chunks: Buffer[] = [];
  private len = 0;
  private wake: (() => void) | null = null;
  private ended: Error | null = null;
  total = 0;
  constructor(sock: net.Socket) {
    sock.on("data", (b: Buffer) => {
      this.chunks.push(b);
      this.len += b.length;
      this.total += b.length;
      const w = this.wake;
      this.wake = null;
      w?.();
    });
    const end = (e?: Error) => {
      this.ended = e ?? new Error("connection closed");
      const w = this.wake;
      this.wake = null;
      w?.();
    };
    sock.on("close", () => end());
    sock.on("error", end);
  }
  async read(n: number): Promise<Buffer> {
    if (n === 0) return Buffer.alloc(0);
    while (this.len < n) {
      if (this.ended) throw this.ended;
      await new Promise<void>((r) => (this.wake = r));
    }
    let out: Buffer;
    const first = this.chunks[0]!;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let off = 0;
      while (off < n) {
        const c = this.chunks[0]!;
        const take = Math.min(c.length, n - off);
        c.copy(out, off, 0, take);
        off += take;
        if (take === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(take);
      }
    }
    this.len -= n;
    return out;
  }
}

/** A minimal RFB 3.8 viewer: security None, raw encoding, 32 bpp BGRX, incremental updates. */
export class RfbViewer implements Viewer {
  serverPid = -1;
  onFrame: ((t: number) => void) | null = null;
  frames = 0;
  private fb = Buffer.alloc(W * H * 4);
  private fbW = 0;
  private closed = false;
  private lastUpdate = now();
  private constructor(
    readonly name: string,
    private readonly sock: net.Socket,
    private readonly rd: SockReader,
  ) {}

  /** Connects to the RFB server at host:port (default: loopback). */
  static async connect(name: string, port: number, host = "127.0.0.1"): Promise<RfbViewer> {
    const sock = net.connect({ host, port });
    sock.setNoDelay(true);
    const rd = new SockReader(sock);
    await new Promise<void>((r, j) => (sock.once("connect", r), sock.once("error", j)));
    const v = new RfbViewer(name, sock, rd);
    const version = (await rd.read(12)).toString("latin1");
    if (!version.startsWith("RFB ")) throw new Error(`not an RFB server: ${JSON.stringify(version)}`);
    sock.write("RFB 003.008\n");
    const nTypes = (await rd.read(1))[0]!;
    if (nTypes === 0) throw new Error("RFB: server refused the connection");
    const types = [...(await rd.read(nTypes))];
    if (!types.includes(1)) throw new Error(`RFB: no "None" security type (${types.join(",")})`);
    sock.write(Buffer.from([1]));
    if ((await rd.read(4)).readUInt32BE(0) !== 0) throw new Error("RFB: security handshake failed");
    sock.write(Buffer.from([1])); // ClientInit: shared
    const init = await rd.read(24);
    v.fbW = init.readUInt16BE(0);
    const fbH = init.readUInt16BE(2);
    await rd.read(init.readUInt32BE(20)); // desktop name
    if (v.fbW !== W || fbH !== H) throw new Error(`RFB: framebuffer ${v.fbW}x${fbH}, expected ${W}x${H}`);
    // SetPixelFormat: 32 bpp, depth 24, little endian, true colour, 255/255/255, shifts 16/8/0.
    const spf = Buffer.alloc(20);
    spf[0] = 0;
    spf.set([32, 24, 0, 1], 4);
    spf.writeUInt16BE(255, 8);
    spf.writeUInt16BE(255, 10);
    spf.writeUInt16BE(255, 12);
    spf.set([16, 8, 0], 14);
    sock.write(spf);
    const enc = Buffer.alloc(8); // SetEncodings: raw only
    enc[0] = 2;
    enc.writeUInt16BE(1, 2);
    enc.writeInt32BE(0, 4);
    sock.write(enc);
    v.request(false);
    void v.loop();
    // x11vnc sometimes leaves a request unanswered and the stream stalls: ask again after 200 ms
    // without an update (as viewers do; a surplus request is harmless).
    const watchdog = setInterval(() => {
      if (!v.closed && now() - v.lastUpdate > 200) v.request(true);
    }, 50);
    v.sock.once("close", () => clearInterval(watchdog));
    return v;
  }

  private request(incremental: boolean): void {
    const b = Buffer.alloc(10);
    b[0] = 3;
    b[1] = incremental ? 1 : 0;
    b.writeUInt16BE(W, 6);
    b.writeUInt16BE(H, 8);
    this.sock.write(b);
  }

  private async loop(): Promise<void> {
    try {
      for (;;) {
        const type = (await this.rd.read(1))[0]!;
        if (type === 0) {
          const hdr = await this.rd.read(3);
          const n = hdr.readUInt16BE(1);
          for (let i = 0; i < n; i++) {
            const r = await this.rd.read(12);
            const x = r.readUInt16BE(0),
              y = r.readUInt16BE(2),
              w = r.readUInt16BE(4),
              h = r.readUInt16BE(6),
              e = r.readInt32BE(8);
            if (e !== 0) throw new Error(`RFB: unexpected encoding ${e}`);
            const px = await this.rd.read(w * h * 4);
            for (let row = 0; row < h; row++) px.copy(this.fb, ((y + row) * this.fbW + x) * 4, row * w * 4, (row + 1) * w * 4);
          }
          const t = now();
          this.lastUpdate = t;
          this.request(true);
          this.frames++;
          this.onFrame?.(t);
        } else if (type === 1) {
          const h = await this.rd.read(5);
          await this.rd.read(h.readUInt16BE(3) * 6);
        } else if (type === 2) {
          // bell
        } else if (type === 3) {
          const h = await this.rd.read(7);
          await this.rd.read(h.readUInt32BE(3));
        } else {
          throw new Error(`RFB: unknown server message ${type}`);
        }
      }
    } catch (e) {
      if (!this.closed) console.error(`${this.name}: ${(e as Error).message}`);
    }
  }

  shows(points: Pt[], rgb: number): boolean {
    const r = (rgb >> 16) & 255,
      g = (rgb >> 8) & 255,
      b = rgb & 255;
    for (const [x, y] of points) {
      const i = (y * this.fbW + x) * 4;
      if (Math.abs(this.fb[i]! - b) > 4 || Math.abs(this.fb[i + 1]! - g) > 4 || Math.abs(this.fb[i + 2]! - r) > 4) return false;
    }
    return true;
  }

  async bytesReceived(): Promise<number> {
    return this.rd.total;
  }

  click(x: number, y: number): void {
    const ev = (mask: number) => {
      const b = Buffer.alloc(6);
      b[0] = 5;
      b[1] = mask;
      b.writeUInt16BE(x, 2);
      b.writeUInt16BE(y, 4);
      return b;
    };
    this.sock.write(Buffer.concat([ev(1), ev(0)]));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.sock.destroy();
  }
}
