/**
 * The broker's two small HTML pages until the web console (and the link page with its download)
 * arrive: static text, no script, a strict CSP. Opening a link changes nothing on the broker.
 */
import type { FastifyReply } from "fastify";

const CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

function page(reply: FastifyReply, lang: string, title: string, body: string) {
  return reply
    .type("text/html; charset=utf-8")
    .header("content-security-policy", CSP)
    .send(
      `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
        `<title>${title}</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem}` +
        `code{background:#f2f2f2;padding:.1rem .3rem}</style></head><body>${body}</body></html>`,
    );
}

export function homePage(reply: FastifyReply) {
  return page(
    reply,
    "en",
    "Tether broker",
    `<h1>Tether broker</h1><p>The broker is running. Technicians use the <code>tether session</code> command or the ` +
      `HTTP API under <code>/api/</code> (see the README). The web console is not part of this version yet.</p>`,
  );
}
