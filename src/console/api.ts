/**
 * The broker's HTTP API, as the signed-in technician: the login cookie (HttpOnly, SameSite=Strict)
 * rides along on its own; every error becomes an ApiError carrying the broker's message.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterS: number | null = null,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export interface Me {
  name: string;
  displayName: string;
}

export interface CreatedSession {
  id: string;
  link: string;
  state: string;
  online: boolean;
  expiresAt: string;
  createdAt: string;
}

/** A chat message (GET /api/sessions/:id/chat; live ones come as ChatMessage on the console socket). */
export interface ChatView {
  id: string;
  from: string;
  name: string;
  text: string;
  at: string;
}

/** One entry of a session's history (GET /api/sessions/:id/history). */
export interface HistoryEntryView {
  seq: number;
  at: string;
  kind: string;
  actor: string;
  data: Record<string, string | number | boolean | null>;
}

export interface AccessRequestView {
  id: string;
  sessionId: string;
  scope: "view" | "control";
  status: string;
  grantedScope?: string;
  expiresAt: string;
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: body === undefined ? {} : { "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch {
    throw new ApiError(0, "NETWORK", "The broker cannot be reached. Check the connection and try again.");
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const j = (json ?? {}) as { code?: unknown; message?: unknown };
    const retry = Number(res.headers.get("retry-after"));
    throw new ApiError(
      res.status,
      typeof j.code === "string" ? j.code : `HTTP_${res.status}`,
      typeof j.message === "string" ? j.message : `The broker answered ${res.status}.`,
      Number.isFinite(retry) && retry > 0 ? retry : null,
    );
  }
  return json as T;
}

export const api = {
  login: (name: string, password: string) => call<{ technician: Me }>("POST", "/api/login", { name, password }),
  logout: () => call<null>("POST", "/api/logout"),
  me: () => call<Me>("GET", "/api/me"),
  createSession: (expiresIn: number, details: { label?: string; customer?: string; ticket?: string } = {}) =>
    call<CreatedSession>("POST", "/api/sessions", { expiresIn, ...details }),
  recording: (id: string, rid: string, on: boolean) =>
    call<{ recording: boolean }>("POST", `/api/sessions/${encodeURIComponent(id)}/access-requests/${encodeURIComponent(rid)}/recording`, {
      on,
    }),
  chat: (id: string) => call<{ messages: ChatView[] }>("GET", `/api/sessions/${encodeURIComponent(id)}/chat`),
  sendChat: (id: string, text: string) => call<ChatView>("POST", `/api/sessions/${encodeURIComponent(id)}/chat`, { text }),
  history: (id: string) => call<{ entries: HistoryEntryView[] }>("GET", `/api/sessions/${encodeURIComponent(id)}/history`),
  closeSession: (id: string) => call<unknown>("POST", `/api/sessions/${encodeURIComponent(id)}/close`),
  deleteSession: (id: string) => call<null>("DELETE", `/api/sessions/${encodeURIComponent(id)}`),
  requestAccess: (id: string, scope: "view" | "control", viewerFingerprint: string | null) =>
    call<AccessRequestView>("POST", `/api/sessions/${encodeURIComponent(id)}/access-requests`, {
      scope,
      ...(viewerFingerprint ? { viewerFingerprint } : {}),
    }),
  cancelAccess: (id: string, rid: string) =>
    call<AccessRequestView>("POST", `/api/sessions/${encodeURIComponent(id)}/access-requests/${encodeURIComponent(rid)}/cancel`),
  endAccess: (id: string, rid: string) =>
    call<AccessRequestView>("POST", `/api/sessions/${encodeURIComponent(id)}/access-requests/${encodeURIComponent(rid)}/end`),
};

/** The sign-in form's message for a failed login. */
export function loginMessage(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 401) return "Wrong name or password.";
    if (e.status === 429) return `Too many sign-in attempts. Try again in ${e.retryAfterS ?? 60} seconds.`;
    return e.message;
  }
  return "Sign-in failed.";
}
