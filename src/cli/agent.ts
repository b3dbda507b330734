import { cpus, hostname } from "node:os";
import { createInterface } from "node:readline";
import { runAgent, type AccessHandle, type AccessHooks, type IceServers, type LineSource } from "../agent/agent.js";
import { ShareError } from "../agent/grants.js";
import { safetyCode } from "../session/safety-code.js";
import type { Scope } from "../session/rules.js";
import { defaultStateDir, loadOrCreateIdentity, machineFingerprint, type Identity } from "../agent/identity.js";
import { LinkError, parseLink, type SupportLink } from "../link/support-link.js";
import { catalogs, detectLocale, Exit } from "../agent/messages.js";
import { CliError, intOption, parse, UsageError } from "./args.js";
import { VERSION } from "./version.js";

export const agentHelp = `Usage: tether agent <link> [--give-up-after SECONDS]

The support app. Connects this computer to the support session in <link> (the link your
technician sent). The first run binds the session to this computer. Nothing on the screen is
shared until you allow it: each request from your technician is asked here, answer with
y (yes), v (view only) or n (no). Ctrl+C quits; the session stays open and you can start again.

Options:
  --give-up-after S   stop retrying after the server has been unreachable for S seconds (default 300)

Exit codes: 0 you quit, 1 server unreachable or refused, 2 bad link or usage,
3 session invalid, 4 session expired, 5 session closed by your technician.
Language: German when LC_ALL, LC_MESSAGES or LANG start with "de", English otherwise.`;

/** Lines from standard input: answers to a waiting prompt, otherwise the user's commands (v, s). */
class StdinLines implements LineSource {
  private waiter: ((v: string | null | undefined) => void) | null = null;
  private idle: (line: string) => void = () => {};
  private eof = false;
  constructor() {
    const rl = createInterface({ input: process.stdin, terminal: false });
    rl.on("line", (line) => (this.waiter ? this.settle(line) : this.idle(line)));
    rl.on("close", () => {
      this.eof = true;
      this.settle(null);
    });
  }
  private settle(v: string | null | undefined) {
    const w = this.waiter;
    this.waiter = null;
    w?.(v);
  }
  next() {
    return this.eof ? Promise.resolve(null) : new Promise<string | null | undefined>((r) => (this.waiter = r));
  }
  cancel() {
    this.settle(undefined);
  }
  onIdleLine(handler: (line: string) => void) {
    this.idle = handler;
  }
}

/** `tether agent <link> [options]`: the support app with a link given as an argument. */
export async function agentCommand(args: string[]): Promise<number> {
  const { positionals } = parse(args, agentOptions);
  const m = catalogs[detectLocale(process.env)];
  if (positionals.length !== 1) throw new UsageError("tether agent needs exactly one argument: the support link");
  let link;
  try {
    link = parseLink(positionals[0]!);
  } catch (err) {
    if (err instanceof LinkError) throw new CliError(m.badLink(err.reason), Exit.USAGE);
    throw err;
  }
  return runSupportApp(link, args.filter((a) => a !== positionals[0]));
}

const agentOptions = { "give-up-after": { type: "string" } } as const;

/** The support app for `link` (from the command line, or from the single-file app's trailer). */
export async function runSupportApp(link: SupportLink, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, agentOptions);
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const locale = detectLocale(process.env);
  const m = catalogs[locale];
  const giveUpAfterMs = intOption(values["give-up-after"], "--give-up-after", 300, 1, 7 * 86400) * 1000;
  const fingerprint = machineFingerprint();
  if (!fingerprint) throw new CliError(m.noMachineId, Exit.UNREACHABLE);
  const stateDir = defaultStateDir(process.env);
  let identity: Identity | null = null;
  const getIdentity = () => {
    try {
      return (identity ??= loadOrCreateIdentity(stateDir));
    } catch (err) {
      throw new CliError(m.stateError(stateDir, (err as NodeJS.ErrnoException).code ?? (err as Error).message), Exit.UNREACHABLE);
    }
  };
  getIdentity(); // fail early and clearly if the state folder is not usable

  const quit = new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
  return runAgent({
    link,
    identity: getIdentity,
    fingerprint,
    machineName: hostname(),
    os: `${process.platform} ${process.arch}`,
    version: VERSION,
    locale,
    messages: m,
    out: (line) => process.stdout.write(line + "\n"),
    input: new StdinLines(),
    giveUpAfterMs,
    quit,
    prepareAccess,
    safetyCode,
  });
}

let fieldTrialsSet = false;

/**
 * libwebrtc tuning that @roamhq/wrtc has no API for (see src/native/field-trials.ts), set once
 * before the first peer connection. TETHER_WEBRTC_FIELD_TRIALS replaces the string ("" = libwebrtc's
 * defaults; the latency benchmark compares both), and the same for the core count libwebrtc assumes
 * the VP8 active map, profile and encoder, and the padding floor. When the module cannot be changed, WebRTC runs with its defaults: slower to
 * show frames, nothing else; TETHER_TRACE_FRAMES=1 says why on stderr.
 */
function applyFieldTrials(native: typeof import("../native/index.js")): void {
  if (fieldTrialsSet) return;
  fieldTrialsSet = true;
  const trials = process.env["TETHER_WEBRTC_FIELD_TRIALS"] ?? native.AGENT_FIELD_TRIALS;
  tune("TETHER_FIELD_TRIALS", { trials }, () => native.setWebRtcFieldTrials(trials));
  // VP8 encodes only the changed macroblocks (see enableVp8ActiveMap); TETHER_VP8_ACTIVE_MAP=0 turns it off.
  if (process.env["TETHER_VP8_ACTIVE_MAP"] !== "0") tune("TETHER_VP8_ACTIVE_MAP", {}, () => native.enableVp8ActiveMap());
  // VP8 bitstream profile 2: no loop filter (see AGENT_VP8_PROFILE); TETHER_VP8_PROFILE=0..3 picks
  // another, "" leaves libwebrtc's (0).
  const profileEnv = process.env["TETHER_VP8_PROFILE"];
  if (profileEnv !== "") {
    const profile = profileEnv === undefined ? native.AGENT_VP8_PROFILE : Number(profileEnv);
    tune("TETHER_VP8_PROFILE", { profile }, () => native.setVp8Profile(profile));
  }
  // Tether's libvpx for VP8 (see AGENT_VP8_ENCODER); TETHER_VP8_ENCODER=libwebrtc keeps the
  // module's own.
  const encoderEnv = process.env["TETHER_VP8_ENCODER"];
  const encoder = encoderEnv === "libwebrtc" ? "libwebrtc" : native.AGENT_VP8_ENCODER;
  tune("TETHER_VP8_ENCODER", { encoder }, () => native.setVp8Encoder(encoder));
  // No padding on a still screen (see AGENT_MIN_TRANSMIT_BPS); TETHER_WEBRTC_MIN_TRANSMIT_KBPS sets
  // another floor, "" leaves libwebrtc's (100 kbit/s for a screen share).
  const padEnv = process.env["TETHER_WEBRTC_MIN_TRANSMIT_KBPS"];
  if (padEnv !== "") {
    const bps = padEnv === undefined ? native.AGENT_MIN_TRANSMIT_BPS : Number(padEnv) * 1000;
    tune("TETHER_WEBRTC_MIN_TRANSMIT", { bps }, () => native.setMinTransmitBitrate(bps));
  }
  // The core count libwebrtc sizes its encoder threads by (see agentWebRtcCores).
  // TETHER_WEBRTC_CORES replaces it ("" = libwebrtc's own count).
  const env = process.env["TETHER_WEBRTC_CORES"];
  const cores = env === undefined ? native.agentWebRtcCores(cpus().length) : env === "" ? null : Number(env);
  if (cores !== null) tune("TETHER_WEBRTC_CORES", { cores }, () => native.setWebRtcCoreCount(cores));
}

/**
 * Runs one libwebrtc tuning call. Never throws: a module that cannot be changed leaves WebRTC with
 * its defaults; with TETHER_TRACE_FRAMES=1 the outcome goes to stderr as `<name> {...fields, outcome}`.
 */
function tune(name: string, fields: Record<string, unknown>, call: () => { result: string; detail: string; detected?: number }): void {
  let outcome: string;
  try {
    const r = call();
    outcome = r.result !== "ok" ? `${r.result}: ${r.detail}` : r.detected === undefined ? "ok" : `ok (detected ${r.detected})`;
  } catch (err) {
    outcome = (err as Error).message.split("\n")[0]!;
  }
  if (process.env["TETHER_TRACE_FRAMES"] === "1") process.stderr.write(`${name} ${JSON.stringify({ ...fields, outcome })}\n`);
}

/**
 * Screen sharing with the real parts: @roamhq/wrtc and the native capturer and
 * injector, loaded only now (when a request arrives), so an app that is never asked never loads
 * them. The connection is prepared here (its certificate, for the safety code); the capturer opens
 * only in begin(), after consent.
 */
async function prepareAccess(hooks: AccessHooks, iceServers: IceServers, expectRemote: string | null): Promise<AccessHandle> {
  const [wrtc, native, { RemoteAccess }] = await Promise.all([
    import("@roamhq/wrtc"),
    import("../native/index.js"),
    import("../agent/remote-access.js"),
  ]);
  applyFieldTrials(native);
  const access = new RemoteAccess({
    wrtc: (wrtc.default ?? wrtc) as unknown as ConstructorParameters<typeof RemoteAccess>[0]["wrtc"],
    openCapturer: () => native.ScreenCapturer.open({ damage: true }),
    openInjector: () => native.InputInjector.open(),
    encoderStats: () => native.vp8ActiveMapStats(),
    iceServers,
    expectRemote,
    ...hooks,
  });
  await access.prepare();
  return {
    get fingerprint() {
      return access.fingerprint;
    },
    begin(scope: Scope) {
      try {
        access.begin(scope);
      } catch (err) {
        access.stop();
        const e = err as Error & { code?: string };
        throw e.code === "ERR_NO_DISPLAY" ? new ShareError("no-display") : new ShareError("capture-failed", e.code ?? e.message.split("\n")[0]!);
      }
    },
    signal: (p) => access.signal(p),
    narrowToView: () => access.narrowToView(),
    stop: (replaced) => access.stop(replaced),
  };
}
