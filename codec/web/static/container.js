// The gmcodec container (docs/format.md): magic, version, flags, typed header fields, a section
// table with CRC32s. The checks run in the order of docs/format.md section 6.
import { ByteReader, asBytes, crc32 } from "./bytes.js";
import { CodecError } from "./errors.js";

export const FORMAT_VERSION = 1;
export const MAGIC = { image: "GMCI", scene: "GMCS", stream: "GMCV" };
const KIND_BY_MAGIC = Object.fromEntries(Object.entries(MAGIC).map(([k, m]) => [m, k]));
const MAX_HEADER_BYTES = 1 << 20, MAX_HEADER_FIELDS = 256, MAX_NAME_BYTES = 64, MAX_SECTIONS = 4096;
const MAX_SECTION_BYTES = 2 ** 32, MAX_TOTAL_BYTES = 2 ** 32;
const PREAMBLE = 12;
const utf8 = new TextDecoder("utf-8", { fatal: true });

function text(raw, what) {
  try { return utf8.decode(raw); } catch { throw new CodecError(`corrupt header: ${what} is not valid UTF-8`); }
}

const article = (w) => ("aeiou".includes(w[0]) ? `an ${w}` : `a ${w}`);

/** Kind of the file starting with `bytes` ("image", "scene", "stream"), or a CodecError. */
export function detectKind(bytes) {
  if (bytes.length === 0) throw new CodecError("not a codec file (it is empty)", "not-a-codec-file");
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic in KIND_BY_MAGIC) return KIND_BY_MAGIC[magic];
  if (bytes.length < 4 && Object.keys(KIND_BY_MAGIC).some((m) => m.startsWith(magic))) {
    throw new CodecError(`truncated: expected at least 4 bytes, got ${bytes.length}`, "truncated");
  }
  throw new CodecError("not a codec file (unknown magic)", "not-a-codec-file");
}

/** Parse and verify the header; `data` may be a prefix. Returns {kind, version, fields, sections,
 * headerSize, totalSize}; fields is a Map name -> number | BigInt | string | Uint8Array, types
 * a Map name -> "i64" | "f64" | "str" | "bytes". */
export function unpackHeader(data, kind = null) {
  const bytes = asBytes(data);
  const found = detectKind(bytes);
  if (kind !== null && found !== kind) {
    throw new CodecError(`this is ${article(found)} file, not ${article(kind)} file`, "wrong-kind");
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length >= 6) {
    const version = dv.getUint16(4, true);
    if (version !== FORMAT_VERSION) {
      throw new CodecError(`unsupported format version ${version} (this build reads version ${FORMAT_VERSION})`,
        "unsupported-version");
    }
  }
  if (bytes.length < PREAMBLE) throw new CodecError(`truncated: expected at least ${PREAMBLE} bytes, got ${bytes.length}`, "truncated");
  const version = dv.getUint16(4, true), flags = dv.getUint16(6, true), bodyLen = dv.getUint32(8, true);
  if (flags !== 0) throw new CodecError("corrupt header: reserved flags are not 0");
  if (bodyLen > MAX_HEADER_BYTES) throw new CodecError(`header claims ${bodyLen} bytes, the limit is ${MAX_HEADER_BYTES}`, "limit");
  const headerEnd = PREAMBLE + bodyLen, headerSize = headerEnd + 4;
  if (bytes.length < headerSize) {
    throw new CodecError(`truncated: expected at least ${headerSize} bytes for the header, got ${bytes.length}`, "truncated");
  }
  if (crc32(bytes.subarray(0, headerEnd)) !== dv.getUint32(headerEnd, true)) {
    throw new CodecError("checksum mismatch in header (the file is corrupt)", "checksum");
  }
  const r = new ByteReader(bytes.subarray(PREAMBLE, headerEnd), "header");
  const name = (what) => {
    const size = r.u8(`${what} name length`);
    if (size < 1 || size > MAX_NAME_BYTES) throw new CodecError(`corrupt header: ${what} name length ${size} is not in 1..${MAX_NAME_BYTES}`);
    return text(r.take(size, `${what} name`), `${what} name`);
  };
  const nFields = r.u16("field count"), nSections = r.u16("section count");
  if (nFields > MAX_HEADER_FIELDS) throw new CodecError(`header claims ${nFields} fields, the limit is ${MAX_HEADER_FIELDS}`, "limit");
  if (nSections > MAX_SECTIONS) throw new CodecError(`header claims ${nSections} sections, the limit is ${MAX_SECTIONS}`, "limit");
  const fields = new Map(), types = new Map();
  for (let i = 0; i < nFields; i++) {
    const n = name("field");
    if (fields.has(n)) throw new CodecError(`corrupt header: field '${n}' appears twice`);
    const tag = r.u8(`type of field '${n}'`);
    types.set(n, ["", "i64", "f64", "str", "bytes"][tag] || "?");
    if (tag === 1) fields.set(n, r.i64(`field '${n}'`));
    else if (tag === 2) fields.set(n, r.f64(`field '${n}'`));
    else if (tag === 3 || tag === 4) {
      const raw = r.blob(`field '${n}'`);
      fields.set(n, tag === 3 ? text(raw, `field '${n}'`) : raw.slice());
    } else throw new CodecError(`corrupt header: field '${n}' has unknown type tag ${tag}`);
  }
  const sections = [], seen = new Set();
  let total = headerSize;
  for (let i = 0; i < nSections; i++) {
    const n = name("section");
    if (seen.has(n)) throw new CodecError(`corrupt header: section '${n}' appears twice`);
    seen.add(n);
    const size = r.u64(`entry of section '${n}'`), crc = r.u32(`entry of section '${n}'`);
    if (size > MAX_SECTION_BYTES) throw new CodecError(`section '${n}' claims ${size} bytes, the limit is ${MAX_SECTION_BYTES}`, "limit");
    total += size;
    if (total > MAX_TOTAL_BYTES) throw new CodecError(`file claims at least ${total} bytes, the limit is ${MAX_TOTAL_BYTES}`, "limit");
    sections.push({ name: n, size, crc });
  }
  if (r.remaining) throw new CodecError(`corrupt header: ${r.remaining} unexpected bytes at its end`);
  return { kind: found, version, fields, types, sections, headerSize, totalSize: total };
}

/** Parse and verify a whole file: {kind, version, fields, sections: Map name -> Uint8Array (views)}. */
export function unpack(data, kind = null) {
  const bytes = asBytes(data);
  const info = unpackHeader(bytes, kind);
  if (bytes.length < info.totalSize) {
    throw new CodecError(`truncated: expected ${info.totalSize} bytes, got ${bytes.length}`, "truncated");
  }
  if (bytes.length > info.totalSize) {
    throw new CodecError(`corrupt file: ${bytes.length - info.totalSize} unexpected byte(s) after the last section`);
  }
  const sections = new Map();
  let pos = info.headerSize;
  for (const s of info.sections) {
    const payload = bytes.subarray(pos, pos + s.size);
    if (crc32(payload) !== s.crc) throw new CodecError(`checksum mismatch in section '${s.name}' (the file is corrupt)`, "checksum");
    sections.set(s.name, payload);
    pos += s.size;
  }
  return { kind: info.kind, version: info.version, fields: info.fields, types: info.types, sections };
}
