/**
 * The page a support link opens (GET /s/<code>) and the download it offers
 * (GET /s/<code>/download; both routes are in downloads.ts). Opening either binds nothing: a mail scanner fetching the link changes
 * no state. Sessions that cannot be started any more (closed, deleted, unknown, expired and never
 * bound) all get the same "no longer available" page with the same status.
 */
import type { FastifyReply, FastifyRequest } from "fastify";

export type PageLocale = "en" | "de";

/** Picks German when the browser prefers it over English, English otherwise. */
export function pageLocale(acceptLanguage: string | undefined): PageLocale {
  const prefs = (acceptLanguage ?? "")
    .split(",")
    .map((part, i) => {
      const [tag, ...params] = part.trim().toLowerCase().split(";");
      const q = Number(
        params
          .find((p) => p.trim().startsWith("q="))
          ?.trim()
          .slice(2) ?? "1",
      );
      return { lang: (tag ?? "").split("-")[0], q: Number.isFinite(q) ? q : 0, i };
    })
    .filter((p) => p.lang === "de" || p.lang === "en")
    .sort((a, b) => b.q - a.q || a.i - b.i);
  return prefs[0]?.lang === "de" ? "de" : "en";
}

export type Platform = "linux-x64" | "windows" | "mac" | "linux-other" | "other";

/** The visitor's platform from the User-Agent (and the UA-CH hint where the browser sends it). */
export function detectPlatform(userAgent: string | undefined, chPlatform?: string): Platform {
  const ua = userAgent ?? "";
  const hint = (chPlatform ?? "").replace(/"/g, "").toLowerCase();
  if (hint === "windows" || /Windows/i.test(ua)) return "windows";
  if (hint === "macos" || /Mac OS X|Macintosh/i.test(ua)) return "mac";
  if (/Android|CrOS/i.test(ua)) return "other";
  if (hint === "linux" || /Linux|X11/i.test(ua))
    return /x86_64|amd64|x64/i.test(ua) || !/aarch64|arm/i.test(ua) ? "linux-x64" : "linux-other";
  return "other";
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const STYLE =
  "body{font:17px/1.55 system-ui,sans-serif;max-width:40rem;margin:2.5rem auto;padding:0 1.2rem;color:#1d2330}" +
  "h1{font-size:1.6rem;margin-bottom:.3rem}.who{color:#4a5163;margin-top:0}" +
  ".warn{border-left:5px solid #d33;background:#fff3f3;padding:.8rem 1rem;margin:1.5rem 0}" +
  ".dl{display:inline-block;background:#1b6ef3;color:#fff;text-decoration:none;padding:.8rem 1.3rem;border-radius:.4rem;font-weight:600}" +
  ".muted{color:#5c6375;font-size:.92rem}code{background:#eef0f4;padding:.1rem .35rem;border-radius:.2rem}ol li{margin:.3rem 0}";

function html(locale: PageLocale, title: string, body: string): string {
  return (
    `<!doctype html><html lang="${locale}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">` +
    `<meta name="robots" content="noindex"><title>${esc(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`
  );
}

export interface LinkPageFacts {
  /** The broker's --organization; null when not set: the page then speaks of "your support desk". */
  organization: string | null;
  technician: string;
  fileName: string;
  downloadPath: string;
  downloadAvailable: boolean;
  sizeMb: number | null;
}

const text = {
  en: {
    title: (org: string | null) => (org ? `Remote support from ${org}` : "Remote support"),
    who: (tech: string, org: string | null) =>
      tech
        ? `${tech}${org ? ` from ${org}` : ""} has invited you to a remote support session.`
        : "You have been invited to a remote support session.",
    what:
      "The support app connects your computer to your technician. Nothing on your screen is shared and nothing is " +
      "controlled until you allow it in the app, and you can stop at any time.",
    warnTitle: "Only continue if you contacted this support desk yourself.",
    warn: (org: string | null) =>
      `Never run this app because somebody called you unexpectedly, a pop-up told you to, or a stranger sent you the link. ` +
      `Scammers use remote-support tools to take over computers. If in doubt, close this page and call ${org ?? "your support desk"} on a number you already know.`,
    download: "Download the support app for Linux (x64)",
    size: (mb: number) => `${mb} MB, no installation needed`,
    notYet: (p: string) => `The support app is not yet available for ${p}. It runs on Linux (x64) for now.`,
    anyway: "Download for Linux (x64)",
    unavailable: "The download is not available on this server at the moment. Please tell your technician.",
    how: "How to run it",
    steps: (file: string) => [
      "Download the file.",
      `Allow it to run and start it: in your file manager, Properties → Permissions → “Allow executing file as program”, then double-click it; or open a terminal in your download folder and run <code>chmod +x ${file} &amp;&amp; ./${file}</code>.`,
      "A small window shows when the app is connected. When your technician asks for access, a dialog asks you; while your screen is shared, a bar at the top of the screen says so and lets you stop.",
      "It needs a Linux desktop with X11. Its window needs GTK 3 (libgtk-3-0, part of most desktops); without it the app asks in the terminal.",
    ],
    gone: "This support app is no longer available",
    goneText: "The support session has ended or the link is not valid. If you still need help, ask your support technician for a new link.",
    platforms: { windows: "Windows", mac: "macOS", "linux-other": "this Linux computer", other: "this device" } as Record<string, string>,
  },
  de: {
    title: (org: string | null) => (org ? `Fernsupport von ${org}` : "Fernsupport"),
    who: (tech: string, org: string | null) =>
      tech
        ? `${tech}${org ? ` von ${org}` : ""} hat Sie zu einer Fernsupport-Sitzung eingeladen.`
        : "Sie wurden zu einer Fernsupport-Sitzung eingeladen.",
    what:
      "Die Support-App verbindet Ihren Computer mit Ihrem Supportmitarbeiter. Nichts auf Ihrem Bildschirm wird geteilt " +
      "oder gesteuert, bevor Sie es in der App erlauben, und Sie können jederzeit beenden.",
    warnTitle: "Fahren Sie nur fort, wenn Sie sich selbst an diesen Support gewandt haben.",
    warn: (org: string | null) =>
      `Starten Sie diese App nie, weil jemand Sie unerwartet angerufen hat, ein Fenster Sie dazu auffordert oder ein Unbekannter ` +
      `Ihnen den Link geschickt hat. Betrüger nutzen Fernwartungsprogramme, um Computer zu übernehmen. Schließen Sie im Zweifel ` +
      `diese Seite und rufen Sie ${org ?? "Ihren Support"} unter einer Nummer an, die Sie bereits kennen.`,
    download: "Support-App für Linux (x64) herunterladen",
    size: (mb: number) => `${mb} MB, keine Installation nötig`,
    notYet: (p: string) => `Die Support-App ist für ${p} noch nicht verfügbar. Sie läuft vorerst unter Linux (x64).`,
    anyway: "Für Linux (x64) herunterladen",
    unavailable: "Der Download ist auf diesem Server gerade nicht verfügbar. Bitte informieren Sie Ihren Supportmitarbeiter.",
    how: "So starten Sie die App",
    steps: (file: string) => [
      "Laden Sie die Datei herunter.",
      `Erlauben Sie das Ausführen und starten Sie die Datei: im Dateimanager unter Eigenschaften → Zugriffsrechte → „Datei als Programm ausführen“, dann mit einem Doppelklick; oder öffnen Sie ein Terminal in Ihrem Download-Ordner und führen Sie <code>chmod +x ${file} &amp;&amp; ./${file}</code> aus.`,
      "Ein kleines Fenster zeigt, wenn die App verbunden ist. Wenn Ihr Supportmitarbeiter um Zugriff bittet, fragt Sie ein Dialog; solange Ihr Bildschirm geteilt wird, sagt das eine Leiste am oberen Bildschirmrand, mit der Sie die Freigabe beenden können.",
      "Sie braucht einen Linux-Desktop mit X11. Ihr Fenster braucht GTK 3 (libgtk-3-0, Teil der meisten Desktops); ohne GTK fragt die App im Terminal.",
    ],
    gone: "Diese Support-App ist nicht mehr verfügbar",
    goneText:
      "Die Support-Sitzung ist beendet oder der Link ist ungültig. Wenn Sie weiterhin Hilfe brauchen, bitten Sie Ihren Supportmitarbeiter um einen neuen Link.",
    platforms: { windows: "Windows", mac: "macOS", "linux-other": "diesen Linux-Computer", other: "dieses Gerät" } as Record<
      string,
      string
    >,
  },
} as const;

function send(reply: FastifyReply, status: number, body: string) {
  return reply.status(status).type("text/html; charset=utf-8").header("content-security-policy", CSP).send(body);
}

export function linkPage(req: FastifyRequest, reply: FastifyReply, f: LinkPageFacts) {
  const l = pageLocale(req.headers["accept-language"]);
  const t = text[l];
  const platform = detectPlatform(req.headers["user-agent"], req.headers["sec-ch-ua-platform"] as string | undefined);
  const button =
    `<p><a class="dl" href="${esc(f.downloadPath)}" download="${esc(f.fileName)}">${t.download}</a>` +
    (f.sizeMb !== null ? `<br><span class="muted">${t.size(f.sizeMb)} · <code>${esc(f.fileName)}</code></span>` : "") +
    `</p>`;
  const downloadPart = !f.downloadAvailable
    ? `<p><strong>${t.unavailable}</strong></p>`
    : platform === "linux-x64"
      ? button
      : `<p><strong>${t.notYet(t.platforms[platform] ?? platform)}</strong></p><p class="muted"><a href="${esc(f.downloadPath)}" download="${esc(f.fileName)}">${t.anyway}</a></p>`;
  const body =
    `<h1>${esc(t.title(f.organization))}</h1><p class="who">${esc(t.who(f.technician, f.organization))}</p>` +
    `<p>${t.what}</p>` +
    `<div class="warn" role="alert"><strong>${t.warnTitle}</strong><br>${esc(t.warn(f.organization))}</div>` +
    downloadPart +
    `<h2>${t.how}</h2><ol>${t
      .steps(esc(f.fileName))
      .map((s) => `<li>${s}</li>`)
      .join("")}</ol>`;
  return send(reply, 200, html(l, t.title(f.organization), body));
}

/** The same page, with the same status, for every session that cannot be started any more. */
export function goneLinkPage(req: FastifyRequest, reply: FastifyReply) {
  const l = pageLocale(req.headers["accept-language"]);
  const t = text[l];
  return send(reply, 404, html(l, t.gone, `<h1>${t.gone}</h1><p>${t.goneText}</p>`));
}
