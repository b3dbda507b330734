import { cpus, hostname } from "node:os";
import { createInterface } from "node:readline";
import { runAgent, type AccessHandle, type AccessHooks, type IceServers, type LineSource, type UserInterface } from "../agent/agent.js";
import { TerminalUI } from "../agent/terminal-ui.js";
import { WindowUI } from "../agent/window-ui.js";
import { ShareError } from "../agent/grants.js";
import { safetyCode } from "../session/safety-code.js";
import type { Scope } from "../session/rules.js";
import { defaultStateDir, loadOrCreateIdentity, machineFingerprint, windowsMachineFingerprint, type Identity } from "../agent/identity.js";
import { LinkError, parseLink, type SupportLink } from "../link/support-link.js";
import { catalogs, detectLocale, Exit, hostOs, messagesFor, windowsLocale, type HostOs, type Locale } from "../agent/messages.js";
import type { NativeAddon } from "../native/addon.js";
import { loadNative } from "../native/loader.js";
import { applyWebRtcTuning, tuningTraceLine, webRtcTuningFromEnv } from "../agent/webrtc-tuning.js";
import { CliError, intOption, parse, UsageError } from "./args.js";
import { VERSION } from "./version.js";
import { trustedCertificates } from "../util/tls.js";

export const agentHelp = `Usage: tether agent <link> [--give-up-after SECONDS] [--window]

The support app. Connects this computer to the support session in <link> (the link your
technician sent). The first run binds the session to this computer. Nothing on the screen is
shared until you allow it: each request from your technician is asked here, answer with
y (yes), v (view only) or n (no). Ctrl+C quits; the session stays open and you can start again.

Options:
  --give-up-after S   stop retrying after the server has been unreachable for S seconds (default 300)
  --window            use the app window (consent dialog, sharing bar) instead of this terminal
  --no-window         stay in the terminal (the default of tether agent)
  --ca FILE           also trust this CA for an https:// link (or TETHER_CA_FILE); the system's
                      certificates and Node's are trusted anyway

Exit codes: 0 you quit, 1 server unreachable or refused, 2 bad link or usage,
3 session invalid, 4 session expired, 5 session closed by your technician.
Language: German when LC_ALL, LC_MESSAGES or LANG start with "de" (on Windows: when the
display language is German), English otherwise.`;

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
  return runSupportApp(
    link,
    args.filter((a) => a !== positionals[0]),
  );
}

const agentOptions = {
  "give-up-after": { type: "string" },
  window: { type: "boolean" },
  "no-window": { type: "boolean" },
  ca: { type: "string" },
} as const;

/**
 * The support app for `link` (from the command line, or from the single-file app's trailer).
 * `windowByDefault`: the app window unless --no-window (the single-file app); otherwise only with
 * --window (tether agent). Where no window can be shown, the terminal.
 */
export async function runSupportApp(link: SupportLink, args: string[], windowByDefault = false): Promise<number> {
  const { values, positionals } = parse(args, agentOptions);
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (values.window && values["no-window"]) throw new UsageError("--window and --no-window exclude each other");
  const host = userHost();
  const { os, locale } = host;
  const m = messagesFor(locale, os);
  const giveUpAfterMs = intOption(values["give-up-after"], "--give-up-after", 300, 1, 7 * 86400) * 1000;
  const fingerprint = host.fingerprint();
  if (!fingerprint) throw new CliError(m.noMachineId, Exit.UNREACHABLE);
  const stateDir = defaultStateDir(process.env);
  let identity: Identity | null = null;
  const getIdentity = () => {
    try {
      return (identity ??= loadOrCreateIdentity(stateDir, host.restrictToOwner));
    } catch (err) {
      throw new CliError(m.stateError(stateDir, (err as NodeJS.ErrnoException).code ?? (err as Error).message), Exit.UNREACHABLE);
    }
  };
  getIdentity(); // fail early and clearly if the state folder is not usable
  const caFile = values.ca ?? process.env["TETHER_CA_FILE"];
  let ca: string[];
  try {
    ca = trustedCertificates(caFile || undefined);
  } catch (err) {
    throw new CliError(`cannot read the CA file ${caFile} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, Exit.USAGE);
  }

  const signals = new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
  const out = (line: string) => process.stdout.write(line + "\n");
  let ui: UserInterface | null = null;
  if (values.window || (windowByDefault && !values["no-window"])) {
    process.stdout.on("error", () => {}); // started from a file manager: stdout may lead nowhere
    const w = await WindowUI.start({ locale, os, signals, out });
    if ("error" in w) process.stderr.write(m.noWindow(w.error) + "\n");
    else {
      ui = w;
      host.windowShown();
    }
  }
  ui ??= new TerminalUI({ messages: m, out, input: new StdinLines(), quit: signals });
  const code = await runAgent({
    link,
    identity: getIdentity,
    fingerprint,
    machineName: hostname(),
    os: `${process.platform} ${process.arch}`,
    version: VERSION,
    locale,
    ui,
    ...(link.wsUrl.startsWith("wss:") && { ca }),
    giveUpAfterMs,
    prepareAccess,
    safetyCode,
  });
  if (ui instanceof WindowUI) ui.close();
  return code;
}

/**
 * What differs between the operating systems the app runs on, decided once at start: the language,
 * the machine fingerprint and how the key file is kept private. On Windows all three come from the
 * native addon (loaded now: without the machine GUID the app cannot identify the computer).
 */
export interface UserHost {
  os: HostOs;
  locale: Locale;
  fingerprint(): Buffer | null;
  /** Windows: the key file's rights (else mode 0600 from the caller). */
  restrictToOwner?: (file: string) => void;
  /** The app window is up: on Windows the console it was double-clicked with is hidden. */
  windowShown(): void;
}

export function userHost(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): UserHost {
  if (hostOs(platform) === "linux")
    return { os: "linux", locale: detectLocale(env), fingerprint: () => machineFingerprint(), windowShown: () => {} };
  let native: NativeAddon | null = null;
  try {
    native = loadNative();
  } catch {
    native = null; // reported as "cannot identify this computer" below
  }
  let tag: string | null;
  try {
    tag = native?.uiLanguage() ?? null;
  } catch {
    tag = null;
  }
  return {
    os: "windows",
    locale: windowsLocale(tag),
    fingerprint: () => (native ? windowsMachineFingerprint(() => native.machineId()) : null),
    restrictToOwner: (file) => {
      if (!native) throw new Error("the native addon is not loaded");
      native.restrictToOwner(file);
    },
    windowShown: () => {
      try {
        native?.hideOwnConsole();
      } catch {
        // the console stays: nothing lost
      }
    },
  };
}

let webRtcTuned = false;

/**
 * libwebrtc tuning that @roamhq/wrtc has no API for: the agent's settings and their TETHER_*
 * overrides (src/agent/webrtc-tuning.ts), applied once, before the first peer connection. A setting
 * the module cannot take leaves libwebrtc's own behaviour; with TETHER_TRACE_FRAMES=1 each
 * setting's outcome goes to stderr as `<name> {...fields, outcome}` (the latency benchmark reads it).
 */
function tuneWebRtc(native: typeof import("../native/index.js")): void {
  if (webRtcTuned) return;
  webRtcTuned = true;
  const reports = applyWebRtcTuning(webRtcTuningFromEnv(process.env, cpus().length), (t) => native.configureWebRtc(t));
  if (process.env["TETHER_TRACE_FRAMES"] === "1") for (const r of reports) process.stderr.write(tuningTraceLine(r) + "\n");
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
  tuneWebRtc(native);
  const access = new RemoteAccess({
    wrtc: (wrtc.default ?? wrtc) as unknown as ConstructorParameters<typeof RemoteAccess>[0]["wrtc"],
    openCapturer: () => native.ScreenCapturer.open({ damage: true }),
    openInjector: () => native.InputInjector.open(),
    encoderStats: () => native.webRtcStats().vp8,
    requestKeyFrame: () => native.requestKeyFrame(),
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
        throw e.code === "ERR_NO_DISPLAY"
          ? new ShareError("no-display")
          : new ShareError("capture-failed", e.code ?? e.message.split("\n")[0]!);
      }
    },
    signal: (p) => access.signal(p),
    narrowToView: () => access.narrowToView(),
    networkChanged: () => access.networkChanged(),
    iceServersChanged: (servers) => access.iceServersChanged(servers),
    signalingBack: () => access.signalingBack(),
    stop: (replaced) => access.stop(replaced),
  };
}
