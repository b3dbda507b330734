/**
 * What every part of the benchmark shares: the clock, bounded waits, and the teardown list through
 * which everything started is stopped once, in reverse order, also on failure, Ctrl+C or the
 * run's deadline.
 */
import type { ChildProcess } from "node:child_process";

import type { Proc } from "../../test/support/procs.js";

/** Milliseconds since the epoch with sub-millisecond resolution: comparable across processes. */
export const now = (): number => performance.timeOrigin + performance.now();
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** `p`, or an error after `ms` (for steps that have no timeout of their own). */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

const cleanups: Array<() => Promise<void> | void> = [];
const children = new Set<ChildProcess>();
let cleaning: Promise<void> | undefined;

const running = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;

/** Registers a teardown step; cleanup() runs them once, last registered first. */
export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

/** Runs every teardown step (errors do not stop the others), then kills any child still running. */
export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch {
        // keep going: everything else must still be stopped
      }
    }
    killAll();
  })();
  return cleaning;
}

/** SIGKILL to every child still running (the last resort: on exit and at the deadline). */
export function killAll(): void {
  for (const c of children) if (running(c)) c.kill("SIGKILL");
}

process.on("exit", killAll);
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    void cleanup().finally(() => process.exit(130));
  });
}

/** A process that is stopped (TERM, then KILL after 3 s) on cleanup; returns `proc`. */
export function track(proc: Proc, name: string): Proc {
  const child = proc.child;
  children.add(child);
  child.once("exit", () => children.delete(child));
  cleanups.push(async () => {
    if (!running(child)) return;
    child.kill("SIGTERM");
    const t = setTimeout(() => child.kill("SIGKILL"), 3000);
    await proc.exited;
    clearTimeout(t);
  });
  child.once("error", (e) => console.error(`${name}: ${e.message}`));
  return proc;
}
