// libwebrtc field trials inside @roamhq/wrtc's module (src/native/field-trials.ts): set and read
// back through the module's own functions, and every way it can refuse.
import { describe, expect, it } from 'vitest';

import {
  AGENT_FIELD_TRIALS,
  agentWebRtcCores,
  enableVp8ActiveMap,
  loadNative,
  setMinTransmitBitrate,
  setWebRtcCoreCount,
  setWebRtcFieldTrials,
  vp8ActiveMapStats,
  webRtcFieldTrials,
  WRTC_MODULE_SUFFIX,
} from '../src/native/index.js';

const code = (c: string): unknown => expect.objectContaining({ code: c });

describe('WebRTC field trials', () => {
  it('says the module is not loaded before @roamhq/wrtc is imported, and for a name no module has', () => {
    // Vitest runs each test file in its own process (pool: forks), so nothing loaded wrtc yet.
    expect(webRtcFieldTrials()).toEqual({ result: 'module-not-loaded', detail: expect.stringContaining(WRTC_MODULE_SUFFIX) });
    expect(setWebRtcFieldTrials(AGENT_FIELD_TRIALS)).toMatchObject({ result: 'module-not-loaded' });
    expect(setWebRtcCoreCount(3)).toMatchObject({ result: 'module-not-loaded' });
    expect(enableVp8ActiveMap()).toMatchObject({ result: 'module-not-loaded' });
    expect(vp8ActiveMapStats()).toMatchObject({ hooked: false, enabled: false, frames: 0 });
    expect(webRtcFieldTrials({ moduleSuffix: '/no-such-module.node' })).toMatchObject({ result: 'module-not-loaded' });
  });

  it("sets the agent's string in the loaded module, reads it back, and restores the defaults", async () => {
    const wrtc = (await import('@roamhq/wrtc')).default as { RTCPeerConnection: new (c: object) => { close(): void } };
    expect(webRtcFieldTrials()).toEqual({ result: 'ok', detail: '', trials: '' });
    expect(setWebRtcFieldTrials(AGENT_FIELD_TRIALS)).toEqual({ result: 'ok', detail: '' });
    expect(webRtcFieldTrials()).toMatchObject({ result: 'ok', trials: AGENT_FIELD_TRIALS });
    // The module keeps working with it: a peer connection can be made and closed.
    new wrtc.RTCPeerConnection({ iceServers: [] }).close();
    const two = 'WebRTC-ForceSendPlayoutDelay/min_ms:0,max_ms:0/WebRTC-Video-DiscardPacketsWithUnknownSsrc/Enabled/';
    expect(setWebRtcFieldTrials(two).result).toBe('ok');
    expect(webRtcFieldTrials().trials).toBe(two);
    expect(setWebRtcFieldTrials('').result).toBe('ok');
    expect(webRtcFieldTrials().trials).toBe('');
  });

  it("makes libwebrtc's own core count answer what was set, and reports what it had detected", async () => {
    await import('@roamhq/wrtc');
    const first = setWebRtcCoreCount(3);
    expect(first).toMatchObject({ result: 'ok', detail: '' });
    expect(Number.isInteger(first.detected) && first.detected! >= 1).toBe(true);
    // The module's webrtc::CpuInfo::DetectNumberOfCores() now answers 3, then 5.
    expect(setWebRtcCoreCount(5)).toMatchObject({ result: 'ok', detected: 3 });
    expect(setWebRtcCoreCount(first.detected!)).toMatchObject({ result: 'ok', detected: 5 });
    for (const bad of [0, -1, 2.5, Number.NaN, 1025]) expect(() => setWebRtcCoreCount(bad), String(bad)).toThrow(code('ERR_BAD_ARGUMENT'));
    const addon = loadNative() as unknown as Record<string, (...a: unknown[]) => unknown>;
    expect(() => addon['setWebRtcCoreCount']!('/wrtc.node', '3')).toThrow(code('ERR_BAD_ARGUMENT'));
    expect(() => addon['setWebRtcCoreCount']!('/wrtc.node', 0)).toThrow(code('ERR_BAD_ARGUMENT'));
  });

  it("hooks libwebrtc's libvpx calls for the VP8 active map once, and says so", async () => {
    await import('@roamhq/wrtc');
    expect(enableVp8ActiveMap()).toEqual({ result: 'ok', detail: '' });
    expect(vp8ActiveMapStats()).toMatchObject({ hooked: true, enabled: true, frames: 0, errors: 0, lastQuantizer: -1 });
    expect(enableVp8ActiveMap()).toEqual({ result: 'ok', detail: '' }); // again: nothing changes
    expect(enableVp8ActiveMap({ moduleSuffix: '/no-such-module.node' })).toMatchObject({ result: 'ok' }); // already hooked
  });

  it('gives VP8 a second encoder thread on 2-core machines only', () => {
    expect(agentWebRtcCores(2)).toBe(3);
    for (const n of [1, 3, 4, 8, 64]) expect(agentWebRtcCores(n), String(n)).toBeNull();
  });

  it('rejects what is not a field-trial string, and bad arguments to the addon, with ERR_BAD_ARGUMENT', () => {
    for (const bad of ['WebRTC-ForceSendPlayoutDelay', 'a/b', 'has space/x/', 'x/y\n/', '/value/']) {
      expect(() => setWebRtcFieldTrials(bad), bad).toThrow(code('ERR_BAD_ARGUMENT'));
    }
    const addon = loadNative() as unknown as Record<string, (...a: unknown[]) => unknown>;
    expect(() => addon['setWebRtcFieldTrials']!('/wrtc.node')).toThrow(code('ERR_BAD_ARGUMENT'));
    expect(() => addon['setWebRtcFieldTrials']!(1, 'a/b/')).toThrow(code('ERR_BAD_ARGUMENT'));
    expect(() => addon['webRtcFieldTrials']!()).toThrow(code('ERR_BAD_ARGUMENT'));
    expect(() => addon['enableVp8ActiveMap']!(3)).toThrow(code('ERR_BAD_ARGUMENT'));
    expect(() => addon['setVp8Profile']!('/wrtc.node', 7)).toThrow(code('ERR_BAD_ARGUMENT'));
    expect(() => addon['setMinTransmitBitrate']!('/wrtc.node', -5)).toThrow(code('ERR_BAD_ARGUMENT'));
    expect(() => addon['setMinTransmitBitrate']!('/wrtc.node')).toThrow(code('ERR_BAD_ARGUMENT'));
    for (const bad of [-2, 0.5, 2e9, Number.NaN]) expect(() => setMinTransmitBitrate(bad), String(bad)).toThrow(code('ERR_BAD_ARGUMENT'));
  });

  it('answers unsupported-platform from the build with no platform backend', () => {
    const stub = loadNative({ variant: 'unsupported' });
    expect(stub.setWebRtcFieldTrials(WRTC_MODULE_SUFFIX, AGENT_FIELD_TRIALS)).toMatchObject({ result: 'unsupported-platform' });
    expect(stub.webRtcFieldTrials(WRTC_MODULE_SUFFIX)).toMatchObject({ result: 'unsupported-platform' });
    expect(stub.setWebRtcCoreCount(WRTC_MODULE_SUFFIX, 3)).toMatchObject({ result: 'unsupported-platform' });
    expect(stub.enableVp8ActiveMap(WRTC_MODULE_SUFFIX)).toMatchObject({ result: 'unsupported-platform' });
    expect(stub.vp8ActiveMapStats()).toMatchObject({ hooked: false, frames: 0 });
    expect(stub.setVp8Profile(WRTC_MODULE_SUFFIX, 2)).toMatchObject({ result: 'unsupported-platform' });
    expect(stub.setMinTransmitBitrate(WRTC_MODULE_SUFFIX, 0)).toMatchObject({ result: 'unsupported-platform' });
    expect(stub.minTransmitBitrateStats()).toMatchObject({ hooked: false, calls: 0 });
  });
});
