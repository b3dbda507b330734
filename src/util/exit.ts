/**
 * Exit codes of every Tether command: `tether …` and the single-file support app. One table, so
 * that scripts and the support app's users can rely on them (README: "Exit codes").
 */
export const Exit = {
  /** Done; for the support app also "the user quit" (the session stays bound and valid). */
  OK: 0,
  /** A failure the user cannot fix on this command line (the broker unreachable, refused, …). */
  FAILURE: 1,
  /** The support app: the broker stayed unreachable, or refused the app. */
  UNREACHABLE: 1,
  /** A bad command line or link. */
  USAGE: 2,
  /** The support session is invalid (bound elsewhere, closed, deleted, unknown). */
  INVALID: 3,
  /** The support session expired before it was bound. */
  EXPIRED: 4,
  /** The technician closed the session while the app ran. */
  CLOSED: 5,
} as const;
