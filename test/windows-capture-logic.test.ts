// The Windows capturer's rules that Wine cannot run (it implements no DXGI desktop duplication and
// no desktop switching), checked on Linux: they are portable C++ (native/include/tether/
// duplication_rects.h, pointer_shape.h, reopen_policy.h) that src/platform/windows/ calls, driven
// here through the test program build/Release/tether_capture_logic (one JSON request per line).
// Known inputs, exact expected outputs.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const bin = path.join(import.meta.dirname, "..", "build", "Release", "tether_capture_logic");

type R = [number, number, number, number];
const ReopenMaxDelayMs = 500; // ReopenPolicy::kMaxDelayMs
let program: ChildProcessWithoutNullStreams;
const waiting: ((line: string) => void)[] = [];

beforeAll(() => {
  program = spawn(bin, [], { stdio: ["pipe", "pipe", "pipe"] });
  createInterface({ input: program.stdout }).on("line", (line) => waiting.shift()?.(line));
});

afterAll(() => {
  program.stdin.end();
  program.kill();
});

function ask<T = Record<string, unknown>>(request: Record<string, unknown>): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${JSON.stringify(request)}`)), 5000);
    waiting.push((line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line) as T);
    });
    program.stdin.write(`${JSON.stringify(request)}\n`);
  });
}

describe("move and dirty rectangles → what is copied and the frame's damage", () => {
  const change = (req: Record<string, unknown>) => ask<{ copy: R[]; damage: R[] }>({ op: "change", ...req });

  it("a first frame copies the whole output and damages its place in the captured area", async () => {
    // The second of two monitors, 1280x1024 at x 1920; the captured area is the virtual desktop.
    expect(await change({ output: [1920, 0, 1280, 1024], area: [0, 0, 3200, 1080], first: true, dirty: [[5, 5, 10, 10]] })).toEqual({
      copy: [[0, 0, 1280, 1024]],
      damage: [[1920, 0, 1280, 1024]],
    });
    // Also when the compositor says only the pointer changed: nothing of the output is kept yet.
    expect(await change({ output: [0, 0, 800, 600], area: [0, 0, 800, 600], first: true, imageUpdated: false })).toEqual({
      copy: [[0, 0, 800, 600]],
      damage: [[0, 0, 800, 600]],
    });
  });

  it("moves' destinations, then dirty rectangles, in the order reported; overlapping moves both count; one inside an earlier rectangle is left out; a move's source is not copied", async () => {
    const r = await change({
      output: [0, 0, 800, 600],
      area: [0, 0, 800, 600],
      moves: [
        [100, 100, 120, 100, 200, 150], // a window dragged 20 px right: from (100,100) to (120,100)
        [0, 220, 0, 200, 800, 200], // a scroll up by 20 px, overlapping the window's destination
        [130, 110, 140, 110, 50, 50], // inside the first destination
      ],
      dirty: [
        [100, 100, 20, 150], // what the drag uncovered
        [0, 400, 800, 20], // the line the scroll revealed
        [150, 120, 10, 10], // inside the first destination again
        [0, 200, 800, 200], // the same as the scroll's destination
      ],
    });
    expect(r.copy).toEqual([
      [120, 100, 200, 150],
      [0, 200, 800, 200],
      [100, 100, 20, 150],
      [0, 400, 800, 20],
    ]);
    expect(r.damage).toEqual(r.copy); // the area is the output
  });

  it("clips to the output and to the captured area; a rectangle outside the area is still copied (the kept image stays whole) but is no damage", async () => {
    // Output 1280x1024 at x 1280; the captured area is 1400x1024 at 0 (it ends 120 px into the output).
    const r = await change({
      output: [1280, 0, 1280, 1024],
      area: [0, 0, 1400, 1024],
      dirty: [
        [-10, -10, 30, 30], // partly outside the output
        [50, 10, 200, 20], // across the area's right edge
        [300, 10, 10, 10], // beyond the area
        [1280, 0, 10, 10], // beyond the output
      ],
    });
    expect(r.copy).toEqual([
      [0, 0, 20, 20],
      [50, 10, 200, 20],
      [300, 10, 10, 10],
    ]);
    expect(r.damage).toEqual([
      [1280, 0, 20, 20],
      [1330, 10, 70, 20],
    ]);
    // A monitor chosen as the area: damage is relative to its top-left.
    expect(await change({ output: [1280, 0, 1280, 1024], area: [1280, 0, 1280, 1024], dirty: [[50, 10, 200, 20]] })).toEqual({
      copy: [[50, 10, 200, 20]],
      damage: [[50, 10, 200, 20]],
    });
  });

  it("only the pointer moved: nothing; an updated image without rectangles: the whole output", async () => {
    expect(await change({ output: [0, 0, 800, 600], area: [0, 0, 800, 600], imageUpdated: false, dirty: [[1, 1, 5, 5]] })).toEqual({
      copy: [],
      damage: [],
    });
    expect(await change({ output: [0, 0, 800, 600], area: [0, 0, 800, 600] })).toEqual({
      copy: [[0, 0, 800, 600]],
      damage: [[0, 0, 800, 600]],
    });
  });

  it("more rectangles than the frame reports (64 on Windows) become their bounding box", async () => {
    const rects: R[] = [
      [10, 10, 5, 5],
      [100, 40, 10, 10],
      [50, 200, 1, 1],
    ];
    expect(await ask({ op: "cap", rects, max: 3 })).toEqual({ rects });
    expect(await ask({ op: "cap", rects, max: 2 })).toEqual({ rects: [[10, 10, 100, 191]] });
    const many = Array.from({ length: 65 }, (_, i): R => [i * 10, i, 10, 1]);
    expect(await ask({ op: "cap", rects: many, max: 64 })).toEqual({ rects: [[0, 0, 650, 65]] });
    expect(await ask({ op: "cap", rects: many.slice(0, 64), max: 64 })).toEqual({ rects: many.slice(0, 64) });
  });
});

describe("pointer shapes (DXGI's monochrome, colour and masked-colour layouts) → premultiplied BGRA with the hotspot", () => {
  const hex = (bytes: number[]) => Buffer.from(bytes).toString("hex");
  const pointer = (req: Record<string, unknown>) =>
    ask<{ ok: boolean; width?: number; height?: number; hotX?: number; hotY?: number; pixels?: string }>({ op: "pointer", ...req });
  const BLACK = [0, 0, 0, 255];
  const WHITE = [255, 255, 255, 255];
  const CLEAR = [0, 0, 0, 0];

  it("a 32x32 monochrome AND/XOR cursor: black, white, transparent, and screen-inverting pixels drawn black", async () => {
    // Quadrants: top-left AND 0 / XOR 0 (black), top-right AND 0 / XOR 1 (white), bottom-left
    // AND 1 / XOR 0 (transparent), bottom-right AND 1 / XOR 1 (inverts the screen). 4 bytes a row,
    // padded to 8 (DXGI's pitch may be wider than the row; the padding is never read).
    const pitch = 8;
    const data = Buffer.alloc(pitch * 64, 0xa5);
    for (let y = 0; y < 32; y++) {
      const and = y < 16 ? [0x00, 0x00, 0x00, 0x00] : [0xff, 0xff, 0xff, 0xff];
      const xor = [0x00, 0x00, 0xff, 0xff];
      Buffer.from(and).copy(data, y * pitch);
      Buffer.from(xor).copy(data, (32 + y) * pitch);
    }
    const expected: number[] = [];
    for (let y = 0; y < 32; y++)
      for (let x = 0; x < 32; x++) expected.push(...(y < 16 ? (x < 16 ? BLACK : WHITE) : x < 16 ? CLEAR : BLACK));
    expect(await pointer({ type: 1, width: 32, height: 64, pitch, hotX: 5, hotY: 7, data: data.toString("hex") })).toEqual({
      ok: true,
      width: 32,
      height: 32,
      hotX: 5,
      hotY: 7,
      pixels: hex(expected),
    });
  });

  it("monochrome bits are read most significant first, also in a width that is no multiple of 8", async () => {
    // 3x1: AND 010, XOR 110 (the other 5 bits are padding, set): pixel 0 AND 0 / XOR 1 white,
    // pixel 1 AND 1 / XOR 1 black (inverting), pixel 2 AND 0 / XOR 0 black.
    expect(await pointer({ type: 1, width: 3, height: 2, pitch: 1, data: hex([0b01011111, 0b11011111]) })).toEqual({
      ok: true,
      width: 3,
      height: 1,
      hotX: 0,
      hotY: 0,
      pixels: hex([...WHITE, ...BLACK, ...BLACK]),
    });
    expect(await pointer({ type: 1, width: 3, height: 2, pitch: 1, data: hex([0b11111111, 0b00011111]) })).toMatchObject({
      pixels: hex([...CLEAR, ...CLEAR, ...CLEAR]),
    });
  });

  it("colour: straight alpha premultiplied (rounded down), rows a pitch apart", async () => {
    // 2x2, BGRA, pitch 12 (4 padding bytes a row).
    const data = [200, 100, 50, 255, 200, 100, 50, 128, 9, 9, 9, 9, 255, 255, 255, 0, 10, 20, 30, 64, 9, 9, 9, 9];
    expect(await pointer({ type: 2, width: 2, height: 2, pitch: 12, hotX: 1, hotY: 0, data: hex(data) })).toEqual({
      ok: true,
      width: 2,
      height: 2,
      hotX: 1,
      hotY: 0,
      pixels: hex([200, 100, 50, 255, 100, 50, 25, 128, 0, 0, 0, 0, 2, 5, 7, 64]),
    });
  });

  it("masked colour: mask 0 draws the colour opaque; mask 0xFF over black is transparent, over a colour (XOR) drawn black", async () => {
    const data = [10, 20, 30, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 10, 20, 30, 0xff];
    expect(await pointer({ type: 4, width: 4, height: 1, pitch: 16, hotX: 3, data: hex(data) })).toEqual({
      ok: true,
      width: 4,
      height: 1,
      hotX: 3,
      hotY: 0,
      pixels: hex([10, 20, 30, 255, ...BLACK, ...CLEAR, ...BLACK]),
    });
  });

  it("a hotspot outside the image moves to its nearest pixel; the last row needs only its own bytes", async () => {
    const data = Buffer.alloc(16 * 4 * 15 + 16 * 4, 0xff).toString("hex"); // 16x16 colour, exactly
    expect(await pointer({ type: 2, width: 16, height: 16, pitch: 64, hotX: 40, hotY: -3, data })).toMatchObject({
      ok: true,
      hotX: 15,
      hotY: 0,
    });
    // Pitch 68: 15 full pitches and then one 64-byte row.
    const tight = Buffer.alloc(68 * 15 + 64, 0xff).toString("hex");
    expect(await pointer({ type: 2, width: 16, height: 16, pitch: 68, data: tight })).toMatchObject({ ok: true, width: 16, height: 16 });
    expect(await pointer({ type: 2, width: 16, height: 16, pitch: 68, data: tight.slice(2) })).toEqual({ ok: false });
  });

  it("refuses descriptions that do not fit the data", async () => {
    const d = Buffer.alloc(4096).toString("hex");
    for (const bad of [
      { type: 3, width: 4, height: 4, pitch: 16 }, // no such layout
      { type: 2, width: 0, height: 4, pitch: 16 }, // empty
      { type: 2, width: 4, height: 4, pitch: 15 }, // pitch shorter than a row
      { type: 1, width: 8, height: 3, pitch: 1 }, // monochrome needs AND and XOR rows: an even count
      { type: 1, width: 9, height: 4, pitch: 1 }, // 9 bits need 2 bytes
      { type: 2, width: 513, height: 1, pitch: 2052 }, // larger than kMaxPointerSide
      { type: 2, width: 32, height: 33, pitch: 128 }, // 4224 bytes needed, 4096 given
    ]) {
      expect(await pointer({ ...bad, data: d }), JSON.stringify(bad)).toEqual({ ok: false });
    }
  });
});

describe("re-creating a lost duplication (the reopen policy)", () => {
  type After = { action: "capture" | "reopen" | "wait"; failures: number; retryAt: number };
  const steps = async (s: unknown[][]) => (await ask<{ after: After[] }>({ op: "reopen", steps: s })).after;

  it("the waits after 1, 2, 3 ... failures in a row: at once, then 50 ms doubling up to 500 ms", async () => {
    expect(await ask({ op: "delays", upTo: 9 })).toEqual({ delays: [0, 0, 50, 100, 200, 400, 500, 500, 500, 500] });
  });

  it("a timeout is no failure; an access loss re-creates at once; failures count until a frame, so one that opens and fails at once backs off", async () => {
    expect(
      await steps([
        ["captured", "timeout", 0],
        ["captured", "access-lost", 1000],
        ["reopened", false, 1000],
        ["next", 1049],
        ["next", 1050],
        ["reopened", false, 1050],
        ["reopened", true, 1150],
        ["captured", "access-lost", 1160],
        ["next", 1359],
        ["reopened", true, 1360],
        ["captured", "timeout", 1393],
        ["captured", "access-lost", 2000],
      ]),
    ).toEqual([
      { action: "capture", failures: 0, retryAt: 0 },
      { action: "reopen", failures: 1, retryAt: 1000 },
      { action: "wait", failures: 2, retryAt: 1050 },
      { action: "wait", failures: 2, retryAt: 1050 },
      { action: "reopen", failures: 2, retryAt: 1050 },
      { action: "wait", failures: 3, retryAt: 1150 },
      { action: "capture", failures: 3, retryAt: 1150 },
      { action: "wait", failures: 4, retryAt: 1360 },
      { action: "wait", failures: 4, retryAt: 1360 },
      { action: "capture", failures: 4, retryAt: 1360 },
      { action: "capture", failures: 0, retryAt: 1360 },
      { action: "reopen", failures: 1, retryAt: 2000 },
    ]);
  });

  it("any other error waits 50 ms at least, and the back-off when it is longer", async () => {
    expect(
      await steps([
        ["captured", "error", 0],
        ["next", 49],
        ["next", 50],
        ["reopened", true, 50],
        ["captured", "error", 60],
        ["reopened", false, 110],
        ["reopened", false, 210],
        ["reopened", true, 410],
        ["captured", "error", 420],
      ]),
    ).toEqual([
      { action: "wait", failures: 1, retryAt: 50 },
      { action: "wait", failures: 1, retryAt: 50 },
      { action: "reopen", failures: 1, retryAt: 50 },
      { action: "capture", failures: 1, retryAt: 50 },
      { action: "wait", failures: 2, retryAt: 110 },
      { action: "wait", failures: 3, retryAt: 210 },
      { action: "wait", failures: 4, retryAt: 410 },
      { action: "capture", failures: 4, retryAt: 410 },
      { action: "wait", failures: 5, retryAt: 820 },
    ]);
  });

  it("3 s of the secure desktop at 30 captures a second: 8 failed re-creations instead of 90, and capturing again at most 0.5 s after it ends", async () => {
    // The capturer's loop (dxgi_screen_capturer.cc) against a desktop that cannot be duplicated
    // from 1000 ms to 4000 ms (UAC): a try at every "reopen", the answer decided by the time.
    const history: unknown[][] = [];
    const attempts: number[] = [];
    let resumed = -1;
    for (let t = 0; t <= 6000 && resumed < 0; t += 33) {
      const [now] = (await steps([...history, ["next", t]])).slice(-1);
      if (now!.action === "capture") {
        if (t >= 4000 && attempts.length > 0) resumed = t;
        history.push(["captured", t >= 1000 && t < 4000 ? "access-lost" : "frame", t]);
      } else if (now!.action === "reopen") {
        attempts.push(t);
        history.push(["reopened", t >= 4000, t]);
      }
    }
    // Lost at the capture at 1023 ms; tries at once (1056), then after 50, 100, 200, 400 and 500 ms
    // (each at the next capture tick); the try at 4026 succeeds and 4059 captures.
    expect(attempts).toEqual([1056, 1122, 1254, 1485, 1914, 2442, 2970, 3498, 4026]);
    expect(resumed).toBe(4059);
    expect(resumed - 4000).toBeLessThanOrEqual(ReopenMaxDelayMs + 2 * 33);
    console.log(`secure desktop 1000–4000 ms: re-creations at ${attempts.join(", ")} ms; capturing again at ${resumed} ms`);
  });
});
