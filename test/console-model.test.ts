/**
 * The technician console's pure parts in Node: labels, expiry, fit math, input mapping, stats,
 * cursor and signaling payloads (no DOM, no network).
 */
import { describe, expect, it } from "vitest";
import { ApiError, loginMessage } from "../src/console/api.js";
import {
  accessLabel,
  applySession,
  backoffMs,
  customExpiry,
  displayState,
  relativeTime,
  sortSessions,
  stateLabel,
} from "../src/console/model.js";
import { pb, type SessionInfo } from "../src/console/proto.js";
import { pb as wire } from "../src/proto/wire.js";
import { unpremultiply } from "../src/console/viewer/cursor.js";
import { inside, place, toFraction } from "../src/console/viewer/geometry.js";
import { buttonEvent, keyEvent, moveEvent, PressedState, WheelAccumulator } from "../src/console/viewer/input-map.js";
import { parseSignal } from "../src/console/viewer/signal.js";
import { overlay, overlayText, sampleFrom } from "../src/console/viewer/stats.js";

// ---------------------------------------------------------------------------------------------
// Pure parts

const session = (p: Partial<SessionInfo>): SessionInfo =>
  pb.SessionInfo.create({
    id: "s_1",
    state: 1,
    online: false,
    expiresAtMs: 0,
    createdAtMs: 0,
    machineName: "",
    deleted: false,
    ...p,
  }) as SessionInfo;

describe("console model", () => {
  const now = 1_800_000_000_000;
  it("labels states, showing a waiting session past its expiry as expired", () => {
    expect(stateLabel(session({ state: pb.SessionState.SESSION_STATE_WAITING, expiresAtMs: now + 1000 }), now)).toBe("waiting");
    expect(displayState(session({ state: pb.SessionState.SESSION_STATE_WAITING, expiresAtMs: now - 1 }), now)).toBe("expired");
    expect(stateLabel(session({ state: pb.SessionState.SESSION_STATE_ACTIVE, online: true }), now)).toBe("active · online");
    expect(stateLabel(session({ state: pb.SessionState.SESSION_STATE_ACTIVE, online: false }), now)).toBe("active · offline");
    // Bound sessions stay valid after the expiry time: active is shown as is.
    expect(displayState(session({ state: pb.SessionState.SESSION_STATE_ACTIVE, expiresAtMs: now - 1 }), now)).toBe("active");
    expect(stateLabel(session({ state: pb.SessionState.SESSION_STATE_CLOSED }), now)).toBe("closed");
  });

  it("sorts newest first and drops deleted sessions", () => {
    const m = new Map<string, SessionInfo>();
    applySession(m, session({ id: "a", createdAtMs: 1 }));
    applySession(m, session({ id: "b", createdAtMs: 3 }));
    applySession(m, session({ id: "c", createdAtMs: 2 }));
    expect(sortSessions(m.values()).map((s) => s.id)).toEqual(["b", "c", "a"]);
    applySession(m, session({ id: "b", deleted: true }));
    expect(sortSessions(m.values()).map((s) => s.id)).toEqual(["c", "a"]);
  });

  it("says times relative to now, with the next smaller unit", () => {
    expect(relativeTime(now + 2 * 3600_000 - 1000, now)).toBe("in 1 hour 59 minutes");
    expect(relativeTime(now + 2 * 3600_000, now)).toBe("in 2 hours");
    expect(relativeTime(now - 3 * 60_000, now)).toBe("3 minutes ago");
    expect(relativeTime(now + 7 * 86_400_000 + 5 * 3600_000, now)).toBe("in 7 days");
    expect(relativeTime(now + 400, now)).toBe("now");
  });

  it("turns a custom expiry into seconds, within 1 s … 30 days", () => {
    expect(customExpiry("45", "minutes")).toEqual({ ok: true, seconds: 2700 });
    expect(customExpiry("1.5", "hours")).toEqual({ ok: true, seconds: 5400 });
    expect(customExpiry("30", "days")).toEqual({ ok: true, seconds: 2_592_000 });
    expect(customExpiry("31", "days").ok).toBe(false);
    expect(customExpiry("0", "hours").ok).toBe(false);
    expect(customExpiry("abc", "hours").ok).toBe(false);
    expect(customExpiry("2", "weeks").ok).toBe(false);
  });

  it("labels access requests", () => {
    const S = pb.Scope;
    const A = pb.AccessStatus;
    expect(accessLabel({ status: A.ACCESS_STATUS_PENDING, scope: S.SCOPE_CONTROL, grantedScope: 0 })).toMatch(/Control requested/);
    expect(accessLabel({ status: A.ACCESS_STATUS_GRANTED, scope: S.SCOPE_CONTROL, grantedScope: S.SCOPE_VIEW })).toBe("Granted: view only");
    expect(accessLabel({ status: A.ACCESS_STATUS_DENIED, scope: S.SCOPE_VIEW, grantedScope: 0 })).toMatch(/declined/);
  });

  it("backs off from 500 ms to 10 s with jitter, and says what a failed login means", () => {
    expect(backoffMs(0, 0.999)).toBeLessThanOrEqual(500);
    expect(backoffMs(0, 0)).toBe(375);
    expect(backoffMs(20, 0.999)).toBeLessThanOrEqual(10_000);
    expect(loginMessage(new ApiError(401, "TETHER_ERR_LOGIN_FAILED", "x"))).toBe("Wrong name or password.");
    expect(loginMessage(new ApiError(429, "TETHER_ERR_RATE_LIMITED", "x", 42))).toBe("Too many sign-in attempts. Try again in 42 seconds.");
  });
});

describe("viewer geometry and input mapping", () => {
  it("fits keeping the aspect ratio, centred; 1:1 is one remote pixel per device pixel", () => {
    expect(place({ width: 1920, height: 1080 }, { width: 960, height: 800 }, "fit")).toEqual({
      width: 960,
      height: 540,
      left: 0,
      top: 130,
      scale: 0.5,
    });
    expect(place({ width: 640, height: 480 }, { width: 1600, height: 900 }, "fit")).toEqual({
      width: 1200,
      height: 900,
      left: 200,
      top: 0,
      scale: 1.875,
    });
    expect(place({ width: 1920, height: 1080 }, { width: 800, height: 600 }, "1:1", 2)).toMatchObject({
      width: 960,
      height: 540,
      scale: 0.5,
      left: 0,
      top: 30,
    });
    expect(place({ width: 0, height: 0 }, { width: 800, height: 600 }, "fit").scale).toBe(0);
  });

  it("maps page points to fractions of the monitor, clamped to the edges", () => {
    const content = { left: 100, top: 50, width: 400, height: 300 };
    expect(toFraction(300, 200, content)).toEqual({ x: 0.5, y: 0.5 });
    const out = toFraction(0, 1000, content)!;
    expect(out.x).toBe(0);
    expect(out.y).toBeLessThan(1);
    expect(out.y).toBeGreaterThan(0.999);
    expect(inside(99, 60, content)).toBe(false);
    expect(toFraction(1, 1, { left: 0, top: 0, width: 0, height: 0 })).toBeNull();
  });

  it("makes InputEvents from mouse, wheel and keys, and can release everything held", () => {
    const content = { left: 0, top: 0, width: 200, height: 100 };
    expect(moveEvent({ clientX: 50, clientY: 25 }, content)).toEqual({ move: { x: 0.25, y: 0.25 } });
    expect(buttonEvent({ clientX: 100, clientY: 50, button: 2 }, true, content)).toEqual({
      button: { button: pb.MouseButton.MOUSE_BUTTON_RIGHT, down: true, x: 0.5, y: 0.5 },
    });
    expect(buttonEvent({ clientX: 100, clientY: 50, button: 7 }, true, content)).toBeNull();
    expect(keyEvent({ code: "KeyA", repeat: false }, true)).toEqual({ key: { code: "KeyA", down: true } });
    expect(keyEvent({ code: "KeyA", repeat: true }, true)).toBeNull(); // the remote side repeats
    expect(keyEvent({ code: "", repeat: false }, true)).toBeNull();
    const encoded = wire.InputEvent.decode(wire.InputEvent.encode(keyEvent({ code: "ControlLeft", repeat: false }, false)!).finish());
    expect(encoded.key).toMatchObject({ code: "ControlLeft", down: false });

    const w = new WheelAccumulator();
    expect(w.push({ deltaX: 0, deltaY: 40, deltaMode: 0 })).toBeNull();
    expect(w.push({ deltaX: 0, deltaY: 60, deltaMode: 0 })).toEqual({ wheel: { dx: 0, dy: 1 } });
    expect(w.push({ deltaX: -3, deltaY: 0, deltaMode: 1 })).toEqual({ wheel: { dx: -1, dy: 0 } });
    expect(w.push({ deltaX: 0, deltaY: -2, deltaMode: 2 })).toEqual({ wheel: { dx: 0, dy: -2 } });

    const held = new PressedState();
    held.track({ key: { code: "ShiftLeft", down: true } });
    held.track({ key: { code: "KeyA", down: true } });
    held.track({ key: { code: "KeyA", down: false } });
    held.track({ button: { button: 1, down: true, x: 0.1, y: 0.1 } });
    expect(held.releaseAll({ x: 0.5, y: 0.5 })).toEqual([
      { key: { code: "ShiftLeft", down: false } },
      { button: { button: 1, down: false, x: 0.5, y: 0.5 } },
    ]);
    expect(held.releaseAll()).toEqual([]);
  });

  it("computes fps, bitrate and a latency estimate from two getStats samples", () => {
    const a = sampleFrom(
      [
        {
          type: "inbound-rtp",
          kind: "video",
          bytesReceived: 1000,
          framesDecoded: 10,
          jitterBufferDelay: 0.2,
          jitterBufferEmittedCount: 10,
          totalDecodeTime: 0.05,
        },
        { type: "transport", selectedCandidatePairId: "p1" },
        { type: "candidate-pair", id: "p1", currentRoundTripTime: 0.004 },
      ],
      0,
    )!;
    const b = sampleFrom(
      [
        {
          type: "inbound-rtp",
          kind: "video",
          bytesReceived: 126_000,
          framesDecoded: 40,
          framesPerSecond: 30,
          jitterBufferDelay: 0.5,
          jitterBufferEmittedCount: 40,
          totalDecodeTime: 0.11,
          frameWidth: 640,
          frameHeight: 480,
        },
        { type: "transport", selectedCandidatePairId: "p1" },
        { type: "candidate-pair", id: "p1", currentRoundTripTime: 0.004 },
      ],
      1000,
    )!;
    const o = overlay(a, b);
    expect(o.fps).toBe(30);
    expect(o.kbps).toBe(1000);
    expect(o.latencyMs).toBeCloseTo(2 + 10 + 2, 5); // rtt/2 + jitter buffer per frame + decode per frame
    expect(overlayText(o)).toBe("30 fps · ≈ 14 ms · 1.0 Mbit/s");
    expect(overlayText(overlay(null, { atMs: 0, bytesReceived: 0, framesDecoded: 0 }))).toBe("– fps · ≈ – ms · – kbit/s");
    expect(sampleFrom([{ type: "outbound-rtp" }], 0)).toBeNull();
  });

  it("turns the premultiplied cursor into straight alpha, and parses simple-peer signals", () => {
    const px = unpremultiply(new Uint8Array([128, 0, 64, 128, 0, 0, 0, 0]), 2, 1)!;
    expect([...px]).toEqual([255, 0, 128, 128, 0, 0, 0, 0]);
    expect(unpremultiply(new Uint8Array(3), 1, 1)).toBeNull();

    const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
    expect(parseSignal(enc({ type: "offer", sdp: "v=0" }))).toEqual({ kind: "offer", sdp: "v=0" });
    expect(parseSignal(enc({ type: "candidate", candidate: { candidate: "candidate:1", sdpMid: "0", sdpMLineIndex: 0 } }))).toEqual({
      kind: "candidate",
      candidate: { candidate: "candidate:1", sdpMid: "0", sdpMLineIndex: 0 },
    });
    expect(parseSignal(enc({ renegotiate: true })).kind).toBe("ignore");
    expect(parseSignal(enc({ transceiverRequest: { kind: "video" } })).kind).toBe("ignore");
    expect(parseSignal(new TextEncoder().encode("{not json")).kind).toBe("ignore");
  });
});
