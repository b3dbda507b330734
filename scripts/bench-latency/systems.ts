/**
 * The systems under test and how each is started: Tether (a broker, a support app on the
 * benchmark's display, and a technician receiver), its agent variants, the support app in its app
 * window (tether-window), the support app of another checkout (tether-before), Tether while a file
 * transfers to the user (tether-transfer: transfer.ts), x11vnc, and Tether and x11vnc across the
 * network profile (tether-net, x11vnc-net: network.ts).
 * Processes come from test/support/procs.ts, as in the tests.
 */
import { appendFileSync, existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";

import { AGENT_FIELD_TRIALS, parseTuningTrace, webRtcTuningEnv } from "../../src/agent/webrtc-tuning.js";
import { api, BIN, cli, freePort, spawnProc, startBroker, tempDir, type Proc } from "../../test/support/procs.js";
import { CHROMIUM_PATH } from "../../test/support/chromium.js";
import { Hands, type UiNode, type UiWindow } from "../../test/support/desktop.js";
import { brokerIceServers } from "../../test/support/receiver.js";
import { BEFORE_ROOT, SYSTEMS, TRACE_FILE } from "./config.js";
import { onCleanup, sleep, track, within } from "./harness.js";
import { atHome, brokerOnPublicNet, NET, NET_SYSTEMS, rfbAtHome, setUpProfile } from "./network.js";
import { ChromiumViewer } from "./receiver-chromium.js";
import { NodeViewer } from "./receiver-node.js";
import { RfbViewer } from "./receiver-rfb.js";
import { measuredAreas, samplePoints } from "./scenarios.js";
import { startTransfer, type Transfer } from "./transfer.js";
import type { Pt } from "./viewer.js";

/** Agent variants for an A/B in the same run: the tuning each one's agent gets instead of its defaults (null: libwebrtc's own), as environment. */
export const AGENT_VARIANTS: Record<string, Record<string, string>> = {
  "tether-webrtc-defaults": webRtcTuningEnv({
    trials: "",
    cores: null,
    vp8ActiveMap: false,
    vp8Profile: null,
    minTransmitBps: null,
    vp8Encoder: "libwebrtc",
  }),
  "tether-no-active-map": webRtcTuningEnv({ vp8ActiveMap: false }),
  "tether-profile-0": webRtcTuningEnv({ vp8Profile: 0 }),
  "tether-padding": webRtcTuningEnv({ minTransmitBps: null }),
  "tether-libwebrtc-vp8": webRtcTuningEnv({ vp8Encoder: "libwebrtc" }),
  "tether-libwebrtc-cores": webRtcTuningEnv({ cores: null }),
  "tether-no-burst": webRtcTuningEnv({ trials: AGENT_FIELD_TRIALS.replace(/WebRTC-BurstyPacer\/[^/]*\//, "") }),
  "tether-alr-60s": webRtcTuningEnv({ trials: `${AGENT_FIELD_TRIALS}WebRTC-Bwe-ProbingConfiguration/alr_interval:60s/` }),
};

/** The systems that run a Tether support app (all but x11vnc, x11vnc-tuned and x11vnc-net). */
export const TETHER_SYSTEMS = [
  "tether",
  "tether-chromium",
  "tether-window",
  "tether-before",
  "tether-transfer",
  ...Object.keys(AGENT_VARIANTS),
  "tether-net",
];

/** The other checkout's `tether` command, for tether-before. */
const beforeBin = () => path.join(path.resolve(BEFORE_ROOT ?? ""), "bin", "tether.js");

/** What each system needs, checked before anything starts: one readable line if missing. */
export function checkSystems(): void {
  const known = [...TETHER_SYSTEMS, "x11vnc", "x11vnc-tuned", "x11vnc-net"];
  const unknown = SYSTEMS.filter((s) => !known.includes(s));
  if (unknown.length) throw new Error(`BENCH_SYSTEMS: unknown ${unknown.join(", ")} (known: ${known.join(", ")})`);
  if (SYSTEMS.includes("tether-chromium") && !existsSync(CHROMIUM_PATH)) {
    throw new Error(`tether-chromium needs Debian chromium (${CHROMIUM_PATH}): apt-get install chromium, or leave it out of BENCH_SYSTEMS`);
  }
  if (SYSTEMS.includes("tether-before")) {
    if (!BEFORE_ROOT) throw new Error("tether-before needs BENCH_BEFORE_ROOT: another checkout of Tether, built with npm ci");
    if (!existsSync(beforeBin()) || !existsSync(path.join(path.resolve(BEFORE_ROOT), "dist", "src", "cli", "main.js"))) {
      throw new Error(`BENCH_BEFORE_ROOT=${BEFORE_ROOT} holds no built Tether (bin/tether.js, dist/src/cli/main.js): run npm ci there`);
    }
  }
  const path_ = (process.env["PATH"] ?? "").split(":");
  const found = (cmd: string) => path_.some((d) => existsSync(path.join(d, cmd)));
  if (SYSTEMS.some((s) => s.startsWith("x11vnc")) && !found("x11vnc")) {
    throw new Error("the x11vnc baseline needs Debian x11vnc: apt-get install x11vnc, or leave it out of BENCH_SYSTEMS");
  }
  const net = SYSTEMS.filter((s) => NET_SYSTEMS.includes(s));
  for (const [cmd, pkg] of [
    ["turnserver", "coturn"],
    ["nft", "nftables"],
    ["tc", "iproute2"],
    ["python3", "python3"],
  ] as const) {
    if (net.length && !found(cmd))
      throw new Error(`${net.join(", ")} need ${cmd}: apt-get install ${pkg}, or leave them out of BENCH_SYSTEMS`);
  }
}

/** What the agent's TETHER_TRACE_FRAMES=1 lines said: frames handed to the encoder, sender stats, the tuning outcomes. */
export interface AgentTrace {
  frames: Array<{ t0: number; ct: number; g: number; c: number; b: number; s: number; r: number }>;
  stats: Array<Record<string, number>>;
  fieldTrials?: { trials: string; outcome: string };
  cores?: { cores: number; outcome: string };
  activeMap?: { outcome: string };
  vp8Profile?: { profile: number; outcome: string };
  vp8Encoder?: { encoder: string; outcome: string };
  minTransmit?: { bps: number; outcome: string };
  /** tether-window (TETHER_TRACE_UI=1): the latest accessibility tree of the app's windows, and their screen rectangles. */
  ui?: UiWindow[];
  uiRects?: Array<[number, number, number, number]>;
}

/** Where each of the agent's tuning trace lines (src/agent/webrtc-tuning.ts) goes in AgentTrace. */
const TUNING_TRACE = {
  trials: "fieldTrials",
  cores: "cores",
  vp8ActiveMap: "activeMap",
  vp8Profile: "vp8Profile",
  vp8Encoder: "vp8Encoder",
  minTransmitBps: "minTransmit",
} as const;

/** One TETHER_UI line (the app window's trace): keeps the latest tree and window rectangles. */
function readUi(line: string, trace: AgentTrace): void {
  const e = JSON.parse(line.slice(10)) as { ev: string; windows?: UiWindow[]; rects?: Array<[number, number, number, number]> };
  if (e.ev === "tree") trace.ui = e.windows ?? [];
  else if (e.ev === "geometry") trace.uiRects = e.rects ?? [];
}

/** Reads the agent's stderr into `trace`; other lines are printed. */
function readTrace(err: Proc["err"], trace: AgentTrace): void {
  err.onLine = (line) => {
    if (TRACE_FILE) appendFileSync(TRACE_FILE, `${line}\n`);
    const tuned = parseTuningTrace(line); // TETHER_FIELD_TRIALS, TETHER_VP8_PROFILE, …
    if (line.startsWith("TETHER_TRACE ")) trace.frames.push(JSON.parse(line.slice(13)));
    else if (line.startsWith("TETHER_UI ")) readUi(line, trace);
    else if (line.startsWith("TETHER_TRACE_STATS ")) trace.stats.push(JSON.parse(line.slice(19)));
    else if (tuned) (trace as unknown as Record<string, unknown>)[TUNING_TRACE[tuned.setting]] = tuned.fields;
    else console.error(`agent: ${line}`);
  };
}

/**
 * The agent's sender stats: it prints them (TETHER_TRACE_STATS) when the stream starts and on
 * SIGUSR2, so they are taken here, outside the measured windows. Waits up to 2 s for the line.
 */
export async function agentStats(trace: AgentTrace, pid: number): Promise<Record<string, number> | undefined> {
  const n = trace.stats.length;
  try {
    process.kill(pid, "SIGUSR2");
  } catch {
    return trace.stats.at(-1);
  }
  for (let i = 0; i < 40 && trace.stats.length === n; i++) await sleep(50);
  if (trace.stats.length === n) console.error("  (no sender stats from the agent within 2 s)");
  return trace.stats.at(-1);
}

/** Waits (10 s) until the app's `kind` window in the trace holds a node that `ok` accepts, and returns it. */
async function uiNode(trace: AgentTrace, kind: UiWindow["kind"], ok: (n: UiNode) => boolean, what: string): Promise<UiNode> {
  for (let i = 0; i < 200; i++) {
    const node = trace.ui?.find((w) => w.kind === kind)?.nodes.find(ok);
    if (node) return node;
    await sleep(50);
  }
  throw new Error(`tether-window: no ${what} in the app's ${kind} window within 10 s; last tree: ${JSON.stringify(trace.ui ?? [])}`);
}

/**
 * tether-window's consent, as a user gives it: a click (XTest, through Tether's own injector) on the
 * dialog's Allow once it is sensitive (0.7 s after the dialog appears); then the sharing bar is up.
 * Checks that neither the app window nor the bar covers what the scenarios draw, check or click
 * (the agent also drops input aimed near its windows), and says where they are.
 */
async function allowInWindow(trace: AgentTrace, display: string): Promise<Pt[]> {
  const allow = await uiNode(
    trace,
    "dialog",
    (n) => n.role === "push button" && n.name === "Allow" && n.insensitive !== true && n.rect !== undefined,
    "sensitive Allow button",
  );
  const hands = new Hands(display);
  try {
    await hands.press(allow);
  } finally {
    hands.close();
  }
  const text = await uiNode(trace, "bar", (n) => /is controlling your screen/.test(n.name) && n.rect !== undefined, "sharing bar text");
  for (let i = 0; i < 100 && trace.ui?.some((w) => w.kind === "dialog"); i++) await sleep(50);
  await sleep(300); // the geometry after the dialog closed
  const rects = trace.uiRects ?? [];
  const titles = (trace.ui ?? []).map((w) => `${w.kind} "${w.title}"`).join(", ");
  console.error(`  tether-window: ${titles}; on screen at ${rects.map((r) => `${r[2]}x${r[3]}+${r[0]}+${r[1]}`).join(", ")}`);
  const margin = 4; // the agent's input guard drops input this close to its windows
  for (const [x, y, w, h] of rects) {
    for (const a of measuredAreas()) {
      const [ax, ay, aw, ah] = a.rect;
      if (ax < x + w + margin && ax + aw > x - margin && ay < y + h + margin && ay + ah > y - margin) {
        throw new Error(`tether-window: the app's window ${w}x${h}+${x}+${y} covers ${a.what} (${a.rect.join(",")})`);
      }
    }
  }
  // Two pixels of the bar's own background, beside its text (as test/app-window.test.ts checks).
  const [tx, ty, tw, th] = text.rect!;
  return [
    [tx - 8, Math.round(ty + th / 2)],
    [tx + tw + 4, ty + 2],
  ];
}

/** The sharing bar's background (native/window/ui.cc's CSS). */
const BAR_RGB = 0x303030;

/** The pid of `parent`'s child process named `comm` (/proc), if there is one. */
function childPid(parent: number, comm: string): number | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (name === comm && ppid === parent) return Number(entry);
    } catch {
      // ended meanwhile
    }
  }
  return undefined;
}

export interface TetherRun {
  viewer: NodeViewer | ChromiumViewer;
  trace: AgentTrace;
  /** Stops the agent and the broker (SIGTERM), so that they do not load the machine during the next system. */
  stop(): void;
  /** After the scenarios (tether-window): whether the viewer's latest frame still shows the sharing bar; throws if not. */
  check?: () => Promise<void>;
  /** tether-transfer: the file going to the user, from the moment the stream runs. */
  transfer?: Transfer;
}

/**
 * Broker, technician, session and support app (this checkout's, or BENCH_BEFORE_ROOT's for
 * tether-before; the broker is always this checkout's); then the technician's side: `node` =
 * NodeViewer in this process (access requested through the API), `chromium` = the console in
 * headless Chromium (signed in with the console password, control requested with the row's button).
 * The user's consent is typed on the agent's stdin, as a user would. tether-transfer: the agent gets
 * a HOME of its own (its Downloads folder), and the file starts once the first frame is in.
 */
export async function startTether(system: string, display: string): Promise<TetherRun> {
  const kind = system === "tether-chromium" ? "chromium" : "node";
  const windowed = system === "tether-window";
  const transferring = system === "tether-transfer";
  // tether-net: the broker on the public network with coturn's secret, the agent at home.
  const net = system === "tether-net" ? await setUpProfile(NET!) : undefined;
  const broker = await startBroker({
    dataDir: tempDir("tether-bench-broker-"),
    ...(net ? brokerOnPublicNet(net) : { args: ["--host", "127.0.0.1"] }),
  });
  onCleanup(() => rmSync(broker.dataDir, { recursive: true, force: true }));
  track(broker.proc, "broker");
  const added = await cli(["technician", "add", "bench", "--display-name", "Bench", "--data", broker.dataDir]);
  if (added.code !== 0) throw new Error(`tether technician failed: ${added.stderr}`);
  const token = added.stdout.trim().split("\n").at(-1)!;
  const password = /Console password: (\S+)/.exec(added.stdout)?.[1];
  const technician = api(broker.url, token);
  // Signed in before the app starts: the session row turns online live, as a technician sees it.
  let chromiumViewer: ChromiumViewer | undefined;
  if (kind === "chromium") {
    if (!password) throw new Error(`no console password in the output of tether technician add:\n${added.stdout}`);
    chromiumViewer = await within(
      ChromiumViewer.signIn(broker.url, "bench", password, samplePoints()),
      90_000,
      "Chromium and the console sign-in",
    );
  }
  const session = await technician.createSession(3600);
  const stateHome = tempDir("tether-bench-agent-");
  onCleanup(() => rmSync(stateHome, { recursive: true, force: true }));
  const home = transferring ? tempDir("tether-bench-home-") : undefined;
  if (home) onCleanup(() => rmSync(home, { recursive: true, force: true }));
  const agentCmd = [
    process.execPath,
    system === "tether-before" ? beforeBin() : BIN,
    "agent",
    session.link,
    ...(windowed ? ["--window"] : []),
  ];
  // `ip netns exec` execs the agent: the pid (CPU, SIGUSR2 for its stats) is the agent's.
  const [cmd, ...args] = net ? [...atHome(net), ...agentCmd] : agentCmd;
  const agent = track(
    spawnProc(cmd!, args, {
      ...process.env,
      DISPLAY: display,
      XDG_STATE_HOME: stateHome,
      LANG: "C.UTF-8",
      LC_ALL: "",
      LC_MESSAGES: "",
      TETHER_TRACE_FRAMES: "1",
      ...(windowed ? { TETHER_TRACE_UI: "1" } : {}),
      ...(home ? { HOME: home, XDG_CONFIG_HOME: path.join(home, ".config") } : {}),
      ...AGENT_VARIANTS[system],
    }),
    "agent",
  );
  const trace: AgentTrace = { frames: [], stats: [] };
  readTrace(agent.err, trace);
  let stopping = false;
  const stop = () => {
    stopping = true;
    for (const p of [broker.proc, agent]) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGTERM");
  };
  onCleanup(() => void (stopping = true)); // runs before track()'s SIGTERM (cleanup goes last registered first)
  // An agent that ends by itself mid-run says so (with what it last told the user), not just a missing /proc entry later.
  void agent.exited.then(({ code }) => {
    if (!stopping) {
      const how = agent.child.signalCode ?? `code ${code}`;
      console.error(`agent: exited by itself (${how}); its last lines: ${agent.out.all.slice(-5).join(" | ")}`);
    }
  });
  await agent.out.waitFor(/^Connected\./, 20_000);
  let bar: Pt[] = [];
  const consent = async () => {
    await agent.out.waitFor(/requests to control your screen/, 20_000);
    if (windowed) bar = await allowInWindow(trace, display);
    else agent.child.stdin!.write("y\n");
    await agent.out.waitFor(/is now viewing and controlling your screen/, 20_000);
    if (windowed) {
      // The window program's CPU is measured apart: the agent's column stays comparable with tether's.
      const pid = childPid(agent.child.pid!, "tether_window");
      if (pid === undefined) throw new Error("tether-window: no tether_window process under the agent");
      return pid;
    }
    return undefined;
  };
  // The sharing bar is in the picture the technician gets, above what the scenarios painted (the
  // full-screen change left a bright colour everywhere else, far from the bar's dark grey).
  const barShown = async (viewer: NodeViewer) => {
    for (let i = 0; i < 60 && !viewer.shows(bar, BAR_RGB); i++) await sleep(50);
    if (!viewer.shows(bar, BAR_RGB)) throw new Error("tether-window: the sharing bar is not in the viewer's picture after the scenarios");
  };
  if (chromiumViewer) {
    const viewer = chromiumViewer;
    viewer.serverPid = agent.child.pid!;
    await viewer.requestControl(session.id);
    viewer.helperPid = await consent();
    await within(viewer.start(), 60_000, "the console viewer and its first frames");
    return { viewer, trace, stop };
  }
  const viewer = await NodeViewer.connect(broker.url, token, net ? await brokerIceServers(broker.url, token) : []);
  viewer.serverPid = agent.child.pid!;
  onCleanup(() => viewer.close());
  const req = await technician.requestAccess(session.id, "control");
  viewer.receiver.accessRequestId = req.json.id;
  viewer.helperPid = await consent();
  await viewer.start();
  if (home) return { viewer, trace, stop, transfer: await startTransfer(viewer.receiver, agent, path.join(home, "Downloads")) };
  return windowed ? { viewer, trace, stop, check: () => barShown(viewer) } : { viewer, trace, stop };
}

/**
 * x11vnc on the display (`extra`: its tuning flags) and the RFB viewer connected to it. x11vnc-net:
 * x11vnc at home (the display's socket in /tmp/.X11-unix reaches across network namespaces),
 * listening on the home host's address, and the viewer through the home router's port forward.
 */
export async function startX11vnc(
  display: string,
  name: string,
  extra: string[],
): Promise<{ viewer: RfbViewer; stop: () => Promise<void> }> {
  const net = name === "x11vnc-net" ? await setUpProfile(NET!) : undefined;
  const rfb = net ? rfbAtHome(net) : undefined;
  const port = rfb ? rfb.listenPort : await freePort();
  const listen = rfb ? ["-listen", rfb.hostAddress] : ["-localhost"];
  const x11vnc = [
    "x11vnc",
    "-display",
    display,
    "-rfbport",
    String(port),
    ...listen,
    "-nopw",
    "-forever",
    "-shared",
    "-noipv6",
    "-quiet",
    ...extra,
  ];
  const [cmd, ...args] = net ? [...atHome(net), ...x11vnc] : x11vnc;
  let proc: Proc | undefined;
  let viewer: RfbViewer | undefined;
  // x11vnc once failed to open the display from the home namespace, and did at the next try: three tries.
  for (let attempt = 1; attempt <= 3 && !viewer; attempt++) {
    const p = track(spawnProc(cmd!, args, process.env), "x11vnc");
    proc = p;
    for (let i = 0; i < 100 && !viewer && p.child.exitCode === null; i++) {
      await sleep(100);
      viewer = await (rfb ? RfbViewer.connect(name, rfb.connect.port, rfb.connect.host) : RfbViewer.connect(name, port)).catch(
        () => undefined,
      );
    }
    if (!viewer && p.child.exitCode === null) throw new Error(`cannot connect to x11vnc within 10 s: ${p.err.all.slice(-10).join("\n")}`);
    if (!viewer) {
      const why = p.err.all.filter((l) => /failed|error|cannot|unable/i.test(l)).join(" | ");
      if (attempt === 3) throw new Error(`x11vnc exited with ${p.child.exitCode}: ${why}`);
      console.error(`  x11vnc exited with ${p.child.exitCode} (${why}); trying again`);
      await sleep(1000);
    }
  }
  if (!viewer || !proc) throw new Error("cannot connect to x11vnc");
  viewer.serverPid = proc.child.pid!;
  const v = viewer;
  const server = proc;
  return {
    viewer: v,
    stop: async () => {
      await v.close();
      server.child.kill("SIGTERM");
      // x11vnc can deadlock in its own SIGTERM handler (seen once: SIGTERM blocked, waiting on a
      // futex); the results are in by now, so it gets SIGKILL after 3 s instead of hanging the run.
      const t = setTimeout(() => server.child.kill("SIGKILL"), 3000);
      await server.exited;
      clearTimeout(t);
    },
  };
}
