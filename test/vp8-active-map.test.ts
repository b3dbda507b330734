// The VP8 active map (native/include/tether/vp8_active_map.h, enableVp8ActiveMap) with the agent's
// bitstream profile (setVp8Profile(AGENT_VP8_PROFILE): 2, no loop filter) and encoder
// (setVp8Encoder(AGENT_VP8_ENCODER): Tether's libvpx, which codes inactive macroblocks without mode
// search): libwebrtc's VP8 encoder in @roamhq/wrtc encodes only the macroblocks that changed, and
// writes profile 2 although libwebrtc configures 0. Then the same on the module's own libvpx (what
// the agent falls back to). What must never happen is a change that does not arrive:
// test/support/vp8-stream.ts streams known frames through a real encoder and decoder and checks
// every sampled pixel. test/vp8-profile.test.ts: with the loop filter the map stays unused.
import { beforeAll, expect, it } from 'vitest';

import { AGENT_VP8_ENCODER, AGENT_VP8_PROFILE, enableVp8ActiveMap, setVp8Encoder, setVp8Profile, vp8ActiveMapStats } from '../src/native/index.js';
import { streamThroughVp8 } from './support/vp8-stream.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
let wrtc: any;

beforeAll(async () => {
  wrtc = (await import('@roamhq/wrtc')).default;
  expect(enableVp8ActiveMap()).toEqual({ result: 'ok', detail: '' });
  expect(AGENT_VP8_PROFILE).toBe(2);
  expect(setVp8Profile(AGENT_VP8_PROFILE)).toEqual({ result: 'ok', detail: '' });
  expect(AGENT_VP8_ENCODER).toBe('tether');
  expect(setVp8Encoder(AGENT_VP8_ENCODER)).toEqual({ result: 'ok', detail: '' });
});

it('sends every change, and only the changed macroblocks, through a real VP8 encoder and decoder', async () => {
  const before = vp8ActiveMapStats().tetherEncoders;
  await streamThroughVp8(wrtc, true);
  const s = vp8ActiveMapStats();
  // The stream's encoder ran on Tether's libvpx.
  expect(s.encoder).toBe('tether');
  expect(s.tetherEncoders).toBeGreaterThan(before);
  // The frames' headers carry profile 2: the hook set it (again after libwebrtc's rate changes).
  expect(s).toMatchObject({ profile: 2, lastVersion: 2, errors: 0 });
  expect(s.profileSets).toBeGreaterThanOrEqual(1);
}, 60_000);

it('keeps two encoders apart: two streams at once both arrive pixel for pixel', async () => {
  // One session has one video stream, but a renegotiation (monitor switch) can overlap an old and
  // a new encoder; each encoder's map state is its own.
  const before = vp8ActiveMapStats().tetherEncoders;
  await Promise.all([streamThroughVp8(wrtc, true, false), streamThroughVp8(wrtc, true, false)]);
  expect(vp8ActiveMapStats()).toMatchObject({ errors: 0, lastVersion: 2 });
  expect(vp8ActiveMapStats().tetherEncoders).toBeGreaterThanOrEqual(before + 2);
}, 90_000);

it("on the module's own libvpx (setVp8Encoder('libwebrtc')) every change arrives too", async () => {
  expect(setVp8Encoder('libwebrtc')).toEqual({ result: 'ok', detail: '' });
  try {
    const before = vp8ActiveMapStats().tetherEncoders;
    await streamThroughVp8(wrtc, true);
    expect(vp8ActiveMapStats()).toMatchObject({ encoder: 'libwebrtc', tetherEncoders: before, errors: 0, lastVersion: 2 });
  } finally {
    setVp8Encoder(AGENT_VP8_ENCODER);
  }
}, 60_000);

