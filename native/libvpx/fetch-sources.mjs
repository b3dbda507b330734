#!/usr/bin/env node
// Maintainers only: replaces the pinned libvpx sources in native/libvpx/sources/ with another Debian
// 12 revision (native/libvpx/README.md). The build never runs this and never downloads.
//
//   node native/libvpx/fetch-sources.mjs                     # the revisions Debian 12 offers now
//   node native/libvpx/fetch-sources.mjs 1.12.0-1+deb12u6    # fetch that one, verified; print the sums
//
// Trust comes from the Debian archive, as for apt: each suite's InRelease is checked with gpgv
// against /usr/share/keyrings/debian-archive-keyring.gpg, the suite's Sources.xz against InRelease,
// and the .dsc and both tarballs against Sources.xz (SHA-256 and size). Mirrors: TETHER_DEBIAN_MIRROR
// (default http://deb.debian.org/debian) and TETHER_DEBIAN_SECURITY_MIRROR (default
// http://deb.debian.org/debian-security). Needs gpgv, debian-archive-keyring and xz-utils.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const sources = join(dirname(fileURLToPath(import.meta.url)), "sources");
const KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg";
const strip = (u) => u.replace(/\/+$/, "");
const SUITES = [
  { base: strip(process.env["TETHER_DEBIAN_MIRROR"] || "http://deb.debian.org/debian"), suite: "bookworm" },
  { base: strip(process.env["TETHER_DEBIAN_SECURITY_MIRROR"] || "http://deb.debian.org/debian-security"), suite: "bookworm-security" },
];

function fail(message) {
  console.error(`fetch-sources: ${message}`);
  process.exit(1);
}

const sha256 = (buf) => createHash("sha256").update(buf).digest("hex");

async function get(url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(300_000) });
    if (!res.ok) fail(`${url} answered ${res.status}`);
    return Buffer.from(await res.arrayBuffer());
  } catch (e) {
    return fail(`cannot download ${url}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** A download that must have this SHA-256 and size (from a signed index). */
async function getChecked(url, want, size) {
  const body = await get(url);
  if (body.length !== size || sha256(body) !== want) fail(`${url}: ${body.length} bytes, SHA-256 ${sha256(body)}; the signed index says ${size} bytes, ${want}`);
  return body;
}

/** `Field: value` stanzas of a Debian control file; continuation lines stay in the value. */
function stanzas(text) {
  return text.split(/\n\s*\n/).map((block) => {
    const fields = {};
    let key = "";
    for (const line of block.split("\n")) {
      if (/^\s/.test(line) && key) fields[key] += `\n${line.trim()}`;
      else if (line.includes(":")) {
        key = line.slice(0, line.indexOf(":"));
        fields[key] = line.slice(line.indexOf(":") + 1).trim();
      }
    }
    return fields;
  });
}

/** `sha size name` lines of a Checksums-Sha256 / SHA256 field. */
const checksums = (field) =>
  (field ?? "")
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((p) => p.length === 3)
    .map(([sha, size, name]) => ({ sha256: sha, size: Number(size), name }));

/** The libvpx source stanzas one suite lists, read from its signed index. */
async function libvpxIn({ base, suite }, work) {
  const inRelease = join(work, `${suite}.InRelease`);
  writeFileSync(inRelease, await get(`${base}/dists/${suite}/InRelease`));
  const v = spawnSync("gpgv", ["--keyring", KEYRING, "--output", "-", inRelease], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (v.error) fail(`cannot run gpgv: ${v.error.message} (apt-get install gpgv debian-archive-keyring)`);
  if (v.status !== 0) fail(`${base}/dists/${suite}/InRelease: the signature does not verify against ${KEYRING}: ${v.stderr.trim()}`);
  const index = checksums(stanzas(v.stdout)[0]?.["SHA256"]).find((f) => f.name === "main/source/Sources.xz");
  if (!index) fail(`${base}/dists/${suite}/InRelease names no main/source/Sources.xz`);
  const xz = await getChecked(`${base}/dists/${suite}/main/source/Sources.xz`, index.sha256, index.size);
  const un = spawnSync("xz", ["-dc"], { input: xz, maxBuffer: 1024 * 1024 * 1024 });
  if (un.status !== 0) fail(`xz -dc failed on ${suite}'s Sources.xz (apt-get install xz-utils)`);
  return stanzas(un.stdout.toString("utf8"))
    .filter((s) => s["Package"] === "libvpx")
    .map((s) => ({ base, suite, version: s["Version"], directory: s["Directory"], files: checksums(s["Checksums-Sha256"]) }));
}

const wanted = process.argv[2];
const work = mkdtempSync(join(tmpdir(), "tether-libvpx-"));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));
const found = [];
for (const s of SUITES) found.push(...(await libvpxIn(s, work)));
if (!wanted) {
  for (const f of found) console.log(`${f.suite}: libvpx ${f.version}`);
  console.log(`pinned: ${readdirSync(sources).find((f) => f.endsWith(".dsc")) ?? "none"}. Fetch one with: node native/libvpx/fetch-sources.mjs <version>`);
  process.exit(0);
}
const pick = found.find((f) => f.version === wanted);
if (!pick) fail(`Debian 12 offers no libvpx ${wanted} now (${found.map((f) => `${f.suite}: ${f.version}`).join(", ") || "none found"})`);
const fetched = join(work, "fetched");
mkdirSync(fetched);
for (const f of pick.files) {
  if (!/^libvpx_[^/]+$/.test(f.name)) fail(`unexpected file name in Sources: ${f.name}`);
  writeFileSync(join(fetched, f.name), await getChecked(`${pick.base}/${pick.directory}/${f.name}`, f.sha256, f.size));
}
// Only now, with every file verified: replace the old revision.
for (const old of readdirSync(sources)) if (old.startsWith("libvpx_")) rmSync(join(sources, old));
for (const f of pick.files) copyFileSync(join(fetched, f.name), join(sources, f.name));
const sums = pick.files.map((f) => `${f.sha256}  ${f.name}\n`).join("");
writeFileSync(join(sources, "SHA256SUMS"), sums);
console.log(`libvpx ${pick.version} from ${pick.suite} (${pick.base}), verified against the archive's signature:\n${sums}`);
console.log("Written to native/libvpx/sources/ with SHA256SUMS. Next: npm run build:native, the tests (native/libvpx/README.md), commit.");
