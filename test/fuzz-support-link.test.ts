/**
 * The support-link parser (parseLink) under random and mutated links: it throws nothing but
 * LinkError, and what it accepts always yields a well-formed session code and agent WebSocket URL.
 */
import { describe, expect, it } from "vitest";
import { formatLink, LinkError, parseLink } from "../src/link/support-link.js";
import { budget, check, fc } from "./support/fuzz.js";

const CODE = /^[A-Za-z0-9_-]{32}$/;
const codeChar = fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");
const code = fc.string({ unit: codeChar, minLength: 32, maxLength: 32 });

/** A broker base URL as a link carries it: scheme, host (name, IPv4, IPv6), port, path prefix. */
const base = fc
  .record({
    scheme: fc.constantFrom("http", "https", "HTTPS"),
    host: fc.oneof(
      fc.domain(),
      fc.ipV4(),
      fc.ipV6().map((h) => `[${h}]`),
      fc.constant("localhost"),
    ),
    port: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
    prefix: fc.array(
      fc.webSegment().filter((s) => s.length > 0 && s !== "." && s !== ".."),
      { maxLength: 3 },
    ),
  })
  .map(({ scheme, host, port, prefix }) => `${scheme}://${host}${port ? `:${port}` : ""}${prefix.map((p) => `/${p}`).join("")}`);

const validLink = fc
  .record({
    base,
    code,
    slash: fc.boolean(),
    tail: fc.constantFrom("", "?utm=1", "#x", "?a=b#c"),
    space: fc.constantFrom("", " ", "\n", "\t ", " \r\n"),
  })
  .map((l) => ({ ...l, text: `${l.space}${l.base}/s/${l.code}${l.slash ? "/" : ""}${l.tail}${l.space}` }));

/** Text edits: what copying a link through mail, chat and word processors does to it, and worse. */
type Edit = { at: number; op: "insert" | "delete" | "replace" | "truncate" | "case"; text: string };
const edit: fc.Arbitrary<Edit> = fc.record({
  at: fc.nat(),
  op: fc.constantFrom("insert", "delete", "replace", "truncate", "case"),
  text: fc.oneof(
    fc.string({ unit: "binary", maxLength: 8 }),
    fc.constantFrom(
      "/",
      "\\",
      "%",
      "%2F",
      "%00",
      "@",
      ":",
      "?",
      "#",
      "..",
      "./",
      " ",
      "\u00a0",
      "\u200b",
      "\ud800",
      "s/",
      "ws:",
      "javascript:",
      "\0",
      "[",
      "]",
      "xn--",
      "…",
      "ß",
      "İ",
    ),
  ),
});
function applyEdits(text: string, edits: readonly Edit[]): string {
  let s = text;
  for (const e of edits) {
    const at = e.at % (s.length + 1);
    if (e.op === "insert") s = s.slice(0, at) + e.text + s.slice(at);
    else if (e.op === "delete") s = s.slice(0, at) + s.slice(at + Math.max(1, e.text.length));
    else if (e.op === "replace") s = s.slice(0, at) + e.text + s.slice(at + e.text.length);
    else if (e.op === "truncate") s = s.slice(0, at);
    else s = s.slice(0, at) + s.slice(at).toUpperCase();
  }
  return s;
}

const anyText = fc.oneof(
  { arbitrary: fc.tuple(validLink, fc.array(edit, { minLength: 1, maxLength: 4 })).map(([l, e]) => applyEdits(l.text, e)), weight: 6 },
  { arbitrary: fc.string({ unit: "binary", maxLength: 200 }), weight: 2 },
  { arbitrary: fc.webUrl({ withQueryParameters: true, withFragments: true }), weight: 2 },
  { arbitrary: fc.tuple(base, fc.string({ unit: "binary", maxLength: 64 })).map(([b, c]) => `${b}/s/${c}`), weight: 2 },
  { arbitrary: fc.integer({ min: 10_000, max: 200_000 }).map((n) => `https://h.example/s/${"A".repeat(n)}`), weight: 1 },
  {
    arbitrary: fc.constantFrom("", " ", "http://", "https:///s/", "file:///s/" + "A".repeat(32), "mailto:x@y", "//h/s/" + "A".repeat(32)),
    weight: 1,
  },
);

describe("the support-link parser under fuzzing", () => {
  it(
    "throws only LinkError, and whatever it accepts has a valid code and a ws(s) URL ending in /ws/agent",
    async () => {
      await check(
        "link: only LinkError, well-formed results",
        fc.property(anyText, (text) => {
          let link;
          try {
            link = parseLink(text);
          } catch (err) {
            expect(err, `${String(err)}`).toBeInstanceOf(LinkError);
            expect((err as Error).message.length).toBeGreaterThan(0);
            return;
          }
          expect(link.code).toMatch(CODE);
          const ws = new URL(link.wsUrl);
          expect(["ws:", "wss:"]).toContain(ws.protocol);
          expect(ws.pathname.endsWith("/ws/agent")).toBe(true);
          expect(ws.search).toBe("");
          expect(ws.hash).toBe("");
          expect(ws.host).toBe(link.host);
          expect(link.host.length).toBeGreaterThan(0);
          // What the broker would hand out for this base and code reads back the same.
          expect(parseLink(formatLink(link.base, link.code))).toEqual(link);
        }),
        3000,
      );
    },
    budget(20_000),
  );

  it(
    "reads every well-formed link exactly: its code, its host and the matching WebSocket URL",
    async () => {
      await check(
        "link: valid links round trip",
        fc.property(validLink, (l) => {
          const link = parseLink(l.text);
          const u = new URL(l.base);
          expect(link.code).toBe(l.code);
          expect(link.host).toBe(u.host);
          expect(link.wsUrl).toBe(`${u.protocol === "https:" ? "wss" : "ws"}://${u.host}${u.pathname.replace(/\/$/, "")}/ws/agent`);
          expect(link.base).toBe(`${u.origin}${u.pathname.replace(/\/$/, "")}`);
        }),
        1000,
      );
    },
    budget(10_000),
  );
});
