import { describe, expect, it } from "vitest";
import { statSync, writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createPublicKey, verify } from "node:crypto";
import { formatLink, parseLink, LinkError, supportLink } from "../src/link/support-link.js";
import { parseConsentAnswer } from "../src/agent/consent.js";
import { catalogs, detectLocale, messagesFor, windowsLocale } from "../src/agent/messages.js";
import { cacheDir } from "../src/app/assets.js";
import { backoffMs } from "../src/agent/agent.js";
import { loadOrCreateIdentity, machineFingerprint, defaultStateDir, windowsMachineFingerprint } from "../src/agent/identity.js";
import { parseDuration, UsageError } from "../src/cli/args.js";
import { activationSignedBytes, encodeToAgent, pb } from "../src/proto/wire.js";
import { tempDir } from "./support/procs.js";
import { newSessionCode, hashSecret, SESSION_CODE_PATTERN, hashPassword, verifyPassword } from "../src/util/secrets.js";
import { redactUrl } from "../src/broker/app.js";
import { parseBusUrl } from "../src/broker/bus.js";
import { redactUrlPassword } from "../src/util/text.js";

const CODE = "b19AfmD_fL_TAjNINAo36M971agsGe65";

describe("support links", () => {
  it("derive the agent WebSocket URL from the link", () => {
    expect(parseLink(`http://127.0.0.1:8080/s/${CODE}`)).toEqual({
      base: "http://127.0.0.1:8080",
      host: "127.0.0.1:8080",
      wsUrl: "ws://127.0.0.1:8080/ws/agent",
      code: CODE,
    });
    expect(parseLink(`https://help.example.org/tether/s/${CODE}/`)).toMatchObject({
      base: "https://help.example.org/tether",
      wsUrl: "wss://help.example.org/tether/ws/agent",
    });
    // One module formats and parses: a link it made parses back to its parts; the app's trailer
    // parts give the same link without a string round trip.
    const made = formatLink("https://help.example.org/tether/", CODE);
    expect(made).toBe(`https://help.example.org/tether/s/${CODE}`);
    expect(parseLink(made)).toEqual(supportLink("https://help.example.org/tether", CODE));
    expect(() => supportLink("ftp://x", CODE)).toThrow(LinkError);
    expect(() => supportLink("https://x", "short")).toThrow(LinkError);
  });
  it.each([
    ["not a URL", "hello"],
    ["another scheme", `ftp://x/s/${CODE}`],
    ["no code", "http://127.0.0.1:8080/"],
    ["truncated code", `http://127.0.0.1:8080/s/${CODE.slice(0, 20)}`],
    ["damaged code", `http://127.0.0.1:8080/s/${CODE.slice(0, 31)}!`],
    ["empty code", "http://127.0.0.1:8080/s/"],
  ])("reject %s with a reason", (_n, link) => {
    expect(() => parseLink(link)).toThrow(LinkError);
  });
});

describe("session codes and secrets", () => {
  it("codes carry 192 random bits in 32 URL-safe characters, all different", () => {
    const codes = new Set(Array.from({ length: 1000 }, newSessionCode));
    expect(codes.size).toBe(1000);
    for (const c of codes) expect(c).toMatch(SESSION_CODE_PATTERN);
    expect(Buffer.from([...codes][0]!, "base64url")).toHaveLength(24);
  });
  it("hashes are SHA-256 hex, not the code", () => {
    expect(hashSecret(CODE)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashSecret(CODE)).not.toContain(CODE);
  });
  it("passwords verify only with the right password", async () => {
    const h = await hashPassword("correct horse");
    expect(await verifyPassword("correct horse", h)).toBe(true);
    expect(await verifyPassword("wrong horse", h)).toBe(false);
    expect(await verifyPassword("x", "garbage")).toBe(false);
  });
  it("the link path is redacted in logs", () => {
    expect(redactUrl(`/s/${CODE}`)).toBe("/s/[redacted]");
    expect(redactUrl("/api/sessions")).toBe("/api/sessions");
  });
});

describe("consent answers", () => {
  it.each([
    ["y", "control", "control"],
    ["YES ", "control", "control"],
    ["j", "control", "control"],
    ["ja", "view", "view"],
    ["v", "control", "view"],
    ["v", "view", "view"],
    ["n", "control", null],
    ["", "control", null],
    ["yes please", "control", null],
    [null, "control", null], // end of input denies
  ] as const)("%j to %s → %s", (line, requested, want) => expect(parseConsentAnswer(line, requested)).toBe(want));
});

describe("locale", () => {
  it.each([
    [{ LANG: "de_DE.UTF-8" }, "de"],
    [{ LC_ALL: "de_AT.UTF-8", LANG: "en_US.UTF-8" }, "de"],
    [{ LC_MESSAGES: "de_CH" }, "de"],
    [{ LC_ALL: "C", LANG: "de_DE" }, "en"],
    [{ LANG: "en_GB.UTF-8" }, "en"],
    [{}, "en"],
  ] as const)("%j → %s", (env, want) => expect(detectLocale(env)).toBe(want));

  it.each([
    ["de-DE", "de"],
    ["de-AT", "de"],
    ["de", "de"],
    ["en-US", "en"],
    ["fr-FR", "en"],
    ["dsb-DE", "en"],
    [null, "en"],
  ] as const)("Windows display language %s → %s (never the environment)", (tag, want) => expect(windowsLocale(tag)).toBe(want));

  it("on Windows the lines naming Linux files and the X display say what Windows has instead; the rest is the same", () => {
    for (const locale of ["en", "de"] as const) {
      for (const window of [false, true]) {
        const linux = messagesFor(locale, "linux", window);
        const windows = messagesFor(locale, "windows", window);
        expect(linux.noMachineId).toMatch(/machine-id/);
        expect(windows.noMachineId).toMatch(/MachineGuid/);
        expect(windows.noMachineId).not.toMatch(/\/etc\//);
        expect(linux.cannotShare("no-display", "")).toMatch(/DISPLAY/);
        expect(windows.cannotShare("no-display", "")).not.toMatch(/DISPLAY/);
        expect(windows.cannotShare("capture-failed", "E")).toBe(linux.cannotShare("capture-failed", "E"));
        expect(windows.invalid).toBe(linux.invalid);
        expect(windows.grantedControl("Jane")).toBe(linux.grantedControl("Jane"));
      }
    }
    expect(messagesFor("de", "windows").noMachineId).toMatch(/^Dieser Computer kann nicht erkannt werden/);
  });

  it("both catalogs have every message, the seed's three exactly", () => {
    expect(Object.keys(catalogs.de).sort()).toEqual(Object.keys(catalogs.en).sort());
    expect(catalogs.en.invalid).toBe("The support session is invalid.");
    expect(catalogs.de.invalid).toBe("Die Support-Sitzung ist ungültig.");
    expect(catalogs.en.expired).toBe("The support session has expired.");
    expect(catalogs.de.expired).toBe("Die Support-Sitzung ist abgelaufen.");
    expect(catalogs.en.closed).toBe("The support session was closed by your support technician.");
    expect(catalogs.de.closed).toBe("Die Support-Sitzung wurde von Ihrem Supportmitarbeiter geschlossen.");
    expect(catalogs.en.requestView("X")).toContain("requests to view your screen");
    expect(catalogs.en.requestControl("X")).toContain("requests to control your screen");
  });
});

describe("durations for --expires", () => {
  it.each([
    ["1d", 86400],
    ["2h", 7200],
    ["30m", 1800],
    ["45s", 45],
    ["90", 90],
  ])("%s = %i s", (t, s) => expect(parseDuration(t)).toBe(s));
  it.each(["", "1w", "-5", "1.5h", "soon"])("%j is a usage error", (t) => expect(() => parseDuration(t)).toThrow(UsageError));
});

describe("reconnect backoff", () => {
  it("grows from 125-250 ms to at most 5 s, with jitter", () => {
    expect(backoffMs(0, () => 0)).toBe(125);
    expect(backoffMs(0, () => 1)).toBe(250);
    expect(backoffMs(3, () => 0.5)).toBe(1500);
    expect(backoffMs(30, () => 1)).toBe(5000);
    expect(backoffMs(30, () => 0)).toBe(2500);
  });
});

describe("identity", () => {
  it("creates the key pair once, mode 0600 in a 0700 folder, and signs verifiably", () => {
    const dir = join(tempDir("tether-id-"), "tether");
    const a = loadOrCreateIdentity(dir);
    const b = loadOrCreateIdentity(dir);
    expect(b.publicKey.equals(a.publicKey)).toBe(true);
    expect(a.publicKey).toHaveLength(32);
    expect(statSync(join(dir, "identity.pem")).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const data = activationSignedBytes(Buffer.alloc(32, 1), CODE, a.publicKey, Buffer.alloc(32, 2));
    const key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: a.publicKey.toString("base64url") }, format: "jwk" });
    expect(verify(null, data, key, a.sign(data))).toBe(true);
    expect(verify(null, Buffer.concat([data, Buffer.from([0])]), key, a.sign(data))).toBe(false);
  });

  it("the state folder follows XDG_STATE_HOME, else ~/.local/state", () => {
    expect(defaultStateDir({ XDG_STATE_HOME: "/x/state" })).toBe("/x/state/tether");
    expect(defaultStateDir({ XDG_STATE_HOME: "relative" })).toMatch(/\.local\/state\/tether$/);
    // Windows: under the user's local application data (the key file's rights: test/windows-app.test.ts).
    expect(defaultStateDir({ LOCALAPPDATA: "C:\\Users\\jo\\AppData\\Local", XDG_STATE_HOME: "/x" }, "win32")).toBe(
      "C:\\Users\\jo\\AppData\\Local\\Tether",
    );
    expect(defaultStateDir({ LOCALAPPDATA: "relative" }, "win32")).toMatch(/\\AppData\\Local\\Tether$/);
    expect(cacheDir({ LOCALAPPDATA: "C:\\Users\\jo\\AppData\\Local" }, "win32")).toBe("C:\\Users\\jo\\AppData\\Local\\Tether\\cache");
  });

  it("the fingerprint derives from the machine id, falls back to the dbus file, and hides the id", () => {
    const dir = tempDir("tether-mid-");
    const etc = join(dir, "etc-machine-id");
    const dbus = join(dir, "dbus-machine-id");
    writeFileSync(dbus, "0123456789abcdef0123456789abcdef\n");
    const viaDbus = machineFingerprint([etc, dbus]);
    expect(viaDbus).toHaveLength(32);
    writeFileSync(etc, "fedcba9876543210fedcba9876543210\n");
    const viaEtc = machineFingerprint([etc, dbus]);
    expect(viaEtc!.equals(viaDbus!)).toBe(false);
    expect(viaEtc!.toString("hex")).not.toContain("fedcba9876543210");
    expect(machineFingerprint([join(dir, "none")])).toBeNull();
    expect(readFileSync(etc, "utf8")).toContain("fedcba"); // untouched
  });
  it("Windows: the machine GUID's digits give the fingerprint a machine-id file with them gives", () => {
    const dir = tempDir("mid-win-");
    const file = join(dir, "machine-id");
    writeFileSync(file, "1b4e28ba2fa111d2883f0016d3cca427\n");
    const fromFile = machineFingerprint([file]);
    for (const guid of [
      "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
      "{1B4E28BA-2FA1-11D2-883F-0016D3CCA427}",
      " 1b4e28ba-2fa1-11d2-883f-0016d3cca427\r\n",
    ]) {
      expect(windowsMachineFingerprint(() => guid)!.equals(fromFile!)).toBe(true);
    }
    expect(windowsMachineFingerprint(() => "1b4e28ba2fa111d2883f0016d3cca427-")).toBeNull();
    expect(windowsMachineFingerprint(() => "")).toBeNull();
    expect(
      windowsMachineFingerprint(() => {
        throw new Error("ERR_INTERNAL");
      }),
    ).toBeNull();
  });
});

describe("wire protocol", () => {
  it("the signed bytes are length-prefixed: shifting bytes between fields changes them", () => {
    const n = Buffer.alloc(32, 7);
    const x = activationSignedBytes(n, "ab", Buffer.from("c"), Buffer.from("d"));
    const y = activationSignedBytes(n, "a", Buffer.from("bc"), Buffer.from("d"));
    expect(x.equals(y)).toBe(false);
  });
  it("envelopes round-trip", () => {
    const bytes = encodeToAgent({
      accessRequest: { id: "ar_1", scope: pb.Scope.SCOPE_CONTROL, technicianName: "Jane", expiresAtMs: 1_700_000_000_000 },
    });
    const back = pb.BrokerToAgent.decode(bytes);
    expect(back.body).toBe("accessRequest");
    expect(back.accessRequest?.technicianName).toBe("Jane");
    expect(back.accessRequest?.expiresAtMs).toBe(1_700_000_000_000);
  });
});

describe("support-app trailer", async () => {
  const { makeTrailer, parseTrailer } = await import("../src/link/trailer.js");
  const { generateKeyPairSync, createPublicKey } = await import("node:crypto");
  const { privateKey } = generateKeyPairSync("ed25519");
  const pub = createPublicKey(privateKey).export({ format: "jwk" }).x!;
  const other = createPublicKey(generateKeyPairSync("ed25519").privateKey).export({ format: "jwk" }).x!;
  const payload = {
    v: 2 as const,
    broker: "https://help.example.org",
    code: CODE,
    session: "s_abc",
    issuedAt: 1,
    image: { size: 5000, sha256: "ab".repeat(32) },
  };
  const exe = Buffer.concat([Buffer.alloc(5000, 0x7f), makeTrailer(payload, privateKey)]);

  it("verifies with the key the app was built with", () => {
    expect(parseTrailer(exe, pub)).toEqual({ ok: true, payload });
  });
  it("refuses another broker's key, any flipped byte, and a file without trailer", () => {
    expect(parseTrailer(exe, other)).toEqual({ ok: false, reason: "tampered" });
    for (const at of [exe.length - 80, exe.length - 100, exe.length - 140]) {
      const bad = Buffer.from(exe);
      bad[at] = bad[at]! ^ 1;
      expect(parseTrailer(bad, pub).ok).toBe(false);
    }
    expect(parseTrailer(Buffer.alloc(5000), pub)).toEqual({ ok: false, reason: "missing" });
    const huge = Buffer.from(exe);
    huge.writeUInt32BE(0xffffff, huge.length - 16);
    expect(parseTrailer(huge, pub)).toEqual({ ok: false, reason: "tampered" });
  });
});

describe("link page choices", async () => {
  const { pageLocale, detectPlatform } = await import("../src/broker/link-page.js");
  it.each([
    ["de-DE,de;q=0.9,en;q=0.8", "de"],
    ["en-US,en;q=0.9,de;q=0.8", "en"],
    ["fr-FR,de;q=0.5,en;q=0.4", "de"],
    ["fr-FR", "en"],
    ["en;q=0.2,de;q=0.9", "de"],
    [undefined, "en"],
  ])("Accept-Language %j → %s", (h, want) => expect(pageLocale(h)).toBe(want));
  it.each([
    ["Mozilla/5.0 (X11; Linux x86_64) Chrome/126", "linux-x64"],
    ["Mozilla/5.0 (X11; Linux aarch64) Firefox/128", "linux-other"],
    ["Mozilla/5.0 (Windows NT 10.0; Win64; x64)", "windows"],
    ["Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5)", "mac"],
    ["Mozilla/5.0 (Linux; Android 14) Mobile", "other"],
    ["curl/8.0", "other"],
  ])("%s → %s", (ua, want) => expect(detectPlatform(ua)).toBe(want));
});

describe("ICE servers", async () => {
  const { iceServers } = await import("../src/broker/app.js");
  const { createHmac } = await import("node:crypto");
  it("none by default; STUN as given; TURN with time-limited REST credentials", () => {
    expect(iceServers(undefined, "s_1", 0)).toEqual([]);
    expect(iceServers({ stun: [], turn: [] }, "s_1", 0)).toEqual([]);
    const got = iceServers({ stun: ["stun:a:3478"], turn: ["turn:b:3478"], turnSecret: "shh", turnTtlS: 600 }, "s_1", 1_000_000);
    expect(got[0]).toEqual({ urls: ["stun:a:3478"] });
    expect(got[1]!.username).toBe("1600:s_1");
    expect(got[1]!.credential).toBe(createHmac("sha1", "shh").update("1600:s_1").digest("base64"));
  });
});

describe("the cluster's NATS address (--bus)", () => {
  it("takes servers, TLS, a user and password or a token; the shown URL has no secret", () => {
    expect(parseBusUrl("nats://127.0.0.1:4222")).toEqual({ servers: ["127.0.0.1:4222"], tls: false, shown: "nats://127.0.0.1:4222" });
    const a = parseBusUrl("tls://tether:s%40cr%3At@nats-1.example.org:4222,nats-2.example.org:4222,[::1]:4223");
    expect(a).toMatchObject({
      servers: ["nats-1.example.org:4222", "nats-2.example.org:4222", "[::1]:4223"],
      tls: true,
      user: "tether",
      pass: "s@cr:t",
    });
    expect(a.shown).toBe("tls://tether:***@nats-1.example.org:4222,nats-2.example.org:4222,[::1]:4223");
    const t = parseBusUrl("nats://sekrit-token@nats.example.org");
    expect(t).toMatchObject({ token: "sekrit-token", servers: ["nats.example.org"] });
    expect(t.user).toBeUndefined();
    expect(t.shown).toBe("nats://***@nats.example.org");
  });

  it("refuses anything else with a line that names the form and not the secret", () => {
    for (const bad of [
      "http://nats.example.org",
      "nats://",
      "nats://host:4222/path",
      "nats://a:b@host:port",
      "nats://u:%zz@host",
      "nats.example.org:4222",
    ]) {
      expect(() => parseBusUrl(bad), bad).toThrow(/^--bus/);
    }
    expect(() => parseBusUrl("http://tether:hunter2@nats.example.org")).toThrow(/tether:\*\*\*@/);
    expect(() => parseBusUrl("http://tether:hunter2@nats.example.org")).not.toThrow(/hunter2/);
    expect(() => parseBusUrl("nats://u:%zz@host")).not.toThrow(/%zz/);
  });

  it("a store URL is shown without its password", () => {
    expect(redactUrlPassword("postgres://tether:hunter2@db.example.org/tether")).toBe("postgres://tether:***@db.example.org/tether");
    expect(redactUrlPassword("postgres://db.example.org/tether")).toBe("postgres://db.example.org/tether");
  });
});
