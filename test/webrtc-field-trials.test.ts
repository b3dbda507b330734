// The WebRTC tuning inside @roamhq/wrtc's module (configureWebRtc, src/native/webrtc.ts): field
// trials set and read back through the module's own functions, the core count, the hooks installed
// once, every way it can refuse, and the one layer that checks the values (the addon).
import { describe, expect, it } from "vitest";

import { AGENT_FIELD_TRIALS } from "../src/agent/webrtc-tuning.js";
import { configureWebRtc, loadNative, webRtcStats, WRTC_MODULE_SUFFIX } from "../src/native/index.js";

const badArgument = (setting?: string): unknown => expect.objectContaining({ code: "ERR_BAD_ARGUMENT", ...(setting && { setting }) });

describe("WebRTC tuning", () => {
  it("says the module is not loaded before @roamhq/wrtc is imported, and for a name no module has", () => {
    // Vitest runs each test file in its own process (pool: forks), so nothing loaded wrtc yet.
    const notLoaded = { result: "module-not-loaded", detail: expect.stringContaining(WRTC_MODULE_SUFFIX) };
    expect(
      configureWebRtc({ trials: AGENT_FIELD_TRIALS, cores: 3, vp8ActiveMap: true, vp8Profile: 2, vp8Encoder: "tether", minTransmitBps: 0 }),
    ).toEqual({
      trials: notLoaded,
      cores: notLoaded,
      vp8ActiveMap: notLoaded,
      vp8Profile: notLoaded,
      vp8Encoder: notLoaded,
      minTransmitBps: notLoaded,
    });
    expect(webRtcStats()).toMatchObject({ vp8: { hooked: false, enabled: false, frames: 0 }, sendStream: { hooked: false, calls: 0 } });
    expect(configureWebRtc({ trials: "" }, { moduleSuffix: "/no-such-module.node" })).toMatchObject({
      trials: { result: "module-not-loaded" },
    });
    // Only the settings given are answered; none given, none answered.
    expect(configureWebRtc({})).toEqual({});
    expect(configureWebRtc({ cores: undefined })).toEqual({});
  });

  it("sets the agent's string in the loaded module, reads it back, and restores the defaults", async () => {
    const wrtc = (await import("@roamhq/wrtc")).default as { RTCPeerConnection: new (c: object) => { close(): void } };
    expect(configureWebRtc({ trials: AGENT_FIELD_TRIALS })).toEqual({ trials: { result: "ok", detail: "", readBack: AGENT_FIELD_TRIALS } });
    // The module keeps working with it: a peer connection can be made and closed.
    new wrtc.RTCPeerConnection({ iceServers: [] }).close();
    const two = "WebRTC-ForceSendPlayoutDelay/min_ms:0,max_ms:0/WebRTC-Video-DiscardPacketsWithUnknownSsrc/Enabled/";
    expect(configureWebRtc({ trials: two }).trials).toMatchObject({ result: "ok", readBack: two });
    expect(configureWebRtc({ trials: "" }).trials).toMatchObject({ result: "ok", readBack: "" });
  });

  it("makes libwebrtc's own core count answer what was set, and reports what it had detected", async () => {
    await import("@roamhq/wrtc");
    const first = configureWebRtc({ cores: 3 }).cores!;
    expect(first).toMatchObject({ result: "ok", detail: "" });
    expect(Number.isInteger(first.detected) && first.detected! >= 1).toBe(true);
    // The module's webrtc::CpuInfo::DetectNumberOfCores() now answers 3, then 5.
    expect(configureWebRtc({ cores: 5 }).cores).toMatchObject({ result: "ok", detected: 3 });
    expect(configureWebRtc({ cores: first.detected! }).cores).toMatchObject({ result: "ok", detected: 5 });
  });

  it("hooks libwebrtc's libvpx calls once, and says so", async () => {
    await import("@roamhq/wrtc");
    expect(configureWebRtc({ vp8ActiveMap: true })).toEqual({ vp8ActiveMap: { result: "ok", detail: "" } });
    expect(webRtcStats().vp8).toMatchObject({ hooked: true, enabled: true, frames: 0, errors: 0, lastQuantizer: -1 });
    expect(configureWebRtc({ vp8ActiveMap: true }).vp8ActiveMap).toEqual({ result: "ok", detail: "" }); // again: nothing changes
    // Already hooked: the module is not even looked up again.
    expect(configureWebRtc({ vp8ActiveMap: true }, { moduleSuffix: "/no-such-module.node" }).vp8ActiveMap).toMatchObject({ result: "ok" });
    expect(configureWebRtc({ vp8ActiveMap: false }).vp8ActiveMap).toMatchObject({ result: "ok" });
    expect(webRtcStats().vp8).toMatchObject({ hooked: true, enabled: false });
    configureWebRtc({ vp8ActiveMap: true });
  });

  it("refuses a value out of range with ERR_BAD_ARGUMENT naming the setting, and applies nothing then", () => {
    const bad: Array<[string, unknown]> = [
      ...["WebRTC-ForceSendPlayoutDelay", "a/b", "has space/x/", "x/y\n/", "/value/", 7].map((v): [string, unknown] => ["trials", v]),
      ...[0, -1, 2.5, Number.NaN, 1025, "3"].map((v): [string, unknown] => ["cores", v]),
      ...[4, -2, 1.5, Number.NaN, "2"].map((v): [string, unknown] => ["vp8Profile", v]),
      ...["", "vp8", "Tether", 1].map((v): [string, unknown] => ["vp8Encoder", v]),
      ...[-2, -5, 0.5, 2e9, Number.NaN].map((v): [string, unknown] => ["minTransmitBps", v]),
      ["vp8ActiveMap", 1],
      ["vp8ActiveMap", "true"],
      ["vp8Bitrate", 1],
    ];
    const before = webRtcStats();
    for (const [setting, value] of bad) {
      expect(() => configureWebRtc({ vp8Profile: 2, [setting]: value }), `${setting} ${String(value)}`).toThrow(badArgument(setting));
    }
    expect(() => configureWebRtc({ vp8Profile: 7 })).toThrow(/vp8Profile: not a VP8 profile \(0, 1, 2 or 3; -1: libwebrtc's\): 7/);
    expect(() => configureWebRtc({ vp8Encoder: "vp9" as "tether" })).toThrow(
      /vp8Encoder: not a VP8 encoder \("tether" or "libwebrtc"\): "vp9"/,
    );
    expect(webRtcStats().vp8.profile).toBe(before.vp8.profile); // the valid vp8Profile beside each was not applied
    const addon = loadNative() as unknown as Record<string, (...a: unknown[]) => unknown>;
    expect(() => addon["configureWebRtc"]!("/wrtc.node")).toThrow(badArgument());
    expect(() => addon["configureWebRtc"]!(1, {})).toThrow(badArgument());
    expect(() => addon["configureWebRtc"]!("/wrtc.node", [])).toThrow(badArgument());
  });

  it("answers unsupported-platform from the build with no platform backend", () => {
    const stub = loadNative({ variant: "unsupported" });
    const unsupported = { result: "unsupported-platform", detail: expect.any(String) };
    expect(
      stub.configureWebRtc(WRTC_MODULE_SUFFIX, {
        trials: AGENT_FIELD_TRIALS,
        cores: 3,
        vp8ActiveMap: true,
        vp8Profile: 2,
        vp8Encoder: "tether",
        minTransmitBps: 0,
      }),
    ).toEqual({
      trials: unsupported,
      cores: unsupported,
      vp8ActiveMap: unsupported,
      vp8Profile: unsupported,
      vp8Encoder: unsupported,
      minTransmitBps: unsupported,
    });
    expect(stub.webRtcStats()).toMatchObject({ vp8: { hooked: false, frames: 0 }, sendStream: { hooked: false, calls: 0 } });
  });
});
