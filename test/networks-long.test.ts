/**
 * Issue 20: what a long or badly interrupted session meets across the NATs of the network lab
 * (test/support/network-lab.ts; networks.test.ts has the first part): TURN credentials that expire
 * during a relayed grant, and a network drop longer than the grant's grace period. Its own lab
 * (coturn keeps allocations only 20 s, so that refreshes happen within the test), so that it runs
 * beside networks.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "./support/procs.js";
import { near, NetworkLab, RESUME_MS, sleep, type Site } from "./support/network-lab.js";

let lab: NetworkLab;
/** TURN credentials valid for 20 s (renewed every 10 s). */
let renewing: Site;
/** A grant outlives its app's connection by 1 s only. */
let strict: Site;

beforeAll(async () => {
  lab = await NetworkLab.start({ turn: { maxAllocateLifetimeS: 20, verbose: true } });
  renewing = await lab.site(8090, [...lab.iceArgs(), "--turn-ttl", "20"]);
  strict = await lab.site(8091, [...lab.iceArgs(), "--grant-grace", "1"]);
}, 60_000);

afterAll(async () => {
  await lab?.stop([renewing, strict]);
});

const COLOURS = [0x2050d0, 0xd05020, 0x20d050, 0xd0d020, 0x8020d0, 0x20a0a0, 0xa02060, 0x606060];

describe("long and interrupted sessions across two NATs (issue 20)", () => {
  // coturn checks a REST credential's time when an allocation is made, not when it is refreshed
  // (it keeps the key per allocation), so the relay a stream runs on outlives its credentials. What
  // expired credentials break is the next allocation: an ICE restart after a network change in a
  // long session. Here the credentials live 20 s; 30 s into the stream the user's address changes.
  // Checked by hand that the test fails without the renewal: with the app ignoring the broker's
  // IceConfig, no quiet restarts; with the app not applying the new servers (setConfiguration
  // skipped), its new ALLOCATE after the change used the expired credential and the allocation
  // check below failed (the picture still came back, through the technician's fresh relay).
  it("TURN credentials valid for 20 s, renewed every 10 s: the relayed path moves to them quietly, and 30 s in, after the user's address changes, both ends allocate new relays with fresh credentials and the picture comes back", async () => {
    const { rx, a, session, requestId } = await lab.share(renewing);
    await until(() => (rx.latest()?.frames ?? 0) > 0, 30_000, `frames; receiver: ${rx.p.out.text()}`);
    const first = await until(() => rx.latest()?.path ?? null, 10_000, "the selected path");
    expect([first.local, first.remote]).toContain("relay");
    const started = performance.now();
    // 30 s of a relayed stream: every credential either end started with has expired meanwhile.
    for (const [i, colour] of COLOURS.slice(0, 5).entries()) {
      await sleep(Math.max(0, started + (i + 1) * 6000 - performance.now()));
      await lab.xclient.fill(0, 0, 320, 240, colour);
      await until(
        () => near(rx.latest()?.centre, colour),
        3000,
        `round ${i + 1}: the new colour; receiver: ${rx.p.out.all.slice(-2).join(" ")}`,
      );
    }
    expect(rx.latest()!.renewals).toBeGreaterThanOrEqual(2);
    const quiet = a.err.all.filter((l) => l.includes("ice servers renewed, restarting the relayed path")).length;
    expect(quiet).toBeGreaterThanOrEqual(2);
    // No interruption the user heard of, so far.
    expect(a.out.all.filter((l) => /interrupted|again/.test(l))).toEqual([]);

    const mark = lab.turn.proc.out.all.length;
    const changed = Date.now();
    await lab.homeAddress("192.168.1.3");
    await lab.xclient.fill(0, 0, 320, 240, COLOURS[5]!);
    await until(
      () => near(rx.latest()?.centre, COLOURS[5]!),
      RESUME_MS,
      `the picture after the address change; app: ${a.err.all
        .filter((l) => /ice|connection/.test(l))
        .slice(-6)
        .join(" ")}`,
    );
    console.log(`picture back ${Date.now() - changed} ms after the address change; quiet restarts before it: ${quiet}`);
    // The app's new relay was allocated with a credential that had not expired (its label is the session id).
    const allocations = lab.turn.proc.out.all
      .slice(mark)
      .map((l) => /user <(\d+):([^>]+)>: incoming packet ALLOCATE processed, success/.exec(l))
      .filter((m) => m !== null)
      .map((m) => ({ expires: Number(m[1]) * 1000, label: m[2] }));
    const appAllocation = allocations.find((x) => x.label === session.id);
    expect(appAllocation, `coturn's allocations after the change: ${JSON.stringify(allocations)}`).toBeDefined();
    expect(appAllocation!.expires).toBeGreaterThan(changed);
    expect((await lab.tether(renewing, ["session", "access-status", session.id, requestId])).status).toBe("granted");
    a.child.kill("SIGINT");
    await a.exited;
  }, 90_000);

  it("the user's network is gone for 12 s, longer than the grace period (1 s): the grant ends, the app says so when it is back, and the next request asks the user again", async () => {
    const { rx, a, session, requestId } = await lab.share(strict);
    await until(() => (rx.latest()?.frames ?? 0) > 0, 30_000, "frames");
    // An established stream.
    await sleep(3000);
    const downAt = Date.now();
    const seen = a.out.all.length;
    await lab.homeLink(false);
    // The app notices the drop while the link is down: libwebrtc's "disconnected", or, where its
    // connection goes on saying "connected" (two CI runs), the app's own watch, which hears nothing
    // from the viewer for 4 s (SilenceWatch). Either way the user is told within seconds.
    const told = await a.out.waitFor(/^The connection to Jane Doe was interrupted/, 11_000, seen).then(
      () => Date.now() - downAt,
      (err: Error) => {
        throw new Error(`${err.message}\nthe link went down at ${downAt}; the app's trace:\n${a.err.all.slice(-40).join("\n")}`);
      },
    );
    const how = a.err.all.some((l) => l.includes("nothing received for")) ? "the app's silence watch" : "libwebrtc";
    console.log(`the app said "interrupted" ${told} ms into the drop (noticed by ${how})`);
    await sleep(Math.max(0, downAt + 12_000 - Date.now()));
    await lab.homeLink(true);
    // The broker heard nothing from the app for longer than its heartbeat and the grace period: when
    // the app's new connection comes, the grant it still holds is not kept. (Here 2–5 s after the
    // link is back; 25 s allowed for a loaded machine, where one CI run saw nothing within 15 s.)
    await a.out.waitFor(/^Sharing your screen with Jane Doe has ended\.$/, 25_000).catch((err: Error) => {
      // What the app's connection did meanwhile (TETHER_TRACE_PEER), so that a failure says why.
      throw new Error(`${err.message}\nthe link went down at ${downAt}; the app's trace:\n${a.err.all.slice(-40).join("\n")}`);
    });
    expect((await lab.tether(strict, ["session", "access-status", session.id, requestId])).status).toBe("ended");
    const again = await lab.tether(strict, ["session", "request-access", session.id, "--scope", "view"]);
    await until(() => a.out.all.filter((l) => /requests to view your screen/.test(l)).length === 2, 10_000, "the app to ask again");
    expect((await lab.tether(strict, ["session", "access-status", session.id, again.id])).status).toBe("pending");
    a.child.kill("SIGINT");
    await a.exited;
  }, 60_000);
});
