/**
 * The Windows app's trailer slot inside its Authenticode signature (src/app/authenticode-slot.ts):
 * a PE signed with a certificate made here (openssl) by Debian's osslsigncode keeps a valid
 * signature whatever trailer a download puts in the slot, and the trailer is the file's last bytes,
 * as the app reads it; appending the trailer after the signed file instead breaks the signature.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash, generateKeyPairSync } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { certificateTable, reserveTrailerSlot, SignatureLayoutError } from "../src/app/authenticode-slot.js";
import { makeTrailer, parseTrailer, trailerLength, MAX_TRAILER_BYTES } from "../src/link/trailer.js";
import { tempDir } from "./support/procs.js";

const SLOT = 2048;
let dir = "";
let signed: Buffer;
let unsigned: Buffer;
const brokerKey = generateKeyPairSync("ed25519");
const brokerPublicKey = Buffer.from(brokerKey.publicKey.export({ format: "jwk" }).x!, "base64url").toString("base64url");

function verify(bytes: Buffer): { ok: boolean; output: string } {
  const file = join(dir, `verify-${Math.random().toString(36).slice(2)}.exe`);
  writeFileSync(file, bytes);
  const r = spawnSync("osslsigncode", ["verify", "-in", file, "-CAfile", join(dir, "cert.pem")], { encoding: "utf8" });
  return { ok: r.status === 0 && /Signature verification: ok/.test(r.stdout), output: r.stdout + r.stderr };
}

function sign(input: string, output: string): void {
  execFileSync(
    "osslsigncode",
    [
      "sign",
      "-certs",
      join(dir, "cert.pem"),
      "-key",
      join(dir, "key.pem"),
      "-h",
      "sha256",
      "-n",
      "Remote support app",
      "-in",
      input,
      "-out",
      output,
    ],
    { stdio: "pipe" },
  );
}

beforeAll(() => {
  dir = tempDir("tether-authenticode-");
  // A code-signing certificate of our own (self-signed; verify trusts it with -CAfile).
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      join(dir, "key.pem"),
      "-out",
      join(dir, "cert.pem"),
      "-days",
      "2",
      "-subj",
      "/CN=Tether Test Code Signing/O=Tether Tests",
      "-addext",
      "extendedKeyUsage=codeSigning",
      "-addext",
      "keyUsage=digitalSignature",
    ],
    { stdio: "pipe" },
  );
  // Any PE will do: a small one made here with mingw-w64 (the Windows build's compiler).
  const exe = join(dir, "hello.exe");
  writeFileSync(join(dir, "hello.c"), "int main(void) { return 0; }\n");
  execFileSync("x86_64-w64-mingw32-gcc-posix", ["-O2", "-s", join(dir, "hello.c"), "-o", exe], { stdio: "pipe" });
  unsigned = readFileSync(exe);
  sign(exe, join(dir, "signed.exe"));
  signed = readFileSync(join(dir, "signed.exe"));
}, 60_000);

const trailerFor = (image: Buffer, broker: string) =>
  makeTrailer(
    {
      v: 2,
      broker,
      code: "Q".repeat(32),
      session: "s_abcdefgh",
      issuedAt: 1,
      image: { size: image.length, sha256: createHash("sha256").update(image).digest("hex") },
    },
    brokerKey.privateKey,
    SLOT,
  );

describe("the trailer slot in the Authenticode signature", () => {
  it("appending the trailer after a signed .exe breaks the signature (why the slot exists)", () => {
    expect(verify(signed).ok).toBe(true);
    const appended = verify(Buffer.concat([signed, trailerFor(signed, "https://help.example.org")]));
    expect(appended.ok).toBe(false);
  });

  it("keeps the signature valid with any trailer in the slot; the trailer is the file's last bytes, nothing after the signature", () => {
    const slotted = reserveTrailerSlot(signed, SLOT);
    const image = slotted.subarray(0, slotted.length - SLOT);
    for (const broker of ["https://help.example.org", `https://${"a".repeat(200)}.example.org:8443/support`]) {
      const trailer = trailerFor(image, broker);
      expect(trailer.length).toBe(SLOT);
      const download = Buffer.concat([image, trailer]);
      const v = verify(download);
      expect(v.ok, v.output).toBe(true);
      // The program's digest is the one the build signed.
      const digest = (out: string) => /Current message digest\s*:\s*([0-9A-F]+)/.exec(out)?.[1];
      expect(digest(v.output)).toBe(digest(verify(signed).output));
      // The app finds it where it looks on Linux: at the end of its file.
      const tail = download.subarray(download.length - MAX_TRAILER_BYTES);
      expect(trailerLength(tail)).toBe(SLOT);
      const parsed = parseTrailer(tail, brokerPublicKey);
      expect(parsed.ok && parsed.payload.broker).toBe(broker);
      expect(parsed.ok && parsed.payload.image.size).toBe(image.length);
    }
    // What Windows' strict check (EnableCertPaddingCheck) wants: one entry, no bytes after the PKCS#7 blob.
    const table = certificateTable(slotted);
    expect(table.offset + table.size).toBe(slotted.length);
    expect(slotted.readUInt32LE(table.offset)).toBe(table.size);
    const der = slotted.subarray(table.offset + 8);
    expect(der[0]).toBe(0x30);
    expect(der[1]).toBe(0x82);
    expect(4 + der.readUInt16BE(2)).toBe(der.length);
    expect(table.size % 8).toBe(0);
  });

  it("comes after an unauthenticated attribute already there (as a timestamp would be), in DER order", () => {
    const withBlob = join(dir, "with-blob.exe");
    execFileSync("osslsigncode", ["add", "-addUnauthenticatedBlob", "-in", join(dir, "signed.exe"), "-out", withBlob], { stdio: "pipe" });
    const slotted = reserveTrailerSlot(readFileSync(withBlob), SLOT);
    const image = slotted.subarray(0, slotted.length - SLOT);
    const v = verify(Buffer.concat([image, trailerFor(image, "https://help.example.org")]));
    expect(v.ok, v.output).toBe(true);
    expect(image.includes(Buffer.from("---BEGIN_BLOB---"))).toBe(true); // the first one is still there
  });

  it("refuses files it cannot lay out safely: unsigned, not a PE", () => {
    expect(() => reserveTrailerSlot(unsigned, SLOT)).toThrow(SignatureLayoutError);
    expect(() => reserveTrailerSlot(Buffer.from("not a program at all, just text"), SLOT)).toThrow(SignatureLayoutError);
  });

  it("a trailer that does not fit the slot is refused, not truncated", () => {
    expect(() => trailerFor(Buffer.alloc(1), `https://${"a".repeat(SLOT)}.example.org`)).toThrow(RangeError);
  });
});
