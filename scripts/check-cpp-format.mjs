#!/usr/bin/env node
// clang-format check for the native core (npm run lint): every hand-written C++ file under native/
// must be formatted as .clang-format says. `--fix` rewrites them. Needs Debian's clang-format.
import { execFileSync, spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const files = execFileSync("git", ["ls-files", "native/*.cc", "native/*.h"], { cwd: root, encoding: "utf8" })
  .split("\n")
  .filter((f) => f && !f.startsWith("native/libvpx/"));
const fix = process.argv.includes("--fix");
const r = spawnSync("clang-format", [fix ? "-i" : "--dry-run", ...(fix ? [] : ["--Werror"]), ...files], { cwd: root, encoding: "utf8" });
if (r.error) {
  process.stderr.write("check-cpp-format: clang-format is not installed (apt-get install clang-format)\n");
  process.exit(1);
}
if (r.status !== 0) {
  const bad = new Set([...r.stderr.matchAll(/^(native\/[^:]+):\d+:\d+: error/gm)].map((m) => m[1]));
  process.stderr.write(
    `check-cpp-format: ${bad.size} file(s) not formatted by clang-format: ${[...bad].join(", ")} (npm run format fixes them)\n`,
  );
  process.exit(1);
}
process.stdout.write(`check-cpp-format: ${files.length} C++ files formatted\n`);
