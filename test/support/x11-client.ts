// Drives the test X client (native/test-client, built as build/Release/tether_test_client): it
// covers the screen with a window, draws what it is told, and reports the input events it gets.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
// test/support/ in the sources, dist/test/support/ once compiled (the benchmark uses it).
const binaries = [path.resolve(here, '../..'), path.resolve(here, '../../..')].map((root) =>
  path.join(root, 'build', 'Release', 'tether_test_client'),
);

export interface XEventRecord {
  event: 'KeyPress' | 'KeyRelease' | 'ButtonPress' | 'ButtonRelease' | 'MotionNotify';
  keycode?: number;
  keysym?: number;
  state?: number;
  button?: number;
  x?: number;
  y?: number;
}

/** The character an X keysym stands for (Latin-1 and 0x01000000 + code point keysyms). */
export function keysymToChar(keysym: number): string {
  if (keysym >= 0x01000000) return String.fromCodePoint(keysym - 0x01000000);
  if ((keysym >= 0x20 && keysym <= 0x7e) || (keysym >= 0xa0 && keysym <= 0xff)) {
    return String.fromCodePoint(keysym);
  }
  return '';
}

export class TestXClient {
  readonly events: XEventRecord[] = [];
  private waiters: Array<{ ok: string; resolve: () => void }> = [];

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const msg = JSON.parse(line) as { ok?: string; event?: string };
      if (msg.ok !== undefined) {
        const index = this.waiters.findIndex((w) => w.ok === msg.ok);
        const waiter = this.waiters[index];
        if (waiter !== undefined) {
          this.waiters.splice(index, 1);
          waiter.resolve();
        }
      } else if (msg.event !== undefined) {
        this.events.push(msg as XEventRecord);
      }
    });
  }

  static async start(display: string): Promise<TestXClient> {
    const binary = binaries.find((b) => existsSync(b));
    if (binary === undefined) throw new Error(`${binaries.join(' / ')} missing: run npm run build:native`);
    const child = spawn(binary, [display], { stdio: ['pipe', 'pipe', 'pipe'] });
    const client = new TestXClient(child);
    await client.expect('ready');
    return client;
  }

  private expect(ok: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`test client: no '${ok}' reply`)), 10000);
      this.waiters.push({
        ok,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  private async command(line: string, ok: string): Promise<void> {
    const done = this.expect(ok);
    this.child.stdin.write(`${line}\n`);
    await done;
  }

  /** Fills a rectangle (screen coordinates) with 0xRRGGBB. Returns once the server drew it. */
  fill(x: number, y: number, width: number, height: number, rgb: number): Promise<void> {
    return this.command(`fill ${x} ${y} ${width} ${height} ${rgb.toString(16).padStart(6, '0')}`, 'fill');
  }

  /** Sets a 16x16 cursor, hotspot (3,5): left half red, right half blue. */
  setCursor(): Promise<void> {
    return this.command('cursor', 'cursor');
  }

  focus(): Promise<void> {
    return this.command('focus', 'focus');
  }

  /** Collects every event the server has sent so far; returns the events since `from`. */
  async sync(from = 0): Promise<XEventRecord[]> {
    await this.command('sync', 'sync');
    return this.events.slice(from);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin.end('quit\n');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}
