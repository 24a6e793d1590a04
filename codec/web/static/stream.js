// Free-viewpoint streams (docs/streaming.md): the stream file header, frame records, and delta
// frames (codec/stream/residual.py and masks.py) decoded against the previous decoded frame.
import { tables } from "./assets.js";
import { ByteReader, asBytes, crc32 } from "./bytes.js";
import { unpackHeader } from "./container.js";
import { CodecError, corrupt } from "./errors.js";
import { countsToFreqs, decodeSymbols } from "./entropy.js";
import { Model } from "./rans.js";
import { SH_COEFFS, decodeScene } from "./scene.js";

export const STREAM_VERSION = 1;
export const RECORD_HEADER_SIZE = 32;
export const TYPE_KEYFRAME = 1, TYPE_DELTA = 2, TYPE_INDEX = 3;
const MAX_PAYLOAD_BYTES = 1 << 28;
const DELTA_VERSION = 1;
// attribute groups, in wire order (bit i of a pattern = group i): [scene field, channels]
const GROUPS = [["means", 3], ["logScales", 3], ["quats", 4], ["opacity", 1], ["shDc", 3], ["shRest", -1]];
const MASK_SAME = 0, MASK_FLIPS = 1, MASK_BITS = 2;

/** The stream container at the start of `data`: {fps, gop, shDegree, headerSize}. */
export function parseStreamHeader(data) {
  const info = unpackHeader(asBytes(data), "stream");
  if (info.sections.length) throw corrupt("corrupt stream: its container declares sections");
  const f = info.fields, t = info.types;
  for (const name of ["fps", "gop", "stream_version", "sh_degree"]) {
    if (!f.has(name)) throw corrupt(`corrupt stream: header field '${name}' is missing`);
  }
  if (f.get("stream_version") !== STREAM_VERSION) {
    throw new CodecError(`unsupported stream version ${f.get("stream_version")} (this build reads ${STREAM_VERSION})`, "unsupported-version");
  }
  const fps = f.get("fps"), gop = f.get("gop"), sh = f.get("sh_degree");
  if (t.get("fps") !== "f64" || !(fps > 0 && fps <= 1000)) throw corrupt(`corrupt stream: fps ${fps} is not in (0, 1000]`);
  if (t.get("gop") !== "i64" || t.get("sh_degree") !== "i64" || gop < 0 || ![0, 1, 2, 3].includes(sh)) {
    throw corrupt("corrupt stream: bad gop or sh_degree field");
  }
  return { fps, gop, shDegree: sh, headerSize: info.headerSize };
}

/** Verify the record at `offset` of `bytes` (header CRC, type, size, payload CRC): {type, number,
 * timestamp, payload, size} where size is the whole record's length. */
export function parseRecord(data, offset = 0) {
  const bytes = asBytes(data);
  if (bytes.length - offset < RECORD_HEADER_SIZE) throw new CodecError(`truncated: a frame record at byte ${offset} is cut short`, "truncated");
  const head = bytes.subarray(offset, offset + RECORD_HEADER_SIZE);
  const dv = new DataView(head.buffer, head.byteOffset, RECORD_HEADER_SIZE);
  if (String.fromCharCode(...head.subarray(0, 4)) !== "GMFR") throw corrupt(`corrupt stream: no frame record at byte ${offset}`);
  if (dv.getUint32(28, true) !== crc32(head.subarray(0, 28))) throw new CodecError(`checksum mismatch in the frame record header at byte ${offset}`, "checksum");
  const type = head[4];
  if (![TYPE_KEYFRAME, TYPE_DELTA, TYPE_INDEX].includes(type) || head[5] || head[6] || head[7]) {
    throw corrupt(`corrupt stream: unknown record type ${type} at byte ${offset}`);
  }
  const number = dv.getUint32(8, true), timestamp = dv.getFloat64(12, true), size = dv.getUint32(20, true);
  if (size > MAX_PAYLOAD_BYTES) throw new CodecError(`frame record at byte ${offset} claims ${size} bytes, the limit is ${MAX_PAYLOAD_BYTES}`, "limit");
  if (!Number.isFinite(timestamp)) throw corrupt(`corrupt stream: bad timestamp at byte ${offset}`);
  const payload = bytes.subarray(offset + RECORD_HEADER_SIZE, offset + RECORD_HEADER_SIZE + size);
  if (payload.length !== size) throw new CodecError(`truncated: frame ${number} needs ${size} bytes, got ${payload.length}`, "truncated");
  if (crc32(payload) !== dv.getUint32(24, true)) throw new CodecError(`checksum mismatch in frame ${number} (the stream is corrupt)`, "checksum");
  return { type, number, timestamp, payload, size: RECORD_HEADER_SIZE + size };
}

/** A whole `.gss` file: {info, records} with the frame records in order (the index is not needed). */
export function parseStreamFile(data) {
  const bytes = asBytes(data);
  const info = parseStreamHeader(bytes);
  const records = [];
  let pos = info.headerSize;
  while (pos < bytes.length) {
    const rec = parseRecord(bytes, pos);
    if (rec.type === TYPE_INDEX) break;
    if (rec.number !== records.length) throw corrupt(`corrupt stream: record at byte ${pos} is frame ${rec.number}, expected frame ${records.length}`);
    if (records.length === 0 && rec.type !== TYPE_KEYFRAME) throw corrupt("corrupt stream: the first frame is not a keyframe");
    records.push(rec);
    pos += rec.size;
  }
  return { info, records };
}

/** What a decoder carries between delta frames (codec.stream.residual.DeltaState). */
export function initialState(n) {
  return { changed: new Uint8Array(n), q: new Map() };
}

const channels = (scene, g) => (GROUPS[g][1] < 0 ? 3 * SH_COEFFS[scene.shDegree] : GROUPS[g][1]);

function readMask(r, ctx, n, family) {
  const mode = r.u8("mask mode");
  const changed = ctx.slice();
  if (mode === MASK_SAME) return changed;
  if (mode === MASK_FLIPS) {
    const f = r.varint("flip count", n);
    if (f === 0) throw corrupt("corrupt delta frame: empty flip list");
    const sid = r.u8("flip scale id");
    if (sid >= family.numScales) throw corrupt("corrupt delta frame: flip scale id out of range");
    const gaps = family.decode(r.blob("flip stream"), new Int32Array(f).fill(sid));
    let total = f;
    for (let i = 0; i < f; i++) { if (gaps[i] < 0) throw corrupt("corrupt delta frame: flip positions out of range"); total += gaps[i]; }
    if (total > n) throw corrupt("corrupt delta frame: flip positions out of range");
    for (let i = 0, p = -1; i < f; i++) { p += gaps[i] + 1; changed[p] ^= 1; }
    return changed;
  }
  if (mode !== MASK_BITS) throw corrupt(`corrupt delta frame: unknown mask mode ${mode}`);
  const c = [0, 1, 2, 3].map(() => r.varint("mask count", n));
  let ones = 0;
  for (let i = 0; i < n; i++) ones += ctx[i];
  if (c[0] + c[1] + c[2] + c[3] !== n || c[2] + c[3] !== ones) throw corrupt("corrupt delta frame: mask counts do not match the frame");
  const models = [Model.fromFreqs(countsToFreqs([c[0], c[1]])), Model.fromFreqs(countsToFreqs([c[2], c[3]]))];
  const bits = decodeSymbols(r.blob("mask stream"), models, n, ctx);
  let set = 0;
  for (let i = 0; i < n; i++) { changed[i] = bits[i]; set += bits[i]; }
  if (set !== c[1] + c[3]) throw corrupt("corrupt delta frame: mask does not match its counts");
  return changed;
}

function readPatterns(r, m, n) {
  const hist = new Float64Array(64);
  const count = r.u8("pattern count");
  for (let i = 0; i < count; i++) {
    const p = r.u8("pattern");
    if (!(p > 0 && p < 64) || hist[p]) throw corrupt("corrupt delta frame: bad pattern histogram");
    hist[p] = r.varint("pattern count", n);
  }
  let total = 0, kinds = 0, only = 0;
  for (let p = 0; p < 64; p++) if (hist[p]) { total += hist[p]; kinds++; only = p; }
  if (total !== m) throw corrupt("corrupt delta frame: pattern counts do not match the mask");
  const blob = r.blob("pattern stream");
  if (kinds > 1) {
    const patterns = decodeSymbols(blob, [Model.fromFreqs(countsToFreqs(hist))], m);
    const seen = new Float64Array(64);
    for (let i = 0; i < m; i++) seen[patterns[i]]++;
    for (let p = 0; p < 64; p++) if (seen[p] !== hist[p]) throw corrupt("corrupt delta frame: patterns do not match their histogram");
    return patterns;
  }
  if (blob.length) throw corrupt("corrupt delta frame: unexpected pattern stream");
  return new Int32Array(m).fill(m ? only : 0);
}

/**
 * Decode a delta payload against the decoded previous frame `ref` (a scene as decodeScene gives).
 * Returns {frame, state}; groups without residuals share the reference's arrays.
 */
export async function decodeDelta(payload, ref, state) {
  const { residualFamily: family } = await tables();
  const n = ref.n;
  if (state.changed.length !== n) throw corrupt("corrupt delta frame: decoder state does not match the reference frame");
  try {
    return decodeDeltaWith(payload, ref, state, family);
  } catch (e) {
    if (e instanceof CodecError && !e.message.startsWith("corrupt delta frame")) throw corrupt(`corrupt delta frame: ${e.message}`);
    throw e;
  }
}

function decodeDeltaWith(payload, ref, state, family) {
  const r = new ByteReader(payload, "delta frame");
  const n = ref.n;
  if (r.u8("version") !== DELTA_VERSION) throw corrupt("corrupt delta frame: unknown payload version");
  const count = r.u32("count"), k3 = r.u16("SH channels");
  const refK3 = channels(ref, 5);
  if (count !== n || k3 !== refK3) {
    throw corrupt(`corrupt delta frame: it codes ${count} Gaussians with ${k3} SH rest channels, the reference frame has ${n} and ${refK3}`);
  }
  const steps = GROUPS.map(() => r.f32("step"));
  if (!steps.every((s) => Number.isFinite(s) && s > 0)) throw corrupt("corrupt delta frame: a quantization step is not a positive number");
  const changed = readMask(r, state.changed, n, family);
  const idx = [];
  for (let i = 0; i < n; i++) if (changed[i]) idx.push(i);
  const patterns = readPatterns(r, idx.length, n);
  const sizes = [], idsParts = [];
  let total = 0;
  for (let g = 0; g < GROUPS.length; g++) {
    let rows = 0;
    for (let j = 0; j < patterns.length; j++) rows += (patterns[j] >> g) & 1;
    const c = channels(ref, g);
    if (rows === 0) continue;
    if (c === 0) throw corrupt(`corrupt delta frame: residuals for an empty group`);
    for (let ch = 0; ch < c; ch++) {
      const id = r.u8("scale id");
      if (id >= family.numScales) throw corrupt("corrupt delta frame: scale id out of range");
      idsParts.push([id, rows]);
    }
    sizes.push([g, rows, c]);
    total += rows * c;
  }
  const stream = r.blob("residual stream");
  r.expectEnd();
  if (!idsParts.length && stream.length) throw corrupt("corrupt delta frame: unexpected residual stream");
  const ids = new Int32Array(total);
  let at = 0;
  for (const [id, rows] of idsParts) { ids.fill(id, at, at + rows); at += rows; }
  const values = total ? family.decode(stream, ids) : new Float64Array(0);
  const frame = { ...ref };
  const nextQ = new Map();
  let pos = 0;
  for (const [g, rows, c] of sizes) {
    const sent = new Int32Array(rows);
    for (let j = 0, k = 0; j < patterns.length; j++) if ((patterns[j] >> g) & 1) sent[k++] = idx[j];
    const q = new Float64Array(rows * c); // row-major [rows, c]
    for (let ch = 0; ch < c; ch++) for (let i = 0; i < rows; i++) q[i * c + ch] = values[pos + ch * rows + i];
    pos += rows * c;
    const prev = state.q.get(g);
    if (prev) { // motion prediction: the same row's residual one frame earlier
      for (let i = 0, p = 0; i < rows; i++) {
        while (p < prev.rows.length && prev.rows[p] < sent[i]) p++;
        if (p < prev.rows.length && prev.rows[p] === sent[i]) for (let ch = 0; ch < c; ch++) q[i * c + ch] += prev.q[p * c + ch];
      }
    }
    for (let i = 0; i < q.length; i++) if (!Number.isSafeInteger(q[i])) throw corrupt("corrupt delta frame: a residual is out of range");
    nextQ.set(g, { rows: sent, q });
    const field = GROUPS[g][0], arr = ref[field].slice(), step = steps[g];
    for (let i = 0; i < rows; i++) {
      const base = sent[i] * c;
      for (let ch = 0; ch < c; ch++) {
        const v = Math.fround(arr[base + ch] + q[i * c + ch] * step);
        if (!Number.isFinite(v)) throw corrupt(`corrupt delta frame: ${field} residuals give non-finite values`);
        arr[base + ch] = v;
      }
      if (field === "quats") {
        const a = arr[base], b = arr[base + 1], cc = arr[base + 2], d = arr[base + 3];
        const norm = Math.sqrt(a * a + b * b + cc * cc + d * d);
        if (norm < 1e-12) throw corrupt("corrupt delta frame: a quaternion residual gives a zero rotation");
        for (let ch = 0; ch < 4; ch++) arr[base + ch] = arr[base + ch] / norm;
      }
    }
    frame[field] = arr;
  }
  return { frame, state: { changed, q: nextQ } };
}

/** Decode a frame record (bytes) given the previous decoded frame and state (null after none). */
export async function decodeRecord(record, ref, state) {
  if (record.type === TYPE_KEYFRAME) {
    let frame;
    try {
      frame = await decodeScene(record.payload);
    } catch (e) {
      if (e instanceof CodecError) throw new CodecError(`keyframe ${record.number}: ${e.message}`, e.kind);
      throw e;
    }
    return { frame, state: initialState(frame.n) };
  }
  if (record.type !== TYPE_DELTA) throw corrupt(`record ${record.number} is not a frame`);
  if (ref === null) throw corrupt(`delta frame ${record.number} has no keyframe before it`);
  return decodeDelta(record.payload, ref, state);
}
