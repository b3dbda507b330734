/**
 * The agent's OfferPeer repairing a broken path (issue 20): ICE restarts once a connection that was
 * up goes "disconnected" or "failed", or at once on a network change; one answer per offer; given
 * up after a bounded number of restarts; fresh TURN credentials taken, with a quiet restart on a
 * relayed path. A fake RTCPeerConnection and fake timers.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { OfferPeer, type Channel, type PeerConnection } from "../src/agent/peer.js";

class FakeChannel implements Channel {
  readyState = "connecting";
  binaryType = "blob";
  onmessage = null;
  onopen: (() => void) | null = null;
  onclose: (() => void) | null = null;
  send() {}
  close() {}
}

class FakePc implements PeerConnection {
  connectionState = "new";
  readonly offers: { iceRestart?: boolean }[] = [];
  readonly remote: string[] = [];
  readonly channels: FakeChannel[] = [];
  onicecandidate = null;
  onconnectionstatechange: (() => void) | null = null;
  createDataChannel() {
    const c = new FakeChannel();
    this.channels.push(c);
    return c;
  }
  addTrack() {}
  async createOffer(o?: { iceRestart?: boolean }) {
    this.offers.push(o ?? {});
    return { type: "offer", sdp: `offer ${this.offers.length}` };
  }
  async setLocalDescription() {}
  async setRemoteDescription(d: { sdp: string }) {
    this.remote.push(d.sdp);
  }
  async addIceCandidate() {}
  getSenders() {
    return [];
  }
  async getStats() {
    return new Map();
  }
  readonly configurations: object[] = [];
  setConfiguration(c: object) {
    this.configurations.push(c);
  }
  close() {}
  state(s: string) {
    this.connectionState = s;
    this.onconnectionstatechange?.();
  }
}

const answer = (sdp: string) => Buffer.from(JSON.stringify({ type: "answer", sdp }));
const flush = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

function setUp() {
  const pc = new FakePc();
  const events: string[] = [];
  const sent: string[] = [];
  const peer = new OfferPeer({
    createConnection: () => pc,
    track: {},
    stream: {},
    channels: ["input", "control"],
    signal: (p) => sent.push(JSON.parse(Buffer.from(p).toString()).type ?? "candidate"),
    connected: () => events.push("connected"),
    closed: (reason) => events.push(`closed: ${reason}`),
    interrupted: () => events.push("interrupted"),
    resumed: () => events.push("resumed"),
  });
  const up = async () => {
    await peer.offer();
    peer.release();
    peer.signal(answer("answer 1"), (sdp) => ({ sdp }));
    await flush();
    for (const c of pc.channels) c.onopen?.();
    pc.state("connected");
  };
  return { pc, peer, events, sent, up };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("ICE restarts (the agent's peer)", () => {
  it("a connection that never came up fails as before: no restart", async () => {
    const { pc, peer, events } = setUp();
    await peer.offer();
    pc.state("failed");
    expect(events).toEqual(["closed: the connection to the technician's viewer failed"]);
    expect(pc.offers).toEqual([{}]);
  });

  it("once up, a disconnect is repaired with an ICE restart after 1 s; its answer is applied; connected again says so", async () => {
    const { pc, peer, events, sent, up } = setUp();
    await up();
    pc.state("disconnected");
    expect(events).toEqual(["connected", "interrupted"]);
    await vi.advanceTimersByTimeAsync(999);
    expect(pc.offers).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(pc.offers.at(-1)).toEqual({ iceRestart: true });
    expect(sent.filter((t) => t === "offer")).toHaveLength(2);
    peer.signal(answer("answer 2"), (sdp) => ({ sdp }));
    await flush();
    expect(pc.remote).toEqual(["answer 1", "answer 2"]);
    pc.state("connected");
    expect(events).toEqual(["connected", "interrupted", "resumed"]);
    peer.signal(answer("answer 3"), (sdp) => ({ sdp })); // none awaited: ignored
    await flush();
    expect(pc.remote).toEqual(["answer 1", "answer 2"]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(pc.offers).toHaveLength(2); // nothing more once repaired
  });

  it("an unanswered restart is sent again every 2 s (even if the old path still says connected), and given up after 7", async () => {
    const { pc, events, up } = setUp();
    await up();
    pc.state("disconnected");
    await vi.advanceTimersByTimeAsync(1000);
    pc.state("connected"); // the old pair, for a moment
    for (let i = 0; i < 6; i++) await vi.advanceTimersByTimeAsync(2000);
    expect(pc.offers.filter((o) => o.iceRestart)).toHaveLength(7);
    expect(events.at(-1)).toBe("interrupted");
    await vi.advanceTimersByTimeAsync(2000);
    expect(events.at(-1)).toBe("closed: the connection to the technician's viewer failed");
  });

  it("a network change restarts at once, even while the connection still says connected", async () => {
    const { pc, peer, events, up } = setUp();
    await up();
    peer.networkChanged();
    await flush();
    expect(pc.offers.at(-1)).toEqual({ iceRestart: true });
    expect(events).toEqual(["connected", "interrupted"]);
    peer.signal(answer("answer 2"), (sdp) => ({ sdp }));
    await flush();
    expect(events).toEqual(["connected", "interrupted", "resumed"]);
  });

  it("a path gone silent while the connection still says connected is repaired like a network change; not again while the repair runs, nor before the connection is up", async () => {
    const { pc, peer, events } = setUp();
    await peer.offer();
    peer.silent(4000); // not up yet: nothing to repair
    expect(pc.offers).toHaveLength(1);
    peer.release();
    peer.signal(answer("answer 1"), (sdp) => ({ sdp }));
    await flush();
    for (const c of pc.channels) c.onopen?.();
    pc.state("connected");
    peer.silent(4000);
    await flush();
    expect(pc.offers.at(-1)).toEqual({ iceRestart: true });
    expect(events).toEqual(["connected", "interrupted"]);
    peer.silent(4000); // the repair is under way
    await flush();
    expect(pc.offers).toHaveLength(2);
    peer.signal(answer("answer 2"), (sdp) => ({ sdp }));
    await flush();
    expect(events).toEqual(["connected", "interrupted", "resumed"]);
  });

  it("fresh TURN credentials: taken by the connection; a relayed path restarts ICE quietly (the user is told nothing), a direct one does not", async () => {
    const { pc, peer, events, up } = setUp();
    await up();
    const servers = [{ urls: ["turn:203.0.113.1:3478"], username: "2:s", credential: "c" }];
    peer.renewIceServers(servers, false);
    await flush();
    expect(pc.configurations).toEqual([{ iceServers: servers }]);
    expect(pc.offers).toHaveLength(1); // direct: nothing to move
    peer.renewIceServers(servers, true);
    await flush();
    expect(pc.configurations).toHaveLength(2);
    expect(pc.offers.at(-1)).toEqual({ iceRestart: true });
    peer.signal(answer("answer 2"), (sdp) => ({ sdp }));
    await flush();
    expect(pc.remote).toEqual(["answer 1", "answer 2"]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(pc.offers).toHaveLength(2); // answered while connected: no more restarts
    expect(events).toEqual(["connected"]); // no "interrupted"/"resumed" for a renewal
  });

  it("fresh TURN credentials during a repair: taken, and the repair goes on as it was", async () => {
    const { pc, peer, up } = setUp();
    await up();
    pc.state("disconnected");
    await vi.advanceTimersByTimeAsync(1000);
    expect(pc.offers).toHaveLength(2);
    peer.renewIceServers([{ urls: ["turn:203.0.113.1:3478"], username: "3:s", credential: "d" }], true);
    await flush();
    expect(pc.configurations).toHaveLength(1);
    expect(pc.offers).toHaveLength(2); // no extra restart: the pending one is retried on its own timer
    await vi.advanceTimersByTimeAsync(2000);
    expect(pc.offers).toHaveLength(3);
  });
});
