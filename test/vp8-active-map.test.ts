// The VP8 active map (native/include/tether/vp8_active_map.h, configureWebRtc's vp8ActiveMap) with
// the agent's bitstream profile (AGENT_VP8_PROFILE: 2, no loop filter) and encoder
// (AGENT_VP8_ENCODER: Tether's libvpx, which codes inactive macroblocks without mode search): libwebrtc's VP8 encoder in @roamhq/wrtc encodes only the macroblocks that changed, and
// writes profile 2 although libwebrtc configures 0. Then the same on the module's own libvpx (what
// the agent falls back to). What must never happen is a change that does not arrive:
// test/support/vp8-stream.ts streams known frames through a real encoder and decoder and checks
// every sampled pixel. test/vp8-profile.test.ts: with the loop filter the map stays unused.
import { beforeAll, expect, it } from "vitest";

import { AGENT_VP8_ENCODER, AGENT_VP8_PROFILE } from "../src/agent/webrtc-tuning.js";
import { configureWebRtc, requestKeyFrame, webRtcStats } from "../src/native/index.js";
import { until } from "./support/procs.js";
import { streamThroughVp8 } from "./support/vp8-stream.js";

let wrtc: any;

beforeAll(async () => {
  wrtc = (await import("@roamhq/wrtc")).default;
  expect(AGENT_VP8_PROFILE).toBe(2);
  expect(AGENT_VP8_ENCODER).toBe("tether");
  const ok = { result: "ok", detail: "" };
  expect(configureWebRtc({ vp8ActiveMap: true, vp8Profile: AGENT_VP8_PROFILE, vp8Encoder: AGENT_VP8_ENCODER })).toEqual({
    vp8ActiveMap: ok,
    vp8Profile: ok,
    vp8Encoder: ok,
  });
});

it("sends every change, and only the changed macroblocks, through a real VP8 encoder and decoder", async () => {
  const before = webRtcStats().vp8.tetherEncoders;
  await streamThroughVp8(wrtc, true);
  const s = webRtcStats().vp8;
  // The stream's encoder ran on Tether's libvpx.
  expect(s.encoder).toBe("tether");
  expect(s.tetherEncoders).toBeGreaterThan(before);
  // The frames' headers carry profile 2: the hook set it (again after libwebrtc's rate changes).
  expect(s).toMatchObject({ profile: 2, lastVersion: 2, errors: 0 });
  expect(s.profileSets).toBeGreaterThanOrEqual(1);
}, 60_000);

it("keeps two encoders apart: two streams at once both arrive pixel for pixel", async () => {
  // One session has one video stream, but a renegotiation (monitor switch) can overlap an old and
  // a new encoder; each encoder's map state is its own.
  const before = webRtcStats().vp8.tetherEncoders;
  await Promise.all([streamThroughVp8(wrtc, true, false), streamThroughVp8(wrtc, true, false)]);
  expect(webRtcStats().vp8).toMatchObject({ errors: 0, lastVersion: 2 });
  expect(webRtcStats().vp8.tetherEncoders).toBeGreaterThanOrEqual(before + 2);
}, 90_000);

it("on the module's own libvpx (vp8Encoder 'libwebrtc') every change arrives too", async () => {
  expect(configureWebRtc({ vp8Encoder: "libwebrtc" })).toEqual({ vp8Encoder: { result: "ok", detail: "" } });
  try {
    const before = webRtcStats().vp8.tetherEncoders;
    await streamThroughVp8(wrtc, true);
    expect(webRtcStats().vp8).toMatchObject({ encoder: "libwebrtc", tetherEncoders: before, errors: 0, lastVersion: 2 });
  } finally {
    configureWebRtc({ vp8Encoder: AGENT_VP8_ENCODER });
  }
}, 60_000);

it("requestKeyFrame(): the encoder's next frame is a key frame, although nothing changed and the viewer asked for none", async () => {
  const a = new wrtc.RTCPeerConnection({ iceServers: [] });
  const b = new wrtc.RTCPeerConnection({ iceServers: [] });
  try {
    a.onicecandidate = (e: any) => e.candidate && b.addIceCandidate(e.candidate).catch(() => {});
    b.onicecandidate = (e: any) => e.candidate && a.addIceCandidate(e.candidate).catch(() => {});
    const source = new wrtc.nonstandard.RTCVideoSource({ isScreencast: true });
    const track = source.createTrack();
    a.addTrack(track, new wrtc.MediaStream([track]));
    let received = 0;
    b.ontrack = (e: any) => {
      new wrtc.nonstandard.RTCVideoSink(e.track).onframe = () => received++;
    };
    const offer = await a.createOffer();
    await a.setLocalDescription(offer);
    await b.setRemoteDescription(offer);
    const answer = await b.createAnswer();
    await b.setLocalDescription(answer);
    await a.setRemoteDescription(answer);
    const frame = { width: 320, height: 240, data: new Uint8ClampedArray(320 * 240 * 1.5).fill(128) };
    const keyFrames = async () => {
      const report: Map<string, any> = await a.getStats();
      return [...report.values()].find((v) => v.type === "outbound-rtp" && v.kind === "video")?.keyFramesEncoded ?? 0;
    };
    // The same still frame, 20 times a second, until the stream has settled (its first key frame sent).
    const pusher = setInterval(() => source.onFrame(frame), 50);
    try {
      await until(async () => received > 5 && (await keyFrames()) >= 1, 15_000, "the stream to start");
      await new Promise((r) => setTimeout(r, 500));
      const keysBefore = await keyFrames();
      const forcedBefore = webRtcStats().vp8.forcedKeyFrames;
      expect(requestKeyFrame()).toBe(true);
      await until(async () => (await keyFrames()) > keysBefore, 5000, "a key frame after the request");
      expect(webRtcStats().vp8.forcedKeyFrames).toBeGreaterThan(forcedBefore);
      expect(webRtcStats().vp8.keyRequests).toBeGreaterThanOrEqual(1);
      // One request, one key frame: the frames after it are delta frames again.
      const keysAfter = await keyFrames();
      await new Promise((r) => setTimeout(r, 1000));
      expect(await keyFrames()).toBe(keysAfter);
    } finally {
      clearInterval(pusher);
      track.stop();
    }
  } finally {
    a.close();
    b.close();
  }
}, 60_000);
