// The VP8 profile's and encoder's values, and the active map with libwebrtc's own VP8
// profile (0, loop filter on), on the agent's encoder (Tether's libvpx): the loop filter changes pixels at the edges of skipped macroblocks frame after frame, which an
// inactive macroblock never gets corrected, so the hook must encode such frames whole (no map) —
// and every change must still arrive (test/support/vp8-stream.ts, a real encoder and decoder).
import { beforeAll, expect, it } from "vitest";

import { configureWebRtc, webRtcStats } from "../src/native/index.js";
import { streamThroughVp8 } from "./support/vp8-stream.js";

let wrtc: any;

beforeAll(async () => {
  wrtc = (await import("@roamhq/wrtc")).default;
  const ok = { result: "ok", detail: "" };
  expect(configureWebRtc({ vp8ActiveMap: true, vp8Encoder: "tether" })).toEqual({ vp8ActiveMap: ok, vp8Encoder: ok });
});

it("refuses a profile VP8 does not have, with a readable error", () => {
  for (const bad of [4, -2, 1.5, Number.NaN])
    expect(() => configureWebRtc({ vp8Profile: bad })).toThrow(/not a VP8 profile \(0, 1, 2 or 3/);
  expect(webRtcStats().vp8.profile).toBe(-1);
  for (const bad of ["", "vp8", "Tether", 1]) {
    expect(() => configureWebRtc({ vp8Encoder: bad as "tether" })).toThrow(/not a VP8 encoder \("tether" or "libwebrtc"\)/);
  }
  expect(webRtcStats().vp8.encoder).toBe("tether");
});

it("with libwebrtc's profile 0 the map stays unused and every change arrives", async () => {
  await streamThroughVp8(wrtc, false);
  expect(webRtcStats().vp8).toMatchObject({ profile: -1, profileSets: 0, lastVersion: 0, mappedFrames: 0, errors: 0 });
  expect(webRtcStats().vp8.tetherEncoders).toBeGreaterThanOrEqual(1);
}, 60_000);
