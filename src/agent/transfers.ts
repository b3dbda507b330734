/**
 * The user's side of the technician's tools (issue 21): file transfer (each file asked about,
 * saved to the Downloads folder without overwriting anything, read only once the user agreed) and
 * the clipboard (text, only while control is granted and the user shares it). One `Tools` per app;
 * each connection to a viewer gets its `ConnectionTools` from it. Everything that ended goes to
 * the broker's history as a ToolRecord (names, sizes, digests: never contents).
 */
import { randomBytes } from "node:crypto";
import { constants, mkdirSync, readFileSync } from "node:fs";
import { copyFile, open, link, stat, unlink, type FileHandle } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import {
  formatBytes,
  safeFileName,
  timeLeftMs,
  type FileSink,
  type FileSource,
  type Offered,
  type TransferView,
} from "../session/file-transfer.js";
import type { HostOs, Messages } from "./messages.js";
import type { TransferLine, UserInterface } from "./ui.js";
import { pb } from "../proto/wire.js";
import { MAX_CLIPBOARD_CHARS } from "./control-message.js";
import { cleanName } from "../util/text.js";
import type { tether } from "../gen/tether.js";

/** Ended transfers stay in the list this long. */
const KEEP_ENDED_MS = 60_000;

/** "0:12", "3:04", "1:02:03". */
export function formatDuration(ms: number): string {
  const total = Math.ceil(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/**
 * The user's Downloads folder: on Linux XDG_DOWNLOAD_DIR from ~/.config/user-dirs.dirs (the desktop's
 * own setting), else ~/Downloads; on Windows %USERPROFILE%\Downloads.
 */
export function downloadsFolder(os: HostOs, env: NodeJS.ProcessEnv = process.env, home = homedir()): string {
  if (os === "windows") return path.win32.join(env["USERPROFILE"] || home, "Downloads");
  const config = env["XDG_CONFIG_HOME"] || path.join(home, ".config");
  try {
    const text = readFileSync(path.join(config, "user-dirs.dirs"), "utf8");
    const m = /^XDG_DOWNLOAD_DIR="([^"]*)"/m.exec(text);
    if (m?.[1]) {
      const dir = m[1].replace(/^\$HOME(?=\/|$)/, home);
      if (path.isAbsolute(dir) && path.resolve(dir) !== path.resolve(home)) return path.resolve(dir);
    }
  } catch {
    // no such file: the default
  }
  return path.join(home, "Downloads");
}

/** `name`, else "name (1).ext", "name (2).ext", …: the n-th candidate. */
export function numberedName(name: string, n: number): string {
  if (n === 0) return name;
  const dot = name.lastIndexOf(".");
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ""];
  return `${stem} (${n})${ext}`;
}

/**
 * A file written to `dir` under a hidden temporary name (mode 0600) and, once complete and checked,
 * linked to the first free name of `name`, `name (1)`, …: an existing file is never overwritten,
 * even one that appears meanwhile (link fails with EEXIST instead of replacing).
 */
export async function downloadSink(dir: string, name: string): Promise<FileSink & { readonly partPath: string }> {
  mkdirSync(dir, { recursive: true });
  const partPath = path.join(dir, `.${safeFileName(name).slice(0, 60)}.${randomBytes(6).toString("hex")}.tether-part`);
  const fh: FileHandle = await open(partPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  let closed = false;
  const close = async () => {
    if (!closed) {
      closed = true;
      await fh.close();
    }
  };
  return {
    partPath,
    async write(data) {
      let off = 0;
      while (off < data.length) off += (await fh.write(data, off, data.length - off)).bytesWritten;
    },
    async finish() {
      await fh.sync();
      await close();
      for (let n = 0; n < 10_000; n++) {
        const candidate = numberedName(name, n);
        const target = path.join(dir, candidate);
        try {
          try {
            await link(partPath, target);
          } catch (err) {
            // A file system without hard links (FAT on a USB stick, some network shares): a copy
            // that also refuses an existing file.
            const code = (err as NodeJS.ErrnoException).code;
            if (code !== "EPERM" && code !== "ENOTSUP" && code !== "ENOSYS" && code !== "EXDEV") throw err;
            await copyFile(partPath, target, constants.COPYFILE_EXCL);
          }
          await unlink(partPath);
          return candidate;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        }
      }
      throw new Error("no free name");
    },
    abort() {
      void close()
        .catch(() => {})
        .finally(() => unlink(partPath).catch(() => {}));
    },
  };
}

/**
 * A path the technician may ask for, normalised: absolute, on this computer (a drive letter on
 * Windows, "/" elsewhere); null for anything else (relative, UNC "\\\\server\\share" that would send
 * the user's credentials to another computer when opened, device paths).
 */
export function requestablePath(wanted: string, os: HostOs): string | null {
  const p = wanted.trim();
  if (!p || p.length > 4096 || p.includes("\0")) return null;
  if (os === "windows") return /^[A-Za-z]:[\\/]/.test(p) ? path.win32.resolve(p) : null;
  return p.startsWith("/") ? path.posix.resolve(p) : null;
}

/**
 * What is at `file` without opening it (opening a FIFO would block, a device could act): a regular
 * file's size and identity, or why not ("not-found", "not-a-file", "unreadable").
 */
export async function fileStat(
  file: string,
): Promise<{ size: number; dev: number; ino: number } | "not-found" | "not-a-file" | "unreadable"> {
  try {
    const st = await stat(file);
    return st.isFile() ? { size: st.size, dev: st.dev, ino: st.ino } : "not-a-file";
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === "ENOENT" || code === "ENOTDIR" ? "not-found" : "unreadable";
  }
}

/**
 * A regular file to send, or why not ("not-found", "not-a-file", "unreadable"). Opened without
 * blocking; with `expect` (what fileStat saw when the user was asked) it must still be that file.
 */
export async function fileSource(
  file: string,
  expect?: { dev: number; ino: number },
): Promise<FileSource | "not-found" | "not-a-file" | "unreadable"> {
  let fh: FileHandle;
  try {
    fh = await open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === "ENOENT" || code === "ENOTDIR" ? "not-found" : code === "EISDIR" ? "not-a-file" : "unreadable";
  }
  const st = await fh.stat();
  if (!st.isFile() || (expect && (st.dev !== expect.dev || st.ino !== expect.ino))) {
    await fh.close();
    return "not-a-file";
  }
  return {
    size: st.size,
    async read(offset, length) {
      const buf = Buffer.allocUnsafe(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return buf.subarray(0, got);
    },
    close() {
      void fh.close().catch(() => {});
    },
  };
}

export interface ToolsOptions {
  ui: UserInterface;
  messages: Messages;
  os: HostOs;
  /** The broker's limit, from the latest activation. */
  maxFileBytes: () => number;
  /** To the broker's history (dropped while not connected). */
  record: (r: tether.v1.IToolRecord) => void;
  /** Where received files go (default: the Downloads folder). */
  downloads?: () => string;
}

/** What a connection's clipboard end is told and asked (see RemoteAccess). */
export interface ClipboardPeer {
  /** The user copied text (only while this connection has control and sharing is on). */
  copied(text: string): void;
  /** Whether the clipboard is shared now changed. */
  stateChanged(): void;
}

/** The tools of one connection to a viewer, for one grant. */
export interface ConnectionTools {
  readonly maxFileBytes: number;
  offered(o: Offered, signal: AbortSignal): Promise<FileSink | string>;
  requested(r: { id: string; path: string }, signal: AbortSignal): Promise<{ source: FileSource; name: string } | string>;
  transfersChanged(t: Readonly<TransferView>): void;
  /** Wires the file endpoint's cancel for the user's Cancel. */
  cancelWith(cancel: (id: string) => void): void;
  /** Wires the file endpoint's send for the user's own files (the files channel is open). */
  sendWith(send: (source: FileSource, name: string) => string): void;
  /** The clipboard: `scope` control and the user's switch on (and an interface that reaches it). */
  clipboardState(control: boolean): { on: boolean; reason: string };
  /** The connection has control (or not) from now on: the user's copies reach it. */
  clipboardAttach(peer: ClipboardPeer, control: boolean): void;
  /** The technician's clipboard text for the user's; false when not allowed now. */
  clipboardFromTechnician(text: string, control: boolean): boolean;
  /** The user's clipboard text now (null: not allowed or unreadable). */
  clipboardRead(control: boolean): Promise<string | null>;
  /** The connection ended. */
  detach(): void;
}

interface Conn {
  grantId: string;
  technician: () => string;
  transfers: Map<string, TransferView>;
  cancel: ((id: string) => void) | null;
  send: ((source: FileSource, name: string) => string) | null;
  /** When its files channel opened (the user's files go to the newest connection). */
  sendSince: number;
  clipboard: ClipboardPeer | null;
  control: boolean;
}

export class Tools {
  private readonly conns = new Set<Conn>();
  private clipboardOn = true;
  /** The text the technician put there last (its change event is not sent back). */
  private fromTechnician: string | null = null;
  private watching = false;
  private prune: NodeJS.Timeout | null = null;
  private questions = 0;
  /** Files channels opened so far (orders the connections for sendTarget). */
  private opened = 0;

  /** A file question is open: like a consent question, nothing the technician sends may answer it (the input guard). */
  get askingFile(): boolean {
    return this.questions > 0;
  }

  private async asking<T>(ask: () => Promise<T>): Promise<T> {
    this.questions++;
    try {
      return await ask();
    } finally {
      this.questions--;
    }
  }

  constructor(private readonly o: ToolsOptions) {
    o.ui.onCancelTransfer((id) => {
      for (const c of this.conns) for (const t of c.transfers.values()) if (id === null || t.id === id) c.cancel?.(t.id);
    });
    const clip = o.ui.clipboard;
    clip?.onCopied((text) => {
      if (this.fromTechnician !== null && text === this.fromTechnician) return;
      this.fromTechnician = null;
      if (!this.clipboardOn || text === "" || text.length > MAX_CLIPBOARD_CHARS) return;
      for (const c of this.conns) {
        if (!c.control || !c.clipboard) continue;
        c.clipboard.copied(text);
        o.ui.say(o.messages.clipboardToTechnician(c.technician(), text.length));
        this.record(c, { kind: pb.ToolRecord.Kind.KIND_CLIPBOARD_FROM_USER, size: text.length, outcome: "done" });
      }
    });
    o.ui.onSendFile((file) => void this.sendFile(file));
    clip?.onSwitch((on) => {
      if (on === this.clipboardOn) return;
      this.clipboardOn = on;
      o.ui.say(o.messages.clipboardSwitched(on));
      this.clipboardChanged();
    });
  }

  forGrant(grantId: string, technician: () => string): ConnectionTools {
    const c: Conn = { grantId, technician, transfers: new Map(), cancel: null, send: null, sendSince: 0, clipboard: null, control: false };
    this.conns.add(c);
    const m = this.o.messages;
    const ui = this.o.ui;
    const tools: ConnectionTools = {
      maxFileBytes: this.o.maxFileBytes(),
      offered: async (offer, signal) => {
        const yes = await this.asking(() =>
          ui.askFile({ id: offer.id, kind: "receive", technician: technician(), name: offer.name, size: offer.size }, signal),
        );
        if (!yes) {
          if (!signal.aborted) ui.say(m.fileDeclined(offer.name));
          return "declined";
        }
        try {
          return await downloadSink(this.o.downloads?.() ?? downloadsFolder(this.o.os), offer.name);
        } catch {
          return "disk";
        }
      },
      requested: async (r, signal) => {
        // Shown cleaned (no control or direction characters: the path comes from the technician).
        const wanted = requestablePath(r.path, this.o.os);
        const shown = cleanName(wanted ?? r.path, 300);
        const found = wanted === null ? "not-found" : await fileStat(wanted);
        if (typeof found === "string") {
          ui.say(m.fileRequestMissing(technician(), shown));
          return found;
        }
        const name = (this.o.os === "windows" ? path.win32 : path.posix).basename(wanted!);
        const yes = await this.asking(() =>
          ui.askFile({ id: r.id, kind: "send", technician: technician(), name: shown, size: found.size }, signal),
        );
        if (!yes) {
          if (!signal.aborted) ui.say(m.fileDeclined(cleanName(name, 200)));
          return "declined";
        }
        // Read only now, and only the file the user was asked about.
        const source = await fileSource(wanted!, found);
        return typeof source === "string" ? source : { source, name };
      },
      transfersChanged: (t) => this.transferChanged(c, t),
      cancelWith: (cancel) => {
        c.cancel = cancel;
      },
      sendWith: (send) => {
        c.send = send;
        c.sendSince = ++this.opened;
        this.sendFileChanged();
      },
      clipboardState: (control) => this.clipboardState(control),
      clipboardAttach: (peer, control) => {
        c.clipboard = peer;
        c.control = control;
        this.clipboardChanged();
      },
      clipboardFromTechnician: (text, control) => {
        if (!this.clipboardState(control).on || text.length > MAX_CLIPBOARD_CHARS) return false;
        if (!ui.clipboard!.write(text)) return false;
        this.fromTechnician = text;
        ui.say(m.clipboardFromTechnician(technician(), text.length));
        this.record(c, { kind: pb.ToolRecord.Kind.KIND_CLIPBOARD_TO_USER, size: text.length, outcome: "done" });
        return true;
      },
      clipboardRead: async (control) => {
        if (!this.clipboardState(control).on) return null;
        const text = await ui.clipboard!.read();
        // The user may have switched sharing off (or the grant narrowed) while it was read.
        if (!this.clipboardState(c.control).on) return null;
        if (text === null || text.length > MAX_CLIPBOARD_CHARS) return null;
        if (text) {
          ui.say(m.clipboardToTechnician(technician(), text.length));
          this.record(c, { kind: pb.ToolRecord.Kind.KIND_CLIPBOARD_FROM_USER, size: text.length, outcome: "done" });
        }
        return text;
      },
      detach: () => {
        this.conns.delete(c);
        this.clipboardChanged();
        this.sendFileChanged();
        this.showTransfers();
      },
    };
    return tools;
  }

  /** The connection the user's own files go to: the newest with an open files channel. */
  private sendTarget(): Conn | null {
    let best: Conn | null = null;
    for (const c of this.conns) if (c.send && (!best || c.sendSince > best.sendSince)) best = c;
    return best;
  }

  private sendFileChanged(): void {
    const target = this.sendTarget();
    this.o.ui.showSendFile({ visible: target !== null, technician: target?.technician() ?? "" });
  }

  /**
   * The user sends one of their own files (the window's chooser, the terminal's `send <path>`) to
   * the technician whose viewer connected last; it moves once the technician accepts. Only a
   * regular file within the broker's limit is offered; anything else is said to the user.
   */
  async sendFile(file: string): Promise<void> {
    const m = this.o.messages;
    const ui = this.o.ui;
    const target = this.sendTarget();
    if (!target?.send) return ui.say(m.fileNoTechnician);
    const p = this.o.os === "windows" ? path.win32 : path.posix;
    const full = p.resolve(file);
    const shown = cleanName(full, 300);
    const limit = this.o.maxFileBytes();
    const found = await fileStat(full);
    if (typeof found === "string") return ui.say(m.fileCannotSend(shown, found, formatBytes(limit)));
    if (found.size > limit) return ui.say(m.fileCannotSend(shown, "too-large", formatBytes(limit)));
    const source = await fileSource(full, found);
    if (typeof source === "string") return ui.say(m.fileCannotSend(shown, source, formatBytes(limit)));
    // The connection may have ended while the file was looked at.
    if (!this.conns.has(target) || !target.send) {
      source.close();
      return ui.say(m.fileNoTechnician);
    }
    const name = p.basename(full);
    target.send(source, name);
    ui.say(m.fileOffered(target.technician(), cleanName(name, 200), formatBytes(found.size)));
  }

  private clipboardState(control: boolean): { on: boolean; reason: string } {
    if (!this.o.ui.clipboard) return { on: false, reason: "unavailable" };
    if (!control) return { on: false, reason: "view-only" };
    if (!this.clipboardOn) return { on: false, reason: "off-by-user" };
    return { on: true, reason: "" };
  }

  /** The switch is shown while a connection has control; the clipboard is watched only while it is on. */
  private clipboardChanged(): void {
    const clip = this.o.ui.clipboard;
    const controlling = [...this.conns].filter((c) => c.control && c.clipboard);
    if (clip) {
      clip.showSwitch({ visible: controlling.length > 0, on: this.clipboardOn, technician: controlling[0]?.technician() ?? "" });
      const watch = controlling.length > 0 && this.clipboardOn;
      if (watch !== this.watching) {
        this.watching = watch;
        clip.watch(watch);
      }
    }
    for (const c of this.conns) c.clipboard?.stateChanged();
  }

  private transferChanged(c: Conn, t: Readonly<TransferView>): void {
    const before = c.transfers.get(t.id);
    c.transfers.set(t.id, { ...t });
    const m = this.o.messages;
    const ended = ["done", "declined", "cancelled", "failed"].includes(t.status);
    if (ended && before?.status !== t.status) {
      const tech = c.technician();
      if (t.status === "done" && t.direction === "in") {
        const dir = this.o.downloads?.() ?? downloadsFolder(this.o.os);
        this.o.ui.say(m.fileReceived(tech, t.name, path.join(dir, t.savedAs ?? t.name)));
      } else if (t.status === "done") this.o.ui.say(m.fileSent(tech, t.name));
      else if (t.status === "cancelled") this.o.ui.say(m.fileCancelled(t.name, t.cancelledBy === "there"));
      else if (t.status === "failed") this.o.ui.say(m.fileFailed(t.name, t.reason ?? "failed"));
      else if (t.status === "declined" && t.direction === "out" && !t.requested)
        this.o.ui.say(t.reason === "declined" ? m.fileTechnicianDeclined(tech, t.name) : m.fileFailed(t.name, t.reason ?? "declined"));
      // (declined otherwise: said where the user answered; a request for a missing file: said then)
      this.record(c, {
        kind: t.direction === "in" ? pb.ToolRecord.Kind.KIND_FILE_TO_USER : pb.ToolRecord.Kind.KIND_FILE_FROM_USER,
        name: t.name,
        size: t.size,
        sha256: t.sha256 ?? "",
        outcome: t.status,
        reason: t.reason ?? "",
      });
    }
    this.showTransfers();
  }

  private showTransfers(): void {
    const now = Date.now();
    const lines: TransferLine[] = [];
    for (const c of this.conns)
      for (const t of c.transfers.values()) {
        if (t.endedAt !== undefined && now - t.endedAt > KEEP_ENDED_MS) continue;
        lines.push({ ...t, technician: c.technician(), leftMs: timeLeftMs(t, now) });
      }
    this.o.ui.transfers(lines);
    if (!this.prune && lines.some((l) => l.endedAt !== undefined)) {
      this.prune = setTimeout(() => {
        this.prune = null;
        this.showTransfers();
      }, KEEP_ENDED_MS + 100);
      this.prune.unref();
    }
  }

  private record(c: Conn, r: Omit<tether.v1.IToolRecord, "accessRequestId">): void {
    this.o.record({ accessRequestId: c.grantId, ...r });
  }
}
