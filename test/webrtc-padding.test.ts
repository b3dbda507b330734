// The padding floor (configureWebRtc's minTransmitBps, AGENT_MIN_TRANSMIT_BPS = 0): libwebrtc pads a
// screen-share stream up to 100 kbit/s while the screen is still. Two real peer connection pairs in
// this process, one frame each and then nothing: the first with libwebrtc's floor must send padding
// (which shows the measurement sees it), the second, configured after the hook, must not. ALR
// probes (bursts every 5 s) are moved out of the measured window with the probing field trial.
import { beforeAll, expect, it } from "vitest";

import { AGENT_FIELD_TRIALS, AGENT_MIN_TRANSMIT_BPS } from "../src/agent/webrtc-tuning.js";
import { configureWebRtc, webRtcStats } from "../src/native/index.js";

type Any = any;
let wrtc: Any;

beforeAll(async () => {
  wrtc = (await import("@roamhq/wrtc")).default;
  expect(configureWebRtc({ trials: `${AGENT_FIELD_TRIALS}WebRTC-Bwe-ProbingConfiguration/alr_interval:60s/` }).trials?.result).toBe("ok");
});

/** bit/s the sending side put on the wire over 2 s, from 2.5 s after its only frame. */
async function idleBitrate(): Promise<number> {
  const a = new wrtc.RTCPeerConnection({ iceServers: [] });
  const b = new wrtc.RTCPeerConnection({ iceServers: [] });
  try {
    a.onicecandidate = (e: Any) => e.candidate && b.addIceCandidate(e.candidate).catch(() => {});
    b.onicecandidate = (e: Any) => e.candidate && a.addIceCandidate(e.candidate).catch(() => {});
    const source = new wrtc.nonstandard.RTCVideoSource({ isScreencast: true });
    const track = source.createTrack();
    a.addTrack(track, new wrtc.MediaStream([track]));
    let frames = 0;
    b.ontrack = (e: Any) => {
      new wrtc.nonstandard.RTCVideoSink(e.track).onframe = () => frames++;
    };
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription);
    const data = new Uint8ClampedArray(320 * 240 * 1.5).fill(128);
    for (let i = 0; i < 100 && frames === 0; i++) {
      source.onFrame({ width: 320, height: 240, data });
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(frames).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 2500));
    const sent = async () => {
      let bytes = 0;
      (await a.getStats()).forEach((s: Any) => s.type === "transport" && (bytes += s.bytesSent));
      return bytes;
    };
    const b0 = await sent();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 2000));
    const b1 = await sent();
    track.stop();
    return ((b1 - b0) * 8) / ((performance.now() - t0) / 1000);
  } finally {
    a.close();
    b.close();
  }
}

it("pads a still screen share with libwebrtc's floor, and not with the agent's", async () => {
  const withFloor = await idleBitrate();
  expect(withFloor).toBeGreaterThan(40_000); // libwebrtc's floor: 100 kbit/s (≈60 measured: a 2 s window)

  expect(AGENT_MIN_TRANSMIT_BPS).toBe(0);
  expect(configureWebRtc({ minTransmitBps: AGENT_MIN_TRANSMIT_BPS })).toEqual({ minTransmitBps: { result: "ok", detail: "" } });
  const without = await idleBitrate();
  expect(without).toBeLessThan(10_000); // RTCP and ICE keepalives only (≈1 kbit/s measured)
  const s = webRtcStats().sendStream;
  expect(s).toMatchObject({ hooked: true, bps: 0, libwebrtcMaxBps: 100_000 });
  expect(s.calls).toBeGreaterThanOrEqual(1);
}, 30_000);
