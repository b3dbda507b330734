/**
 * The sessions table: one row per session, rebuilt from the state on each change. Everything the
 * agent reported (the machine name) goes in as text, never as HTML.
 */
import { el } from "./dom.js";
import { absoluteTime, accessKey, accessLabel, displayState, relativeTime, scopeName, stateLabel } from "./model.js";
import type { AccessRequestInfo, SessionInfo } from "./proto.js";

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
    actions.append(button("Delete", () => a.askDelete(s.id), { cls: "danger", disabled: r.busy, action: "delete" }));
  }

  const row = el(
    "tr",
    { attrs: { "data-session": s.id, "data-state": state, "data-online": String(s.online) } },
    machineCell(s.machineName),
    el("td", { class: "state" }, el("span", { class: `badge state-${state}${live ? " online" : ""}`, text: stateLabel(s, nowMs) })),
    timeCell(s.expiresAtMs, nowMs, "col-expires"),
    timeCell(s.createdAtMs, nowMs, "col-created"),
    accessCell,
    actions,
  );
  return row;
}
