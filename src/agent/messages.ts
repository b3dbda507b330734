/**
 * Everything the support app says to the end user, in English and German. One line each.
 * The language follows LC_ALL, then LC_MESSAGES, then LANG (POSIX order): German when the first one
 * set starts with "de", English otherwise.
 */
import type { LinkErrorReason } from "../link/support-link.js";

export type Locale = "en" | "de";

export function detectLocale(env: NodeJS.ProcessEnv): Locale {
  const value = env.LC_ALL || env.LC_MESSAGES || env.LANG || "";
  return value.toLowerCase().startsWith("de") ? "de" : "en";
}

type Catalog = {
  invalid: string;
  expired: string;
  closed: string;
  connecting: (host: string) => string;
  connected: (tech: string) => string;
  reconnectedSharing: (tech: string, scope: "view" | "control") => string;
  sharingEnded: (tech: string) => string;
  narrowedByTechnician: (tech: string) => string;
  safetyCodePrompt: (code: string) => string;
  safetyCodeConnected: (code: string) => string;
  certificateMismatch: (tech: string) => string;
  stoppedAndDeclined: (tech: string) => string;
  yourTechnician: string;
  lost: (seconds: number) => string;
  unreachable: (host: string, reason: string, seconds: number) => string;
  giveUp: (host: string) => string;
  busy: (seconds: number) => string;
  refusedByServer: (host: string, status: number) => string;
  badLink: (reason: LinkErrorReason) => string;
  requestView: (tech: string) => string;
  requestControl: (tech: string) => string;
  grantedView: (tech: string) => string;
  grantedControl: (tech: string) => string;
  narrowed: (tech: string) => string;
  stopped: (tech: string) => string;
  sharingHelp: string;
  viewing: (tech: string, scope: "view" | "control") => string;
  viewerLeft: (tech: string) => string;
  viewerLost: (tech: string) => string;
  cannotShare: (reason: "no-display" | "capture-failed" | "webrtc-failed", detail: string) => string;
  denied: (tech: string) => string;
  requestExpired: (tech: string) => string;
  requestWithdrawn: (tech: string) => string;
  answerTooLate: string;
  quit: string;
  replaced: string;
  noMachineId: string;
  stateError: (path: string, reason: string) => string;
  protocolError: (detail: string) => string;
  appTampered: string;
  appNoSession: string;
  noWindow: (detail: string) => string;
  untrustedServer: (host: string, code: string) => string;
  connectionInterrupted: (tech: string) => string;
  connectionResumed: (tech: string) => string;
};

const en: Catalog = {
  invalid: "The support session is invalid.",
  expired: "The support session has expired.",
  closed: "The support session was closed by your support technician.",
  connecting: (host) => `Connecting to the support server at ${host}…`,
  connected: (tech) => `Connected. Waiting for your support technician${tech ? ` (${tech})` : ""}.`,
  reconnectedSharing: (tech, scope) =>
    scope === "control"
      ? `Connected again. ${tech} can still view and control your screen. Type v and Enter to allow viewing only, s and Enter to stop sharing.`
      : `Connected again. ${tech} can still view your screen. Type s and Enter to stop sharing.`,
  sharingEnded: (tech) => `Sharing your screen with ${tech} has ended.`,
  narrowedByTechnician: (tech) =>
    `${tech} switched to viewing only: your mouse and keyboard are yours alone again. Type s and Enter to stop sharing.`,
  safetyCodePrompt: (code) => `Safety code: ${code}. Your technician sees the same code; if they read you another one, answer n.`,
  safetyCodeConnected: (code) => `Safety code of this connection: ${code} (your technician sees the same code).`,
  certificateMismatch: (tech) =>
    `Sharing with ${tech} stopped: the connection did not come from the viewer this request was made from. Please tell your technician.`,
  stoppedAndDeclined: (tech) => `You stopped sharing your screen with ${tech} and declined the new request.`,
  yourTechnician: "Your support technician",
  lost: (s) => `Connection to the support server lost; reconnecting in ${s} s…`,
  unreachable: (host, reason, s) => `Cannot reach the support server at ${host} (${reason}); retrying in ${s} s…`,
  giveUp: (host) => `Cannot reach the support server at ${host}; giving up. Check the internet connection and start the support app again.`,
  busy: (s) => `The support server is busy; retrying in ${s} s…`,
  refusedByServer: (host, status) =>
    `The server at ${host} does not accept the support app (HTTP ${status}). Check that the link is the one your technician sent.`,
  badLink: (reason) =>
    `This is not a valid support link: ${
      {
        "not-a-url": "it is not a web address",
        "bad-scheme": "it must start with https:// or http://",
        "no-code": "it does not contain a session code",
        "bad-code": "the session code in it is incomplete or damaged",
      }[reason]
    }. Copy the whole link from your technician's message and try again.`,
  requestView: (tech) => `${tech} requests to view your screen. Allow? [y] yes  [n] no`,
  requestControl: (tech) =>
    `${tech} requests to control your screen (see it and use mouse and keyboard). Allow? [y] yes  [v] view only  [n] no`,
  grantedView: (tech) => `You allowed ${tech} to view your screen. Type s and Enter to stop sharing.`,
  grantedControl: (tech) =>
    `You allowed ${tech} to control your screen. Type v and Enter to allow viewing only, s and Enter to stop sharing.`,
  narrowed: (tech) => `${tech} can now only view your screen. Type s and Enter to stop sharing.`,
  stopped: (tech) => `You stopped sharing your screen with ${tech}.`,
  sharingHelp: "Type v and Enter to allow viewing only, s and Enter to stop sharing.",
  viewing: (tech, scope) =>
    scope === "control" ? `${tech} is now viewing and controlling your screen.` : `${tech} is now viewing your screen.`,
  viewerLeft: (tech) => `${tech} stopped viewing your screen.`,
  viewerLost: (tech) =>
    `The connection to ${tech}'s viewer closed. ${tech} can connect again while you allow it; type s and Enter to stop sharing.`,
  cannotShare: (reason, detail) =>
    `Your screen cannot be shared: ${
      {
        "no-display": "no graphical display could be opened (is DISPLAY set?)",
        "capture-failed": "the screen could not be captured",
        "webrtc-failed": "the connection to your technician could not be set up",
      }[reason]
    }${reason !== "no-display" && detail ? ` (${detail})` : ""}.`,
  denied: (tech) => `You declined the request from ${tech}.`,
  requestExpired: (tech) => `The request from ${tech} timed out without an answer.`,
  requestWithdrawn: (tech) => `${tech} withdrew the request.`,
  answerTooLate: "Your answer came too late: the request is no longer open.",
  quit: "Support app closed. Your support session stays open: start the app again to reconnect.",
  replaced: "The support app was started again on this computer; this copy stops.",
  noMachineId: "Cannot identify this computer: neither /etc/machine-id nor /var/lib/dbus/machine-id can be read.",
  stateError: (path, reason) => `Cannot keep the support app's identity in ${path} (${reason}).`,
  protocolError: (detail) => `The support server refused the support app (${detail}). Please tell your technician.`,
  appTampered: "This support app has been modified and will not run. Download it again from the link your technician sent.",
  appNoSession: "This support app carries no support session. Download it from the link your technician sent.",
  noWindow: (detail) => `No window can be shown here (${detail}); the support app continues in this terminal.`,
  untrustedServer: (host, code) =>
    `The support server at ${host} could not prove that it is the right server (${code}), so nothing was sent. Please tell your technician.`,
  connectionInterrupted: (tech) => `The connection to ${tech} was interrupted (the network dropped or changed); reconnecting…`,
  connectionResumed: (tech) => `Connected to ${tech} again; sharing goes on as you allowed.`,
};

const de: Catalog = {
  invalid: "Die Support-Sitzung ist ungültig.",
  expired: "Die Support-Sitzung ist abgelaufen.",
  closed: "Die Support-Sitzung wurde von Ihrem Supportmitarbeiter geschlossen.",
  connecting: (host) => `Verbindung zum Support-Server ${host} wird aufgebaut…`,
  connected: (tech) => `Verbunden. Warten auf Ihren Supportmitarbeiter${tech ? ` (${tech})` : ""}.`,
  reconnectedSharing: (tech, scope) =>
    scope === "control"
      ? `Wieder verbunden. ${tech} kann Ihren Bildschirm weiterhin sehen und steuern. Geben Sie v und Enter ein, um nur das Ansehen zu erlauben, oder s und Enter, um die Freigabe zu beenden.`
      : `Wieder verbunden. ${tech} kann Ihren Bildschirm weiterhin sehen. Geben Sie s und Enter ein, um die Freigabe zu beenden.`,
  sharingEnded: (tech) => `Die Freigabe Ihres Bildschirms für ${tech} ist beendet.`,
  narrowedByTechnician: (tech) =>
    `${tech} sieht Ihren Bildschirm jetzt nur noch an: Maus und Tastatur gehören wieder Ihnen allein. Geben Sie s und Enter ein, um die Freigabe zu beenden.`,
  safetyCodePrompt: (code) =>
    `Sicherheitscode: ${code}. Ihr Supportmitarbeiter sieht denselben Code; nennt er Ihnen einen anderen, antworten Sie mit n.`,
  safetyCodeConnected: (code) => `Sicherheitscode dieser Verbindung: ${code} (Ihr Supportmitarbeiter sieht denselben Code).`,
  certificateMismatch: (tech) =>
    `Die Freigabe für ${tech} wurde beendet: Die Verbindung kam nicht von dem Betrachter, von dem die Anfrage stammt. Bitte informieren Sie Ihren Supportmitarbeiter.`,
  stoppedAndDeclined: (tech) => `Sie haben die Freigabe Ihres Bildschirms für ${tech} beendet und die neue Anfrage abgelehnt.`,
  yourTechnician: "Ihr Supportmitarbeiter",
  lost: (s) => `Verbindung zum Support-Server unterbrochen; neuer Versuch in ${s} s…`,
  unreachable: (host, reason, s) => `Der Support-Server ${host} ist nicht erreichbar (${reason}); neuer Versuch in ${s} s…`,
  giveUp: (host) =>
    `Der Support-Server ${host} ist nicht erreichbar; Abbruch. Prüfen Sie die Internetverbindung und starten Sie die Support-App erneut.`,
  busy: (s) => `Der Support-Server ist ausgelastet; neuer Versuch in ${s} s…`,
  refusedByServer: (host, status) =>
    `Der Server ${host} nimmt die Support-App nicht an (HTTP ${status}). Prüfen Sie, ob der Link der von Ihrem Supportmitarbeiter ist.`,
  badLink: (reason) =>
    `Dies ist kein gültiger Support-Link: ${
      {
        "not-a-url": "Es ist keine Webadresse",
        "bad-scheme": "Er muss mit https:// oder http:// beginnen",
        "no-code": "Er enthält keinen Sitzungscode",
        "bad-code": "Der Sitzungscode darin ist unvollständig oder beschädigt",
      }[reason]
    }. Kopieren Sie den ganzen Link aus der Nachricht Ihres Supportmitarbeiters und versuchen Sie es erneut.`,
  requestView: (tech) => `${tech} möchte Ihren Bildschirm sehen. Erlauben? [j] ja  [n] nein`,
  requestControl: (tech) =>
    `${tech} möchte Ihren Bildschirm steuern (sehen und Maus und Tastatur bedienen). Erlauben? [j] ja  [v] nur ansehen  [n] nein`,
  grantedView: (tech) => `Sie haben ${tech} erlaubt, Ihren Bildschirm zu sehen. Geben Sie s und Enter ein, um die Freigabe zu beenden.`,
  grantedControl: (tech) =>
    `Sie haben ${tech} erlaubt, Ihren Bildschirm zu steuern. Geben Sie v und Enter ein, um nur das Ansehen zu erlauben, oder s und Enter, um die Freigabe zu beenden.`,
  narrowed: (tech) => `${tech} kann Ihren Bildschirm jetzt nur noch sehen. Geben Sie s und Enter ein, um die Freigabe zu beenden.`,
  stopped: (tech) => `Sie haben die Freigabe Ihres Bildschirms für ${tech} beendet.`,
  sharingHelp: "Geben Sie v und Enter ein, um nur das Ansehen zu erlauben, oder s und Enter, um die Freigabe zu beenden.",
  viewing: (tech, scope) =>
    scope === "control" ? `${tech} sieht und steuert jetzt Ihren Bildschirm.` : `${tech} sieht jetzt Ihren Bildschirm.`,
  viewerLeft: (tech) => `${tech} sieht Ihren Bildschirm nicht mehr.`,
  viewerLost: (tech) =>
    `Die Verbindung zum Betrachter von ${tech} wurde getrennt. ${tech} kann sich erneut verbinden, solange Sie es erlauben; geben Sie s und Enter ein, um die Freigabe zu beenden.`,
  cannotShare: (reason, detail) =>
    `Ihr Bildschirm kann nicht geteilt werden: ${
      {
        "no-display": "Es konnte keine grafische Anzeige geöffnet werden (ist DISPLAY gesetzt?)",
        "capture-failed": "Der Bildschirm konnte nicht aufgenommen werden",
        "webrtc-failed": "Die Verbindung zu Ihrem Supportmitarbeiter konnte nicht aufgebaut werden",
      }[reason]
    }${reason !== "no-display" && detail ? ` (${detail})` : ""}.`,
  denied: (tech) => `Sie haben die Anfrage von ${tech} abgelehnt.`,
  requestExpired: (tech) => `Die Anfrage von ${tech} ist ohne Antwort abgelaufen.`,
  requestWithdrawn: (tech) => `${tech} hat die Anfrage zurückgezogen.`,
  answerTooLate: "Ihre Antwort kam zu spät: Die Anfrage ist nicht mehr offen.",
  quit: "Support-App beendet. Ihre Support-Sitzung bleibt bestehen: Starten Sie die App erneut, um sich wieder zu verbinden.",
  replaced: "Die Support-App wurde auf diesem Computer erneut gestartet; diese Instanz wird beendet.",
  noMachineId: "Dieser Computer kann nicht erkannt werden: Weder /etc/machine-id noch /var/lib/dbus/machine-id ist lesbar.",
  stateError: (path, reason) => `Die Identität der Support-App kann nicht in ${path} gespeichert werden (${reason}).`,
  protocolError: (detail) =>
    `Der Support-Server hat die Support-App abgelehnt (${detail}). Bitte informieren Sie Ihren Supportmitarbeiter.`,
  appTampered:
    "Diese Support-App wurde verändert und wird nicht gestartet. Laden Sie sie erneut über den Link Ihres Supportmitarbeiters herunter.",
  appNoSession: "Diese Support-App enthält keine Support-Sitzung. Laden Sie sie über den Link Ihres Supportmitarbeiters herunter.",
  noWindow: (detail) => `Hier kann kein Fenster angezeigt werden (${detail}); die Support-App läuft in diesem Terminal weiter.`,
  untrustedServer: (host, code) =>
    `Der Support-Server ${host} konnte nicht nachweisen, dass er der richtige Server ist (${code}); es wurde nichts gesendet. Bitte informieren Sie Ihren Supportmitarbeiter.`,
  connectionInterrupted: (tech) =>
    `Die Verbindung zu ${tech} wurde unterbrochen (das Netzwerk ist ausgefallen oder hat gewechselt); neuer Verbindungsaufbau…`,
  connectionResumed: (tech) => `Wieder mit ${tech} verbunden; die Freigabe läuft weiter, wie Sie sie erlaubt haben.`,
};

export const catalogs: Record<Locale, Catalog> = { en, de };
export type Messages = Catalog;

/**
 * The same lines for the app window: where the terminal says which letter to type, the window
 * names its buttons (in the window and on the sharing bar at the top of the screen).
 */
const enWindow: Catalog = {
  ...en,
  reconnectedSharing: (tech, scope) =>
    scope === "control"
      ? `Connected again. ${tech} can still view and control your screen. Use View only or Stop sharing at any time.`
      : `Connected again. ${tech} can still view your screen. Use Stop sharing at any time.`,
  narrowedByTechnician: (tech) => `${tech} switched to viewing only: your mouse and keyboard are yours alone again.`,
  safetyCodePrompt: (code) => `Safety code: ${code}. Your technician sees the same code; if they read you another one, decline.`,
  grantedView: (tech) => `You allowed ${tech} to view your screen. Use Stop sharing at any time.`,
  grantedControl: (tech) => `You allowed ${tech} to control your screen. Use View only or Stop sharing at any time.`,
  narrowed: (tech) => `${tech} can now only view your screen.`,
  sharingHelp: "Use View only or Stop sharing at any time.",
  viewerLost: (tech) => `The connection to ${tech}'s viewer closed. ${tech} can connect again while you allow it.`,
  quit: "Support app closed. Your support session stays open: start the app again to reconnect.",
};

const deWindow: Catalog = {
  ...de,
  reconnectedSharing: (tech, scope) =>
    scope === "control"
      ? `Wieder verbunden. ${tech} kann Ihren Bildschirm weiterhin sehen und steuern. „Nur ansehen“ und „Freigabe beenden“ stehen Ihnen jederzeit zur Verfügung.`
      : `Wieder verbunden. ${tech} kann Ihren Bildschirm weiterhin sehen. Mit „Freigabe beenden“ beenden Sie die Freigabe jederzeit.`,
  narrowedByTechnician: (tech) => `${tech} sieht Ihren Bildschirm jetzt nur noch an: Maus und Tastatur gehören wieder Ihnen allein.`,
  safetyCodePrompt: (code) =>
    `Sicherheitscode: ${code}. Ihr Supportmitarbeiter sieht denselben Code; nennt er Ihnen einen anderen, lehnen Sie ab.`,
  grantedView: (tech) => `Sie haben ${tech} erlaubt, Ihren Bildschirm zu sehen. Mit „Freigabe beenden“ beenden Sie die Freigabe jederzeit.`,
  grantedControl: (tech) =>
    `Sie haben ${tech} erlaubt, Ihren Bildschirm zu steuern. „Nur ansehen“ und „Freigabe beenden“ stehen Ihnen jederzeit zur Verfügung.`,
  narrowed: (tech) => `${tech} kann Ihren Bildschirm jetzt nur noch sehen.`,
  sharingHelp: "„Nur ansehen“ und „Freigabe beenden“ stehen Ihnen jederzeit zur Verfügung.",
  viewerLost: (tech) =>
    `Die Verbindung zum Betrachter von ${tech} wurde getrennt. ${tech} kann sich erneut verbinden, solange Sie es erlauben.`,
};

export const windowCatalogs: Record<Locale, Catalog> = { en: enWindow, de: deWindow };

/** The words only the app window has: its title, the consent dialog, the sharing bar. */
export interface WindowTexts {
  title: string;
  heading: (organization: string) => string;
  quit: string;
  close: string;
  viewOnly: string;
  stop: string;
  askTitle: string;
  askHeading: (tech: string, organization: string, scope: "view" | "control") => string;
  askBody: (tech: string, scope: "view" | "control") => string;
  /** "{time}" is replaced with the minutes and seconds left, e.g. 1:45. */
  timeLeft: string;
  allow: string;
  decline: string;
  barTitle: string;
  bar: (shared: readonly { technician: string; scope: "view" | "control" }[]) => string;
}

const list = (names: string[], and: string) =>
  names.length <= 1 ? (names[0] ?? "") : `${names.slice(0, -1).join(", ")} ${and} ${names[names.length - 1]}`;

export const windowTexts: Record<Locale, WindowTexts> = {
  en: {
    title: "Remote support",
    heading: (org) => (org ? `Remote support from ${org}` : "Remote support from your support desk"),
    quit: "Quit",
    close: "Close",
    viewOnly: "View only",
    stop: "Stop sharing",
    askTitle: "Remote access request",
    askHeading: (tech, org, scope) =>
      `${tech}${org ? ` (${org})` : ""} ${scope === "control" ? "asks to view and control your screen" : "asks to view your screen"}`,
    askBody: (tech, scope) =>
      scope === "control"
        ? `${tech} would see everything on your screen and could use your mouse and keyboard. You can switch to view only or stop sharing at any time.`
        : `${tech} would see everything on your screen, but could not use your mouse or keyboard. You can stop sharing at any time.`,
    timeLeft: "Please answer within {time}.",
    allow: "Allow",
    decline: "Decline",
    barTitle: "Tether: screen shared",
    bar: (shared) => {
      const control = shared.filter((s) => s.scope === "control").map((s) => s.technician);
      const view = shared.filter((s) => s.scope === "view").map((s) => s.technician);
      const parts = [];
      if (control.length) parts.push(`${list(control, "and")} ${control.length > 1 ? "are" : "is"} controlling your screen`);
      if (view.length) parts.push(`${list(view, "and")} ${view.length > 1 ? "are" : "is"} viewing your screen`);
      return parts.join("; ");
    },
  },
  de: {
    title: "Fernwartung",
    heading: (org) => (org ? `Fernwartung durch ${org}` : "Fernwartung durch Ihren Support"),
    quit: "Beenden",
    close: "Schließen",
    viewOnly: "Nur ansehen",
    stop: "Freigabe beenden",
    askTitle: "Anfrage für Fernzugriff",
    askHeading: (tech, org, scope) =>
      `${tech}${org ? ` (${org})` : ""} ${scope === "control" ? "möchte Ihren Bildschirm sehen und steuern" : "möchte Ihren Bildschirm sehen"}`,
    askBody: (tech, scope) =>
      scope === "control"
        ? `${tech} würde alles auf Ihrem Bildschirm sehen und könnte Maus und Tastatur bedienen. Sie können jederzeit auf „Nur ansehen“ wechseln oder die Freigabe beenden.`
        : `${tech} würde alles auf Ihrem Bildschirm sehen, könnte aber Maus und Tastatur nicht bedienen. Sie können die Freigabe jederzeit beenden.`,
    timeLeft: "Bitte antworten Sie innerhalb von {time}.",
    allow: "Erlauben",
    decline: "Ablehnen",
    barTitle: "Tether: Bildschirm freigegeben",
    bar: (shared) => {
      const control = shared.filter((s) => s.scope === "control").map((s) => s.technician);
      const view = shared.filter((s) => s.scope === "view").map((s) => s.technician);
      const parts = [];
      if (control.length) parts.push(`${list(control, "und")} ${control.length > 1 ? "steuern" : "steuert"} Ihren Bildschirm`);
      if (view.length) parts.push(`${list(view, "und")} ${view.length > 1 ? "sehen" : "sieht"} Ihren Bildschirm`);
      return parts.join("; ");
    },
  },
};

export { Exit } from "../util/exit.js";
