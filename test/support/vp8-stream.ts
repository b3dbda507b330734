// One stream of known frames through a real peer connection pair in this process
// (RTCVideoSource → VP8 → RTCVideoSink) with the agent's encoder hooks (configureWebRtc's
// vp8ActiveMap and, per test file, vp8Profile): small changes off the macroblock grid, a chroma-only change,
// bursts that libwebrtc or libvpx may drop frames from, then repeats of the final frame unchanged
// (nothing new for the map). What the receiver shows must be each settled frame everywhere.
import { expect } from "vitest";

import { webRtcStats } from "../../src/native/index.js";
import { until } from "./procs.js";

type Any = any;

const W = 320;
// Not a multiple of 16 (as 1080 is not): the last macroblock row is cut.
const H = 232;

interface Frame {
  y: Uint8Array;
  u: Uint8Array;
  v: Uint8Array;
}

function blank(): Frame {
  return {
    y: new Uint8Array(W * H).fill(128),
    u: new Uint8Array((W / 2) * (H / 2)).fill(128),
    v: new Uint8Array((W / 2) * (H / 2)).fill(128),
  };
}

/** Paints a w x h block at (x, y) (even coordinates) with one Y, U, V. */
function paint(f: Frame, x: number, y: number, w: number, h: number, c: [number, number, number]): void {
  for (let r = y; r < y + h; r++) f.y.fill(c[0], r * W + x, r * W + x + w);
  for (let r = y / 2; r < (y + h) / 2; r++) {
    f.u.fill(c[1], r * (W / 2) + x / 2, r * (W / 2) + (x + w) / 2);
    f.v.fill(c[2], r * (W / 2) + x / 2, r * (W / 2) + (x + w) / 2);
  }
}

function i420(f: Frame): Uint8ClampedArray {
  const out = new Uint8ClampedArray(W * H * 1.5);
  out.set(f.y, 0);
  out.set(f.u, W * H);
  out.set(f.v, W * H * 1.25);
  return out;
}

/** Where the received frame differs from `want` by more than `tol` (sampled every 4 px, all planes). */
function mismatches(got: { width: number; height: number; data: Uint8Array }, want: Frame, tol = 10): string[] {
  const bad: string[] = [];
  if (got.width !== W || got.height !== H) return [`size ${got.width}x${got.height}`];
  const d = got.data;
  for (let y = 2; y < H; y += 4) {
    for (let x = 2; x < W; x += 4) {
      const yy = d[y * W + x]!;
      const uu = d[W * H + (y >> 1) * (W / 2) + (x >> 1)]!;
      const vv = d[W * H * 1.25 + (y >> 1) * (W / 2) + (x >> 1)]!;
      const wy = want.y[y * W + x]!;
      const wu = want.u[(y >> 1) * (W / 2) + (x >> 1)]!;
      const wv = want.v[(y >> 1) * (W / 2) + (x >> 1)]!;
      if (Math.abs(yy - wy) > tol || Math.abs(uu - wu) > tol || Math.abs(vv - wv) > tol)
        bad.push(`(${x},${y}) got ${yy},${uu},${vv} want ${wy},${wu},${wv}`);
    }
  }
  return bad;
}

/**
 * Streams the frames and checks them; the peer connections are closed on the way out. `mapped`:
 * the encoder must use active maps (and encode only a few macroblocks per text cell); otherwise it
 * must never use one. `alone`: no other stream encodes meanwhile (the hooks' counters are
 * process-wide, so the per-text-cell share is only checked then).
 */
export async function streamThroughVp8(wrtc: Any, mapped: boolean, alone = true): Promise<void> {
  let pcs: Any[] = [];
  try {
    const a = new wrtc.RTCPeerConnection({ iceServers: [] });
    const b = new wrtc.RTCPeerConnection({ iceServers: [] });
    pcs = [a, b];
    a.onicecandidate = (e: Any) => e.candidate && b.addIceCandidate(e.candidate).catch(() => {});
    b.onicecandidate = (e: Any) => e.candidate && a.addIceCandidate(e.candidate).catch(() => {});
    const source = new wrtc.nonstandard.RTCVideoSource({ isScreencast: true });
    const track = source.createTrack();
    a.addTrack(track, new wrtc.MediaStream([track]));
    let latest: { width: number; height: number; data: Uint8Array } | null = null;
    let received = 0;
    b.ontrack = (e: Any) => {
      const sink = new wrtc.nonstandard.RTCVideoSink(e.track);
      sink.onframe = ({ frame }: Any) => {
        latest = { width: frame.width, height: frame.height, data: new Uint8Array(frame.data) };
        received++;
      };
    };
    const offer = await a.createOffer();
    await a.setLocalDescription(offer);
    await b.setRemoteDescription(offer);
    const answer = await b.createAnswer();
    await b.setLocalDescription(answer);
    await a.setRemoteDescription(answer);

    const f = blank();
    const push = () => source.onFrame({ width: W, height: H, data: i420(f) });
    /** Repeats the current frame until the receiver shows it (or fails with what differs). */
    const settle = async (what: string) => {
      let last: string[] = [];
      await until(
        () => {
          push();
          last = latest ? mismatches(latest, f) : ["no frame yet"];
          return last.length === 0;
        },
        15_000,
        `${what}: the receiver to show the frame (${last.slice(0, 3).join("; ")}…)`,
      ).catch((err: Error) => {
        throw new Error(`${err.message} — differs at ${last.length} points, e.g. ${last.slice(0, 4).join("; ")}`);
      });
    };
    await settle("first frame");
    const s0 = webRtcStats().vp8;
    expect(s0).toMatchObject({ hooked: true, enabled: true });
    expect(s0.frames).toBeGreaterThan(0);

    // Seeded pseudo-random blocks: reproducible, off the 16-pixel grid, some overlapping.
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
    const colour = (): [number, number, number] => [30 + rnd(196), 40 + rnd(176), 40 + rnd(176)];
    for (let round = 0; round < 12; round++) {
      // A burst: several changes pushed back to back (the encoder may skip or drop some frames).
      for (let k = 0; k < 6; k++) {
        paint(f, 2 * rnd((W - 24) / 2), 2 * rnd((H - 24) / 2), 2 + 2 * rnd(11), 2 + 2 * rnd(11), colour());
        push();
      }
      await new Promise((r) => setTimeout(r, rnd(40)));
    }
    // Chroma only: the same luma, other colour.
    paint(f, 100, 50, 40, 30, [128, 60, 200]);
    push();
    await settle("after the bursts");

    // Repeats of an unchanged frame refine what is still pending, then release it: nothing stays
    // active for ever (which would quietly turn the map into whole-frame encoding).
    await until(
      () => {
        push();
        return webRtcStats().vp8.pendingMbs === 0;
      },
      10_000,
      "every macroblock released after repeats",
    );

    // Small changes one at a time: only the few macroblocks around each one are encoded.
    const s1 = webRtcStats().vp8;
    if (mapped) expect(s1.mappedFrames).toBeGreaterThan(s0.mappedFrames);
    for (let i = 0; i < 10; i++) {
      paint(f, 20 + 28 * i, 100 + 2 * i, 10, 18, colour()); // a text cell
      await settle(`text cell ${i}`);
    }
    const s2 = webRtcStats().vp8;
    const mbs = (W / 16) * Math.ceil(H / 16);
    {
      expect(s2.errors).toBe(s0.errors);
      if (mapped) {
        expect(s2.mappedFrames - s1.mappedFrames).toBeGreaterThanOrEqual(10);
        if (alone) expect((s2.activeMbs - s1.activeMbs) / (s2.mappedFrames - s1.mappedFrames)).toBeLessThan(mbs / 10);
      } else {
        expect(s2.mappedFrames).toBe(0);
        expect(s2.frames - s0.frames).toBeGreaterThanOrEqual(10);
      }
    }
    expect(received).toBeGreaterThan(10);

    // One macroblock in the corner, then the same frame again and again: it must arrive and stay.
    paint(f, W - 16, H - 16, 16, 16, [220, 90, 90]);
    await settle("a corner macroblock");
    track.stop();
  } finally {
    for (const pc of pcs) pc.close();
  }
}
