/**
 * The console's warning when links created now would offer the user no download: the support app
 * is not built on the broker (or not for its key, or damaged). Asked of GET /api/status after
 * sign-in and after each new session, so the technician learns it before sending a link that
 * leads nowhere, and sees it go once the app is built (the broker needs no restart for that).
 */

export interface SupportAppStatus {
  available: boolean;
  reason?: string;
  /** Why, and what to run on the broker's computer. */
  message?: string;
  /** Set when only the Windows app is missing (the Linux one is there). */
  only?: "windows";
}

/** The banner's text for a status, or null when new links have a download. */
export function appStatusText(s: SupportAppStatus): string | null {
  if (s.available) return null;
  const who = s.only === "windows" ? "users on Windows" : "the user";
  return `New links have no download for ${who}: ${s.message ?? "the support app is not available on this broker."}`;
}

/** GET /api/status's two apps as one banner state: the Linux app first, then the Windows one. */
export function combinedAppStatus(linux: SupportAppStatus | undefined, windows: SupportAppStatus | undefined): SupportAppStatus | null {
  if (!linux || typeof linux.available !== "boolean") return null;
  if (!linux.available) return linux;
  if (windows && windows.available === false && windows.reason !== "not-configured") {
    return {
      available: false,
      ...(windows.reason && { reason: windows.reason }),
      ...(windows.message && { message: windows.message }),
      only: "windows",
    };
  }
  return linux;
}

/** The broker's answer, or null when it cannot be had (signed out, offline): the banner then stays as it is. */
export async function fetchAppStatus(): Promise<SupportAppStatus | null> {
  try {
    const res = await fetch("/api/status", { credentials: "same-origin" });
    if (!res.ok) return null;
    const s = (await res.json()) as { supportApp?: SupportAppStatus; windowsApp?: SupportAppStatus };
    return combinedAppStatus(s.supportApp, s.windowsApp);
  } catch {
    return null;
  }
}

/** What the banner needs of its element (an HTMLElement; text only, never HTML). */
export interface BannerElement {
  textContent: string | null;
  hidden: boolean;
}

export class AppStatusBanner {
  /** Answers can arrive out of order; only the latest request's counts. */
  private asked = 0;

  constructor(
    private readonly el: BannerElement,
    private readonly load: () => Promise<SupportAppStatus | null> = fetchAppStatus,
  ) {}

  async refresh(): Promise<void> {
    const n = ++this.asked;
    const s = await this.load();
    if (n !== this.asked || !s) return;
    const text = appStatusText(s);
    this.el.textContent = text ?? "";
    this.el.hidden = text === null;
  }
}
