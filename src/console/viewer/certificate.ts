/**
 * The DTLS certificate this browser's viewers present, kept in IndexedDB (an RTCCertificate can be
 * stored there), so that every window and every reload presents the same one. Its fingerprint goes
 * with each access request: the support app shows the safety code of it and its own certificate in
 * the prompt, and refuses a connection whose answer carries another.
 */
import { normalizeFingerprint } from "../../session/safety-code.js";

export interface ViewerCertificate {
  certificate: RTCCertificate;
  /** "sha-256 AB:CD:…" */
  fingerprint: string;
}

const DB = "tether-console";
const STORE = "certificates";
const KEY = "viewer";
/** A certificate is replaced a day before it expires (Chromium's default lifetime is 30 days). */
const RENEW_BEFORE_MS = 24 * 60 * 60 * 1000;

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error("indexedDB"));
  });
}

function get(db: IDBDatabase): Promise<RTCCertificate | undefined> {
  return new Promise((resolve, reject) => {
    const req = db.transaction(STORE, "readonly").objectStore(STORE).get(KEY);
    req.onsuccess = () => resolve(req.result as RTCCertificate | undefined);
    req.onerror = () => reject(req.error ?? new Error("indexedDB"));
  });
}

function put(db: IDBDatabase, cert: RTCCertificate): Promise<void> {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, "readwrite");
    tx.objectStore(STORE).put(cert, KEY);
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error("indexedDB"));
  });
}

function fingerprintOf(cert: RTCCertificate): string | null {
  const f = cert.getFingerprints().find((x) => x.algorithm?.toLowerCase() === "sha-256");
  return f?.value ? normalizeFingerprint(`${f.algorithm} ${f.value}`) : null;
}

/**
 * The stored certificate, or a new one (stored for next time). Null where the browser cannot make
 * or keep one (then viewers use a fresh certificate each, and the prompt shows no code).
 */
export async function viewerCertificate(): Promise<ViewerCertificate | null> {
  try {
    let db: IDBDatabase | null = null;
    try {
      db = await open();
    } catch {
      db = null; // private mode and the like: a certificate for this page only
    }
    let cert = db ? await get(db).catch(() => undefined) : undefined;
    if (!cert || cert.expires - Date.now() < RENEW_BEFORE_MS) {
      cert = await RTCPeerConnection.generateCertificate({ name: "ECDSA", namedCurve: "P-256" } as EcKeyGenParams);
      if (db) await put(db, cert).catch(() => {});
    }
    db?.close();
    const fingerprint = fingerprintOf(cert);
    return fingerprint ? { certificate: cert, fingerprint } : null;
  } catch {
    return null;
  }
}
