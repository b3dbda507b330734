/** Reading the user's answer to an access request. Pure. */
import type { Scope } from "../session/rules.js";

/**
 * `y`/`yes` (German also `j`/`ja`) grants the requested scope, `v` grants view only, anything else
 * (and end of input, `null`) denies. Case and surrounding spaces do not matter.
 */
export function parseConsentAnswer(line: string | null, requested: Scope): Scope | null {
  if (line === null) return null;
  const a = line.trim().toLowerCase();
  if (a === "y" || a === "yes" || a === "j" || a === "ja") return requested;
  if (a === "v") return "view";
  return null;
}
