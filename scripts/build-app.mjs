#!/usr/bin/env node
// Builds the single-file support app for Linux x64: the agent code bundled by esbuild into one
// CommonJS script, turned into a Node single-executable-application blob (with the native addon and
// @roamhq/wrtc's binary as assets) and injected into a copy of this Node binary with postject.
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
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({ options: { data: { type: "string", default: "./data" }, out: { type: "string", default: join(root, "dist", "app") } } });
const outDir = resolve(values.out);
const started = Date.now();
const fail = (msg) => {
  process.stderr.write(`build:app: ${msg}\n`);
  process.exit(1);
};
if (process.platform !== "linux" || process.arch !== "x64") fail(`the support app is built for Linux x64 only (this is ${process.platform} ${process.arch})`);

const { loadOrCreateSigningKey } = await import(join(root, "dist", "src", "link", "trailer.js")).catch(() =>
  fail("run `npm run build` first (dist/ is missing)"),
);
const { publicKeyB64 } = loadOrCreateSigningKey(resolve(values.data));
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

const assets = {
  "wrtc.node": join(root, "node_modules", "@roamhq", "wrtc-linux-x64", "wrtc.node"),
  "tether_native.node": join(root, "build", "Release", "tether_native.node"),
};
for (const [name, file] of Object.entries(assets)) if (!existsSync(file)) fail(`${name} is missing at ${file} (run npm ci / npm run build:native)`);

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
  target: "node20",
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
execFileSync(process.execPath, ["--experimental-sea-config", seaConfig], { stdio: ["ignore", "ignore", "pipe"] });

const target = join(outDir, "tether-support-linux-x64");
const tmp = target + ".tmp";
rmSync(tmp, { force: true });
rmSync(target + ".json.tmp", { force: true });
copyFileSync(process.execPath, tmp);
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
  node: process.version,
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
