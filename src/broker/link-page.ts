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

/** One app the page can offer. */
export interface DownloadOffer {
  fileName: string;
  path: string;
  available: boolean;
  sizeMb: number | null;
  /** Authenticode-signed (Windows): the page then need not explain SmartScreen's "unknown publisher". */
  signed: boolean;
}

export interface LinkPageFacts {
  /** The broker's --organization; null when not set: the page then speaks of "your support desk". */
  organization: string | null;
  technician: string;
  downloads: { linux: DownloadOffer; windows: DownloadOffer };
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
    downloadWindows: "Download the support app for Windows",
    size: (mb: number) => `${mb} MB, no installation needed`,
    notYet: (p: string) =>
      `The support app is not available for ${p}. It runs on Windows (10 and 11, 64-bit) and Linux (x64): download it on the computer you need help with.`,
    other: (platform: string) => (platform === "windows" ? "Download for Linux (x64) instead" : "Download for Windows instead"),
    unavailable: "The download is not available on this server at the moment. Please tell your technician.",
    how: "How to run it",
    howOn: (platform: string) => (platform === "windows" ? "On Windows" : "On Linux"),
    stepsWindows: (file: string, signed: boolean) => [
      "Download the file.",
      `Open it: click it in your browser's downloads, or double-click <code>${file}</code> in your Downloads folder. It needs no installation and no administrator rights.`,
      signed
        ? "Windows names the publisher before it starts the app; if it asks, check that name and that you downloaded the file from this page."
        : "If Windows says “Windows protected your PC”, this app is not signed by a publisher Windows knows: check that you downloaded it from this page, then choose “More info” and “Run anyway”.",
      "A small window shows when the app is connected. When your technician asks for access, a dialog asks you; while your screen is shared, a bar at the top of the screen says so and lets you stop.",
    ],
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
    downloadWindows: "Support-App für Windows herunterladen",
    size: (mb: number) => `${mb} MB, keine Installation nötig`,
    notYet: (p: string) =>
      `Die Support-App ist für ${p} nicht verfügbar. Sie läuft unter Windows (10 und 11, 64 Bit) und Linux (x64): Laden Sie sie auf dem Computer herunter, bei dem Sie Hilfe brauchen.`,
    other: (platform: string) =>
      platform === "windows" ? "Stattdessen für Linux (x64) herunterladen" : "Stattdessen für Windows herunterladen",
    unavailable: "Der Download ist auf diesem Server gerade nicht verfügbar. Bitte informieren Sie Ihren Supportmitarbeiter.",
    how: "So starten Sie die App",
    howOn: (platform: string) => (platform === "windows" ? "Unter Windows" : "Unter Linux"),
    stepsWindows: (file: string, signed: boolean) => [
      "Laden Sie die Datei herunter.",
      `Öffnen Sie sie: in den Downloads Ihres Browsers anklicken oder <code>${file}</code> in Ihrem Download-Ordner doppelklicken. Sie braucht keine Installation und keine Administratorrechte.`,
      signed
        ? "Windows nennt den Herausgeber, bevor es die App startet; wenn es fragt, prüfen Sie diesen Namen und dass Sie die Datei von dieser Seite heruntergeladen haben."
        : "Wenn Windows „Der Computer wurde durch Windows geschützt“ meldet, ist diese App nicht von einem Herausgeber signiert, den Windows kennt: Prüfen Sie, dass Sie sie von dieser Seite heruntergeladen haben, und wählen Sie dann „Weitere Informationen“ und „Trotzdem ausführen“.",
      "Ein kleines Fenster zeigt, wenn die App verbunden ist. Wenn Ihr Supportmitarbeiter um Zugriff bittet, fragt Sie ein Dialog; solange Ihr Bildschirm geteilt wird, sagt das eine Leiste am oberen Bildschirmrand, mit der Sie die Freigabe beenden können.",
    ],
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
  const detected = detectPlatform(req.headers["user-agent"], req.headers["sec-ch-ua-platform"] as string | undefined);
  const { linux, windows } = f.downloads;
  const button = (o: DownloadOffer, label: string) =>
    `<p><a class="dl" href="${esc(o.path)}" download="${esc(o.fileName)}">${label}</a>` +
    (o.sizeMb !== null ? `<br><span class="muted">${t.size(o.sizeMb)} · <code>${esc(o.fileName)}</code></span>` : "") +
    `</p>`;
  const plain = (o: DownloadOffer, label: string) =>
    o.available ? `<p class="muted"><a href="${esc(o.path)}" download="${esc(o.fileName)}">${label}</a></p>` : "";
  const steps = (platform: "linux" | "windows") =>
    (platform === "windows" ? t.stepsWindows(esc(windows.fileName), windows.signed) : t.steps(esc(linux.fileName)))
      .map((s) => `<li>${s}</li>`)
      .join("");
  // The app that fits the browser, with a plain link to the other one (the user may be on another
  // computer than the one that needs help); for other platforms both, with a note.
  const mine = detected === "windows" ? "windows" : detected === "linux-x64" ? "linux" : null;
  let downloadPart: string;
  let how: string;
  if (mine) {
    const offer = f.downloads[mine];
    const other = mine === "windows" ? linux : windows;
    downloadPart =
      (offer.available ? button(offer, mine === "windows" ? t.downloadWindows : t.download) : `<p><strong>${t.unavailable}</strong></p>`) +
      plain(other, t.other(mine));
    how = `<h2>${t.how}</h2><ol>${steps(mine)}</ol>`;
  } else {
    const any = linux.available || windows.available;
    downloadPart =
      `<p><strong>${t.notYet(t.platforms[detected] ?? detected)}</strong></p>` +
      (any ? plain(windows, t.downloadWindows) + plain(linux, t.download) : `<p><strong>${t.unavailable}</strong></p>`);
    how =
      `<h2>${t.how}</h2><h3>${t.howOn("windows")}</h3><ol>${steps("windows")}</ol>` +
      `<h3>${t.howOn("linux")}</h3><ol>${steps("linux")}</ol>`;
  }
  const body =
    `<h1>${esc(t.title(f.organization))}</h1><p class="who">${esc(t.who(f.technician, f.organization))}</p>` +
    `<p>${t.what}</p>` +
    `<div class="warn" role="alert"><strong>${t.warnTitle}</strong><br>${esc(t.warn(f.organization))}</div>` +
    downloadPart +
    how;
  return send(reply, 200, html(l, t.title(f.organization), body));
}

/** The same page, with the same status, for every session that cannot be started any more. */
export function goneLinkPage(req: FastifyRequest, reply: FastifyReply) {
  const l = pageLocale(req.headers["accept-language"]);
  const t = text[l];
  return send(reply, 404, html(l, t.gone, `<h1>${t.gone}</h1><p>${t.goneText}</p>`));
}
