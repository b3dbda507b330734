/**
 * Serves the technician web console (built by scripts/build-console.mjs into dist/console/) at
 * `/`, `/console.js` and `/console.css`, under a strict Content Security Policy: script, style and
 * connections from this origin only, no inline script or style, no framing. Files are read on each
 * request (they are small) so a rebuilt console shows up without a broker restart; an ETag lets
 * the browser revalidate cheaply, and `no-cache` means it always does.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join("; ");

const FILES: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/console.js": { file: "console.js", type: "text/javascript; charset=utf-8" },
  "/console.css": { file: "console.css", type: "text/css; charset=utf-8" },
};

/** dist/console/ of this package, found from this module's place in src/ (tsx) or dist/src/ (built). */
export function defaultConsoleDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [resolve(here, "..", "..", "console"), resolve(here, "..", "..", "dist", "console")];
  return candidates.find((d) => existsSync(join(d, "index.html"))) ?? candidates[0]!;
}

/**
 * Registers the console's routes if `dir` holds a built console (index.html); returns false (and
 * registers nothing) otherwise, so the caller can keep its plain home page.
 */
export function registerConsole(app: FastifyInstance, dir: string = defaultConsoleDir()): boolean {
  if (!existsSync(join(dir, "index.html"))) return false;
  for (const [path, { file, type }] of Object.entries(FILES)) {
    app.get(path, async (req: FastifyRequest, reply: FastifyReply) => {
      let body: Buffer;
      try {
        body = readFileSync(join(dir, file));
      } catch {
        req.log.error({ file }, "console file missing: run node scripts/build-console.mjs");
        return reply.status(503).type("text/plain; charset=utf-8").send("The console is being rebuilt; reload in a moment.");
      }
      const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`;
      reply
        .header("content-security-policy", CONSOLE_CSP)
        .header("cache-control", "no-cache")
        .header("etag", etag)
        .header("cross-origin-opener-policy", "same-origin")
        .header("x-frame-options", "DENY")
        .type(type);
      if (req.headers["if-none-match"] === etag) return reply.status(304).send();
      return reply.send(body);
    });
  }
  return true;
}
