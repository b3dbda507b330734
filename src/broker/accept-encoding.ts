/**
 * Which content coding to answer with, from a request's Accept-Encoding (RFC 9110 §12.5.3). Pure.
 *
 * Each listed coding may carry a weight (`;q=0` … `;q=1`, at most three decimals); `q=0` means "not
 * acceptable". `*` stands for every coding not listed by name; `x-gzip` is `gzip` (§8.4.1.3).
 * `identity` is acceptable unless excluded by name or by `*;q=0`, and when not named it comes after
 * every coding the client weighs above zero. Elements that do not parse (a bad
 * token, a bad weight) are left out, as if not sent. Of the acceptable codings the heaviest wins, on a
 * tie the server's order (`offered`, best first, then identity). No header at all means identity: the
 * RFC would allow any coding, but a client that does not ask (curl, wget) would save it undecoded.
 */

export type ContentCoding = "br" | "gzip" | "identity";

const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/** The weight of each coding the header names (the first mention counts), "*" included. */
export function parseAcceptEncoding(header: string): Map<string, number> {
  const weights = new Map<string, number>();
  for (const element of header.split(",")) {
    const [name = "", ...params] = element.split(";").map((p) => p.trim().toLowerCase());
    if (!TOKEN.test(name)) continue;
    let q = 1;
    let ok = true;
    for (const param of params) {
      const eq = param.indexOf("=");
      const key = (eq < 0 ? param : param.slice(0, eq)).trim();
      const value = eq < 0 ? "" : param.slice(eq + 1).trim();
      if (key !== "q") continue; // other parameters are not defined for codings: ignored
      if (QVALUE.test(value)) q = Number(value);
      else ok = false;
    }
    const coding = name === "x-gzip" ? "gzip" : name;
    if (ok && !weights.has(coding)) weights.set(coding, q);
  }
  return weights;
}

/**
 * The coding to answer with: one of `offered` (those the server has ready, best first) or identity.
 * When nothing the client accepts is on offer the answer is identity (the header is disregarded,
 * as §12.5.3 allows), never an error.
 */
export function chooseCoding(header: string | string[] | undefined, offered: readonly Exclude<ContentCoding, "identity">[]): ContentCoding {
  if (header === undefined) return "identity";
  const weights = parseAcceptEncoding(Array.isArray(header) ? header.join(",") : header);
  const star = weights.get("*");
  // Unnamed identity: below any listed weight (q has three decimals at most), above "not acceptable".
  const weight = (c: ContentCoding) => weights.get(c) ?? star ?? (c === "identity" ? 0.0001 : 0);
  let best: ContentCoding = "identity";
  let bestQ = weight("identity");
  for (const c of offered) {
    const q = weight(c);
    if (q > 0 && (q > bestQ || (q === bestQ && best === "identity"))) {
      best = c;
      bestQ = q;
    }
  }
  return best;
}
