/**
 * Compressed copies of the support app's image, made once per image and sent with every download
 * that asks for them (Accept-Encoding: br, else gzip): what travels is under a third of the file.
 *
 * A copy is the image compressed and flushed, but not ended: brotli flushed with
 * BROTLI_OPERATION_FLUSH (byte-aligned, no last meta-block), raw deflate with Z_SYNC_FLUSH (ends in
 * an empty stored block, no final block). Each download ends it with its own trailer, stored as it is:
 *
 *   br    copy | uncompressed meta-block(s) with the trailer (RFC 7932 §9.2) | last, empty meta-block
 *   gzip  gzip header | copy | final stored block(s) with the trailer (RFC 1951 §3.2.4) | CRC-32, size (RFC 1952)
 *
 * so every download decompresses to exactly image + trailer, and no request compresses anything.
 *
 * Where and when: beside the image, `<file>.<sha256>.br` and `<file>.<sha256>.deflate`, made when the
 * broker first sees a verified image (brotli first, then deflate), each in a child process at low
 * priority (nice 19), so that it only takes CPU time nothing else wants: for the 155 MB app about 20 s and 5 s
 * of one core, made and checked. Until a copy is ready, downloads go uncompressed. A copy is not trusted because it is
 * on disk (made before a restart, or by another broker): it is decompressed and offered only if that
 * gives the image's SHA-256 and size; and, as for the image, each download opens it and checks its
 * identity (device, inode, size, times) against the one that was verified before a byte is sent.
 * Copies of other images are removed once this image's copies are ready.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { open, readdir, rename, unlink, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { constants as Z, crc32, createBrotliDecompress, createInflateRaw } from "node:zlib";
import { chooseCoding, type ContentCoding } from "./accept-encoding.js";
import { fileIdentity } from "./file-identity.js";

export type Compressed = Exclude<ContentCoding, "identity">;

/** Best first: the order downloads prefer them in, and the order they are made in. */
const CODINGS: readonly Compressed[] = ["br", "gzip"];
const SUFFIX: Record<Compressed, string> = { br: "br", gzip: "deflate" };
/** Brotli quality 7, 16 MiB window: 44.3 MB for the 155 MB app in 20 s (quality 5: 45.9 MB in 7 s, 9: 43.4 MB in 73 s). */
const BROTLI_PARAMS = { [Z.BROTLI_PARAM_QUALITY]: 7, [Z.BROTLI_PARAM_LGWIN]: 24 };
const DEFLATE_LEVEL = 6;
/** Nice value of the child that compresses (Linux: its threads, libuv's pool among them, inherit it). */
const NICE = 19;

/** One copy that decompressed to the image. */
interface Copy {
  coding: Compressed;
  path: string;
  /** Identity of the file that was verified. */
  id: string;
  /** Bytes of the copy (without the framing a download adds). */
  size: number;
  /** CRC-32 of the image (gzip's footer needs it). */
  imageCrc32: number;
}

/** A copy opened for one download; the caller closes `handle`. */
export interface OpenCopy extends Copy {
  handle: FileHandle;
}

export interface ImageRef {
  size: number;
  sha256: string;
}

/** Ends a copy of the image: the bytes to send before it and after it, for one download's trailer. */
export function framing(coding: Compressed, trailer: Buffer, image: { size: number; crc32: number }): { head: Buffer; tail: Buffer } {
  if (coding === "br") return { head: Buffer.alloc(0), tail: Buffer.concat([...uncompressedMetaBlocks(trailer), BROTLI_END]) };
  const footer = Buffer.alloc(8);
  footer.writeUInt32LE(crcOf(trailer, image.crc32), 0);
  footer.writeUInt32LE((image.size + trailer.length) % 2 ** 32, 4);
  return { head: GZIP_HEADER, tail: Buffer.concat([...storedBlocks(trailer), footer]) };
}

/** CRC-32 of `data` continued from `crc` (zlib's crc32 answers 0 for empty data without a buffer behind it). */
const crcOf = (data: Buffer, crc: number) => (data.length > 0 ? crc32(data, crc) : crc);

/** The last meta-block, empty (ISLAST=1, ISLASTEMPTY=1), from a byte boundary. */
const BROTLI_END = Buffer.from([0b11]);
/** Deflate, no flags, no time, no extra flags, OS Unix. */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);

/** Brotli meta-blocks holding `data` as it is, from a byte boundary: ISLAST=0, MNIBBLES=4, MLEN-1, ISUNCOMPRESSED=1. */
function uncompressedMetaBlocks(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += 1 << 16) {
    const part = data.subarray(at, at + (1 << 16));
    const bits = ((part.length - 1) << 3) | (1 << 19); // bit 0 ISLAST, 1-2 MNIBBLES-4, 3-18 MLEN-1, 19 ISUNCOMPRESSED
    out.push(Buffer.from([bits & 0xff, (bits >> 8) & 0xff, bits >> 16]), part); // padded to the byte with zeros
  }
  return out;
}

/** Deflate stored blocks holding `data`, from a byte boundary, the last one final (also for no data). */
function storedBlocks(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; ; at += 0xffff) {
    const part = data.subarray(at, at + 0xffff);
    const last = at + 0xffff >= data.length;
    const head = Buffer.alloc(5);
    head[0] = last ? 1 : 0; // BFINAL, BTYPE=00, padded to the byte
    head.writeUInt16LE(part.length, 1);
    head.writeUInt16LE(~part.length & 0xffff, 3);
    out.push(head, part);
    if (last) return out;
  }
}

/** What ends a copy for the check: the same as a download with an empty trailer. */
const END_FOR_CHECK: Record<Compressed, Buffer> = {
  br: BROTLI_END,
  gzip: Buffer.from([1, 0, 0, 0xff, 0xff]), // a final, empty stored block
};

/**
 * The child that compresses: argv image, output, options (JSON). It stops when the broker goes (its
 * stdin ends). Plain CommonJS for `node -e`, so that it runs the same from src/ (tests) and dist/.
 */
const CHILD = `
const [image, out, json] = process.argv.slice(1);
const o = JSON.parse(json);
require("node:os").setPriority(o.nice);
const zlib = require("node:zlib"), fs = require("node:fs"), { pipeline } = require("node:stream/promises");
const coder = o.coding === "br"
  ? zlib.createBrotliCompress({ params: o.params, finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH })
  : zlib.createDeflateRaw({ level: o.level, finishFlush: zlib.constants.Z_SYNC_FLUSH });
process.stdin.on("end", () => process.exit(1)).resume();
pipeline(fs.createReadStream(image, { highWaterMark: 1 << 20 }), coder, fs.createWriteStream(out, { flags: "wx" })).then(
  () => process.exit(0),
  (err) => { process.stderr.write(String(err && err.message) + "\\n"); process.exit(1); },
);
`;

/**
 * The compressed copies of one image file (see the top of this file). `prepare` is called with each
 * verified image; `open` picks and opens the copy for one download.
 */
export class CompressedImages {
  /** The image copies are made and offered for; null before the first and after close. */
  private image: ImageRef | null = null;
  private ready = new Map<Compressed, Copy>();
  private child: ChildProcess | null = null;
  private work: Promise<void> = Promise.resolve();
  private closed = false;
  /** Where the broker's log goes: each copy made or found, and why one could not be. */
  log: (level: "info" | "warn", message: string) => void = () => undefined;

  constructor(private readonly file: string) {}

  /** Makes or finds the copies of this image, in the background, unless that is under way already. */
  prepare(image: ImageRef): void {
    if (this.closed || this.image?.sha256 === image.sha256) return;
    this.image = image;
    this.ready.clear();
    this.child?.kill(); // an older image's copy: not wanted any more
    const previous = this.work;
    this.work = previous.then(() =>
      this.make(image).catch((err: Error) => {
        if (this.image === image) this.log("warn", `support app: no compressed copy, downloads go uncompressed: ${err.message}`);
      }),
    );
  }

  /** Resolves when no copy is being made or checked (for tests and shutdown). */
  async whenIdle(): Promise<void> {
    let seen;
    do await (seen = this.work);
    while (seen !== this.work);
  }

  /** Stops making copies (a running child is ended); copies on disk stay for the next start. Idempotent. */
  close(): void {
    this.closed = true;
    this.image = null;
    this.ready.clear();
    this.child?.kill();
  }

  /**
   * The copy to send for this Accept-Encoding, opened, if one of `image` is ready and accepted; null
   * means "send the image as it is". The handle is on the very file that was verified.
   */
  async open(image: ImageRef, acceptEncoding: string | string[] | undefined): Promise<OpenCopy | null> {
    if (this.image?.sha256 !== image.sha256) return null;
    const coding = chooseCoding(
      acceptEncoding,
      CODINGS.filter((c) => this.ready.has(c)),
    );
    const copy = coding === "identity" ? undefined : this.ready.get(coding);
    if (!copy) return null;
    let handle: FileHandle | null = null;
    try {
      handle = await open(copy.path, "r");
      if (fileIdentity(await handle.stat({ bigint: true })) === copy.id) return { ...copy, handle };
    } catch {
      // removed or unreadable: as changed
    }
    await handle?.close().catch(() => undefined);
    // Changed since it was checked (another broker made it again, say): check it again, meanwhile uncompressed.
    if (this.ready.get(copy.coding) === copy) {
      this.log("warn", `support app: ${copy.path} changed after it was checked; checking it again`);
      this.image = null;
      this.prepare(image);
    }
    return null;
  }

  private copyPath(sha256: string, coding: Compressed): string {
    return `${this.file}.${sha256}.${SUFFIX[coding]}`;
  }

  private async make(image: ImageRef): Promise<void> {
    for (const coding of CODINGS) {
      if (this.image !== image) return;
      const path = this.copyPath(image.sha256, coding);
      const started = performance.now();
      let copy = await this.check(path, coding, image).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== "ENOENT") this.log("warn", `support app: ${path} is not a copy of the image (${err.message}); making it again`);
        return null;
      });
      let made = false;
      if (!copy) {
        await unlink(path).catch(() => undefined);
        await this.compress(coding, path, image);
        if (this.image !== image) return;
        copy = await this.check(path, coding, image);
        made = true;
      }
      if (this.image !== image) return;
      this.ready.set(coding, copy);
      const how = made ? `made in ${((performance.now() - started) / 1000).toFixed(1)} s` : "found and checked";
      this.log("info", `support app: ${coding} copy ${(copy.size / 1e6).toFixed(1)} MB of ${(image.size / 1e6).toFixed(1)} MB, ${how}`);
    }
    await this.removeOthers(image.sha256);
  }

  /** Compresses the image into `path` (through a temporary file, so `path` is only ever whole). */
  private async compress(coding: Compressed, path: string, image: ImageRef): Promise<void> {
    const tmp = `${path}.${process.pid}.tmp`;
    await unlink(tmp).catch(() => undefined);
    const params = { ...BROTLI_PARAMS, [Z.BROTLI_PARAM_SIZE_HINT]: image.size };
    const options = { coding, params, level: DEFLATE_LEVEL, nice: NICE };
    const child = spawn(process.execPath, ["-e", CHILD, this.file, tmp, JSON.stringify(options)], { stdio: ["pipe", "ignore", "pipe"] });
    this.child = child;
    let stderr = "";
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr = (stderr + d).slice(-2000)));
    const code = await new Promise<number | string>((resolve) => {
      child.once("error", (err) => resolve(err.message));
      child.once("exit", (c, signal) => resolve(c ?? signal ?? "?"));
    });
    if (this.child === child) this.child = null;
    child.stdin!.destroy();
    if (code !== 0) {
      await unlink(tmp).catch(() => undefined);
      throw new Error(`compressing to ${path} failed (${code}${stderr.trim() ? `: ${stderr.trim()}` : ""})`);
    }
    await rename(tmp, path);
  }

  /** Decompresses the copy at `path`; it is one only if that gives the image (size and SHA-256). */
  private async check(path: string, coding: Compressed, image: ImageRef): Promise<Copy> {
    const handle = await open(path, "r");
    try {
      const before = await handle.stat({ bigint: true });
      const hash = createHash("sha256");
      let crc = 0;
      let size = 0;
      const input = Readable.from(
        (async function* () {
          yield* handle.createReadStream({ autoClose: false, highWaterMark: 1 << 20 });
          yield END_FOR_CHECK[coding];
        })(),
      );
      const output = new Writable({
        write(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          crc = crcOf(chunk, crc);
          size += chunk.length;
          done();
        },
      });
      await pipeline(input, coding === "br" ? createBrotliDecompress() : createInflateRaw(), output);
      const sha256 = hash.digest("hex");
      if (size !== image.size || sha256 !== image.sha256)
        throw new Error(`it decompresses to ${size} bytes with SHA-256 ${sha256.slice(0, 16)}…`);
      const id = fileIdentity(before);
      if (fileIdentity(await handle.stat({ bigint: true })) !== id) throw new Error("it changed while it was checked");
      return { coding, path, id, size: Number(before.size), imageCrc32: crc };
    } finally {
      await handle.close();
    }
  }

  /** Removes the copies (and leftovers) of other images beside the file. */
  private async removeOthers(sha256: string): Promise<void> {
    const name = basename(this.file);
    const ours = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.([0-9a-f]{64})\\.(?:br|deflate)(?:\\.\\d+\\.tmp)?$`);
    for (const entry of await readdir(dirname(this.file)).catch(() => [])) {
      const m = ours.exec(entry);
      if (m && m[1] !== sha256) await unlink(join(dirname(this.file), entry)).catch(() => undefined);
    }
  }
}
