/**
 * Every error the broker's HTTP API answers with, in one registry: a stable code, the HTTP status
 * and a message a person can act on. Replies look like
 * `{"statusCode": 404, "code": "TETHER_ERR_SESSION_NOT_FOUND", "error": "Not Found", "message": "..."}`.
 */
export const ErrorCodes = {
  TETHER_ERR_UNAUTHORIZED: {
    status: 401,
    message: "Missing or invalid credentials: send 'Authorization: Bearer <token>' (see `tether technician add`).",
  },
  TETHER_ERR_LOGIN_FAILED: { status: 401, message: "Wrong technician name or password." },
  TETHER_ERR_BAD_REQUEST: { status: 400, message: "The request is not valid." },
  TETHER_ERR_SESSION_NOT_FOUND: { status: 404, message: "No session with this id." },
  TETHER_ERR_ACCESS_REQUEST_NOT_FOUND: { status: 404, message: "No access request with this id in this session." },
  TETHER_ERR_SESSION_NOT_ACTIVE: {
    status: 409,
    message:
      "The session is not active: remote access can be requested once the support app has connected, and not after the session was closed.",
  },
  TETHER_ERR_AGENT_OFFLINE: {
    status: 409,
    message: "The support app is not running right now: ask the user to start it again, then request access.",
  },
  TETHER_ERR_ACCESS_PENDING: {
    status: 409,
    message: "An access request for this session is still waiting for the user's answer.",
  },
  TETHER_ERR_ACCESS_GRANTED: {
    status: 409,
    message:
      "The user has already granted access in this session: open the viewer on that grant. To ask for something else, the user must stop sharing first; a request for view while you have control narrows the grant without asking.",
  },
  TETHER_ERR_ACCESS_NOT_PENDING: {
    status: 409,
    message: "This access request is no longer waiting for an answer, so it cannot be cancelled.",
  },
  TETHER_ERR_ACCESS_NOT_LIVE: {
    status: 409,
    message: "This access request is not a live grant (it was not granted, or sharing has ended already).",
  },
  TETHER_ERR_ACCESS_RATE_LIMITED: {
    status: 429,
    message: "Too many access requests for this session; wait a minute before asking the user again.",
  },
  TETHER_ERR_CHAT_OFFLINE: {
    status: 409,
    message: "The support app is not connected right now, so the user cannot read a message: ask the user to start it again.",
  },
  TETHER_ERR_CHAT_RATE_LIMITED: { status: 429, message: "Too many chat messages in this session; wait a moment." },
  TETHER_ERR_RECORDING_PENDING: {
    status: 409,
    message: "The support app is still being asked to tell the user about a recording of this grant: wait for that answer.",
  },
  TETHER_ERR_RECORDING_NOT_SHOWN: {
    status: 504,
    message: "The support app did not confirm that it told the user about the recording, so nothing is recorded: try again.",
  },
  TETHER_ERR_NOT_FOUND: { status: 404, message: "Not found." },
  TETHER_ERR_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message: "Send the request body as JSON, with 'Content-Type: application/json'.",
  },
  TETHER_ERR_BODY_TOO_LARGE: { status: 413, message: "The request body is larger than 16 KiB." },
  TETHER_ERR_RATE_LIMITED: { status: 429, message: "Too many attempts from this address; try again later." },
  TETHER_ERR_FORBIDDEN_ORIGIN: { status: 403, message: "This origin may not use the console API." },
  TETHER_ERR_APP_UNAVAILABLE: {
    status: 503,
    message: "The support app is not built on this server (run `npm run build:app`); tell your technician.",
  },
  TETHER_ERR_STORE_UNAVAILABLE: {
    status: 503,
    message: "The broker cannot reach its database (PostgreSQL) right now; try again in a few seconds.",
  },
  TETHER_ERR_INTERNAL: { status: 500, message: "Internal error in the broker; it has been logged." },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ErrorCodes;

export class TetherError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  constructor(code: ErrorCode, message?: string) {
    super(message ?? ErrorCodes[code].message);
    this.code = code;
    this.statusCode = ErrorCodes[code].status;
  }
}

const reasons: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  409: "Conflict",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  429: "Too Many Requests",
  503: "Service Unavailable",
  500: "Internal Server Error",
};

export function errorBody(statusCode: number, code: string, message: string) {
  return { statusCode, code, error: reasons[statusCode] ?? "Error", message };
}
