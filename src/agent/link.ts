/** Support links: `<broker base URL>/s/<session code>`. */
import { SESSION_CODE_PATTERN } from "../util/secrets.js";

export interface SupportLink {
  /** "host:port" for messages. */
  host: string;
  /** The agent WebSocket URL derived from the link. */
  wsUrl: string;
  /** The session code (secret). */
  code: string;
}

export class LinkError extends Error {}

/** Parses a support link, or throws LinkError with a reason a person can read. */
export function parseLink(text: string): SupportLink {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new LinkError("it is not a web address");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new LinkError("it must start with https:// or http://");
  const m = /^(.*)\/s\/([^/]*)\/?$/.exec(url.pathname);
  if (!m) throw new LinkError("it does not contain a session code");
  const code = m[2]!;
  if (!SESSION_CODE_PATTERN.test(code)) throw new LinkError("the session code in it is incomplete or damaged");
  const ws = new URL(url.href);
  ws.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  ws.pathname = `${m[1]}/ws/agent`;
  ws.search = "";
  ws.hash = "";
  return { host: url.host, wsUrl: ws.href, code };
}
