// Lines "typed" by a test into the support app's LineSource: each type() goes to a waiting next(),
// or, when none waits, to the idle handler (the user's commands); null is the end of input.
import type { LineSource } from "../../src/agent/consent.js";

export class TypedLines implements LineSource {
  private waiter: ((v: string | null | undefined) => void) | null = null;
  private idle: (line: string) => void = () => {};
  type(line: string | null) {
    const w = this.waiter;
    this.waiter = null;
    if (w) w(line);
    else if (line !== null) this.idle(line);
  }
  next() {
    return new Promise<string | null | undefined>((r) => (this.waiter = r));
  }
  cancel() {
    const w = this.waiter;
    this.waiter = null;
    w?.(undefined);
  }
  onIdleLine(h: (line: string) => void) {
    this.idle = h;
  }
}
