#!/usr/bin/env node
// Builds the technician web console into dist/console/: one esbuild bundle (src/console/main.ts,
// with the generated protobuf code from src/gen/tether.js and protobufjs/minimal.js) as
// console.js, plus index.html and console.css copied as they are. The broker serves this folder
// at `/` (src/broker/console-static.ts). Run `npm run gen:proto` first if src/gen is missing.
import { build } from "esbuild";
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "src", "console");
const out = join(root, "dist", "console");

if (!existsSync(join(root, "src", "gen", "tether.js"))) {
  console.error("src/gen/tether.js is missing: run `npm run gen:proto` first.");
  process.exit(1);
}
mkdirSync(out, { recursive: true });

const minify = !process.argv.includes("--dev");
await build({
  entryPoints: [join(src, "main.ts")],
  outfile: join(out, "console.js"),
  bundle: true,
  format: "iife",
  platform: "browser",
  target: ["chrome110", "firefox115", "safari16"],
  minify,
  sourcemap: minify ? false : "inline",
  // protobufjs probes for the optional `long` package inside a try/catch; the browser needs none
  // (src/console/proto.ts sets util.Long = null), so leave it out of the bundle.
  external: ["long"],
  define: { "process.env.NODE_ENV": '"production"' },
  logLevel: "warning",
});
copyFileSync(join(src, "index.html"), join(out, "index.html"));
copyFileSync(join(src, "console.css"), join(out, "console.css"));
console.log(`console built into ${out}`);
