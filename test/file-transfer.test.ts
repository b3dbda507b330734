/**
 * The file-transfer engine both ends share (src/session/file-transfer.ts), two endpoints joined by
 * an in-memory channel that encodes every message with the real protobuf code (pure logic: the
 * end-to-end tests over WebRTC are in test/file-transfer-e2e.test.ts).
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { downloadSink, downloadsFolder, fileSource, fileStat, numberedName, requestablePath } from "../src/agent/transfers.js";
import { spawnSync } from "node:child_process";
import { tempDir } from "./support/procs.js";
import { pb } from "../src/proto/wire.js";
import {
  CHANNEL_HIGH_WATER,
  FILE_WINDOW_BYTES,
  FileEndpoint,
  MAX_TRANSFERS_PER_CONNECTION,
  formatBytes,
  safeFileName,
  timeLeftMs,
  type FileChannel,
  type FileMsg,
  type FileSink,
  type FileSource,
  type TransferView,
} from "../src/session/file-transfer.js";

const sha256 = () => {
  const h = createHash("sha256");
  return { update: (d: Uint8Array) => void h.update(d), digest: () => new Uint8Array(h.digest()) };
};

/** Both directions of a channel; `tamper` may change a message on its way (encoded bytes in, bytes out). */
function link(o: { tamper?: (m: FileMsg) => FileMsg } = {}) {
  const sent: { from: "a" | "b"; msg: FileMsg }[] = [];
  const ends: Record<"a" | "b", FileEndpoint | null> = { a: null, b: null };
  const channel = (from: "a" | "b"): FileChannel => ({
    send(msg) {
      const bytes = pb.FileMessage.encode(msg as never).finish();
      const decoded = pb.FileMessage.decode(bytes) as FileMsg;
      sent.push({ from, msg: decoded });
      const to = from === "a" ? "b" : "a";
      const m = o.tamper ? o.tamper(decoded) : decoded;
      queueMicrotask(() => ends[to]!.handle(m));
    },
    bufferedAmount: 0,
    drained: () => Promise.resolve(),
  });
  return { sent, ends, channel };
}

function memorySource(data: Uint8Array, closed: { n: number } = { n: 0 }): FileSource {
  return {
    size: data.length,
    read: async (offset, length) => data.subarray(offset, offset + length),
    close: () => void closed.n++,
  };
}

function memorySink(o: { delayMs?: number } = {}) {
  const parts: Uint8Array[] = [];
  const state = { finished: false, aborted: false, written: 0 };
  const sink: FileSink = {
    async write(d) {
      if (o.delayMs) await new Promise((r) => setTimeout(r, o.delayMs));
      parts.push(Uint8Array.from(d));
      state.written += d.length;
    },
    async finish() {
      state.finished = true;
      return "saved.bin";
    },
    abort() {
      state.aborted = true;
    },
  };
  return { sink, state, bytes: () => Buffer.concat(parts) };
}

function endpoint(
  l: ReturnType<typeof link>,
  side: "a" | "b",
  o: Partial<ConstructorParameters<typeof FileEndpoint>[0]> = {},
): { e: FileEndpoint; views: TransferView[]; last: (id: string) => TransferView | undefined } {
  const views: TransferView[] = [];
  const e = new FileEndpoint({
    channel: l.channel(side),
    idPrefix: side,
    maxBytes: 10_000_000,
    sha256,
    offered: async () => "declined",
    changed: (t) => views.push(t),
    ...o,
  });
  l.ends[side] = e;
  return { e, views, last: (id) => views.filter((v) => v.id === id).at(-1) };
}

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 2));
  }
};

describe("file transfer engine", () => {
  it("sends a file once accepted: the bytes arrive whole, both ends agree on the SHA-256, the sink is kept", async () => {
    const l = link();
    const data = randomBytes(1_000_003);
    const received = memorySink();
    let asked: unknown = null;
    const a = endpoint(l, "a", {
      offered: async (offer) => {
        asked = offer;
        return received.sink;
      },
    });
    const b = endpoint(l, "b");
    const closed = { n: 0 };
    const id = b.e.send(memorySource(data, closed), "../../etc/report.pdf");
    await until(() => b.last(id)?.status === "done");
    expect(asked).toEqual({ id, name: "report.pdf", size: data.length, requested: false });
    expect(received.bytes().equals(data)).toBe(true);
    expect(received.state).toMatchObject({ finished: true, aborted: false });
    const digest = createHash("sha256").update(data).digest("hex");
    expect(b.last(id)).toMatchObject({ status: "done", bytes: data.length, sha256: digest, savedAs: "saved.bin" });
    await until(() => a.last(id)?.status === "done");
    expect(a.last(id)).toMatchObject({ direction: "in", sha256: digest, savedAs: "saved.bin" });
    expect(closed.n).toBe(1);
  });

  it("declined or too large: not one byte moves, and the sender learns why", async () => {
    const l = link();
    let asks = 0;
    endpoint(l, "a", {
      maxBytes: 5000,
      offered: async () => {
        asks++;
        return "declined";
      },
    });
    const b = endpoint(l, "b", { maxBytes: 1_000_000 });
    const small = b.e.send(memorySource(randomBytes(100)), "a.txt");
    const big = b.e.send(memorySource(randomBytes(6000)), "b.txt");
    await until(() => b.last(small)?.status === "declined" && b.last(big)?.status === "declined");
    expect(b.last(small)!.reason).toBe("declined");
    expect(b.last(big)!.reason).toBe("too-large");
    expect(asks).toBe(1); // the too-large one never reached the user
    expect(l.sent.filter((s) => s.msg.chunk)).toHaveLength(0);
    // Over the sender's own limit: refused before anything is said.
    const over = b.e.send(memorySource(new Uint8Array(2_000_000)), "c.bin");
    expect(b.last(over)).toMatchObject({ status: "declined", reason: "too-large" });
  });

  it("never runs more than its window ahead of what the receiver wrote, and waits for a full channel", async () => {
    const l = link();
    const slow = memorySink({ delayMs: 1 });
    endpoint(l, "a", { offered: async () => slow.sink });
    // The sender's channel reports a full buffer for its first 3 waits.
    let fullFor = 3;
    let drains = 0;
    const ch = l.channel("b");
    const chB: FileChannel = {
      send: (m) => ch.send(m),
      get bufferedAmount() {
        return fullFor > 0 ? CHANNEL_HIGH_WATER + 1 : 0;
      },
      drained: async () => {
        drains++;
        fullFor--;
      },
    };
    let maxAhead = 0;
    const b = endpoint(l, "b", { channel: chB });
    const data = randomBytes(FILE_WINDOW_BYTES * 2 + 12345);
    const id = b.e.send(memorySource(data), "big.bin");
    let sentBytes = 0;
    const watch = setInterval(() => {
      sentBytes = l.sent.filter((s) => s.from === "b" && s.msg.chunk).reduce((n, s) => n + s.msg.chunk!.data!.length, 0);
      maxAhead = Math.max(maxAhead, sentBytes - slow.state.written);
    }, 1);
    await until(() => b.last(id)?.status === "done", 20_000);
    clearInterval(watch);
    expect(slow.bytes().equals(data)).toBe(true);
    expect(drains).toBe(3);
    expect(maxAhead).toBeGreaterThan(0);
    expect(maxAhead).toBeLessThanOrEqual(FILE_WINDOW_BYTES + 256 * 1024);
  }, 30_000);

  it("paces what it sends: after a window's worth, no faster than its rate on average", async () => {
    for (const rate of [2_000_000, 0]) {
      const l = link();
      const sink = memorySink();
      endpoint(l, "a", { offered: async () => sink.sink });
      const b = endpoint(l, "b", { maxBytesPerSecond: rate });
      const data = randomBytes(FILE_WINDOW_BYTES + 2_000_000);
      const started = performance.now();
      const id = b.e.send(memorySource(data), "paced.bin");
      await until(() => b.last(id)?.status === "done", 10_000);
      const seconds = (performance.now() - started) / 1000;
      if (rate) expect(seconds).toBeGreaterThanOrEqual(0.95);
      else expect(seconds).toBeLessThan(0.9);
      expect(sink.bytes().equals(data)).toBe(true);
    }
  });

  it("cancel on either side stops it: the sender sends no more, the partial file is removed", async () => {
    for (const who of ["receiver", "sender"] as const) {
      const l = link();
      const sink = memorySink({ delayMs: 2 });
      const a = endpoint(l, "a", { offered: async () => sink.sink });
      const b = endpoint(l, "b");
      const closed = { n: 0 };
      const id = b.e.send(memorySource(randomBytes(3_000_000), closed), "x.bin");
      await until(() => sink.state.written > 100_000);
      (who === "receiver" ? a : b).e.cancel(id);
      await until(() => b.last(id)?.status === "cancelled" && a.last(id)?.status === "cancelled");
      const chunks = l.sent.filter((s) => s.msg.chunk).length;
      await new Promise((r) => setTimeout(r, 50));
      expect(l.sent.filter((s) => s.msg.chunk).length).toBe(chunks);
      expect(sink.state).toMatchObject({ aborted: true, finished: false });
      expect(closed.n).toBe(1);
      expect(b.last(id)!.cancelledBy).toBe(who === "sender" ? "here" : "there");
      expect(a.last(id)!.cancelledBy).toBe(who === "receiver" ? "here" : "there");
    }
  });

  it("a byte changed on the way: the receiver's SHA-256 differs, the file is not kept, both ends say so", async () => {
    let flipped = false;
    const l = link({
      tamper: (m) => {
        if (m.chunk && !flipped) {
          flipped = true;
          const d = Uint8Array.from(m.chunk.data!);
          d[7] = d[7]! ^ 1;
          return { chunk: { id: m.chunk.id, data: d } };
        }
        return m;
      },
    });
    const sink = memorySink();
    const a = endpoint(l, "a", { offered: async () => sink.sink });
    const b = endpoint(l, "b");
    const id = b.e.send(memorySource(randomBytes(100_000)), "x.bin");
    await until(() => b.last(id)?.status === "failed");
    expect(b.last(id)!.reason).toBe("checksum");
    expect(a.last(id)).toMatchObject({ status: "failed", reason: "checksum" });
    expect(sink.state).toMatchObject({ aborted: true, finished: false });
  });

  it("a request: the app's end is asked for the path, offers the file under the request's id, and the browser's end takes it", async () => {
    const l = link();
    const data = randomBytes(70_000);
    const paths: string[] = [];
    const app = endpoint(l, "a", {
      requested: async (r) => {
        paths.push(r.path);
        return r.path.endsWith("missing") ? "not-found" : { source: memorySource(data), name: "syslog" };
      },
    });
    const sink = memorySink();
    const offers: unknown[] = [];
    const browser = endpoint(l, "b", {
      offered: async (o) => {
        offers.push(o);
        return sink.sink;
      },
    });
    const id = browser.e.request("/var/log/syslog");
    expect(browser.last(id)).toMatchObject({ status: "asking", direction: "in", requested: true, name: "syslog" });
    await until(() => browser.last(id)?.status === "done");
    expect(paths).toEqual(["/var/log/syslog"]);
    expect(offers).toEqual([{ id, name: "syslog", size: data.length, requested: true }]);
    expect(sink.bytes().equals(data)).toBe(true);
    expect(app.last(id)).toMatchObject({ direction: "out", status: "done", requested: true });
    const missing = browser.e.request("/nope/missing");
    await until(() => browser.last(missing)?.status === "declined");
    expect(browser.last(missing)!.reason).toBe("not-found");
  });

  it("an offer for an id it did not ask for, a chunk before acceptance, a request to an end that allows none: refused", async () => {
    const l = link();
    const browser = endpoint(l, "b");
    const app = endpoint(l, "a", { offered: async () => memorySink().sink });
    // The app's end sends an offer with an id of the browser's kind (as if answering a request never made).
    l.channel("a").send({ offer: { id: "b99", name: "x", size: 10 } });
    await until(() => l.sent.some((s) => s.from === "b" && s.msg.cancel?.id === "b99"));
    // A chunk for a transfer nobody accepted.
    l.channel("a").send({ chunk: { id: "a1", data: new Uint8Array(5) } });
    await new Promise((r) => setTimeout(r, 10));
    expect(browser.views.filter((v) => v.status === "moving")).toHaveLength(0);
    // The browser's end allows no requests.
    const id = app.e.request("/etc/passwd");
    await until(() => app.last(id)?.status === "declined");
  });

  it("a file asked for keeps the name of the path asked for; a sender that ignores the window is stopped; a flood of offers is cut off after 256", async () => {
    const l = link();
    endpoint(l, "a", { requested: async () => ({ source: memorySource(randomBytes(10)), name: "update.exe" }) });
    const sink = memorySink();
    const browser = endpoint(l, "b", { offered: async () => sink.sink });
    const id = browser.e.request("/var/log/syslog");
    await until(() => browser.last(id)?.status === "done");
    expect(browser.last(id)!.name).toBe("syslog");

    // A sender that pays no attention to acknowledgements: more than the window in flight.
    const l2 = link();
    const slow = memorySink({ delayMs: 50 });
    const rx = endpoint(l2, "a", { offered: async () => slow.sink });
    endpoint(l2, "b"); // (only here to take the answers)
    const send = l2.channel("b");
    send.send({ offer: { id: "b1", name: "x", size: 9_000_000 } });
    await until(() => l2.sent.some((m) => m.from === "a" && m.msg.accept));
    for (let i = 0; i < 400; i++) send.send({ chunk: { id: "b1", data: new Uint8Array(16 * 1024) } });
    await until(() => rx.last("b1")?.status === "failed");
    expect(rx.last("b1")!.reason).toBe("protocol");
    await until(() => slow.state.aborted);

    // Offers without end: refused after MAX_TRANSFERS_PER_CONNECTION, each asked nothing after that.
    const l3 = link();
    let asked = 0;
    endpoint(l3, "a", {
      offered: async () => {
        asked++;
        return "declined";
      },
    });
    endpoint(l3, "b");
    const flood = l3.channel("b");
    for (let i = 0; i < 300; i++) flood.send({ offer: { id: `b${i}`, name: "x", size: 1 } });
    await until(() => l3.sent.filter((m) => m.from === "a" && (m.msg.decline || m.msg.cancel)).length >= 300);
    const answers = l3.sent.filter((m) => m.from === "a");
    // The first 256 are answered (asked, 8 at a time, or "busy"); every one after them is refused outright.
    expect(answers.filter((m) => m.msg.decline).length).toBe(MAX_TRANSFERS_PER_CONNECTION);
    expect(answers.filter((m) => m.msg.cancel?.reason === "protocol").length).toBe(300 - MAX_TRANSFERS_PER_CONNECTION);
    expect(asked).toBeGreaterThan(0);
    expect(asked).toBeLessThanOrEqual(MAX_TRANSFERS_PER_CONNECTION);
  });

  it("the connection closes mid-way: both ends fail with 'closed' and the partial file is removed", async () => {
    const l = link();
    const sink = memorySink({ delayMs: 2 });
    const a = endpoint(l, "a", { offered: async () => sink.sink });
    const b = endpoint(l, "b");
    const id = b.e.send(memorySource(randomBytes(2_000_000)), "x.bin");
    await until(() => sink.state.written > 50_000);
    a.e.close();
    b.e.close();
    expect(a.last(id)).toMatchObject({ status: "failed", reason: "closed" });
    expect(b.last(id)).toMatchObject({ status: "failed", reason: "closed" });
    expect(sink.state.aborted).toBe(true);
  });

  it("safe file names, sizes and time left", () => {
    expect(safeFileName("C:\\Users\\x\\report.pdf")).toBe("report.pdf");
    expect(safeFileName("a/b/../..")).toBe("file");
    expect(safeFileName("in\u202Egnp.exe")).toBe("ingnp.exe");
    expect(safeFileName("con.txt")).toBe("_con.txt");
    expect(safeFileName('what?<>:"|*.txt. . ')).toBe("what_______.txt");
    expect(safeFileName("\u0007\u001b[2J")).toBe("[2J");
    const long = safeFileName("x".repeat(500) + ".tar.gz");
    expect(Array.from(long)).toHaveLength(200);
    expect(long.endsWith(".gz")).toBe(true);
    expect(formatBytes(1)).toBe("1 byte");
    expect(formatBytes(999)).toBe("999 bytes");
    expect(formatBytes(1500)).toBe("1.5 KB");
    expect(formatBytes(104_857_600)).toBe("105 MB");
    const t: TransferView = { id: "a1", direction: "out", name: "x", size: 1000, bytes: 250, status: "moving", startedAt: 0 };
    expect(timeLeftMs(t, 1000)).toBe(3000);
    expect(timeLeftMs({ ...t, status: "done" }, 1000)).toBeNull();
    expect(timeLeftMs(t, 100)).toBeNull();
  });
});

describe("the app's side of files (src/agent/transfers.ts)", () => {
  it("finds the Downloads folder the desktop names, else ~/Downloads; on Windows under USERPROFILE", () => {
    const home = tempDir("tether-home-");
    expect(downloadsFolder("linux", {}, home)).toBe(join(home, "Downloads"));
    mkdirSync(join(home, ".config"));
    writeFileSync(
      join(home, ".config", "user-dirs.dirs"),
      '# comment\nXDG_DESKTOP_DIR="$HOME/Desktop"\nXDG_DOWNLOAD_DIR="$HOME/Téléchargements"\n',
    );
    expect(downloadsFolder("linux", {}, home)).toBe(join(home, "Téléchargements"));
    // A setting that names the home folder itself (the desktop's way to say "none") is not used.
    writeFileSync(join(home, ".config", "user-dirs.dirs"), 'XDG_DOWNLOAD_DIR="$HOME/"\n');
    expect(downloadsFolder("linux", {}, home)).toBe(join(home, "Downloads"));
    expect(downloadsFolder("windows", { USERPROFILE: "C:\\Users\\alex" }, home)).toBe("C:\\Users\\alex\\Downloads");
  });

  it("saves under a hidden name, and only when finished under its own, never over a file, also one that appeared meanwhile; abort leaves nothing", async () => {
    const dir = tempDir("tether-dl-");
    expect(numberedName("a.tar.gz", 2)).toBe("a.tar (2).gz");
    expect(numberedName("README", 1)).toBe("README (1)");
    const sink = await downloadSink(dir, "report.pdf");
    await sink.write(Buffer.from("new "));
    await sink.write(Buffer.from("content"));
    expect(readdirSync(dir)).toEqual([basename(sink.partPath)]);
    expect(statSync(sink.partPath).mode & 0o777).toBe(0o600);
    writeFileSync(join(dir, "report.pdf"), "someone else's"); // appears while the transfer runs
    expect(await sink.finish()).toBe("report (1).pdf");
    expect(readFileSync(join(dir, "report.pdf"), "utf8")).toBe("someone else's");
    expect(readFileSync(join(dir, "report (1).pdf"), "utf8")).toBe("new content");
    const gone = await downloadSink(dir, "x.bin");
    await gone.write(Buffer.from("partial"));
    gone.abort();
    await until(() => !existsSync(gone.partPath));
    expect(readdirSync(dir).sort()).toEqual(["report (1).pdf", "report.pdf"]);
  });

  it("a path asked for: only absolute ones of this computer (no UNC or device paths), normalised; looked at without opening (a FIFO would block)", async () => {
    expect(requestablePath("/home/alex/./docs/../notes.log", "linux")).toBe("/home/alex/notes.log");
    expect(requestablePath("notes.log", "linux")).toBeNull();
    expect(requestablePath("C:\\Users\\alex\\notes.log", "windows")).toBe("C:\\Users\\alex\\notes.log");
    expect(requestablePath("\\\\attacker\\share\\x", "windows")).toBeNull();
    expect(requestablePath("\\\\?\\C:\\x", "windows")).toBeNull();
    expect(requestablePath("/x\0y", "linux")).toBeNull();
    const dir = tempDir("tether-fifo-");
    const fifo = join(dir, "pipe");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    const started = Date.now();
    expect(await fileStat(fifo)).toBe("not-a-file");
    expect(await fileSource(fifo)).toBe("not-a-file"); // opened without blocking, then refused
    expect(Date.now() - started).toBeLessThan(1000);
    writeFileSync(join(dir, "a"), "1");
    const seen = await fileStat(join(dir, "a"));
    if (typeof seen === "string") throw new Error(seen);
    writeFileSync(join(dir, "b"), "2");
    renameSync(join(dir, "b"), join(dir, "a")); // another file now has that name
    expect(await fileSource(join(dir, "a"), seen)).toBe("not-a-file");
  });

  it("reads only regular files, and says why not", async () => {
    const dir = tempDir("tether-src-");
    writeFileSync(join(dir, "f"), "abcdef");
    const src = await fileSource(join(dir, "f"));
    if (typeof src === "string") throw new Error(src);
    expect(src.size).toBe(6);
    expect(Buffer.from(await src.read(2, 10)).toString()).toBe("cdef");
    src.close();
    expect(await fileSource(join(dir, "missing"))).toBe("not-found");
    expect(await fileSource(dir)).toBe("not-a-file");
  });
});
