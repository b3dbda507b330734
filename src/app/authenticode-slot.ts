/**
 * Room for the session trailer inside the Authenticode signature of the Windows support app, so
 * that each download stays validly signed although it differs from every other one.
 *
 * Why: the broker appends a trailer per download (src/link/trailer.ts). Bytes appended after a
 * signed PE file are covered by its Authenticode hash (everything but the checksum, the certificate
 * table's directory entry and the table itself), so a plainly appended trailer breaks the
 * signature. Widening the certificate table over bytes after the PKCS#7 blob ("padding", the old
 * tagging trick) keeps it valid only while Windows does not check that padding
 * (EnableCertPaddingCheck, opt-in since MS13-098). What stays valid under both: data inside the
 * PKCS#7 blob where the signature does not reach, an unauthenticated attribute of the signer (the
 * timestamp lives there too).
 *
 * So the build, after signing, adds one unauthenticated attribute to the (only) signer: the
 * "unauthenticated blob" of osslsigncode (OID 1.3.6.1.4.1.42921.1.2.1), an OCTET STRING whose last
 * `slotBytes` bytes are the slot. The attribute is the signer's last, the signer the blob's last
 * element and the blob the certificate table's only entry, sized so that no alignment padding
 * follows it: the slot is the last `slotBytes` bytes of the file. Every length in front of it is
 * fixed at build time, so a download is the prebuilt file up to the slot plus a trailer of exactly
 * `slotBytes` bytes (makeTrailer's padTo), and the app reads its trailer at the end of its file as on
 * Linux. The PE checksum (outside the signature) is set to 0, "not computed": it could only be right
 * for one download.
 */

/** osslsigncode's "unauthenticated blob" attribute (OID 1.3.6.1.4.1.42921.1.2.1). */
const BLOB_OID = Buffer.from([0x06, 0x0b, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0xcf, 0x29, 0x01, 0x02, 0x01]);
const WIN_CERT_REVISION_2_0 = 0x0200;
const WIN_CERT_TYPE_PKCS_SIGNED_DATA = 0x0002;

export class SignatureLayoutError extends Error {}

interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  at: number;
  /** Offset of the contents. */
  start: number;
  /** Offset just after the contents. */
  end: number;
}

function readTlv(der: Buffer, at: number, limit: number): Tlv {
  if (at + 2 > limit) throw new SignatureLayoutError("truncated DER");
  const tag = der[at]!;
  if ((tag & 0x1f) === 0x1f) throw new SignatureLayoutError("multi-byte DER tags are not expected here");
  let len = der[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > limit) throw new SignatureLayoutError("bad DER length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i]!;
    start += n;
  }
  if (start + len > limit) throw new SignatureLayoutError("DER element runs past its parent");
  return { tag, at, start, end: start + len };
}

function children(der: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end;) {
    const t = readTlv(der, at, parent.end);
    out.push(t);
    at = t.end;
  }
  return out;
}

function encodeLength(len: number): Buffer {
  if (len < 0x80) return Buffer.from([len]);
  const bytes: number[] = [];
  for (let v = len; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const tlv = (tag: number, ...contents: Buffer[]) => {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), encodeLength(body.length), body]);
};

/** Where a PE file's certificate table is: the file offset and size its data directory names. */
export function certificateTable(pe: Buffer): { entry: number; offset: number; size: number; checksum: number } {
  if (pe.length < 0x40 || pe.toString("latin1", 0, 2) !== "MZ") throw new SignatureLayoutError("not a PE file (no MZ header)");
  const header = pe.readUInt32LE(0x3c);
  if (header + 24 > pe.length || pe.toString("latin1", header, header + 4) !== "PE\0\0") throw new SignatureLayoutError("not a PE file");
  const optional = header + 24;
  const magic = pe.readUInt16LE(optional);
  if (magic !== 0x20b && magic !== 0x10b) throw new SignatureLayoutError("unknown optional header");
  const entry = optional + (magic === 0x20b ? 112 : 96) + 4 * 8; // IMAGE_DIRECTORY_ENTRY_SECURITY
  return { entry, offset: pe.readUInt32LE(entry), size: pe.readUInt32LE(entry + 4), checksum: optional + 64 };
}

/**
 * A signed PE file with a slot of `slotBytes` zero bytes at its very end, inside the signature (see
 * the top of this file). Throws SignatureLayoutError if the file is not signed the way osslsigncode
 * signs (one PKCS#7 entry at the end of the file, one signer).
 */
export function reserveTrailerSlot(pe: Buffer, slotBytes: number): Buffer {
  const table = certificateTable(pe);
  if (table.offset === 0 || table.size === 0) throw new SignatureLayoutError("the file is not signed");
  if (table.offset + table.size !== pe.length) throw new SignatureLayoutError("the certificate table is not at the end of the file");
  const dwLength = pe.readUInt32LE(table.offset);
  if (pe.readUInt16LE(table.offset + 4) !== WIN_CERT_REVISION_2_0 || pe.readUInt16LE(table.offset + 6) !== WIN_CERT_TYPE_PKCS_SIGNED_DATA)
    throw new SignatureLayoutError("the certificate table holds no PKCS#7 signature");
  if (((dwLength + 7) & ~7) !== table.size) throw new SignatureLayoutError("the certificate table holds more than one entry");
  const der = pe.subarray(table.offset + 8, table.offset + dwLength);

  // ContentInfo { contentType, [0] { SignedData { …, signerInfos SET { SignerInfo } } } }
  const contentInfo = readTlv(der, 0, der.length);
  const [, explicit] = children(der, contentInfo);
  if (!explicit || explicit.tag !== 0xa0) throw new SignatureLayoutError("no signed data");
  const signedData = readTlv(der, explicit.start, explicit.end);
  const sdParts = children(der, signedData);
  const signerInfos = sdParts[sdParts.length - 1]!;
  if (signerInfos.tag !== 0x31) throw new SignatureLayoutError("signerInfos is not the last part of the signed data");
  const signers = children(der, signerInfos);
  if (signers.length !== 1) throw new SignatureLayoutError(`expected one signer, found ${signers.length}`);
  const signer = signers[0]!;
  const siParts = children(der, signer);
  const last = siParts[siParts.length - 1]!;
  const existing = last.tag === 0xa1 ? children(der, last).map((t) => der.subarray(t.at, t.end)) : [];
  const kept = last.tag === 0xa1 ? siParts.slice(0, -1) : siParts;
  const signerHead = Buffer.concat(kept.map((t) => der.subarray(t.at, t.end)));

  // The slot's attribute comes last in the SET OF, as DER orders it (by encoding), so it must
  // encode greater than every other attribute there (a timestamp): filler bytes before the slot
  // make it long enough, and align the table so that the slot ends the file.
  const build = (filler: number) => {
    const attribute = tlv(0x30, BLOB_OID, tlv(0x31, tlv(0x04, Buffer.alloc(filler + slotBytes))));
    const unauth = tlv(0xa1, ...existing, attribute);
    const newSigner = tlv(0x30, signerHead, unauth);
    const newSignedData = tlv(0x30, ...sdParts.slice(0, -1).map((t) => der.subarray(t.at, t.end)), tlv(0x31, newSigner));
    const newDer = tlv(0x30, der.subarray(contentInfo.start, explicit.at), tlv(0xa0, newSignedData));
    return { attribute, newDer };
  };
  for (let filler = 0; filler < 1 << 16; filler++) {
    const { attribute, newDer } = build(filler);
    if ((8 + newDer.length) % 8 !== 0 || existing.some((e) => Buffer.compare(attribute, e) <= 0)) continue;
    const out = Buffer.alloc(table.offset + 8 + newDer.length);
    pe.copy(out, 0, 0, table.offset);
    out.writeUInt32LE(8 + newDer.length, table.offset);
    out.writeUInt16LE(WIN_CERT_REVISION_2_0, table.offset + 4);
    out.writeUInt16LE(WIN_CERT_TYPE_PKCS_SIGNED_DATA, table.offset + 6);
    newDer.copy(out, table.offset + 8);
    out.writeUInt32LE(8 + newDer.length, table.entry + 4);
    out.writeUInt32LE(0, table.checksum);
    return out;
  }
  throw new SignatureLayoutError("no layout puts the slot last");
}
