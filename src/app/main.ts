/**
 * Entry point of the single-file support app (`npm run build:app` bundles this with esbuild into a
 * Node single executable). Before anything else it reads the signed session data appended to its
 * own file, verifies it against the key it was built with, and checks that every byte before it is
 * the image the broker signed (src/app/integrity.ts); then it runs exactly the code of
 * `tether agent <link>`.
 */
import { createRequire } from "node:module";
import { agentHelp, runSupportApp } from "../cli/agent.js";
import { LinkError, supportLink } from "../link/support-link.js";
import { CliError, UsageError } from "../cli/args.js";
import { catalogs, detectLocale, Exit, hostOs, windowsLocale } from "../agent/messages.js";
import { checkOwnFile, ownFile } from "./integrity.js";
import { extractAssets, seaApi } from "./assets.js";

/** Replaced at build time with the broker's app-signing public key (base64url, raw Ed25519). */
declare const __TETHER_APP_KEY__: string;

/** Native parts carried inside the app, by the names they are written to disk with; see scripts/build-app.mjs. */
export const NATIVE_ASSETS = {
  linux: ["wrtc.node", "tether_native.node", "tether-window"],
  windows: ["wrtc.node", "tether_native.node", "tether-window.exe"],
} as const;

const out = (s: string) => process.stdout.write(s + "\n");

/**
 * What the tuning costs where it is unavailable (README, "WebRTC tuning": each measured on Linux
 * against the same agent without it).
 */
const NO_TUNING_ON_WINDOWS =
  "webrtc tuning: unavailable on Windows (it hooks the Linux build of the WebRTC module); libwebrtc's defaults cost, as measured on Linux, about 12 ms more per frame and up to twice the CPU time while typing or animating";

async function main(argv: string[]): Promise<number> {
  const os = hostOs();
  // Before the image is checked nothing of it is loaded, so on Windows the display language (the
  // native addon's) is not known yet: these first lines follow the regional format's language.
  const m = catalogs[os === "windows" ? windowsLocale(Intl.DateTimeFormat().resolvedOptions().locale) : detectLocale(process.env)];
  let self: ReturnType<typeof checkOwnFile>;
  try {
    self = checkOwnFile(ownFile(), __TETHER_APP_KEY__);
  } catch {
    self = { ok: false, reason: "tampered" }; // unreadable or shorter than its trailer claims
  }
  if (!self.ok) {
    process.stderr.write((self.reason === "missing" ? m.appNoSession : m.appTampered) + "\n");
    return Exit.USAGE;
  }
  const { broker, code, session } = self.payload;
  let link;
  try {
    link = supportLink(broker, code);
  } catch (err) {
    if (!(err instanceof LinkError)) throw err;
    process.stderr.write(m.appTampered + "\n"); // signed by the broker, yet not a link: never run
    return Exit.USAGE;
  }

  // Native parts: unpack to the private cache (again when a cached file differs), then load from there.
  const req = createRequire(process.execPath);
  const sea = seaApi(req);
  if (sea) {
    const files = extractAssets(sea, NATIVE_ASSETS[os], process.env);
    (globalThis as { __tetherNative?: (name: string) => unknown }).__tetherNative = (name) => {
      const mod = { exports: {} as unknown };
      process.dlopen(mod, files[name]!);
      return mod.exports;
    };
    process.env.TETHER_NATIVE_PATH = files["tether_native.node"];
    process.env.TETHER_WINDOW_PATH = files[NATIVE_ASSETS[os][2]];
  }

  if (argv.includes("--help") || argv.includes("-h")) {
    out(
      agentHelp
        .replace(
          "Usage: tether agent <link> [--give-up-after SECONDS] [--window]",
          "Usage: tether-support [--no-window] [--give-up-after SECONDS] [--check]",
        )
        .replace(
          "  --no-window         stay in the terminal (the default of tether agent)",
          "  --no-window         stay in the terminal (the app shows its window where it can)",
        )
        .replace(/\n {2}--window .*\n/, "\n")
        .replace(
          "Connects this computer to the support session in <link> (the link your\ntechnician sent).",
          `Connects this computer to support session ${session} at ${new URL(broker).host}\n(built into this file).`,
        ) + "\n  --check             check that the app's built-in parts work on this computer, then exit",
    );
    return Exit.OK;
  }
  if (argv.includes("--check")) {
    const w = (await import("@roamhq/wrtc")) as unknown as { default?: { RTCPeerConnection?: unknown }; RTCPeerConnection?: unknown };
    const wrtcOk = typeof (w.default ?? w).RTCPeerConnection === "function";
    out(`session: ${session} at ${new URL(broker).host}`);
    out(`integrity: ok (${(self.imageBytes / 1e6).toFixed(1)} MB checked in ${Math.round(self.ms)} ms)`);
    out(`runtime: Node.js ${process.version} (${process.release.lts ? `${process.release.lts} LTS` : "not LTS"})`);
    out(`webrtc: ${wrtcOk ? "ok" : "missing"}`);
    // Which interface the app would use here: its window (GTK 3 or Win32), or the terminal, and why.
    const { probeWindow } = await import("../agent/window-ui.js");
    const win = probeWindow(process.env, os);
    out(
      win.ok
        ? `interface: window (${win.toolkit})`
        : `interface: terminal (${
            win.reason === "no-display"
              ? `no display: ${win.detail}`
              : win.reason === "no-toolkit"
                ? os === "windows"
                  ? `the window program could not start: ${win.detail}`
                  : `GTK 3 is not usable here, install libgtk-3-0: ${win.detail}`
                : `window program missing: ${win.detail}`
          })`,
    );
    let nativeOk = false;
    try {
      const { loadNative } = await import("../native/loader.js");
      loadNative();
      nativeOk = true;
    } catch (err) {
      out(`native: ${(err as Error).message.split("\n")[0]}`);
    }
    if (nativeOk) out(`native: ok (${process.env.TETHER_NATIVE_PATH ?? "from the build folder"})`);
    if (wrtcOk && nativeOk && os === "windows") out(NO_TUNING_ON_WINDOWS);
    if (wrtcOk && nativeOk && os === "linux") {
      // One line per WebRTC tuning setting, applied as the agent would apply it (with its TETHER_*
      // overrides; harmless here: this process ends right after the check). Not fatal: a setting
      // the bundled wrtc.node cannot take leaves libwebrtc's own behaviour.
      const [{ configureWebRtc }, tuning, { cpus }] = await Promise.all([
        import("../native/webrtc.js"),
        import("../agent/webrtc-tuning.js"),
        import("node:os"),
      ]);
      const reports = tuning.applyWebRtcTuning(tuning.webRtcTuningFromEnv(process.env, cpus().length), (t) => configureWebRtc(t));
      for (const line of tuning.tuningCheckLines(reports)) out(line);
    }
    return wrtcOk && nativeOk ? Exit.OK : Exit.FAILURE;
  }
  return runSupportApp(link, argv, true);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof CliError) {
      process.stderr.write(err.message + "\n");
      process.exit(err.exitCode);
    }
    if (err instanceof UsageError) {
      process.stderr.write(`tether-support: ${err.message}. Run "tether-support --help" for usage.\n`);
      process.exit(Exit.USAGE);
    }
    process.stderr.write(`tether-support: ${(err as Error)?.message ?? String(err)}\n`);
    process.exit(Exit.FAILURE);
  },
);
