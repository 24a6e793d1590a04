// The scene codec's decoder (codec/scene/codec.py decode_scene, docs/scenes.md): a "scene"
// container whose sections are entropy-coded integer streams, dequantized with the same float64
// operations as the Python decoder (so every output float32 has the same bits).
import { tables } from "./assets.js";
import { unpack } from "./container.js";
import { CodecError, corrupt } from "./errors.js";
import { decodeAdaptive, decodeSymbols, modelsFromCounts } from "./entropy.js";
import { inflate } from "./inflate.js";

// header field scene_version (absent in format 1 files); the container itself stays version 1
export const SCENE_FORMAT_VERSION = 5;
// 1: preset steps, k-means SH codebook; 2: steps in the header, SH per band; 3: bit depths and
// importance classes (codec/scene/importance.py) in the header; 4: SH band flags
// (codec/scene/sh_bands.py)
const READABLE_VERSIONS = [1, 2, 3, 4, 5];
const FLAG_VERSION = 4; // sh_bands.py FLAG_VERSION
const FRAME_VERSION = 5; // frame.py: the canonical frame (header field frame)
const MRP_LIMIT = Math.SQRT2 - 1; // frame.py MRP_LIMIT, tan(pi / 8)
const COLOR_R_BINS = 8, COLOR_B_BINS = 16; // codec.py: format 5's colour contexts
const SH_BANDS = [[0, 3], [3, 8], [8, 15]]; // coefficient ranges of SH bands 1, 2, 3
const SH_JOINT_MAX = 8192; // largest joint alphabet of one SH coefficient's RGB triple (sh_bands.py)
const MAX_GAUSSIANS = 1 << 26; // codec/scene/_files.py
const MAX_ALPHABET = 1 << 16;
const MAX_META = 1 << 24;
const MAX_TABLE = 1 << 22;
const BLOCK = 64;
const NUM_SCALES = 35; // LAPLACE_SCALES in codec/scene/streams.py
const ADAPTIVE_MAX = 1 << 15;
const REFINE = 6; // positions.py REFINE: the refinement levels of formats 1-4, the most format 5 allows
const SCALE_CONTEXTS = 8;
const OPACITY_CLASSES = 4;
const MAX_CLASS = 3; // importance classes 0..3 (format 3)
const AREA_BIAS = 128; // importance.py AREA_BIAS
const OPACITY_BITS = [4, 8]; // codec.py OPACITY_BITS
const MAX_ROT_BITS = 10;
const MAX_AXIS_BITS = 21;
export const SH_COEFFS = [0, 3, 8, 15];
const INV_SQRT2 = 1.0 / Math.sqrt(2.0);

// presets.py LEGACY_PRESETS: what format 1 and 2 files take from their quality (scaleStep and
// colorStep: format 1 only); format 3 headers carry the bit depths and relaxation caps
const LEGACY_PRESETS = {
  1: { scaleStep: 1 / 8, rotBits: 6, opacityBits: 6, colorStep: 0.07, relax: [2, 0, 0] },
  2: { scaleStep: 1 / 12, rotBits: 6, opacityBits: 7, colorStep: 0.05, relax: [1, 0, 0] },
  3: { scaleStep: 1 / 24, rotBits: 7, opacityBits: 8, colorStep: 0.035, relax: [0, 0, 0] },
  4: { scaleStep: 1 / 24, rotBits: 8, opacityBits: 8, colorStep: 0.025, relax: [0, 0, 0] },
  5: { scaleStep: 1 / 32, rotBits: 9, opacityBits: 8, colorStep: 0.015, relax: [0, 0, 0] },
};

/** `u32 len(meta) | zlib(meta) | payload` -> [meta, payload]. */
async function unpackStream(data, what) {
  if (data.length < 4) throw corrupt(`${what}: stream is truncated`);
  const m = new DataView(data.buffer, data.byteOffset, 4).getUint32(0, true);
  if (4 + m > data.length) throw corrupt(`${what}: stream metadata runs past the section`);
  return [await inflate(data.subarray(4, 4 + m), MAX_META, what), data.subarray(4 + m)];
}

const u32At = (b, off) => new DataView(b.buffer, b.byteOffset + off, 4).getUint32(0, true);

/** codec.scene.streams.decode_categorical of a stream's (promised) [meta, payload]:
 * [count] Int32Array of symbols in [0, k). */
export async function decodeCategorical(parts, count, k, ctx, t, what) {
  const [meta, payload] = await parts;
  if (meta.length < 9 || (meta[0] !== 0x54 && meta[0] !== 0x41)) throw corrupt(`${what}: bad table header`);
  const tt = u32At(meta, 1), kk = u32At(meta, 5);
  if (tt !== t || kk !== k || t * k > MAX_TABLE) throw corrupt(`${what}: table shape ${tt}x${kk} does not match the expected ${t}x${k}`);
  if (count === 0) return new Int32Array(0);
  try {
    if (meta[0] === 0x41) return decodeAdaptiveStreams(meta, payload, count, k, ctx, t, what);
    if (meta.length !== 9 + 2 * t * k) throw corrupt(`${what}: table size does not match its shape`);
    const counts = new Uint16Array(t * k);
    const dv = new DataView(meta.buffer, meta.byteOffset + 9, 2 * t * k);
    for (let i = 0; i < t * k; i++) counts[i] = dv.getUint16(2 * i, true);
    return decodeSymbols(payload, modelsFromCounts(counts, t, k), count, t === 1 ? null : ctx);
  } catch (e) {
    if (e instanceof CodecError) throw corrupt(`${what}: ${e.message}`);
    throw e;
  }
}

function decodeAdaptiveStreams(meta, payload, count, k, ctx, t, what) {
  if (count > ADAPTIVE_MAX || meta.length !== 9 + 4 * t) throw corrupt(`${what}: adaptive stream header is malformed`);
  const lengths = [];
  let total = 0;
  for (let j = 0; j < t; j++) { lengths.push(u32At(meta, 9 + 4 * j)); total += lengths[j]; }
  if (total !== payload.length) throw corrupt(`${what}: adaptive stream lengths do not match the payload`);
  const out = new Int32Array(count);
  let off = 0;
  for (let j = 0; j < t; j++) {
    const sel = [];
    for (let i = 0; i < count; i++) if ((ctx === null ? 0 : ctx[i]) === j) sel.push(i);
    const part = payload.subarray(off, off + lengths[j]);
    off += lengths[j];
    if (sel.length === 0) {
      if (part.length) throw corrupt(`${what}: data for an empty context`);
      continue;
    }
    const sym = decodeAdaptive(part, sel.length, k, 32, 1 << 16, 64);
    for (let i = 0; i < sel.length; i++) out[sel[i]] = sym[i];
  }
  return out;
}

/** codec.scene.streams.decode_residuals of a stream's (promised) [meta, payload]: [count]
 * Float64Array of integers. */
async function decodeResiduals(parts, count, family, ctx, t, what) {
  const [meta, payload] = await parts;
  let ids;
  if (meta[0] === 0x43 && ctx !== null) { // "C": one scale id per context
    if (meta.length !== 5 + t || u32At(meta, 1) !== t) throw corrupt(`${what}: bad context table`);
    const choice = meta.subarray(5, 5 + t);
    if (choice.some((c) => c >= NUM_SCALES)) throw corrupt(`${what}: scale id out of range`);
    ids = new Int32Array(count);
    for (let i = 0; i < count; i++) ids[i] = choice[ctx[i]];
  } else if (meta[0] === 0x42 && ctx === null) { // "B": block scale ids as a categorical stream
    const nb = Math.ceil(count / BLOCK);
    const blockIds = await decodeCategorical(unpackStream(meta.subarray(1), what), nb, NUM_SCALES, null, 1, what);
    ids = new Int32Array(count);
    for (let i = 0; i < count; i++) ids[i] = blockIds[(i / BLOCK) | 0];
  } else throw corrupt(`${what}: unknown residual stream mode`);
  if (count === 0) return new Float64Array(0);
  try {
    return family.decode(payload, ids);
  } catch (e) {
    if (e instanceof CodecError) throw corrupt(`${what}: ${e.message}`);
    throw e;
  }
}

/** codec.scene.streams.bucket: bit length of min(|x|, 2^14), 0..15. */
function bucket(x) {
  const a = Math.min(Math.abs(x), 1 << 14);
  return a === 0 ? 0 : 32 - Math.clz32(a);
}

/** importance.py importance_class: [n] Int32Array, clip((WO[qo] + WA[s_mid + s_max - lo] - 128) >> 1, 0, 3)
 * from the header's tables; sv holds the three quantized log-scale columns. */
function importanceClasses(c, qo, sv, n) {
  const wo = lutField(c, "importance_opacity", 255), wa = lutField(c, "importance_area", 255);
  const lo = intField(c, "importance_area_lo", -(2 ** 40), 2 ** 40);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const a = sv[0][i], b = sv[1][i], cc = sv[2][i];
    const area = a + b + cc - Math.min(a, b, cc) - lo;
    if (area < 0 || area >= wa.length) throw corrupt("importance table does not cover the decoded scales");
    if (qo[i] >= wo.length) throw corrupt("importance table does not cover the opacity levels");
    out[i] = Math.min(Math.max((wo[qo[i]] + wa[area] - AREA_BIAS) >> 1, 0), MAX_CLASS);
  }
  return out;
}

function intField(c, name, lo, hi) {
  const v = c.fields.get(name);
  if (c.types.get(name) !== "i64" || typeof v !== "number" || v < lo || v > hi) {
    throw corrupt(`scene header field '${name}' is missing or out of range (${v})`);
  }
  return v;
}

/** A finite f64 header field in [lo, hi] (codec.py _float). */
function floatField(c, name, lo, hi) {
  const v = c.fields.get(name);
  if (c.types.get(name) !== "f64" || !Number.isFinite(v) || v < lo || v > hi) {
    throw corrupt(`scene header field '${name}' is missing or out of range (${v})`);
  }
  return v;
}

function lutField(c, name, top) {
  const raw = c.fields.get(name);
  if (!(raw instanceof Uint8Array) || raw.length === 0 || raw.length > MAX_ALPHABET) {
    throw corrupt(`scene header field '${name}' is missing or malformed`);
  }
  if (raw.some((v) => v > top)) throw corrupt(`scene header field '${name}' has out-of-range entries`);
  return raw;
}

const section = (c, name) => {
  const s = c.sections.get(name);
  if (s === undefined) throw corrupt(`the scene file has no section '${name}'`);
  return s;
};

/** Start inflating every stream's metadata at once (they are independent); name -> promise. */
function streamParts(c) {
  const parts = new Map();
  for (const [name, data] of c.sections) {
    if (name === "sh_codebook") continue;
    const p = unpackStream(data, name);
    p.catch(() => {}); // rejections surface where the stream is decoded (or not at all)
    parts.set(name, p);
  }
  return (name) => {
    if (!parts.has(name)) throw corrupt(`the scene file has no section '${name}'`);
    return parts.get(name);
  };
}

function allFinite(arr) {
  for (let i = 0; i < arr.length; i++) if (!Number.isFinite(arr[i])) return false;
  return true;
}

/** float16 bits -> float value (exact). */
function halfToFloat(h) {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1024 + m) * 2 ** (e - 25);
}

/**
 * Decode a scene file (bytes) into typed arrays, Gaussians in the codec's Morton order:
 * {n, shDegree, means [3n], logScales [3n], quats [4n] (w,x,y,z), opacity [n] (logits),
 *  shDc [3n], shRest [n*K*3] (coefficient-major, RGB innermost)}, all Float32Array.
 */
export async function decodeScene(data) {
  const c = unpack(data, "scene");
  const h = c.fields, size = data.byteLength;
  const version = h.has("scene_version") ? h.get("scene_version") : 1; // format 1 files have no such field
  if (!["i64", "f64", undefined].includes(c.types.get("scene_version")) || !READABLE_VERSIONS.includes(version)) {
    throw new CodecError(`scene format version ${version} is not supported (this build reads ${READABLE_VERSIONS.join(", ")})`, "unsupported-version");
  }
  const n = intField(c, "n", 0, MAX_GAUSSIANS);
  if (n > 64 * size + 64) throw new CodecError(`scene header claims ${n} Gaussians in ${size} bytes`, "limit");
  let preset;
  if (version < 3) { // bit depths and colour relaxation follow from the quality
    const quality = h.get("quality");
    preset = c.types.get("quality") === "i64" ? LEGACY_PRESETS[quality] : undefined;
    if (preset === undefined) throw corrupt(`scene header has an unknown quality ${quality}`);
  } else {
    intField(c, "quality", 0, 99);
    const relax = h.get("relax");
    if (!(relax instanceof Uint8Array) || relax.length !== 3 || relax.some((v) => v > MAX_CLASS)) {
      throw corrupt("scene header field 'relax' is missing or malformed");
    }
    preset = { opacityBits: intField(c, "opacity_bits", OPACITY_BITS[0], OPACITY_BITS[1]),
               rotBits: intField(c, "rot_bits", 2, MAX_ROT_BITS), relax: Array.from(relax) };
  }
  const [relaxColor, relaxRot, relaxPos] = preset.relax;
  const deg = intField(c, "sh_degree", 0, 3), k = SH_COEFFS[deg];
  const originB = h.get("origin"), step = h.get("pos_step");
  if (!(originB instanceof Uint8Array) || originB.length !== 24 || c.types.get("pos_step") !== "f64"
      || !Number.isFinite(step) || step <= 0) throw corrupt("scene header has a bad position grid");
  const odv = new DataView(originB.buffer, originB.byteOffset, 24);
  const origin = [odv.getFloat64(0, true), odv.getFloat64(8, true), odv.getFloat64(16, true)];
  if (!origin.every(Number.isFinite)) throw corrupt("scene header has a non-finite origin");
  // format 1: steps implied by the preset, no offsets
  const sstep = version === 1 ? preset.scaleStep : floatField(c, "scale_step", 1e-6, 16.0);
  const soff = version === 1 ? 0.0 : floatField(c, "scale_offset", -16.0, 16.0);
  const gstep = version === 1 ? preset.colorStep : floatField(c, "color_step", 1e-6, 16.0);
  const coff = version === 1 ? 0.0 : floatField(c, "color_offset", -16.0, 16.0);
  const { sceneFamily, opacity: opacityTables } = await tables();
  const stream = streamParts(c);

  const offsetCat = async (name, ctx, t) => {
    const lo = intField(c, `${name}_lo`, -(2 ** 40), 2 ** 40);
    const kk = intField(c, `${name}_k`, 1, MAX_ALPHABET);
    return { sym: await decodeCategorical(stream(name), n, kk, ctx, t, name), lo, k: kk };
  };

  // positions: coarse cells of 2^L fine steps from the deltas along the order (positions.py; L = 6
  // before format 5, which stores it)
  const refineLevels = version >= FRAME_VERSION ? intField(c, "refine_levels", 0, REFINE) : REFINE;
  const coarseCells = 2 ** (MAX_AXIS_BITS - refineLevels);
  const dx = await decodeResiduals(stream("pos_x"), n, sceneFamily, null, 1, "pos_x");
  const cy = new Int32Array(n), cz = new Int32Array(n);
  for (let i = 0; i < n; i++) cy[i] = bucket(dx[i]);
  const dy = await decodeResiduals(stream("pos_y"), n, sceneFamily, cy, 16, "pos_y");
  for (let i = 0; i < n; i++) cz[i] = bucket(Math.abs(dx[i]) + Math.abs(dy[i]));
  const dz = await decodeResiduals(stream("pos_z"), n, sceneFamily, cz, 16, "pos_z");
  const coarse = [dx, dy, dz].map((d) => {
    const out = new Float64Array(n);
    let acc = 0;
    for (let i = 0; i < n; i++) {
      acc += d[i];
      if (acc < 0 || acc >= coarseCells) throw corrupt("decoded positions leave the grid");
      out[i] = acc;
    }
    return out;
  });
  // opacity and its classes
  const ob = preset.opacityBits, levels = (1 << ob) - 1;
  const qo = await decodeCategorical(stream("opacity"), n, 1 << ob, null, 1, "opacity");
  const opTable = opacityTables[ob];
  const opacity = new Float32Array(n), octx = new Int32Array(n), ocls = new Int32Array(n);
  const oshift = Math.max(ob - 3, 0);
  for (let i = 0; i < n; i++) {
    const q = qo[i];
    opacity[i] = opTable[q];
    octx[i] = q >> oshift;
    ocls[i] = (q << 1 <= levels) + (q << 2 <= levels) + (q << 3 <= levels);
  }
  // log-scales
  const s0 = await offsetCat("scale_0", octx, 8);
  const sctx = new Int32Array(n);
  for (let i = 0; i < n; i++) sctx[i] = Math.min(Math.floor((s0.sym[i] * SCALE_CONTEXTS) / Math.max(s0.k, 1)), SCALE_CONTEXTS - 1);
  const s1 = await offsetCat("scale_1", sctx, SCALE_CONTEXTS);
  const s2 = await offsetCat("scale_2", sctx, SCALE_CONTEXTS);
  const reframed = version >= FRAME_VERSION && intField(c, "frame", 0, 1) === 1;
  const logScales = new Float32Array(3 * n);
  const sv = [];
  for (let j = 0; j < 3; j++) {
    const { sym, lo } = [s0, s1, s2][j], v = new Float64Array(n);
    for (let i = 0; i < n; i++) v[i] = sym[i] + lo;
    if (reframed && j > 0) { // canonical frame: s1 and s2 are coded as the gaps s0 - s1 and s1 - s2
      const prev = sv[j - 1];
      for (let i = 0; i < n; i++) v[i] = prev[i] - v[i];
    }
    for (let i = 0; i < n; i++) logScales[3 * i + j] = v[i] * sstep + soff;
    sv.push(v);
  }
  // importance classes (format 3: importance.py) or opacity classes (formats 1 and 2)
  const icls = version < 3 ? ocls : importanceClasses(c, qo, sv, n);
  // fine positions
  const lut = lutField(c, "refine_lut", refineLevels), refineLo = intField(c, "refine_lo", -(2 ** 40), 2 ** 40);
  const r = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const a = sv[0][i], b = sv[1][i], cc = sv[2][i];
    const mid = Math.max(Math.min(a, b), Math.min(Math.max(a, b), cc)) - refineLo;
    if (mid < 0 || mid >= lut.length) throw corrupt("refinement table does not cover the decoded scales");
    r[i] = Math.max(lut[mid] - Math.min(icls[i], relaxPos), 0);
  }
  const means = new Float32Array(3 * n);
  for (let a = 0; a < 3; a++) {
    const ax = "xyz"[a];
    const top = await decodeCategorical(stream(`refine_${ax}`), n, 1 << refineLevels, r, refineLevels + 1, `refine_${ax}`);
    const ca = coarse[a], o = origin[a];
    for (let i = 0; i < n; i++) {
      if (top[i] >> r[i]) throw corrupt("position refinement out of range");
      const shift = refineLevels - r[i];
      const q = ca[i] * (1 << refineLevels) + ((top[i] << shift) | ((1 << shift) >> 1));
      means[3 * i + a] = q * step + o;
    }
  }
  // rotations: smallest three of the Gaussians that store any bits
  const rlut = lutField(c, "rot_lut", preset.rotBits);
  const bits = new Int32Array(n), idxAll = new Int32Array(n);
  let m = 0;
  for (let i = 0; i < n; i++) {
    const a = sv[0][i], b = sv[1][i], cc = sv[2][i];
    const spread = Math.max(a, b, cc) - Math.min(a, b, cc);
    if (spread >= rlut.length) throw corrupt("rotation table too short for the decoded scales");
    const bb = rlut[spread] - Math.min(icls[i], relaxRot);
    bits[i] = bb < 2 ? 0 : bb;
    if (bits[i]) idxAll[m++] = i;
  }
  const idx = idxAll.subarray(0, m), rctx = new Int32Array(m);
  for (let j = 0; j < m; j++) rctx[j] = preset.rotBits - bits[idx[j]];
  const rb = preset.rotBits;
  const largest = reframed ? new Int32Array(m) // w is the largest component: no index stored
    : await decodeCategorical(stream("rot_index"), m, 4, rctx, rb, "rot_index");
  const comps = [];
  for (let j = 0; j < 3; j++) comps.push(await decodeCategorical(stream(`rot_${j}`), m, 1 << rb, rctx, rb, `rot_${j}`));
  const quats = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) quats[4 * i] = 1;
  const [c0, c1, c2] = comps;
  for (let j = 0; j < m; j++) {
    const row = idx[j], b = bits[row], lv = Math.max((1 << b) - 1, 1);
    if ((c0[j] | c1[j] | c2[j]) >> b) throw corrupt("rotation symbol out of range for its precision");
    const base = 4 * row;
    if (reframed) { // modified Rodrigues parameters (frame.py quats_from_mrp): same float64 steps
      const s0 = (c0[j] / lv * 2.0 - 1.0) * MRP_LIMIT, s1 = (c1[j] / lv * 2.0 - 1.0) * MRP_LIMIT;
      const s2 = (c2[j] / lv * 2.0 - 1.0) * MRP_LIMIT;
      const big = (s0 * s0 + s1 * s1) + s2 * s2, d = 1.0 + big;
      quats[base] = (1.0 - big) / d;
      quats[base + 1] = 2.0 * s0 / d;
      quats[base + 2] = 2.0 * s1 / d;
      quats[base + 3] = 2.0 * s2 / d;
      continue;
    }
    const o0 = (c0[j] / lv * 2.0 - 1.0) * INV_SQRT2, o1 = (c1[j] / lv * 2.0 - 1.0) * INV_SQRT2;
    const o2 = (c2[j] / lv * 2.0 - 1.0) * INV_SQRT2;
    const sq0 = o0 * o0, sq1 = o1 * o1, sq2 = o2 * o2;
    const mm = Math.sqrt(Math.max(1.0 - (sq0 + sq1 + sq2), 0.0));
    const norm = Math.max(Math.sqrt((mm * mm + sq1) + (sq0 + sq2)), 1e-30);
    const lead = largest[j];
    quats[base + (lead & 3)] = mm / norm;
    quats[base + ((lead + 1) & 3)] = o0 / norm;
    quats[base + ((lead + 2) & 3)] = o1 / norm;
    quats[base + ((lead + 3) & 3)] = o2 / norm;
  }
  // DC colour: g, r - g, b - g
  const ccls = new Int32Array(n), cstep = new Float64Array(n);
  for (let i = 0; i < n; i++) { ccls[i] = Math.min(icls[i], relaxColor); cstep[i] = gstep * (1 << ccls[i]); }
  const g = await offsetCat("color_g", ccls, OPACITY_CLASSES);
  let cr, cb;
  if (version >= FRAME_VERSION && intField(c, "color_contexts", 0, 1) === 1) {
    // r - g conditioned on bins of g, b - g on bins of r - g (codec.py color_r_context, color_b_context)
    const bins = (cls, sym, k, count) => {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = cls[i] * count + Math.floor((sym[i] * count) / Math.max(k, 1));
      return out;
    };
    cr = await offsetCat("color_r", bins(ccls, g.sym, g.k, COLOR_R_BINS), 4 * COLOR_R_BINS);
    cb = await offsetCat("color_b", bins(ccls, cr.sym, cr.k, COLOR_B_BINS), 4 * COLOR_B_BINS);
  } else {
    cr = await offsetCat("color_r", ccls, OPACITY_CLASSES);
    cb = await offsetCat("color_b", ccls, OPACITY_CLASSES);
  }
  const shDc = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    const gv = g.sym[i] + g.lo;
    shDc[3 * i + 1] = gv * cstep[i] + coff;
    shDc[3 * i] = (gv + cr.sym[i] + cr.lo) * cstep[i] + coff;
    shDc[3 * i + 2] = (gv + cb.sym[i] + cb.lo) * cstep[i] + coff;
  }
  let shRest = new Float32Array(n * 3 * k);
  if (version > 1) {
    let prev = null; // [n] Uint8Array: the previous band is nonzero (format 4, when a flag needs it)
    for (let band = 1; band <= deg; band++) prev = await decodeShBand(c, stream, band, n, k, shRest, version, prev, deg);
  } else if (k) {
    const mcb = intField(c, "sh_codebook", n === 0 ? 0 : 1, 1 << 16);
    const raw = section(c, "sh_codebook");
    if (raw.length !== mcb * 3 * k * 2) throw corrupt("SH codebook section has the wrong size");
    const rdv = new DataView(raw.buffer, raw.byteOffset, raw.length);
    const book = new Float32Array(mcb * 3 * k);
    for (let i = 0; i < book.length; i++) book[i] = halfToFloat(rdv.getUint16(2 * i, true));
    const labels = await decodeCategorical(stream("sh_index"), n, Math.max(mcb, 1), null, 1, "sh_index");
    const w = 3 * k;
    for (let i = 0; i < n; i++) for (let j = 0, src = labels[i] * w; j < w; j++) shRest[i * w + j] = book[src + j];
  }
  if (![means, logScales, shDc, shRest].every(allFinite)) throw corrupt("decoded attributes are not finite");
  return { n, shDegree: deg, means, logScales, quats, opacity, shDc, shRest };
}

/** SH band `band` (1..3) of a format 2..4 file into `shRest` ([n*k*3], coefficient-major, RGB
 * innermost; codec/scene/sh_bands.py): one table per coefficient, each coefficient's RGB triple
 * one symbol ((r*kk + g)*kk + b) when kk^3 <= SH_JOINT_MAX, else one table per coefficient and
 * channel; value = lo + symbol on the band's grid (step, offset), float64 then float32 as
 * quantize.uniform_offset_from_int. Format 4: when `sh_{b}_flagged`, a binary stream
 * `sh_{b}_nz` (context: `prev`, the previous band nonzero; none for band 1) says which
 * Gaussians code the band; the others take the zero level `sh_{b}_zero` in every channel.
 * Returns this band's nonzero flags when the next band's flag needs them, else null. */
async function decodeShBand(c, stream, band, n, k, shRest, version, prev, deg) {
  const [c0, c1] = SH_BANDS[band - 1], nb = c1 - c0;
  const bstep = floatField(c, `sh_${band}_step`, 1e-6, 16.0);
  const boff = floatField(c, `sh_${band}_offset`, -16.0, 16.0);
  const lo = intField(c, `sh_${band}_lo`, -(2 ** 40), 2 ** 40);
  const kk = intField(c, `sh_${band}_k`, 1, MAX_ALPHABET);
  const joint = kk ** 3 <= SH_JOINT_MAX;
  const width = joint ? nb : 3 * nb, alphabet = joint ? kk ** 3 : kk;
  const what = `sh_${band}`;
  const flags = version >= FLAG_VERSION;
  const zero = flags ? intField(c, `${what}_zero`, 0, kk - 1) : 0;
  const zsym = joint ? (zero * kk + zero) * kk + zero : zero;
  const flagged = flags && intField(c, `${what}_flagged`, 0, 1) === 1;
  let nz = null, rows = n;
  if (flagged) {
    nz = await decodeCategorical(stream(`${what}_nz`), n, 2, prev, prev === null ? 1 : 2, `${what}_nz`);
    rows = 0;
    for (let i = 0; i < n; i++) rows += nz[i];
  }
  const count = rows * width;
  const ctx = new Int32Array(count);
  for (let i = 0; i < count; i++) ctx[i] = i % width;
  const coded = await decodeCategorical(stream(what), count, alphabet, ctx, width, what);
  let sym = coded;
  if (flagged) { // rows not coded take the zero symbol
    sym = new Int32Array(n * width).fill(zsym);
    for (let i = 0, r = 0; i < n; i++) if (nz[i]) sym.set(coded.subarray(r * width, ++r * width), i * width);
  } else if (flags && band < deg && intField(c, `sh_${band + 1}_flagged`, 0, 1) === 1) {
    nz = new Uint8Array(n);
    for (let i = 0; i < n * width; i++) if (sym[i] !== zsym) nz[(i / width) | 0] = 1;
  }
  const value = (q) => (q + lo) * bstep + boff;
  for (let i = 0; i < n; i++) {
    const dst = i * 3 * k + 3 * c0, src = i * width;
    if (joint) {
      for (let j = 0; j < nb; j++) {
        const s = sym[src + j];
        shRest[dst + 3 * j] = value(Math.floor(s / (kk * kk)));
        shRest[dst + 3 * j + 1] = value(Math.floor(s / kk) % kk);
        shRest[dst + 3 * j + 2] = value(s % kk);
      }
    } else {
      for (let j = 0; j < width; j++) shRest[dst + j] = value(sym[src + j]);
    }
  }
  return nz;
}
