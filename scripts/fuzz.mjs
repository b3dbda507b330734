#!/usr/bin/env node
// The long fuzz run: the properties of test/fuzz-*.test.ts (the same ones `npm test` runs a bounded
// number of times), each for a time budget instead, then a summary of runs per property.
//
//   npm run fuzz                        every fuzz file, 60 s per property
//   npm run fuzz -- --seconds 600       longer
//   npm run fuzz -- websockets native   only test/fuzz-*websockets*, test/fuzz-*native*
//   FUZZ_SEED=1234 npm run fuzz -- …    replay with the seed a failure printed
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const args = process.argv.slice(2);
let seconds = Number(process.env.FUZZ_SECONDS ?? 60);
const filters = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--seconds") seconds = Number(args[++i]);
  else if (args[i] === "--help" || args[i] === "-h") {
    console.log("usage: npm run fuzz -- [--seconds N] [name …]   (N seconds per property, default 60)");
    process.exit(0);
  } else filters.push(args[i]);
}
if (!Number.isFinite(seconds) || seconds <= 0) {
  console.error("--seconds must be a positive number");
  process.exit(2);
}

const files = readdirSync(join(root, "test"))
  .filter((f) => /^fuzz-.*\.test\.ts$/.test(f))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .map((f) => `test/${f}`);
if (files.length === 0) {
  console.error(`no test/fuzz-*.test.ts matches ${filters.join(", ")}`);
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), "tether-fuzz-"));
const summary = join(dir, "summary.jsonl");
console.log(`fuzzing ${files.length} files, ${seconds} s per property${process.env.FUZZ_SEED ? `, seed ${process.env.FUZZ_SEED}` : ""}`);
const started = Date.now();
const vitest = spawnSync(join(root, "node_modules", ".bin", "vitest"), ["run", ...files], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, FUZZ_SECONDS: String(seconds), FUZZ_SUMMARY: summary },
});

const rows = existsSync(summary)
  ? readFileSync(summary, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l))
  : [];
rmSync(dir, { recursive: true, force: true });
const pad = (s, n) => String(s).padEnd(n);
console.log(`\nfuzz summary (${Math.round((Date.now() - started) / 1000)} s in all)`);
console.log(`${pad("file", 34)}${pad("property", 44)}${pad("runs", 10)}${pad("seconds", 9)}result`);
for (const r of rows.sort((a, b) => a.file.localeCompare(b.file))) {
  console.log(
    `${pad(r.file, 34)}${pad(r.name, 44)}${pad(r.runs, 10)}${pad((r.ms / 1000).toFixed(1), 9)}${r.failed ? `FAILED (seed ${r.seed})` : "ok"}`,
  );
}
const failed = rows.filter((r) => r.failed).length;
console.log(`${rows.length} properties, ${rows.reduce((n, r) => n + r.runs, 0)} runs, ${failed} failed`);
process.exit(vitest.status ?? 1);
