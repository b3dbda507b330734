#!/usr/bin/env node
// Cross-compiles the native addon for 64-bit Windows with mingw-w64: libyuv first
// (scripts/build-libyuv-win.mjs), then native/CMakeLists.txt with the mingw toolchain file, into
// build-win/ (build-win/tether_native.node and the test program build-win/tether_test_window.exe).
// `npm run build:native:win`. Needs Debian's cmake, make and g++-mingw-w64-x86-64-posix; fails
// with what to install when one is missing. TETHER_JOBS caps the compile jobs (default: 2).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "build-win");
const jobs = String(Math.max(1, Number(process.env["TETHER_JOBS"] ?? 2) || 2));
const fail = (message) => {
  console.error(`build-native-win: ${message}`);
  process.exit(1);
};
// One build at a time in build-win/ (tests running in parallel each make sure it is built): the
// script runs again under flock(1) on build-win/.build.lock.
if (process.env["TETHER_NATIVE_WIN_LOCKED"] !== "1") {
  mkdirSync(out, { recursive: true });
  const r = spawnSync("flock", [join(out, ".build.lock"), process.execPath, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, TETHER_NATIVE_WIN_LOCKED: "1" },
  });
  if (r.error) fail(`cannot run flock (util-linux): ${r.error.message}`);
  process.exit(r.status ?? 1);
}
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit" });
  if (r.error) fail(`cannot run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) fail(`${cmd} ${args.slice(0, 2).join(" ")} failed (exit ${r.status})`);
};

for (const tool of ["x86_64-w64-mingw32-g++-posix", "x86_64-w64-mingw32-dlltool", "cmake"]) {
  const r = spawnSync(tool, ["--version"], { stdio: "ignore" });
  if (r.error) fail(`${tool} is missing: apt-get install g++-mingw-w64-x86-64-posix cmake (see native/INTEGRATION.md)`);
}
const started = Date.now();
run(process.execPath, [join(root, "scripts", "build-libyuv-win.mjs")]);
if (!existsSync(join(out, "CMakeCache.txt"))) {
  run("cmake", [
    "-S",
    join(root, "native"),
    "-B",
    out,
    `-DCMAKE_TOOLCHAIN_FILE=${join(root, "native", "cmake", "mingw-w64-x86_64.cmake")}`,
    "-DCMAKE_BUILD_TYPE=Release",
    `-DCMAKE_LIBRARY_OUTPUT_DIRECTORY=${out}`,
    `-DCMAKE_RUNTIME_OUTPUT_DIRECTORY=${out}`,
  ]);
}
run("nice", ["cmake", "--build", out, "-j", jobs]);
const addon = join(out, "tether_native.node");
if (!existsSync(addon)) fail(`the build finished without ${addon}`);
console.log(`build-native-win: ${addon} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
