/**
 * The technician's tools in the viewer (issue 21): file transfer over the "files" data channel
 * (src/session/file-transfer.ts, the same engine as the app's) and the clipboard over the "control"
 * channel. Clipboard text moves only while control is granted and the user shares it (the app says
 * which with ClipboardState); in a secure context the async clipboard API reads and writes the
 * technician's clipboard, elsewhere Ctrl+V in the viewer (a paste event) and a Copy button do.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import {
  CHANNEL_LOW_WATER,
  FileEndpoint,
  formatBytes,
  timeLeftMs,
  type FileChannel,
  type FileMsg,
  type FileSink,
  type FileSource,
  type TransferView,
} from "../../session/file-transfer.js";
import { byId, el } from "../dom.js";
import { pb, sendable } from "../proto.js";

/** Clipboard text either way (the app's limit). */
const MAX_CLIPBOARD_CHARS = 100_000;

/** Why clipboard sharing is off, for the technician. */
const CLIPBOARD_OFF: Record<string, string> = {
  "off-by-user": "The user turned clipboard sharing off.",
  "view-only": "Clipboard sharing needs control; this grant is view only.",
  unavailable: "The user's app cannot reach the clipboard (it runs without its window).",
};

/** Why a transfer ended without the file, for the technician. */
const REASONS: Record<string, string> = {
  declined: "the user declined",
  "too-large": "larger than the broker allows",
  "not-found": "no such file on the user's computer",
  "not-a-file": "not a file",
  unreadable: "could not be read",
  busy: "too many transfers at once",
  checksum: "the SHA-256 did not match",
  size: "incomplete",
  disk: "could not be saved",
  closed: "the connection ended",
  protocol: "unexpected message",
  cancelled: "cancelled",
};

/** The async clipboard API: only in secure contexts (elsewhere navigator.clipboard is undefined). */
const asyncClipboard = (): Clipboard | null =>
  window.isSecureContext ? ((navigator as { clipboard?: Clipboard }).clipboard ?? null) : null;

const duration = (ms: number) => {
  const s = Math.ceil(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
};

export interface ViewerToolsOptions {
  maxFileBytes: number;
  /** Whether the technician has control now. */
  controlling: () => boolean;
}

export class ViewerTools {
  private files: FileEndpoint | null = null;
  private filesChannel: RTCDataChannel | null = null;
  private control: RTCDataChannel | null = null;
  private readonly views = new Map<string, TransferView>();
  /** Files the user offers by themselves, waiting for the technician's Accept or Decline. */
  private readonly offers = new Map<string, (accept: boolean) => void>();
  /** Saved files by transfer id: their object URLs (revoked when the viewer closes). */
  private readonly saved = new Map<string, { url: string; name: string }>();
  private clipboardOn = false;
  private clipboardReason = "";
  private lastSentClipboard: string | null = null;
  private remoteClipboard: string | null = null;
  /** The technician clicked Get: the answer goes into their clipboard. */
  private fetching = false;
  private readonly listeners = new AbortController();
  private tick: ReturnType<typeof setInterval> | null = null;

  private readonly filesMenu = byId("files-menu", HTMLDetailsElement);
  private readonly filesSummary = byId("files-summary", HTMLElement);
  private readonly fileInput = byId("file-send", HTMLInputElement);
  private readonly askPath = byId("file-ask-path", HTMLInputElement);
  private readonly askButton = byId("file-ask", HTMLButtonElement);
  private readonly list = byId("transfers", HTMLUListElement);
  private readonly limitEl = byId("file-limit", HTMLParagraphElement);
  private readonly clipMenu = byId("clipboard-menu", HTMLDetailsElement);
  private readonly clipState = byId("clipboard-state", HTMLParagraphElement);
  private readonly clipSecure = byId("clipboard-secure", HTMLParagraphElement);
  private readonly clipSend = byId("clipboard-send", HTMLButtonElement);
  private readonly clipPaste = byId("clipboard-paste", HTMLTextAreaElement);
  private readonly clipFetch = byId("clipboard-fetch", HTMLButtonElement);
  private readonly clipRemote = byId("clipboard-remote", HTMLDivElement);
  private readonly clipRemoteText = byId("clipboard-remote-text", HTMLElement);
  private readonly clipCopy = byId("clipboard-copy", HTMLButtonElement);

  constructor(private readonly o: ViewerToolsOptions) {
    const opt = { signal: this.listeners.signal };
    this.list.replaceChildren();
    this.limitEl.textContent = `Files up to ${formatBytes(o.maxFileBytes)} (the broker's limit). The user accepts each file you send; a file the user sends waits for your Accept.`;
    this.fileInput.value = "";
    this.fileInput.addEventListener(
      "change",
      () => {
        for (const f of Array.from(this.fileInput.files ?? [])) this.sendFile(f);
        this.fileInput.value = "";
      },
      opt,
    );
    const ask = () => {
      const path = this.askPath.value.trim();
      if (!path || !this.files) return;
      this.askPath.value = "";
      this.files.request(path);
    };
    this.askButton.addEventListener("click", ask, opt);
    this.askPath.addEventListener(
      "keydown",
      (e) => {
        if (e.key !== "Enter") return;
        e.preventDefault();
        ask();
      },
      opt,
    );
    this.clipSend.addEventListener("click", () => void this.sendLocalClipboard(true), opt);
    this.clipPaste.addEventListener(
      "paste",
      (e) => {
        const text = e.clipboardData?.getData("text/plain") ?? "";
        e.preventDefault();
        if (text) this.sendClipboard(text, true);
      },
      opt,
    );
    this.clipFetch.addEventListener(
      "click",
      () => {
        this.fetching = true;
        this.sendControl({ clipboardRequest: {} });
      },
      opt,
    );
    this.clipCopy.addEventListener("click", () => void this.copyRemote(true), opt);
    const secure = asyncClipboard() !== null;
    this.clipSecure.textContent = secure
      ? "Your clipboard goes to the user when you return to the viewer, press Ctrl+V in it, or click Send; what the user copies shows here, and Copy (or Get) puts it into yours."
      : "This page is not a secure context (plain HTTP on another host than localhost), so the browser's clipboard API is off: press Ctrl+V in the viewer or paste into the box below to send your clipboard, and use Copy for the user's.";
    this.clipSecure.classList.toggle("warn", !secure);
    this.tick = setInterval(() => this.render(), 1000);
    this.renderClipboard();
    this.render();
  }

  /** A data channel of the connection ("files" here; "control" for the clipboard). */
  attach(ch: RTCDataChannel): void {
    if (ch.label === "control") this.control = ch;
    if (ch.label !== "files") return;
    this.filesChannel = ch;
    ch.binaryType = "arraybuffer";
    ch.bufferedAmountLowThreshold = CHANNEL_LOW_WATER;
    const waiters: (() => void)[] = [];
    ch.addEventListener("bufferedamountlow", () => {
      for (const w of waiters.splice(0)) w();
    });
    const channel: FileChannel = {
      send: (msg) => {
        if (ch.readyState === "open") ch.send(sendable(pb.FileMessage.encode(msg as never).finish()));
      },
      get bufferedAmount() {
        return ch.bufferedAmount;
      },
      drained: () =>
        new Promise<void>((resolve) => {
          if (ch.readyState !== "open" || ch.bufferedAmount <= CHANNEL_LOW_WATER) return resolve();
          waiters.push(resolve);
        }),
    };
    ch.addEventListener("close", () => {
      for (const w of waiters.splice(0)) w();
      this.files?.close();
    });
    this.files = new FileEndpoint({
      channel,
      idPrefix: "b",
      maxBytes: this.o.maxFileBytes,
      sha256: () => {
        const h = sha256.create();
        return { update: (d) => void h.update(d), digest: () => h.digest() };
      },
      // A file the technician asked for is taken (under the name taken from the path asked for);
      // one the user sends by themselves waits for the technician's Accept: nothing fills this
      // page or lands in the technician's Downloads unasked.
      offered: async (offer, signal) => {
        if (offer.requested) return this.memorySink(offer.id, offer.name);
        const yes = await new Promise<boolean>((resolve) => {
          this.offers.set(offer.id, resolve);
          signal.addEventListener("abort", () => resolve(false), { once: true });
          // The Files menu opens for it, in front (the other menus' panels would cover it).
          for (const d of document.querySelectorAll<HTMLDetailsElement>("details.keys-menu")) d.open = d === this.filesMenu;
          this.render();
        });
        this.offers.delete(offer.id);
        return yes && !signal.aborted ? this.memorySink(offer.id, offer.name) : "declined";
      },
      changed: (t) => {
        this.views.set(t.id, { ...t });
        if (t.status === "done" && t.direction === "in") this.offerSave(t.id);
        this.render();
      },
    });
    ch.onmessage = (ev: MessageEvent) => {
      if (!(ev.data instanceof ArrayBuffer) || !this.files) return;
      let msg: FileMsg;
      try {
        msg = pb.FileMessage.decode(new Uint8Array(ev.data)) as FileMsg;
      } catch {
        return;
      }
      this.files.handle(msg);
    };
    this.render();
  }

  /** The app says whether the clipboard is shared now. */
  clipboardState(on: boolean, reason: string): void {
    this.clipboardOn = on;
    this.clipboardReason = reason;
    this.renderClipboard();
  }

  /**
   * What the user copied (or what their clipboard holds, after Get): shown, and put into the
   * technician's clipboard only when they asked for it (Get) or click Copy, so that an app cannot
   * plant text for the technician's next paste. Only while sharing is on and they have control.
   */
  remoteClipboardText(text: string): void {
    if (text.length > MAX_CLIPBOARD_CHARS || !this.clipboardOn || !this.o.controlling()) return;
    this.remoteClipboard = text;
    this.clipRemote.dataset["copied"] = "false";
    this.renderClipboard();
    if (this.fetching) {
      this.fetching = false;
      void this.copyRemote(false);
    }
  }

  /**
   * Before a Ctrl+V reaches the remote computer: the technician's clipboard goes first (secure
   * context: read now; otherwise the paste event this key causes carries it). Resolves when done.
   */
  beforePaste(e: KeyboardEvent): Promise<void> | null {
    if (!this.clipboardOn || !this.o.controlling()) return null;
    // (At most a second: a permission prompt left open must not hold the keyboard back.)
    if (asyncClipboard()) return Promise.race([this.sendLocalClipboard(false), new Promise<void>((r) => setTimeout(r, 1000))]);
    // Not secure: let the browser make its paste event, and wait for it a moment.
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, 150);
      function done() {
        clearTimeout(timer);
        document.removeEventListener("paste", onPaste, true);
        resolve();
      }
      const onPaste = (p: ClipboardEvent) => {
        const text = p.clipboardData?.getData("text/plain") ?? "";
        p.preventDefault();
        if (text) this.sendClipboard(text, false);
        done();
      };
      document.addEventListener("paste", onPaste, true);
      void e; // the key event itself goes on unchanged (not prevented: that would cancel the paste)
    });
  }

  /** The technician came back to the viewer: a clipboard that changed meanwhile goes to the user. */
  focused(): void {
    if (this.clipboardOn) void this.sendLocalClipboard(false);
  }

  close(): void {
    this.listeners.abort();
    if (this.tick) clearInterval(this.tick);
    this.tick = null;
    this.files?.close();
    this.files = null;
    for (const s of this.saved.values()) URL.revokeObjectURL(s.url);
    this.saved.clear();
    this.views.clear();
    this.list.replaceChildren();
    this.filesMenu.open = false;
    this.clipMenu.open = false;
  }

  // ---- files --------------------------------------------------------------------------------

  private sendFile(f: File): void {
    if (!this.files) return;
    const source: FileSource = {
      size: f.size,
      read: async (offset, length) => new Uint8Array(await f.slice(offset, offset + length).arrayBuffer()),
      close: () => {},
    };
    this.files.send(source, f.name);
  }

  /** A received file, kept in memory (as Blob parts) until it is checked and saved. */
  private memorySink(id: string, name: string): FileSink {
    let parts: BlobPart[] = [];
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const flush = () => {
      if (pending.length) parts.push(new Blob(pending as BlobPart[]));
      pending = [];
      pendingBytes = 0;
    };
    return {
      write: async (data) => {
        pending.push(Uint8Array.from(data));
        pendingBytes += data.length;
        // Big files: Blobs of 8 MB each (the browser may keep them out of the page's memory).
        if (pendingBytes >= 8 * 1024 * 1024) flush();
      },
      finish: async () => {
        flush();
        const blob = new Blob(parts, { type: "application/octet-stream" });
        parts = [];
        this.saved.set(id, { url: URL.createObjectURL(blob), name });
        return name;
      },
      abort: () => {
        parts = [];
        pending = [];
      },
    };
  }

  /** A file from the user arrived whole: it downloads (the browser asks where, or saves it to Downloads). */
  private offerSave(id: string): void {
    const s = this.saved.get(id);
    if (!s) return;
    const a = el("a", { attrs: { href: s.url, download: s.name } });
    a.click();
  }

  private render(): void {
    const now = Date.now();
    const items: HTMLLIElement[] = [];
    let moving = 0;
    for (const t of [...this.views.values()].reverse()) {
      const li = el("li", { class: `transfer ${t.status}`, attrs: { "data-transfer": t.id, "data-status": t.status } });
      const arrow = t.direction === "out" ? "→ user" : "← user";
      li.append(el("span", { class: "transfer-name", text: `${t.name} ${arrow}` }));
      const progress = el("progress", { attrs: { max: String(Math.max(1, t.size)), value: String(t.bytes) } });
      li.append(progress);
      let text: string;
      const offered = t.status === "asking" && t.direction === "in" && this.offers.has(t.id);
      switch (t.status) {
        case "asking":
          text = offered
            ? `the user sends you this file (${formatBytes(t.size)}): accept it?`
            : t.requested
              ? "waiting for the user to agree…"
              : "waiting for the user to accept…";
          break;
        case "moving": {
          moving++;
          const left = timeLeftMs(t, now);
          text = `${formatBytes(t.bytes)} of ${formatBytes(t.size)}${left === null ? "" : ` · ${duration(left)} left`}`;
          break;
        }
        case "checking":
          moving++;
          text = "checking the SHA-256…";
          break;
        case "done":
          text = `${formatBytes(t.size)} · SHA-256 checked${t.direction === "out" && t.savedAs ? ` · saved as ${t.savedAs}` : ""}`;
          break;
        case "cancelled":
          text = t.cancelledBy === "there" ? "cancelled by the user" : "cancelled";
          break;
        default:
          text = `${t.status === "declined" ? "not transferred" : "failed"}: ${REASONS[t.reason ?? ""] ?? t.reason ?? ""}`;
      }
      li.append(el("span", { class: "transfer-text", text }));
      if (offered) {
        const accept = el("button", { text: "Accept", attrs: { type: "button", "data-accept": t.id } });
        accept.addEventListener("click", () => this.offers.get(t.id)?.(true));
        const decline = el("button", { text: "Decline", attrs: { type: "button", "data-decline": t.id } });
        decline.addEventListener("click", () => this.offers.get(t.id)?.(false));
        li.append(accept, decline);
      } else if (t.status === "asking" || t.status === "moving" || t.status === "checking") {
        const cancel = el("button", { text: "Cancel", attrs: { type: "button", "data-cancel": t.id } });
        cancel.addEventListener("click", () => this.files?.cancel(t.id));
        li.append(cancel);
      }
      const s = this.saved.get(t.id);
      if (s && t.status === "done") li.append(el("a", { text: "Save", attrs: { href: s.url, download: s.name } }));
      items.push(li);
    }
    this.list.replaceChildren(...items);
    const waiting = this.offers.size;
    this.filesSummary.textContent = waiting ? `Files (${waiting} to accept)` : moving ? `Files (${moving})` : "Files";
    const usable = Boolean(this.files) && this.filesChannel?.readyState === "open";
    this.fileInput.disabled = !usable;
    this.askButton.disabled = !usable;
  }

  // ---- clipboard ----------------------------------------------------------------------------

  private sendControl(msg: Parameters<typeof pb.ControlMessage.encode>[0]): void {
    const ch = this.control;
    if (ch && ch.readyState === "open") ch.send(sendable(pb.ControlMessage.encode(msg).finish()));
  }

  private sendClipboard(text: string, always: boolean): void {
    if (!this.clipboardOn || !this.o.controlling() || !text || text.length > MAX_CLIPBOARD_CHARS) return;
    if (!always && text === this.lastSentClipboard) return;
    this.lastSentClipboard = text;
    this.sendControl({ clipboard: { text } });
  }

  /** Reads the technician's clipboard (secure contexts) and sends it if it changed (`always`: even if not). */
  private async sendLocalClipboard(always: boolean): Promise<void> {
    const clip = asyncClipboard();
    if (!this.clipboardOn || !clip) return;
    try {
      this.sendClipboard(await clip.readText(), always);
    } catch {
      // not allowed (the permission was refused, or the page has no focus): Ctrl+V and the box still work
    }
  }

  /** Puts the user's text into the technician's clipboard (async API; or, on a click, the copy command). */
  private async copyRemote(clicked: boolean): Promise<void> {
    const text = this.remoteClipboard;
    if (text === null) return;
    const clip = asyncClipboard();
    if (clip) {
      try {
        await clip.writeText(text);
        this.clipRemote.dataset["copied"] = "true";
        this.lastSentClipboard = text; // in both clipboards now: not sent back
        this.renderClipboard();
        return;
      } catch {
        // no focus: the Copy button
      }
    }
    if (!clicked) return;
    const area = el("textarea", { attrs: { readonly: "" } });
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
    this.lastSentClipboard = text;
    this.clipRemote.dataset["copied"] = "true";
    this.renderClipboard();
  }

  private renderClipboard(): void {
    const on = this.clipboardOn;
    this.clipState.textContent = on
      ? "Clipboard shared with the user."
      : (CLIPBOARD_OFF[this.clipboardReason] ?? "Clipboard sharing is off.");
    this.clipState.dataset["on"] = String(on);
    this.clipSend.disabled = !on || !asyncClipboard();
    this.clipPaste.disabled = !on;
    this.clipFetch.disabled = !on;
    const text = this.remoteClipboard;
    this.clipRemote.hidden = text === null;
    if (text !== null) {
      const preview = text.length > 200 ? `${text.slice(0, 200)}…` : text;
      this.clipRemoteText.textContent = `${preview} (${text.length} characters${this.clipRemote.dataset["copied"] === "true" ? ", in your clipboard" : ""})`;
    }
  }
}
