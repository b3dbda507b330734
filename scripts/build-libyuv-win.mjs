#!/usr/bin/env node
// Cross-compiles libyuv for 64-bit Windows (mingw-w64), for the Windows build of the native addon
// (`npm run build:native:win`; native/INTEGRATION.md, "The Windows build"). On Linux the addon links
// Debian's libyuv-dev; no Windows build of it exists in Debian, so this builds the same Debian
// source (0.0~git20230123.b2528b0-1, Debian 12's libyuv) with Debian's patches and libyuv's own
// CMake project, static library only. Output: build-deps/libyuv-win/lib/libyuv.a and
// build-deps/libyuv-win/include/.
//
// The sources are in the repository (native/libyuv/sources/: Debian's orig and debian tarballs and
// their .dsc, fetched with `apt-get source --download-only libyuv`) and are checked against
// native/libyuv/sources/SHA256SUMS before use; nothing is downloaded. Nothing is rebuilt while the
// sources, the toolchain file and the flags are those of the last build (build-deps/libyuv-win/STAMP).
// Needs cmake, make, tar, xz, patch and g++-mingw-w64-x86-64-posix. TETHER_JOBS caps the make jobs
// (default: 2).
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, cpSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const work = join(root, "build-deps", "libyuv-win");
const src = join(work, "src");
const obj = join(work, "obj");
const sources = join(root, "native", "libyuv", "sources");
const toolchain = join(root, "native", "cmake", "mingw-w64-x86_64.cmake");
// libyuv's own CMake project; only its static library target is built. No JPEG (the addon never
// decodes MJPEG), and no tests.
const CMAKE_FLAGS = ["-DCMAKE_BUILD_TYPE=Release", "-DTEST=OFF", "-DCMAKE_POSITION_INDEPENDENT_CODE=OFF", "-DJPEG_FOUND=OFF"];
const TARGET = "yuv";
const jobs = Math.max(1, Number(process.env["TETHER_JOBS"] ?? 2) || 2);

function fail(message) {
  console.error(`build-libyuv-win: ${message}`);
  process.exit(1);
}

const sha256 = (buf) => createHash("sha256").update(buf).digest("hex");

function run(cmd, args, cwd, log) {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (log) writeFileSync(log, `$ ${cmd} ${args.join(" ")}\n${r.stdout ?? ""}${r.stderr ?? ""}`, { flag: "a" });
  if (r.error)
    fail(`cannot run ${cmd}: ${r.error.message}${r.error.code === "ENOENT" ? " (apt-get install it; see native/INTEGRATION.md)" : ""}`);
  if (r.status !== 0) {
    const tail = `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n").slice(-1)[0] ?? "";
    fail(`${cmd} ${args[0] ?? ""} failed${log ? ` (log: ${log})` : ""}: ${tail}`);
  }
  return r.stdout;
}

/** The pinned sources: every file SHA256SUMS names must be there with that sum (sha256sum's format). */
function pinnedSources() {
  const sumsFile = join(sources, "SHA256SUMS");
  if (!existsSync(sumsFile)) fail(`${sumsFile} is missing (a partial checkout?)`);
  const listed = readFileSync(sumsFile, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => {
      const m = /^([0-9a-f]{64}) [ *](\S+)$/.exec(l.trim());
      if (!m) fail(`${sumsFile}: cannot read the line "${l}"`);
      return { name: m[2], sha256: m[1] };
    });
  for (const { name, sha256: want } of listed) {
    const file = join(sources, name);
    if (!existsSync(file)) fail(`${file} is missing (SHA256SUMS names it)`);
    const got = sha256(readFileSync(file));
    if (got !== want) fail(`${file} has SHA-256 ${got}, SHA256SUMS says ${want}; not used`);
  }
  const one = (re, what) => {
    const found = listed.filter((f) => re.test(f.name));
    if (found.length !== 1) fail(`${sumsFile} must name exactly one ${what} (found ${found.length})`);
    return found[0];
  };
  return [
    one(/^libyuv_[^_]+\.orig\.tar\.(gz|xz|bz2)$/, "libyuv_*.orig.tar.*"),
    one(/^libyuv_[^_]+\.debian\.tar\.(xz|gz|bz2)$/, "libyuv_*.debian.tar.*"),
  ];
}

const FILES = pinnedSources();
const VERSION = /^libyuv_(.+)\.debian\.tar\./.exec(FILES[1].name)[1];
const stamp = sha256(JSON.stringify({ files: FILES, flags: CMAKE_FLAGS, toolchain: sha256(readFileSync(toolchain)) }));
const out = { lib: join(work, "lib", "libyuv.a"), include: join(work, "include") };
const stampFile = join(work, "STAMP");
if (
  existsSync(out.lib) &&
  existsSync(join(out.include, "libyuv.h")) &&
  existsSync(stampFile) &&
  readFileSync(stampFile, "utf8").trim() === stamp
) {
  console.log(`libyuv ${VERSION} for Windows: up to date (${out.lib})`);
  process.exit(0);
}

const [orig, debian] = FILES.map((f) => join(sources, f.name));
for (const d of [src, obj, join(work, "lib"), out.include]) rmSync(d, { recursive: true, force: true });
rmSync(stampFile, { force: true });
mkdirSync(src, { recursive: true });
mkdirSync(obj, { recursive: true });
const log = join(obj, "build.log");
run("tar", ["xf", orig, "-C", src, "--strip-components=1"], root, log);
run("tar", ["xf", debian, "-C", src], root, log);
const series = readFileSync(join(src, "debian", "patches", "series"), "utf8")
  .split("\n")
  .map((l) => l.replace(/#.*/, "").trim())
  .filter(Boolean);
for (const p of series) run("patch", ["-p1", "-s", "-N", "-i", join(src, "debian", "patches", p)], src, log);

const t0 = Date.now();
run("cmake", ["-S", src, "-B", obj, `-DCMAKE_TOOLCHAIN_FILE=${toolchain}`, ...CMAKE_FLAGS], root, log);
run("nice", ["cmake", "--build", obj, "--target", TARGET, "-j", String(jobs)], root, log);
const built = join(obj, "libyuv.a");
if (!existsSync(built)) fail(`the build finished without ${built} (log: ${log})`);
mkdirSync(join(work, "lib"), { recursive: true });
cpSync(built, out.lib);
cpSync(join(src, "include"), out.include, { recursive: true });
writeFileSync(stampFile, `${stamp}\n`);
console.log(
  `libyuv ${VERSION} + Debian's ${series.length} patch(es) for Windows built in ${((Date.now() - t0) / 1000).toFixed(0)} s: ${out.lib}`,
);
