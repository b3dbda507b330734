import { describe, expect, it } from "vitest";
import {
  accessStatus,
  decideAccessRequest,
  checkExpiresIn,
  consentChange,
  decideActivation,
  grantedScope,
  linkAvailable,
  sessionState,
  type MachineIdentity,
  type SessionFacts,
} from "../src/session/rules.js";

const A: MachineIdentity = { publicKey: "keyA", fingerprint: "fpA" };
const B: MachineIdentity = { publicKey: "keyB", fingerprint: "fpB" };
const A_KEY_ON_B: MachineIdentity = { publicKey: "keyA", fingerprint: "fpB" }; // A's state folder copied to B
const NEW_KEY_ON_A: MachineIdentity = { publicKey: "keyC", fingerprint: "fpA" };
const T = 1_000_000; // expiry time
const BEFORE = T - 1;
const AT = T;
const AFTER = T + 86_400_000;

const session = (f: Partial<SessionFacts>): SessionFacts => ({
  expiresAt: T,
  closedAt: null,
  deletedAt: null,
  boundTo: null,
  ...f,
});

// Every combination of: closed?, deleted?, binding (none / A), machine asking (A, B, copies), time.
describe("decideActivation: every combination", () => {
  const closedOpts = [null, 5] as const;
  const deletedOpts = [null, 7] as const;
  const bindings = [null, A] as const;
  const askers = [A, B, A_KEY_ON_B, NEW_KEY_ON_A] as const;
  const times = [BEFORE, AT, AFTER] as const;

  const expected = (closed: number | null, deleted: number | null, bound: MachineIdentity | null, asker: MachineIdentity, now: number) => {
    if (deleted !== null) return "invalid:deleted";
    if (closed !== null) return "invalid:closed";
    if (bound) return asker === A ? "valid" : "invalid:bound-elsewhere";
    return now >= T ? "expired" : "bind";
  };

  const rows: [string, SessionFacts, MachineIdentity, number, string][] = [];
  for (const c of closedOpts)
    for (const d of deletedOpts)
      for (const b of bindings)
        for (const a of askers)
          for (const t of times) {
            const name = `closed=${c !== null} deleted=${d !== null} bound=${b ? "A" : "no"} asker=${a.publicKey}/${a.fingerprint} t=${t === BEFORE ? "before" : t === AT ? "at" : "after"}`;
            rows.push([name, session({ closedAt: c, deletedAt: d, boundTo: b }), a, t, expected(c, d, b, a, t)]);
          }

  it("has all 96 combinations", () => expect(rows).toHaveLength(2 * 2 * 2 * 4 * 3));
  it.each(rows)("%s", (_name, facts, asker, now, want) => {
    const d = decideActivation(facts, asker, now);
    expect(d.kind === "invalid" ? `invalid:${d.reason}` : d.kind).toBe(want);
  });

  it("an unknown code is invalid", () => {
    expect(decideActivation(undefined, A, BEFORE)).toEqual({ kind: "invalid", reason: "unknown" });
  });

  it("a session bound here stays valid long after its expiry time (expiry limits only the set-up)", () => {
    expect(decideActivation(session({ boundTo: A }), { ...A }, T + 365 * 86_400_000).kind).toBe("valid");
  });
});

describe("sessionState", () => {
  it.each([
    ["waiting before expiry", session({}), BEFORE, "waiting"],
    ["expired at the expiry time", session({}), AT, "expired"],
    ["expired after it", session({}), AFTER, "expired"],
    ["active when bound, before expiry", session({ boundTo: A }), BEFORE, "active"],
    ["active when bound, after expiry", session({ boundTo: A }), AFTER, "active"],
    ["closed when unbound", session({ closedAt: 1 }), BEFORE, "closed"],
    ["closed when bound", session({ closedAt: 1, boundTo: A }), AFTER, "closed"],
    ["closed wins over expired", session({ closedAt: 1 }), AFTER, "closed"],
  ] as const)("%s", (_n, facts, now, want) => expect(sessionState(facts, now)).toBe(want));
});

describe("checkExpiresIn", () => {
  it.each([1, 60, 86_400, 30 * 86_400])("accepts %s", (v) => expect(checkExpiresIn(v)).toEqual({ ok: true, seconds: v }));
  it.each([
    ["missing", undefined],
    ["null", null],
    ["a string", "60"],
    ["NaN", Number.NaN],
    ["infinite", Number.POSITIVE_INFINITY],
    ["zero", 0],
    ["negative", -5],
    ["fractional", 1.5],
    ["over 30 days", 30 * 86_400 + 1],
    ["an object", { s: 1 }],
  ])("rejects %s with a message naming expiresIn", (_n, v) => {
    const r = checkExpiresIn(v);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(/expiresIn/);
  });
});

describe("access requests", () => {
  const active = session({ boundTo: A });
  const pending = { status: "pending" as const, expiresAt: T };

  it("a pending request counts as expired from its deadline on", () => {
    expect(accessStatus(pending, BEFORE)).toBe("pending");
    expect(accessStatus(pending, AT)).toBe("expired");
    expect(accessStatus({ status: "granted", expiresAt: T }, AFTER)).toBe("granted");
    expect(accessStatus({ status: "denied", expiresAt: T }, AFTER)).toBe("denied");
  });

  const live = (scope: "view" | "control") => [{ id: "ar_live", grantedScope: scope }];
  it.each([
    ["asks on an active, online session", active, true, [], [], "control", { kind: "ask" }],
    ["refused before the app has bound", session({}), true, [], [], "view", { kind: "refuse", why: "not-active" }],
    ["refused on a closed session", session({ boundTo: A, closedAt: 1 }), true, [], [], "view", { kind: "refuse", why: "not-active" }],
    ["refused while the app is offline", active, false, [], [], "view", { kind: "refuse", why: "offline" }],
    ["refused while another request waits", active, true, [pending], [], "view", { kind: "refuse", why: "already-pending" }],
    [
      "asks when the earlier one has timed out",
      active,
      true,
      [{ status: "pending" as const, expiresAt: BEFORE - 1 }],
      [],
      "view",
      { kind: "ask" },
    ],
    ["asks after an answered one", active, true, [{ status: "denied" as const, expiresAt: T }], [], "view", { kind: "ask" }],
    [
      "refused while control is granted (control again)",
      active,
      true,
      [],
      live("control"),
      "control",
      { kind: "refuse", why: "already-granted" },
    ],
    ["refused while view is granted (view again)", active, true, [], live("view"), "view", { kind: "refuse", why: "already-granted" }],
    [
      "refused while view is granted (a widening to control)",
      active,
      true,
      [],
      live("view"),
      "control",
      { kind: "refuse", why: "already-granted" },
    ],
    [
      "view while control is granted narrows it, without asking",
      active,
      true,
      [],
      live("control"),
      "view",
      { kind: "narrow", grantId: "ar_live" },
    ],
    [
      "refused on a closed session even with a live grant",
      session({ boundTo: A, closedAt: 1 }),
      true,
      [],
      live("control"),
      "view",
      { kind: "refuse", why: "not-active" },
    ],
  ] as const)("%s", (_n, facts, online, reqs, grants, scope, want) => {
    expect(decideAccessRequest(facts, BEFORE, online, reqs, grants, scope)).toEqual(want);
  });

  it.each([
    ["control", "control", "control"],
    ["control", "view", "view"],
    ["view", "view", "view"],
    ["view", "control", "view"], // never wider than asked
    ["control", null, null],
    ["view", null, null],
  ] as const)("requested %s, answered %s → %s", (req, ans, want) => expect(grantedScope(req, ans)).toBe(want));
});

describe("linkAvailable (the link page and download)", () => {
  it.each([
    ["unknown", undefined, BEFORE, false],
    ["waiting before expiry", session({}), BEFORE, true],
    ["unbound at expiry", session({}), AT, false],
    ["bound, after expiry (a re-download on that computer)", session({ boundTo: A }), AFTER, true],
    ["closed", session({ closedAt: 1 }), BEFORE, false],
    ["deleted", session({ deletedAt: 1, closedAt: 1 }), BEFORE, false],
    ["closed while bound", session({ closedAt: 1, boundTo: A }), BEFORE, false],
  ] as const)("%s → %s", (_n, facts, now, want) => expect(linkAvailable(facts, now)).toBe(want));
});

describe("consentChange (the user narrows or stops a grant)", () => {
  const granted = (scope: "view" | "control", endedAt: number | null = null) => ({
    status: "granted" as const,
    expiresAt: T,
    grantedScope: scope,
    endedAt,
  });
  it.each([
    ["control → view", granted("control"), "view", "view"],
    ["control → stop", granted("control"), null, "end"],
    ["view → stop", granted("view"), null, "end"],
    ["view → view (no change)", granted("view"), "view", "view"],
    ["view → control is a widening", granted("view"), "control", "refuse"],
    ["an ended grant", granted("control", 5), null, "refuse"],
    ["a denied request", { status: "denied" as const, expiresAt: T, grantedScope: null }, null, "refuse"],
    ["a pending request", { status: "pending" as const, expiresAt: T, grantedScope: null }, "view", "refuse"],
  ] as const)("%s → %s", (_n, req, to, want) => expect(consentChange(req, to, BEFORE)).toBe(want));

  it("a granted request that ended reads as ended", () => {
    expect(accessStatus({ status: "granted", expiresAt: T, endedAt: 3 }, BEFORE)).toBe("ended");
  });
});
