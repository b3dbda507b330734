/**
 * Support links, `<broker base URL>/s/<session code>`: the one module that knows their shape, used
 * by the broker (to hand them out and route them), the CLI and the agent (to parse them) and the
 * single-file app (to make one from its trailer without a string round trip).
 */
import { SESSION_CODE_PATTERN } from "../util/secrets.js";

/** The path of a session link; the code follows it. */
export const LINK_PATH = "/s/";
/** The support app's WebSocket, relative to the broker's base. */
export const AGENT_SOCKET_PATH = "/ws/agent";

export interface SupportLink {
  /** The broker's base URL, without a trailing slash (e.g. "https://help.example.org"). */
  base: string;
  /** "host:port" for messages. */
  host: string;
  /** The agent WebSocket URL. */
  wsUrl: string;
  /** The session code (secret). */
  code: string;
}

/** Why a text is not a support link: a key that messages.ts renders in the user's language. */
export type LinkErrorReason = "not-a-url" | "bad-scheme" | "no-code" | "bad-code";

export class LinkError extends Error {
  constructor(readonly reason: LinkErrorReason) {
    super(`not a support link (${reason})`);
  }
}

/** The link for a session code at a broker base URL. */
export function formatLink(base: string, code: string): string {
  return base.replace(/\/+$/, "") + LINK_PATH + code;
}

/** A link from its parts (a broker base URL and a code), checked as parseLink checks a pasted one. */
export function supportLink(base: string, code: string): SupportLink {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new LinkError("not-a-url");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new LinkError("bad-scheme");
  if (!SESSION_CODE_PATTERN.test(code)) throw new LinkError("bad-code");
  const prefix = url.pathname.replace(/\/+$/, "");
  const ws = new URL(url.href);
  ws.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  ws.pathname = prefix + AGENT_SOCKET_PATH;
  ws.search = "";
  ws.hash = "";
  return { base: `${url.origin}${prefix}`, host: url.host, wsUrl: ws.href, code };
}

/** Parses a support link as a person pasted it, or throws LinkError. */
export function parseLink(text: string): SupportLink {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new LinkError("not-a-url");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new LinkError("bad-scheme");
  const m = new RegExp(`^(.*)${LINK_PATH}([^/]*)/?$`).exec(url.pathname);
  if (!m) throw new LinkError("no-code");
  if (!SESSION_CODE_PATTERN.test(m[2]!)) throw new LinkError("bad-code");
  return supportLink(url.origin + m[1], m[2]!);
}
