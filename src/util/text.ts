/**
 * Names that people see (technician, organisation, machine): plain text of bounded length. Cleaned
 * where they are stored and again where they are shown, so that neither an old database row nor a
 * changed broker can reach a terminal or a page with bytes that rewrite what is around them.
 */

/**
 * Control characters (C0, DEL, C1: ESC[2K, \r, ESC[8m, …), bidirectional overrides and isolates
 * (U+202A–U+202E, U+2066–U+2069) and the invisible direction marks and line separators (U+061C,
 * U+200E, U+200F, U+2028, U+2029).
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** The text without unsafe characters, runs of white space as one space, trimmed, at most `max` code points. */
export function cleanName(s: string, max: number): string {
  const cleaned = s.replace(UNSAFE, "").replace(/\s+/g, " ").trim();
  const points = Array.from(cleaned);
  return points.length > max ? points.slice(0, max).join("").trimEnd() : cleaned;
}

/** Whether `s` holds anything cleanName would remove (for tests and validation messages). */
export function hasUnsafeCharacters(s: string): boolean {
  UNSAFE.lastIndex = 0;
  const found = UNSAFE.test(s);
  UNSAFE.lastIndex = 0;
  return found;
}

/** Longest names, in code points. */
export const MAX_DISPLAY_NAME = 100;
export const MAX_ORGANIZATION = 100;
/** A session's label and customer name, and its ticket reference. */
export const MAX_LABEL = 100;
export const MAX_TICKET = 64;
/** A chat message (one line). */
export const MAX_CHAT = 2000;

/** A chat message as one line: line breaks and tabs become spaces, then it is cleaned like a name; "" when nothing is left. */
export function cleanChat(s: string): string {
  return cleanName(s.replace(/[\r\n\t\u2028\u2029]+/g, " "), MAX_CHAT);
}

/** A connection URL (postgres://user:password@host/db) without its password, for messages. */
export function redactUrlPassword(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
}
