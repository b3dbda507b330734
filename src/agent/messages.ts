/**
 * Everything the support app says to the end user, in English and German. One line each.
 * The language: on Linux it follows LC_ALL, then LC_MESSAGES, then LANG (POSIX order): German when
 * the first one set starts with "de", English otherwise. On Windows it follows the user's display
 * language (GetUserDefaultUILanguage, through the native addon), never the environment.
 */
import type { LinkErrorReason } from "../link/support-link.js";

export type Locale = "en" | "de";

/** The operating systems whose users the app speaks to; they differ in a few lines (files, displays). */
export type HostOs = "linux" | "windows";

export const hostOs = (platform: NodeJS.Platform = process.platform): HostOs => (platform === "win32" ? "windows" : "linux");

/** Linux (POSIX): the language of LC_ALL, LC_MESSAGES or LANG, the first one set. */
export function detectLocale(env: NodeJS.ProcessEnv): Locale {
  const value = env.LC_ALL || env.LC_MESSAGES || env.LANG || "";
  return value.toLowerCase().startsWith("de") ? "de" : "en";
}

/**
 * Windows: the language of a BCP 47 tag, the display language Windows reports (e.g. "de-DE",
 * "de-AT"); null or anything else: English.
 */
export function windowsLocale(uiLanguage: string | null): Locale {
  return /^de(-|$)/i.test(uiLanguage ?? "") ? "de" : "en";
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
  /** A chat message, and (once) how to answer in the terminal; a message that could not go out. */
  chatLine: (name: string, text: string) => string;
  chatHint: (tech: string) => string;
  chatNotSent: string;
  chatTooLong: string;
  chatRateLimited: string;
  /** The technician records the shared screen (in their browser), and stopped doing so. */
  recordingStarted: (tech: string) => string;
  recordingStopped: (tech: string) => string;
  /** File transfer (the terminal's questions; status lines in both). `size` is already formatted ("2.3 MB"). */
  fileOffer: (tech: string, name: string, size: string) => string;
  fileRequest: (tech: string, path: string, size: string) => string;
  fileAnswerHelp: string;
  fileSendHelp: string;
  fileRequestMissing: (tech: string, path: string) => string;
  fileAccepted: (name: string) => string;
  fileDeclined: (name: string) => string;
  fileProgress: (name: string, percent: number, left: string) => string;
  fileReceived: (tech: string, name: string, where: string) => string;
  fileSent: (tech: string, name: string) => string;
  fileCancelled: (name: string, byTechnician: boolean) => string;
  fileFailed: (name: string, reason: string) => string;
  fileCancelHelp: string;
  /** The user sends a file of their own (the window's button, the terminal's `send <path>`). */
  fileSendHint: (tech: string) => string;
  fileOffered: (tech: string, name: string, size: string) => string;
  fileTechnicianDeclined: (tech: string, name: string) => string;
  fileCannotSend: (path: string, why: string, limit: string) => string;
  fileNoTechnician: string;
  /** The clipboard moved (characters), or sharing it was switched. */
  clipboardFromTechnician: (tech: string, chars: number) => string;
  clipboardToTechnician: (tech: string, chars: number) => string;
  clipboardSwitched: (on: boolean) => string;
};

/** Why a transfer did not complete, for the user (reason codes: FileMessage in the protocol). */
const failReasonEn: Record<string, string> = {
  checksum: "its contents did not arrive intact",
  size: "it did not arrive whole",
  disk: "it could not be saved",
  closed: "the connection to the technician ended",
  unreadable: "it could not be read",
  "too-large": "it is larger than the support server allows",
  protocol: "the other side sent something unexpected",
  busy: "too many transfers are under way; try again when one has finished",
};
const failReasonDe: Record<string, string> = {
  checksum: "ihr Inhalt kam nicht unverändert an",
  size: "sie kam nicht vollständig an",
  disk: "sie konnte nicht gespeichert werden",
  closed: "die Verbindung zum Supportmitarbeiter wurde getrennt",
  unreadable: "sie konnte nicht gelesen werden",
  "too-large": "sie ist größer, als der Support-Server erlaubt",
  protocol: "die Gegenseite hat etwas Unerwartetes gesendet",
  busy: "es laufen zu viele Übertragungen; versuchen Sie es erneut, wenn eine beendet ist",
};

/** Why a file of the user's cannot be sent (fileStat's answers, or "too-large"). */
function cannotSendEn(why: string, limit: string): string {
  if (why === "not-found") return "there is no such file";
  if (why === "not-a-file") return "it is not a file";
  if (why === "too-large") return `it is larger than the support server allows (${limit})`;
  return "it cannot be read";
}
function cannotSendDe(why: string, limit: string): string {
  if (why === "not-found") return "Diese Datei gibt es nicht";
  if (why === "not-a-file") return "Das ist keine Datei";
  if (why === "too-large") return `Sie ist größer, als der Support-Server erlaubt (${limit})`;
  return "Sie kann nicht gelesen werden";
}

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
  chatLine: (name, text) => `${name}: ${text}`,
  chatHint: (tech) => `(To write to ${tech}, type your message and press Enter.)`,
  chatNotSent: "Your message was not sent: the support app is not connected right now.",
  chatTooLong: "Your message was not sent: it is longer than 2000 characters.",
  chatRateLimited: "A message was not sent: too many messages in a minute. Wait a moment.",
  recordingStarted: (tech) => `This session is being recorded by ${tech}. You can stop sharing at any time.`,
  recordingStopped: (tech) => `${tech} stopped recording.`,
  fileOffer: (tech, name, size) =>
    `${tech} wants to send you the file "${name}" (${size}). It would be saved in your Downloads folder. Accept it? Type y and Enter to accept, n and Enter to decline.`,
  fileRequest: (tech, path, size) =>
    `${tech} asks for the file ${path} (${size}) from this computer. Send it? Type send and Enter to send it, n and Enter to refuse.`,
  fileAnswerHelp: "Please answer y (yes) or n (no).",
  fileSendHelp: "Please type send (to send the file) or n (no).",
  fileRequestMissing: (tech, path) => `${tech} asked for ${path}, which is not a file on this computer. Nothing was sent.`,
  fileAccepted: (name) => `Receiving "${name}"…`,
  fileDeclined: (name) => `"${name}" was not transferred: you declined it.`,
  fileProgress: (name, percent, left) => `"${name}": ${percent} %${left ? `, ${left} left` : ""}`,
  fileReceived: (tech, name, where) => `You received "${name}" from ${tech}. It is saved as ${where}.`,
  fileSent: (tech, name) => `"${name}" was sent to ${tech}.`,
  fileCancelled: (name, byTech) => `The transfer of "${name}" was cancelled${byTech ? " by your technician" : ""}.`,
  fileFailed: (name, reason) => `"${name}" was not transferred: ${failReasonEn[reason] ?? reason}.`,
  fileCancelHelp: "(Type x and Enter to cancel the transfers under way.)",
  fileSendHint: (tech) => `To send ${tech} a file, type send, a space and the file's full path, then Enter.`,
  fileOffered: (tech, name, size) => `"${name}" (${size}) is offered to ${tech}; it is sent once ${tech} accepts it.`,
  fileTechnicianDeclined: (tech, name) => `${tech} did not accept "${name}". Nothing was sent.`,
  fileCannotSend: (path, why, limit) => `${path} cannot be sent: ${cannotSendEn(why, limit)}.`,
  fileNoTechnician: "Nobody is connected to your screen right now, so there is no one to send a file to.",
  clipboardFromTechnician: (tech, chars) => `${tech} put text on your clipboard (${chars} characters).`,
  clipboardToTechnician: (tech, chars) => `The text you copied (${chars} characters) went to ${tech}.`,
  clipboardSwitched: (on) => (on ? "Clipboard sharing is on." : "Clipboard sharing is off: nothing you copy leaves this computer."),
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
  chatLine: (name, text) => `${name}: ${text}`,
  chatHint: (tech) => `(Um ${tech} zu schreiben, tippen Sie Ihre Nachricht und drücken Sie die Eingabetaste.)`,
  chatNotSent: "Ihre Nachricht wurde nicht gesendet: Die Support-App ist gerade nicht verbunden.",
  chatTooLong: "Ihre Nachricht wurde nicht gesendet: Sie ist länger als 2000 Zeichen.",
  chatRateLimited: "Eine Nachricht wurde nicht gesendet: zu viele Nachrichten in einer Minute. Bitte warten Sie einen Moment.",
  recordingStarted: (tech) => `Diese Sitzung wird von ${tech} aufgezeichnet. Sie können die Freigabe jederzeit beenden.`,
  recordingStopped: (tech) => `${tech} hat die Aufzeichnung beendet.`,
  fileOffer: (tech, name, size) =>
    `${tech} möchte Ihnen die Datei „${name}“ (${size}) senden. Sie würde in Ihrem Download-Ordner gespeichert. Annehmen? Tippen Sie j und die Eingabetaste zum Annehmen, n und die Eingabetaste zum Ablehnen.`,
  fileRequest: (tech, path, size) =>
    `${tech} bittet um die Datei ${path} (${size}) von diesem Computer. Senden? Tippen Sie senden und die Eingabetaste zum Senden, n und die Eingabetaste zum Ablehnen.`,
  fileAnswerHelp: "Bitte antworten Sie mit j (ja) oder n (nein).",
  fileSendHelp: "Bitte tippen Sie senden (um die Datei zu senden) oder n (nein).",
  fileRequestMissing: (tech, path) => `${tech} hat um ${path} gebeten; das ist keine Datei auf diesem Computer. Es wurde nichts gesendet.`,
  fileAccepted: (name) => `„${name}“ wird empfangen…`,
  fileDeclined: (name) => `„${name}“ wurde nicht übertragen: Sie haben abgelehnt.`,
  fileProgress: (name, percent, left) => `„${name}“: ${percent} %${left ? `, noch ${left}` : ""}`,
  fileReceived: (tech, name, where) => `Sie haben „${name}“ von ${tech} erhalten. Gespeichert als ${where}.`,
  fileSent: (tech, name) => `„${name}“ wurde an ${tech} gesendet.`,
  fileCancelled: (name, byTech) => `Die Übertragung von „${name}“ wurde${byTech ? " von Ihrem Supportmitarbeiter" : ""} abgebrochen.`,
  fileFailed: (name, reason) => `„${name}“ wurde nicht übertragen: ${failReasonDe[reason] ?? reason}.`,
  fileCancelHelp: "(Tippen Sie x und die Eingabetaste, um laufende Übertragungen abzubrechen.)",
  fileSendHint: (tech) =>
    `Um ${tech} eine Datei zu senden, tippen Sie senden, ein Leerzeichen und den vollständigen Pfad der Datei, dann die Eingabetaste.`,
  fileOffered: (tech, name, size) => `„${name}“ (${size}) wird ${tech} angeboten; die Datei wird gesendet, sobald ${tech} sie annimmt.`,
  fileTechnicianDeclined: (tech, name) => `${tech} hat „${name}“ nicht angenommen. Es wurde nichts gesendet.`,
  fileCannotSend: (path, why, limit) => `${path} kann nicht gesendet werden: ${cannotSendDe(why, limit)}.`,
  fileNoTechnician: "Gerade ist niemand mit Ihrem Bildschirm verbunden: Es gibt niemanden, dem Sie eine Datei senden könnten.",
  clipboardFromTechnician: (tech, chars) => `${tech} hat Text in Ihre Zwischenablage gelegt (${chars} Zeichen).`,
  clipboardToTechnician: (tech, chars) => `Der kopierte Text (${chars} Zeichen) wurde an ${tech} gesendet.`,
  clipboardSwitched: (on) =>
    on ? "Die Zwischenablage wird geteilt." : "Die Zwischenablage wird nicht geteilt: Was Sie kopieren, verlässt diesen Computer nicht.",
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
  fileOffer: (tech, name, size) => `${tech} wants to send you the file "${name}" (${size}).`,
  fileRequest: (tech, path, size) => `${tech} asks for the file ${path} (${size}).`,
  fileCancelHelp: "",
  fileSendHint: () => "",
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
  fileOffer: (tech, name, size) => `${tech} möchte Ihnen die Datei „${name}“ (${size}) senden.`,
  fileRequest: (tech, path, size) => `${tech} bittet um die Datei ${path} (${size}).`,
  fileCancelHelp: "",
  fileSendHint: () => "",
};

export const windowCatalogs: Record<Locale, Catalog> = { en: enWindow, de: deWindow };

/** On Windows, the lines that name Linux things (files, the X display) say what Windows has instead. */
const onWindows: Record<Locale, (c: Catalog) => Catalog> = {
  en: (c) => ({
    ...c,
    noMachineId:
      "Cannot identify this computer: Windows' machine GUID (HKLM\\SOFTWARE\\Microsoft\\Cryptography\\MachineGuid) cannot be read.",
    cannotShare: (reason, detail) =>
      reason === "no-display"
        ? "Your screen cannot be shared: this Windows session has no desktop to capture (is the app running as a service or on a locked session?)."
        : c.cannotShare(reason, detail),
  }),
  de: (c) => ({
    ...c,
    noMachineId:
      "Dieser Computer kann nicht erkannt werden: Die Maschinen-GUID von Windows (HKLM\\SOFTWARE\\Microsoft\\Cryptography\\MachineGuid) ist nicht lesbar.",
    cannotShare: (reason, detail) =>
      reason === "no-display"
        ? "Ihr Bildschirm kann nicht geteilt werden: Diese Windows-Sitzung hat keinen Desktop, der aufgenommen werden kann (läuft die App als Dienst oder in einer gesperrten Sitzung?)."
        : c.cannotShare(reason, detail),
  }),
};

/** The lines for `locale` on `os`, in the terminal's words or (window) the app window's. */
export function messagesFor(locale: Locale, os: HostOs, window = false): Catalog {
  const c = (window ? windowCatalogs : catalogs)[locale];
  return os === "windows" ? onWindows[locale](c) : c;
}

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
  /** The sharing bar's mark while a technician records. */
  recording: string;
  /** The chat area: the send button, the empty entry's hint, how the user's own messages are named. */
  chatSend: string;
  chatPlaceholder: string;
  you: string;
  /** The file dialog and the transfers in the app window. */
  fileTitle: string;
  fileOfferBody: string;
  fileRequestBody: (tech: string) => string;
  fileAccept: string;
  fileSend: string;
  fileDecline: string;
  transfers: string;
  /** The button that sends one of the user's files, and its file chooser's title. */
  sendFileButton: (tech: string) => string;
  sendFileTitle: (tech: string) => string;
  cancel: string;
  transferRow: (name: string, toUser: boolean, tech: string, done: string, total: string, left: string) => string;
  clipboardSwitch: (tech: string) => string;
  transferEnded: { done: string; declined: string; cancelled: string; failed: string };
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
    recording: "● Recording",
    chatSend: "Send",
    chatPlaceholder: "Write to your technician",
    you: "You",
    fileTitle: "File transfer",
    fileOfferBody: "It would be saved in your Downloads folder as a new file. Accept only files you expect.",
    fileRequestBody: (tech) => `Only this file would be sent to ${tech}. Nothing else on this computer is read.`,
    fileAccept: "Accept",
    fileSend: "Send",
    fileDecline: "Decline",
    transfers: "File transfers",
    sendFileButton: (tech) => `Send a file to ${tech}…`,
    sendFileTitle: (tech) => `Choose a file to send to ${tech}`,
    cancel: "Cancel",
    transferRow: (name, toUser, tech, done, total, left) =>
      `${name} ${toUser ? `from ${tech}` : `to ${tech}`}: ${done} of ${total}${left ? `, ${left} left` : ""}`,
    clipboardSwitch: (tech) => `Share the clipboard with ${tech}`,
    transferEnded: { done: "done", declined: "declined", cancelled: "cancelled", failed: "failed" },
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
    recording: "● Aufnahme",
    chatSend: "Senden",
    chatPlaceholder: "Nachricht an Ihren Supportmitarbeiter",
    you: "Sie",
    fileTitle: "Dateiübertragung",
    fileOfferBody: "Sie würde als neue Datei in Ihrem Download-Ordner gespeichert. Nehmen Sie nur Dateien an, die Sie erwarten.",
    fileRequestBody: (tech) => `Nur diese Datei würde an ${tech} gesendet. Sonst wird nichts auf diesem Computer gelesen.`,
    fileAccept: "Annehmen",
    fileSend: "Senden",
    fileDecline: "Ablehnen",
    transfers: "Dateiübertragungen",
    sendFileButton: (tech) => `Datei an ${tech} senden…`,
    sendFileTitle: (tech) => `Datei zum Senden an ${tech} auswählen`,
    cancel: "Abbrechen",
    transferRow: (name, toUser, tech, done, total, left) =>
      `${name} ${toUser ? `von ${tech}` : `an ${tech}`}: ${done} von ${total}${left ? `, noch ${left}` : ""}`,
    clipboardSwitch: (tech) => `Zwischenablage mit ${tech} teilen`,
    transferEnded: { done: "fertig", declined: "abgelehnt", cancelled: "abgebrochen", failed: "fehlgeschlagen" },
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
