/**
 * The sessions table: one row per session, rebuilt from the state on each change. Everything the
 * agent reported (the machine name) goes in as text, never as HTML.
 */
import { el } from "./dom.js";
import { formatBytes } from "../session/file-transfer.js";
import { absoluteTime, accessKey, accessLabel, displayState, relativeTime, scopeName, stateLabel } from "./model.js";
import type { AccessRequestInfo, SessionInfo } from "./proto.js";
import type { ChatView, HistoryEntryView } from "./api.js";

export interface RowState {
  session: SessionInfo;
  /** The latest access request of this session, if any is known. */
  access?: Pick<AccessRequestInfo, "id" | "status" | "scope" | "grantedScope">;
  /** A message for this row (an API answer, e.g. 409), and whether it is an error. */
  message?: { text: string; error: boolean };
  confirmingDelete: boolean;
  confirmingClose: boolean;
  busy: boolean;
  /** The safety code of a pending request made from this browser, once the app has prepared. */
  safetyCode?: string;
  /** A viewer for this session's grant is open in this page. */
  viewing: boolean;
  /** The history panel under the row: its entries, while loading, or why it could not be loaded. */
  history?: HistoryEntryView[] | "loading" | { error: string };
  /** Messages not read yet (the chat panel is closed), and whether it is open. */
  unread: number;
  chatOpen: boolean;
}

export interface RowActions {
  request(id: string, scope: "view" | "control"): void;
  askClose(id: string): void;
  confirmClose(id: string): void;
  cancelClose(id: string): void;
  cancelRequest(id: string): void;
  askDelete(id: string): void;
  confirmDelete(id: string): void;
  cancelDelete(id: string): void;
  openViewer(id: string): void;
  toggleHistory(id: string): void;
  toggleChat(id: string): void;
  sendChat(id: string, text: string): void;
}

/** The chat panel: a row under the session's row with the messages (as text) and a line to write. */
export function renderChatRow(
  id: string,
  messages: readonly ChatView[],
  o: {
    canWrite: boolean;
    why: string;
    error?: string;
    columns: number;
    /** What was typed but not sent (kept across the list's re-renders). */
    draft: string;
    onDraft: (text: string) => void;
    send: (text: string) => void;
  },
): HTMLTableRowElement {
  const list = el("ol", { class: "chat-messages", attrs: { "data-chat": id } });
  for (const m of messages) {
    list.append(
      el(
        "li",
        { class: `chat-${m.from === "user" ? "user" : "technician"}`, attrs: { "data-from": m.from } },
        el("time", { text: absoluteTime(Date.parse(m.at)), attrs: { datetime: m.at }, title: m.at }),
        el("span", { class: "chat-name", text: m.from === "user" ? "User" : m.name }),
        el("span", { class: "chat-text", text: m.text }),
      ),
    );
  }
  if (messages.length === 0) list.append(el("li", { class: "muted", text: "No messages yet." }));
  const input = el("input", {
    class: "chat-input",
    attrs: { maxlength: "2000", "aria-label": "Message to the user", placeholder: o.canWrite ? "Write to the user…" : o.why },
  });
  input.disabled = !o.canWrite;
  input.value = o.draft;
  input.addEventListener("input", () => o.onDraft(input.value));
  const form = el("form", { class: "chat-form" }, input, el("button", { text: "Send", attrs: { type: "submit" } }));
  (form.lastChild as HTMLButtonElement).disabled = !o.canWrite;
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    o.onDraft("");
    o.send(text);
  });
  const cell = el("td", { class: "chat", attrs: { colspan: String(o.columns) } }, list, form);
  if (o.error) cell.append(el("p", { class: "error", text: o.error }));
  return el("tr", { class: "chat-row", attrs: { "data-chat-of": id } }, cell);
}

/** The session cell: label, customer and ticket as text (the id when it has none). */
function sessionCell(s: SessionInfo): HTMLTableCellElement {
  const td = el("td", { class: "session", title: s.id });
  td.append(el("span", { class: "session-label", text: s.label || s.id }));
  const more = [s.customer, s.ticket].filter((x): x is string => !!x);
  if (more.length) td.append(el("span", { class: "session-meta", text: more.join(" · ") }));
  return td;
}

/** Who did it, in words. */
function who(actor: string): string {
  if (actor.startsWith("technician:")) return actor.slice("technician:".length);
  return actor === "user" ? "The user" : "Tether";
}

const scopeWords = (v: unknown) => (v === "control" ? "view and control" : "view");

/** One history entry in plain words (shown as text). */
export function historyText(e: HistoryEntryView): string {
  const d = e.data;
  const why = typeof d["why"] === "string" && d["why"] ? ` (${d["why"]})` : "";
  switch (e.kind) {
    case "session.created": {
      const about = [d["label"], d["customer"], d["ticket"]].filter((x) => typeof x === "string" && x).join(" · ");
      return `${who(e.actor)} created the session${about ? `: ${about}` : ""}`;
    }
    case "session.bound":
      return `The support app started on ${String(d["machine"] ?? "?")} (${String(d["os"] ?? "")}); the session is bound to that computer`;
    case "app.connected":
      return `The support app connected (${String(d["machine"] ?? "")})`;
    case "app.disconnected":
      return "The support app went away";
    case "access.requested":
      return `${who(e.actor)} asked to ${scopeWords(d["scope"])}`;
    case "access.granted":
      return `The user allowed ${scopeWords(d["scope"])}`;
    case "access.denied":
      return "The user declined";
    case "access.expired":
      return `The request ended unanswered${why}`;
    case "access.cancelled":
      return `${who(e.actor)} withdrew the request`;
    case "access.narrowed":
      return `${who(e.actor)} narrowed access to view only`;
    case "access.ended":
      if (e.actor === "user") return `The user stopped sharing${why}`;
      return e.actor === "broker" ? `Sharing ended${why}` : `${who(e.actor)} stopped viewing${why}`;
    case "session.closed":
      return `${who(e.actor)} closed the session`;
    case "session.deleted":
      return `${who(e.actor)} deleted the session`;
    case "session.alert":
      return `Another copy of the support app took over ("${String(d["newMachine"] ?? "")}" replaced "${String(d["previousMachine"] ?? "")}")`;
    case "recording.started":
      return `${who(e.actor)} started recording the screen (the user was told first)`;
    case "recording.stopped":
      return `${who(e.actor)} stopped recording`;
    case "chat.message":
      return `${who(e.actor)}: ${String(d["text"] ?? "")}`;
    case "file.to-user":
    case "file.from-user": {
      const toUser = e.kind === "file.to-user";
      const what = `"${String(d["name"] ?? "")}" (${formatBytes(Number(d["bytes"] ?? 0))})`;
      const reason = typeof d["reason"] === "string" && d["reason"] ? `: ${d["reason"]}` : "";
      switch (d["outcome"]) {
        case "done":
          return `${toUser ? "The user received the file" : "The user sent the file"} ${what}${d["sha256"] ? `, SHA-256 ${String(d["sha256"])}` : ""}`;
        case "declined":
          return `The file ${what} ${toUser ? "offered to the user" : "asked of the user"} was not transferred (declined${reason && reason !== ": declined" ? reason : ""})`;
        case "cancelled":
          return `The transfer of ${what} ${toUser ? "to" : "from"} the user was cancelled`;
        default:
          return `The transfer of ${what} ${toUser ? "to" : "from"} the user failed${reason}`;
      }
    }
    case "clipboard.to-user":
      return `The technician's clipboard text (${String(d["characters"] ?? 0)} characters) was put on the user's clipboard`;
    case "clipboard.from-user":
      return `The user's clipboard text (${String(d["characters"] ?? 0)} characters) went to the technician`;
    default:
      return e.kind;
  }
}

/** The history panel: a row under the session's row, one line per entry, oldest first. */
export function renderHistoryRow(id: string, h: NonNullable<RowState["history"]>, columns: number): HTMLTableRowElement {
  const cell = el("td", { class: "history", attrs: { colspan: String(columns) } });
  if (h === "loading") cell.append(el("span", { class: "muted", text: "Loading the history…" }));
  else if (!Array.isArray(h)) cell.append(el("span", { class: "error", text: h.error }));
  else {
    const list = el("ol", { class: "timeline", attrs: { "data-history": id } });
    for (const e of h) {
      list.append(
        el(
          "li",
          { attrs: { "data-kind": e.kind } },
          el("time", { text: absoluteTime(Date.parse(e.at)), attrs: { datetime: e.at }, title: e.at }),
          el("span", { class: "what", text: historyText(e) }),
        ),
      );
    }
    cell.append(list);
  }
  return el("tr", { class: "history-row", attrs: { "data-history-of": id } }, cell);
}

/** The machine cell: the name as text, or a dash until the app has bound. */
export function machineCell(name: string): HTMLTableCellElement {
  return name
    ? el("td", { class: "machine", title: name }, el("span", { class: "machine-name", text: name }))
    : el("td", { class: "machine muted", title: "The user has not started the support app yet" }, "—");
}

function timeCell(atMs: number, nowMs: number, cls: string): HTMLTableCellElement {
  return el(
    "td",
    { class: cls, title: new Date(atMs).toISOString() },
    el("span", { class: "rel", text: relativeTime(atMs, nowMs) }),
    el("span", { class: "abs", text: absoluteTime(atMs) }),
  );
}

function button(
  text: string,
  onClick: () => void,
  opts: { cls?: string; disabled?: boolean; action: string; title?: string },
): HTMLButtonElement {
  const b = el("button", {
    class: opts.cls ?? "",
    text,
    attrs: { type: "button", "data-action": opts.action },
    ...(opts.title ? { title: opts.title } : {}),
  });
  b.disabled = opts.disabled ?? false;
  b.addEventListener("click", onClick);
  return b;
}

export function renderRow(r: RowState, nowMs: number, a: RowActions): HTMLTableRowElement {
  const s = r.session;
  const state = displayState(s, nowMs);
  const live = state === "active" && s.online;
  const pending = r.access && accessKey(r.access.status) === "pending";
  const granted = r.access && accessKey(r.access.status) === "granted";

  const accessCell = el("td", { class: "access" });
  const alert = s.alerts?.[s.alerts.length - 1];
  if (alert) {
    const at = Number(alert.atMs ?? 0);
    accessCell.append(
      el("span", {
        class: "alert",
        text: `⚠ ${absoluteTime(at)}: another copy of the support app took over ("${alert.newMachine ?? ""}" replaced "${alert.previousMachine ?? ""}")`,
        title: `${new Date(at).toISOString()}: if the user did not start the app twice, the app's identity may have been copied to another computer. Close the session.${(s.alerts?.length ?? 0) > 1 ? ` (${s.alerts!.length} alerts)` : ""}`,
        attrs: { "data-alert": "replaced" },
      }),
    );
  }
  if (r.access) accessCell.append(el("span", { class: `access-status access-${accessKey(r.access.status)}`, text: accessLabel(r.access) }));
  if (pending && r.safetyCode) {
    accessCell.append(
      el("span", {
        class: "row-code",
        text: `Safety code ${r.safetyCode}`,
        title: "The user's support app shows the same code next to your request. If the user reads you another one, cancel the request.",
      }),
    );
  }
  if (r.message) accessCell.append(el("span", { class: r.message.error ? "row-message error" : "row-message", text: r.message.text }));

  const actions = el("td", { class: "actions" });
  if (r.confirmingClose) {
    actions.append(
      el("span", { class: "confirm", text: "Close this session? The user's app stops and the link stops working." }),
      button("Close session", () => a.confirmClose(s.id), { cls: "danger", disabled: r.busy, action: "confirm-close" }),
      button("Cancel", () => a.cancelClose(s.id), { action: "cancel-close" }),
    );
  } else if (r.confirmingDelete) {
    actions.append(
      el("span", { class: "confirm", text: "Delete this session? The link stops working." }),
      button("Delete", () => a.confirmDelete(s.id), { cls: "danger", disabled: r.busy, action: "confirm-delete" }),
      button("Cancel", () => a.cancelDelete(s.id), { action: "cancel-delete" }),
    );
  } else {
    const canRequest = live && !pending && !granted && !r.busy && !r.viewing;
    const why = !live
      ? "The user's support app is not running"
      : pending
        ? "Waiting for the user's answer"
        : granted
          ? "The user has granted access: open the viewer; to ask for something else, the user stops sharing first"
          : r.viewing
            ? "The viewer is open"
            : "";
    if (granted && live && scopeName(r.access!.grantedScope) === "control") {
      actions.append(
        button("Switch to view only", () => a.request(s.id, "view"), {
          disabled: r.busy,
          action: "narrow-view",
          title: "Give up control: keep seeing the screen, without mouse and keyboard",
        }),
      );
    } else if (state !== "closed" && state !== "expired") {
      actions.append(
        button("Request view", () => a.request(s.id, "view"), {
          disabled: !canRequest,
          action: "request-view",
          title: why || "Ask the user to let you see their screen",
        }),
        button("Request control", () => a.request(s.id, "control"), {
          disabled: !canRequest,
          action: "request-control",
          title: why || "Ask the user to let you see their screen and use mouse and keyboard",
        }),
      );
    }
    if (pending)
      actions.append(
        button("Cancel request", () => a.cancelRequest(s.id), {
          disabled: r.busy,
          action: "cancel-request",
          title: "Withdraw the request: the user's prompt closes",
        }),
      );
    if (granted && !r.viewing) actions.append(button("Open viewer", () => a.openViewer(s.id), { cls: "primary", action: "open-viewer" }));
    if (state !== "closed") actions.append(button("Close", () => a.askClose(s.id), { disabled: r.busy, action: "close" }));
    actions.append(
      button(r.chatOpen ? "Hide chat" : r.unread > 0 ? `Chat (${r.unread} new)` : "Chat", () => a.toggleChat(s.id), {
        action: "chat",
        cls: r.unread > 0 ? "unread" : "",
        title: "Write to the user, before or during remote access",
      }),
      button(r.history ? "Hide history" : "History", () => a.toggleHistory(s.id), {
        action: "history",
        title: "What happened in this session, from the tamper-evident history",
      }),
    );
    actions.append(button("Delete", () => a.askDelete(s.id), { cls: "danger", disabled: r.busy, action: "delete" }));
  }

  const row = el(
    "tr",
    { attrs: { "data-session": s.id, "data-state": state, "data-online": String(s.online) } },
    sessionCell(s),
    machineCell(s.machineName),
    el("td", { class: "state" }, el("span", { class: `badge state-${state}${live ? " online" : ""}`, text: stateLabel(s, nowMs) })),
    timeCell(s.expiresAtMs, nowMs, "col-expires"),
    timeCell(s.createdAtMs, nowMs, "col-created"),
    accessCell,
    actions,
  );
  return row;
}
