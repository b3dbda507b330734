/** Which file a path or handle names right now: device, inode, size and times, compared as one string. */
import { stat } from "node:fs/promises";
import type { BigIntStats } from "node:fs";

/** "-" for a file that is not there. Equal strings: the same bytes, unless written in place within the clock's resolution. */
export const fileIdentity = (s: BigIntStats | null): string => (s ? `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}` : "-");

export async function statOrNull(file: string): Promise<BigIntStats | null> {
  try {
    return await stat(file, { bigint: true });
  } catch {
    return null;
  }
}
