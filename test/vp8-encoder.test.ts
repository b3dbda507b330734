// Tether's libvpx (scripts/build-libvpx.mjs: Debian's libvpx 1.12 plus native/libvpx/*.patch, the
// encoder the agent's VP8 stream runs on): its encoder, with active maps, and its decoder must
// agree bit for bit after every frame (native/test-vp8/tether_vp8_consistency.cc compares the two
// LAST references), over a stream mixing what libwebrtc can ask for — frames that do not update
// LAST, golden and alt-ref refreshes, forced key frames, frames without a map, maps that leave
// changed macroblocks out. The patch skips the mode search and, when it can, the copy of each
// inactive macroblock; a wrong skip shows up as the first frame where the references differ.
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";

const bin = path.join(import.meta.dirname, "..", "build", "Release", "tether_vp8_consistency");
const run = promisify(execFile);

for (const threads of [1, 2]) {
  it(`encoder and decoder references agree after each of 600 frames (${threads} encoder thread${threads > 1 ? "s" : ""})`, async () => {
    const { stdout } = await run(bin, ["600", String(threads)], { timeout: 60_000 });
    const m = /^ok 600 frames, (\d+) references compared, (\d+) frames with a map$/m.exec(stdout);
    expect(m, stdout).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(550);
    expect(Number(m![2])).toBeGreaterThanOrEqual(500);
  }, 90_000);
}

it("refuses bad arguments with one readable line and exit 1", async () => {
  await expect(run(bin, ["0"])).rejects.toMatchObject({ code: 1, stdout: expect.stringMatching(/^FAIL usage/) });
});
