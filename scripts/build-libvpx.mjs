#!/usr/bin/env node
// Builds the libvpx that the native addon links statically (native/INTEGRATION.md, "Tether's VP8
// encoder"): Debian 12's libvpx 1.12.0 source with Debian's own patches (security fixes), then
// Tether's (native/libvpx/*.patch, applied in name order). Output: build-deps/libvpx/obj/libvpx.a
// and the public headers in build-deps/libvpx/src/vpx/. Only VP8 is built: the encoder for the
// addon, the decoder for native/test-vp8 (the addon links only the encoder's objects).
//
// The sources are in the repository (native/libvpx/sources/: Debian's orig and debian tarballs and
// their .dsc) and are checked against native/libvpx/sources/SHA256SUMS before use; nothing is
// downloaded (to move to a newer Debian revision: native/libvpx/README.md). Nothing is rebuilt when
// the sources, the patches and the configure flags are those of the last build
// (build-deps/libvpx/STAMP). Needs clang, nasm, make, patch, tar and xz (the README's set-up line
// installs them). `npm run build:native` runs this first.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const work = join(root, "build-deps", "libvpx");
const src = join(work, "src");
const obj = join(work, "obj");
const ourPatches = join(root, "native", "libvpx");
const sources = join(ourPatches, "sources");
// Compiled by clang, as Chromium compiles the libvpx inside wrtc.node: with gcc 12 (-O3) the same
// source encoded whole 1080p frames 10-20 % slower than wrtc's (bench-results/latency.md, T10).
const CC = "clang";
// As Chromium configures it: real-time only, no AVX-512.
const CONFIGURE = [
  "--enable-static",
  "--disable-shared",
  "--enable-pic",
  "--enable-runtime-cpu-detect",
  "--disable-vp9",
  "--disable-examples",
  "--disable-tools",
  "--disable-docs",
  "--disable-unit-tests",
  "--enable-realtime-only",
  "--disable-avx512",
  "--as=nasm",
];

function fail(message) {
  console.error(`build-libvpx: ${message}`);
  process.exit(1);
}

function sha256(buf) {
  return createHash("sha256").update(buf).digest("hex");
}

function run(cmd, args, cwd, log, env = process.env) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (log) writeFileSync(log, `$ ${cmd} ${args.join(" ")}\n${r.stdout ?? ""}${r.stderr ?? ""}`, { flag: "a" });
  if (r.error) fail(`cannot run ${cmd}: ${r.error.message}${r.error.code === "ENOENT" ? " (apt-get install it; see the README)" : ""}`);
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
    if (got !== want) fail(`${file} has SHA-256 ${got}, SHA256SUMS says ${want}; not used (a Git LFS pointer or a changed checkout?)`);
  }
  const one = (re, what) => {
    const found = listed.filter((f) => re.test(f.name));
    if (found.length !== 1) fail(`${sumsFile} must name exactly one ${what} (found ${found.length})`);
    return found[0];
  };
  return [
    one(/^libvpx_[^_]+\.orig\.tar\.(gz|xz|bz2)$/, "libvpx_*.orig.tar.*"),
    one(/^libvpx_[^_]+\.debian\.tar\.(xz|gz|bz2)$/, "libvpx_*.debian.tar.*"),
  ];
}

const FILES = pinnedSources();
const VERSION = /^libvpx_(.+)\.debian\.tar\./.exec(FILES[1].name)[1];
const patches = readdirSync(ourPatches)
  .filter((f) => f.endsWith(".patch"))
  .sort();
const stamp = sha256(
  JSON.stringify({
    files: FILES,
    cc: CC,
    configure: CONFIGURE,
    patches: patches.map((p) => [p, sha256(readFileSync(join(ourPatches, p)))]),
  }),
);
const stampFile = join(work, "STAMP");
const lib = join(obj, "libvpx.a");
if (existsSync(lib) && existsSync(stampFile) && readFileSync(stampFile, "utf8").trim() === stamp) {
  console.log(`libvpx ${VERSION} + ${patches.length} Tether patch(es): up to date (${lib})`);
  process.exit(0);
}

const [orig, debian] = FILES.map((f) => join(sources, f.name));
rmSync(src, { recursive: true, force: true });
rmSync(obj, { recursive: true, force: true });
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
for (const p of patches) run("patch", ["-p1", "-s", "-N", "-i", join(ourPatches, p)], src, log);

const t0 = Date.now();
run(CC, ["--version"], obj, log);
const env = { ...process.env, CC, CXX: `${CC}++` };
run(join(src, "configure"), CONFIGURE, obj, log, env);
run("make", [`-j${availableParallelism()}`], obj, log, env);
if (!existsSync(lib)) fail(`make finished without ${lib} (log: ${log})`);
writeFileSync(stampFile, `${stamp}\n`);
console.log(
  `libvpx ${VERSION} + Debian's ${series.length} + Tether's ${patches.length} patch(es) built in ${((Date.now() - t0) / 1000).toFixed(0)} s: ${lib}`,
);
