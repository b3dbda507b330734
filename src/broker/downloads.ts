/**
 * The support app as the broker offers it: the page a support link opens (GET /s/<code>), the
 * download (GET /s/<code>/download: the prebuilt image streamed as it is, plus a trailer signed for
 * this session that names the image's SHA-256), and `SupportAppSource`, which finds the prebuilt
 * image on disk.
 *
 * Nothing is decided once at start. Every link-page, download or status request looks at the file
 * and its manifest (`<file>.json`, written by `npm run build:app`) with a stat; a new or changed
 * file is hashed again (asynchronously, once, whoever asks meanwhile waits for the same result)
 * and offered only if it matches its manifest and was built for this broker's key. So a build while
 * the broker runs is picked up without a restart, and a download never carries a trailer whose
 * SHA-256 differs from the bytes sent with it: the file is opened, and its identity (device, inode,
 * size, times) compared with the one that was hashed, before a byte is sent. A build replaces the
 * file by rename, so an open download keeps streaming the old image, whole.
 *
 * A client that accepts br or gzip gets the image compressed (Content-Encoding), from a copy made once
 * per image beside it, with its own trailer appended uncompressed (compressed-image.ts): it saves the
 * same bytes. Until the copies of a new image are ready, downloads go as they are.
 *
 * Two apps, one source each: Linux x64 (GET /s/<code>/download) and Windows x64
 * (GET /s/<code>/download/windows, a .exe). A signed Windows app ends in a slot inside its
 * signature (src/app/authenticode-slot.ts; its manifest's trailerBytes): its trailer is padded to
 * exactly that size, so the download stays validly signed. The link page offers the one that fits
 * the visitor's browser.
 */
import { cleanName, MAX_DISPLAY_NAME, MAX_ORGANIZATION } from "../util/text.js";
import type { FastifyInstance } from "fastify";
import { open, readFile, type FileHandle } from "node:fs/promises";
import { Readable } from "node:stream";
import type { KeyObject } from "node:crypto";
import { makeTrailer, MAX_TRAILER_BYTES } from "../link/trailer.js";
import { digest } from "../app/integrity.js";
import { linkAvailable } from "../session/rules.js";
import { hashSecret, SESSION_CODE_PATTERN } from "../util/secrets.js";
import { TetherError } from "./errors.js";
import { goneLinkPage, linkPage } from "./link-page.js";
import { LINK_PATH } from "../link/support-link.js";
import type { BrokerStore } from "./store.js";
import { CompressedImages, framing } from "./compressed-image.js";
import { fileIdentity as identity, statOrNull } from "./file-identity.js";

export type UnavailableReason =
  /** the broker was started without a support app (in-process brokers) */
  | "not-configured"
  /** no file at the configured path */
  | "not-built"
  /** no manifest, or one without a SHA-256 (an older build) */
  | "unverified"
  /** built for another broker's app-signing key: its trailers would not verify */
  | "other-key"
  /** the file is not the one its manifest describes (changed or damaged after the build) */
  | "mismatch"
  /** the file could not be read */
  | "unreadable"
  /** the file kept changing while it was checked */
  | "changing";

export interface Available {
  available: true;
  size: number;
  sha256: string;
  /** Identity (device, inode, size, times) of the file that was hashed. */
  id: string;
  /** Authenticode-signed (the Windows app, when built with a certificate). */
  signed: boolean;
  /** The trailer must be exactly this long (the slot in a signed Windows app); else any length. */
  trailerBytes?: number;
}
export interface Unavailable {
  available: false;
  reason: UnavailableReason;
  /** Why, and what to run on the broker's computer. */
  message: string;
}
export type SupportAppState = Available | Unavailable;

export interface SupportAppOptions {
  /** The prebuilt app (`npm run build:app`); its manifest is `<file>.json`. */
  file: string;
  /** Signs each download's trailer; the app must have been built with its public half. */
  signingKey: KeyObject;
  /** That public half, raw Ed25519 in base64url, as the manifest names it. */
  publicKeyB64: string;
  /** What an admin runs on the broker's computer to (re)build the app, e.g. "npm run build:app -- --data ./data". */
  buildCommand: string;
  /** Told whenever the state changes (available, or why not), e.g. to print it. */
  onChange?: (state: SupportAppState) => void;
}

interface Manifest {
  publicKey?: unknown;
  size?: unknown;
  sha256?: unknown;
  signed?: unknown;
  trailerBytes?: unknown;
}

/** What a broker without a support app (in-process, for tests) says. */
const NOT_CONFIGURED: Unavailable = {
  available: false,
  reason: "not-configured",
  message:
    "This broker was started without a support app: start it with `tether broker` (npm start), which offers dist/app/tether-support-linux-x64 once `npm run build:app` has made it.",
};

/** The prebuilt support app on disk, checked lazily (see the top of this file). */
export class SupportAppSource {
  /** The last result, for the stat identities (file | manifest) it was computed from. */
  private settled: { key: string; state: SupportAppState } | null = null;
  private pending: { key: string; promise: Promise<SupportAppState> } | null = null;
  /** One slot: the hash of the file with this identity (a manifest-only change does not hash again). */
  private hashed: { id: string; size: number; sha256: string } | null = null;
  /** Compressed copies of the image, made in the background once it is available. */
  readonly compressed: CompressedImages;

  constructor(private readonly opts: SupportAppOptions) {
    this.compressed = new CompressedImages(opts.file);
  }

  get signingKey(): KeyObject {
    return this.opts.signingKey;
  }

  /** The app as it is on disk now: two stats, and a hash only when the file changed. */
  async current(): Promise<SupportAppState> {
    const [f, m] = await Promise.all([statOrNull(this.opts.file), statOrNull(this.opts.file + ".json")]);
    const key = `${identity(f)}|${identity(m)}`;
    if (this.settled?.key === key) return this.settled.state;
    if (this.pending?.key === key) return this.pending.promise;
    const promise = this.load(f !== null)
      .catch((): SupportAppState => this.unavailable("unreadable"))
      .then((state) => {
        if (this.pending?.key === key) {
          this.pending = null;
          const before = this.settled?.state;
          this.settled = { key, state };
          if (state.available) this.compressed.prepare(state);
          if (!before || describeSupportApp(before) !== describeSupportApp(state)) this.opts.onChange?.(state);
        }
        return state;
      });
    this.pending = { key, promise };
    return promise;
  }

  /**
   * The current image, opened for a download: the handle is on the very file that was hashed (if
   * the file is replaced in between, the new one is checked first). The caller closes the handle.
   */
  async open(): Promise<{ state: Available; handle: FileHandle } | { state: Unavailable }> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const state = await this.current();
      if (!state.available) return { state };
      let handle: FileHandle;
      try {
        handle = await open(this.opts.file, "r");
      } catch {
        continue; // replaced or removed just now: look again
      }
      if (identity(await handle.stat({ bigint: true })) === state.id) return { state, handle };
      await handle.close();
    }
    return { state: this.unavailable("changing") };
  }

  /** Stops making compressed copies (the broker closes). */
  close(): void {
    this.compressed.close();
  }

  private unavailable(reason: UnavailableReason): Unavailable {
    const fix = `Run on the broker's computer: ${this.opts.buildCommand} (the broker picks it up without a restart).`;
    const why: Record<UnavailableReason, string> = {
      "not-configured": "This broker was started without a support app.",
      "not-built": "No support app is built for this broker.",
      unverified: "The support app has no manifest with its SHA-256 (built by an older version, or the manifest is missing).",
      "other-key": "The support app was built for another broker's signing key.",
      mismatch: "The support app file is not the one its manifest describes (changed or damaged after the build).",
      unreadable: "The support app file cannot be read.",
      changing: "The support app file is being replaced; try again in a moment.",
    };
    return { available: false, reason, message: reason === "changing" ? why[reason] : `${why[reason]} ${fix}` };
  }

  private async load(exists: boolean): Promise<SupportAppState> {
    if (!exists) return this.unavailable("not-built");
    let manifest: Manifest | null;
    try {
      manifest = JSON.parse(await readFile(this.opts.file + ".json", "utf8")) as Manifest | null;
    } catch {
      manifest = null;
    }
    if (typeof manifest !== "object" || manifest === null) return this.unavailable("unverified");
    if (manifest.publicKey !== this.opts.publicKeyB64) return this.unavailable("other-key");
    if (typeof manifest.sha256 !== "string" || typeof manifest.size !== "number") return this.unavailable("unverified");
    const slot = manifest.trailerBytes;
    if (slot !== undefined && !(Number.isSafeInteger(slot) && (slot as number) >= 256 && (slot as number) <= MAX_TRAILER_BYTES))
      return this.unavailable("unverified");
    let image: { id: string; size: number; sha256: string };
    try {
      image = await this.hash();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return this.unavailable(code === "ENOENT" ? "not-built" : code === "ECHANGED" ? "changing" : "unreadable");
    }
    if (image.size !== manifest.size || image.sha256 !== manifest.sha256) return this.unavailable("mismatch");
    return { available: true, ...image, signed: manifest.signed === true, ...(typeof slot === "number" && { trailerBytes: slot }) };
  }

  /** SHA-256 of the file as it is now, read through one handle (so of one inode), unless known already. */
  private async hash(): Promise<{ id: string; size: number; sha256: string }> {
    const handle = await open(this.opts.file, "r");
    try {
      const before = await handle.stat({ bigint: true });
      const id = identity(before);
      if (this.hashed?.id === id) return this.hashed;
      const size = Number(before.size);
      const sha256 = await digest(handle, size);
      // Written in place while it was read (a build never does that): the hash may mix two versions.
      if (identity(await handle.stat({ bigint: true })) !== id)
        throw Object.assign(new Error("changed while hashed"), { code: "ECHANGED" });
      this.hashed = { id, size, sha256 };
      return this.hashed;
    } finally {
      await handle.close();
    }
  }
}

/** One line for the broker's output: what link pages offer now. */
export function describeSupportApp(state: SupportAppState): string {
  return state.available
    ? `available (${(state.size / 1e6).toFixed(1)} MB, SHA-256 ${state.sha256.slice(0, 16)}…): links offer it for download`
    : `not available (${state.reason}): links offer no download. ${state.message}`;
}

/** What GET /api/status says about the support app. */
export async function supportAppStatus(source: SupportAppSource | undefined): Promise<{ available: true } | Unavailable> {
  const s = source ? await source.current() : NOT_CONFIGURED;
  return s.available ? { available: true } : { available: false, reason: s.reason, message: s.message };
}

export interface DownloadRoutesOptions {
  store: BrokerStore;
  now: () => number;
  publicUrl: () => string;
  /** Shown on link pages; without it they speak of "your support desk". */
  organization?: string;
  /** The Linux x64 app. */
  supportApp?: SupportAppSource;
  /** The Windows x64 app (a .exe). */
  windowsApp?: SupportAppSource;
}

export type AppPlatform = "linux" | "windows";

/** The download's file name: short, and the same for every download of one session. */
export function fileName(sessionId: string, platform: AppPlatform = "linux"): string {
  return `tether-support-${sessionId.replace(/^s_/, "").slice(0, 8)}${platform === "windows" ? ".exe" : ""}`;
}

/** Where a session's app is downloaded from, below the link's own path. */
export const DOWNLOAD_PATH: Record<AppPlatform, string> = { linux: "/download", windows: "/download/windows" };

/** Registers GET /s/:code (the link page) and GET /s/:code/download. Neither binds anything. */
export function registerDownloads(app: FastifyInstance, opts: DownloadRoutesOptions): void {
  // Names are cleaned where they are stored and again here, where they are shown (an old row, a
  // name set some other way): no control characters or direction overrides on the page.
  const organization = cleanName(opts.organization ?? "", MAX_ORGANIZATION) || null;
  const linkSession = async (code: string) => {
    // Malformed codes are looked up too (as a code that cannot exist): the same work and answer as unknown ones.
    const s = await opts.store.sessionByCodeHash(hashSecret(SESSION_CODE_PATTERN.test(code) ? code : "-"));
    return s && linkAvailable(s, opts.now()) ? s : null;
  };
  const sources: Record<AppPlatform, SupportAppSource | undefined> = { linux: opts.supportApp, windows: opts.windowsApp };
  for (const source of Object.values(sources)) {
    if (!source) continue;
    source.compressed.log = (level, message) => app.log[level](message);
    app.addHook("onClose", async () => source.close());
  }

  app.get<{ Params: { code: string } }>(`${LINK_PATH}:code`, async (req, reply) => {
    const s = await linkSession(req.params.code);
    if (!s) return goneLinkPage(req, reply);
    const offer = async (platform: AppPlatform) => {
      const source = sources[platform];
      const image = source ? await source.current() : NOT_CONFIGURED;
      return {
        fileName: fileName(s.id, platform),
        path: `${LINK_PATH}${req.params.code}${DOWNLOAD_PATH[platform]}`,
        available: image.available,
        sizeMb: image.available ? Math.round(image.size / 1e6) : null,
        signed: image.available && image.signed,
      };
    };
    const [linux, windows] = await Promise.all([offer("linux"), offer("windows")]);
    return linkPage(req, reply, {
      organization,
      technician: cleanName((await opts.store.technicianById(s.technicianId))?.displayName ?? "", MAX_DISPLAY_NAME),
      downloads: { linux, windows },
    });
  });

  for (const platform of ["linux", "windows"] as const) {
    app.get<{ Params: { code: string } }>(`${LINK_PATH}:code${DOWNLOAD_PATH[platform]}`, async (req, reply) => {
      const s = await linkSession(req.params.code);
      if (!s) return goneLinkPage(req, reply);
      const source = sources[platform];
      const opened = source ? await source.open() : { state: NOT_CONFIGURED };
      if (!("handle" in opened)) {
        req.log.warn(
          { reason: opened.state.reason, platform },
          `support app download asked for, but it is not available: ${opened.state.message}`,
        );
        throw new TetherError("TETHER_ERR_APP_UNAVAILABLE");
      }
      const { state } = opened;
      // The prebuilt image (or its compressed copy, then the image is not read), plus a signed trailer
      // per download: no rebuild, nothing compressed per request.
      const copy = await source!.compressed.open(state, req.headers["accept-encoding"]).catch(() => null);
      if (copy) await opened.handle.close().catch(() => undefined);
      const handle = copy?.handle ?? opened.handle;
      const size = copy?.size ?? state.size;
      const closeHandle = () => void handle.close().catch(() => undefined);
      let trailer: Buffer;
      try {
        trailer = makeTrailer(
          {
            v: 2,
            broker: opts.publicUrl(),
            code: req.params.code,
            session: s.id,
            issuedAt: opts.now(),
            image: { size: state.size, sha256: state.sha256 },
          },
          source!.signingKey,
          state.trailerBytes, // a signed Windows app: exactly its slot
        );
      } catch (err) {
        closeHandle();
        throw err; // a --public-url too long for the slot: a 500 the log explains
      }
      const { head, tail } = copy
        ? framing(copy.coding, trailer, { size: state.size, crc32: copy.imageCrc32 })
        : { head: Buffer.alloc(0), tail: trailer };
      const body =
        req.method === "HEAD"
          ? Readable.from([]).once("close", closeHandle)
          : Readable.from(
              (async function* () {
                if (head.length > 0) yield head;
                if (size > 0) yield* handle.createReadStream({ start: 0, end: size - 1, autoClose: false });
                yield tail;
              })(),
            ).once("close", closeHandle); // sent, failed or aborted by the client
      if (req.method !== "HEAD")
        req.log.info({ sessionId: s.id, platform, contentEncoding: copy?.coding ?? "identity" }, "support app downloaded");
      if (copy) reply.header("content-encoding", copy.coding);
      return reply
        .header("content-type", platform === "windows" ? "application/vnd.microsoft.portable-executable" : "application/octet-stream")
        .header("content-disposition", `attachment; filename="${fileName(s.id, platform)}"`)
        .header("vary", "Accept-Encoding")
        .header("content-length", String(head.length + size + tail.length))
        .send(body);
    });
  }
}
