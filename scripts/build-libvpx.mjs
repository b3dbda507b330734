#!/usr/bin/env node
// Builds the libvpx that the native addon links statically (native/INTEGRATION.md, "Tether's VP8
// encoder"): Debian 12's libvpx 1.12.0 source with Debian's own patches (security fixes), then
// Tether's (native/libvpx/*.patch, applied in name order). Output: build-deps/libvpx/obj/libvpx.a
// and the public headers in build-deps/libvpx/src/vpx/. Only VP8 is built: the encoder for the
// addon, the decoder for native/test-vp8 (the addon links only the encoder's objects).
//
// The sources come from the Debian mirror (TETHER_DEBIAN_MIRROR, default deb.debian.org) and are
// checked against the SHA-256 sums below. Nothing is rebuilt when the sources, the patches and the
// configure flags are those of the last build (build-deps/libvpx/STAMP). Needs clang, nasm, make,
// patch, tar and xz (the README's set-up line installs them). `npm run build:native` runs this first.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const work = join(root, "build-deps", "libvpx");
const downloads = join(work, "downloads");
const src = join(work, "src");
const obj = join(work, "obj");
const ourPatches = join(root, "native", "libvpx");

const VERSION = "1.12.0-1+deb12u5";
const FILES = [
  { name: "libvpx_1.12.0.orig.tar.gz", sha256: "f1acc15d0fd0cb431f4bf6eac32d5e932e40ea1186fe78e074254d6d003957bb" },
  { name: `libvpx_${VERSION}.debian.tar.xz`, sha256: "35cfacecb71f4c4ddfbb29b53b68fb7e82f1e86e28b67327c72683715c5e22f4" },
];
const MIRROR = (process.env["TETHER_DEBIAN_MIRROR"] || "http://deb.debian.org/debian").replace(/\/+$/, "");
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

async function fetchChecked({ name, sha256: want }) {
  const file = join(downloads, name);
  if (existsSync(file) && sha256(readFileSync(file)) === want) return file;
  const url = `${MIRROR}/pool/main/libv/libvpx/${encodeURIComponent(name).replace(/%2B/g, "+")}`;
  let body;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(120_000) });
    if (!res.ok) fail(`${url} answered ${res.status} (set TETHER_DEBIAN_MIRROR to another Debian mirror?)`);
    body = Buffer.from(await res.arrayBuffer());
  } catch (e) {
    fail(`cannot download ${url}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const got = sha256(body);
  if (got !== want) fail(`${name} has SHA-256 ${got}, expected ${want}; not used`);
  mkdirSync(downloads, { recursive: true });
  writeFileSync(file, body);
  return file;
}

const patches = readdirSync(ourPatches).filter((f) => f.endsWith(".patch")).sort();
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

const [orig, debian] = [await fetchChecked(FILES[0]), await fetchChecked(FILES[1])];
rmSync(src, { recursive: true, force: true });
rmSync(obj, { recursive: true, force: true });
rmSync(stampFile, { force: true });
mkdirSync(src, { recursive: true });
mkdirSync(obj, { recursive: true });
const log = join(obj, "build.log");
run("tar", ["xzf", orig, "-C", src, "--strip-components=1"], root, log);
run("tar", ["xJf", debian, "-C", src], root, log);
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
