// The entropy/ layer of the Python package, decode side: integer frequency tables, indexed
// coding (one table per symbol, grouped in the canonical order of entropy/categorical.py),
// the Laplace scale family with escapes, and the adaptive categorical model.
import { ByteReader, crc32 } from "./bytes.js";
import { corrupt } from "./errors.js";
import { AnsDecoder, Model, PRECISION, checkCount } from "./rans.js";

const CHUNK_SYMBOLS = 1 << 18; // entropy/categorical.py
const GROUP_MIN_AVERAGE = 16;

/** floor(a * b / c) exactly for non-negative integers a, b (a*b may exceed 2^53), c >= 1. */
function mulDiv(a, b, c) {
  const prod = a * b;
  if (prod < 2 ** 53) {
    let q = Math.floor(prod / c);
    if (q * c > prod) q--;
    else if ((q + 1) * c <= prod) q++;
    return q;
  }
  return Number((BigInt(a) * BigInt(b)) / BigInt(c));
}

/** Bit length of a non-negative integer (0 for 0), as Python's int.bit_length / frexp. */
function bitLength(v) {
  let n = 0;
  for (; v >= 1; v = Math.floor(v / 2)) n++;
  return n;
}

/** entropy.counts_to_freqs of one row: integer counts (>= 0) -> frequencies summing to 2^24. */
export function countsToFreqs(counts, precision = PRECISION) {
  const k = counts.length;
  let row = Array.from(counts, Number);
  const allowed = 62 - precision - bitLength(k);
  const shift = Math.max(bitLength(Math.max(...row)) - allowed, 0);
  if (shift) row = row.map((c) => Math.floor(c / 2 ** shift));
  let total = row.reduce((s, c) => s + c, 0);
  if (total === 0) { row = row.map(() => 1); total = k; }
  const free = 2 ** precision - k, freqs = new Float64Array(k);
  let prev = 0, csum = 0;
  for (let i = 0; i < k - 1; i++) {
    csum += row[i];
    const cur = mulDiv(csum, free, total);
    freqs[i] = cur - prev + 1;
    prev = cur;
  }
  freqs[k - 1] = free - prev + 1;
  return freqs;
}

/** T models (one per context) from a [T, K] row-major array of counts (entropy.FrequencyTables). */
export function modelsFromCounts(counts, t, k) {
  const models = [];
  for (let j = 0; j < t; j++) models.push(Model.fromFreqs(countsToFreqs(counts.subarray(j * k, (j + 1) * k))));
  return models;
}

/** Pop `count` symbols pushed by entropy.push_symbols_reverse: one model, or models[ids[i]]. */
export function popSymbols(dec, models, ids, count, out = new Int32Array(count)) {
  if (count === 0 || models[0].k === 1) { out.fill(0); return out; }
  if (models.length === 1) { dec.decode(models[0], count, out, 0); return out; }
  const t = models.length, size = Math.max(CHUNK_SYMBOLS, GROUP_MIN_AVERAGE * t);
  const bounds = new Int32Array(t + 1);
  for (let lo = 0; lo < count; lo += size) {
    const hi = Math.min(lo + size, count);
    bounds.fill(0);
    for (let i = lo; i < hi; i++) bounds[ids[i] + 1]++;
    let single = -1;
    for (let j = 0; j < t; j++) if (bounds[j + 1] === hi - lo) single = j;
    if (single >= 0) { dec.decode(models[single], hi - lo, out, lo); continue; }
    for (let j = 0; j < t; j++) bounds[j + 1] += bounds[j];
    const order = new Int32Array(hi - lo), fill = bounds.slice(0, t);
    for (let i = lo; i < hi; i++) order[fill[ids[i]]++] = i; // stable counting sort by table id
    for (let j = 0; j < t; j++) {
      const a = bounds[j], b = bounds[j + 1];
      if (b > a) dec.decodeScatter(models[j], b - a, out, order.subarray(a, b));
    }
  }
  return out;
}

/** entropy.decode_symbols: a whole stream (sentinel and end checks included). */
export function decodeSymbols(data, models, count, ids = null) {
  checkCount(count);
  const dec = new AnsDecoder(data);
  const out = popSymbols(dec, models, ids, count);
  dec.finish(count);
  return out;
}

// --- escaped magnitudes (entropy/escape.py): bit length n under Uniform(64), then n-1 raw bits
// in 16-bit chunks, low chunk first, all in the same stream.
function popMagnitudes(dec, count) {
  const n = new Int32Array(count), out = new Float64Array(count);
  for (let e = 0; e < count; e++) n[e] = dec.decodeUniform(6);
  for (let e = 0; e < count; e++) {
    const body = Math.max(n[e] - 1, 0);
    let v = 0;
    for (let off = 0; off < body; off += 16) v += dec.decodeUniform(Math.min(16, body - off)) * 2 ** off;
    if (n[e] > 53) throw corrupt("corrupt data: an escaped value is larger than 2^53");
    out[e] = n[e] > 0 ? v + 2 ** (n[e] - 1) : 0;
  }
  return out;
}

/** entropy.ScaleFamily, decode side, built from its serialized integer tables (ESF1 bytes). */
export class ScaleFamily {
  constructor(esfBytes) {
    const r = new ByteReader(esfBytes, "scale family");
    const magic = String.fromCharCode(...r.take(4, "magic"));
    const version = r.u8("version"), kind = r.u8("kind"), reserved = r.u16("reserved");
    this.support = r.u32("support");
    this.numScales = r.u32("scales");
    const dv = new DataView(esfBytes.buffer, esfBytes.byteOffset, esfBytes.byteLength);
    if (magic !== "ESF1" || version !== 1 || reserved !== 0 || (kind !== 1 && kind !== 2)) throw corrupt("not scale-family data");
    if (crc32(esfBytes.subarray(0, esfBytes.length - 4)) !== dv.getUint32(esfBytes.length - 4, true)) throw corrupt("scale family checksum mismatch");
    r.take(8 * this.numScales, "scales");
    const tmagic = String.fromCharCode(...r.take(4, "table magic"));
    r.u8("table version");
    const precision = r.u8("precision");
    r.u16("reserved");
    const t = r.u32("T"), k = r.u32("K");
    if (tmagic !== "EFT1" || t !== this.numScales || k !== 2 * this.support + 3) throw corrupt("scale family tables do not match");
    this.models = [];
    for (let j = 0; j < t; j++) {
      const f = new Float64Array(k);
      for (let i = 0; i < k; i++) f[i] = r.u32("frequency");
      this.models.push(Model.fromFreqs(f, precision));
    }
  }

  /** ScaleFamily.decode(data, scale_ids): [N] values (Float64Array of integers). */
  decode(data, scaleIds) {
    const count = checkCount(scaleIds.length);
    const dec = new AnsDecoder(data);
    const sym = popSymbols(dec, this.models, scaleIds, count);
    const s = this.support, top = 2 * s + 2;
    let esc = 0;
    for (let i = 0; i < count; i++) if (sym[i] === 0 || sym[i] === top) esc++;
    const mag = popMagnitudes(dec, esc);
    dec.finish(count);
    const out = new Float64Array(count);
    for (let i = 0, e = 0; i < count; i++) {
      const v = sym[i];
      if (v === 0) out[i] = -(s + 1) - mag[e++];
      else if (v === top) out[i] = s + 1 + mag[e++];
      else out[i] = v - (s + 1);
    }
    return out;
  }
}

/** entropy.AdaptiveCategorical(k, increment, limit, updateInterval).decode(data, count). */
export function decodeAdaptive(data, count, k, increment, limit, updateInterval) {
  checkCount(count);
  const dec = new AnsDecoder(data);
  const out = new Int32Array(count);
  if (count && k > 1) {
    const prefix = [0];
    while (prefix[prefix.length - 1] < updateInterval) prefix.push(Math.max(1, 2 * prefix[prefix.length - 1]));
    const first = prefix[prefix.length - 1];
    const numBlocks = count <= first ? prefix.filter((x) => x < count).length
      : prefix.length + Math.ceil((count - first) / updateInterval) - 1;
    const start = (i) => (i < prefix.length ? prefix[i] : first + (i - prefix.length + 1) * updateInterval);
    const counts = new Float64Array(k).fill(1), free = 2 ** PRECISION - k, cdf = new Uint32Array(k + 1);
    let total = k;
    for (let b = 0; b < numBlocks; b++) {
      const lo = start(b), hi = Math.min(start(b + 1), count);
      let csum = 0;
      for (let i = 0; i < k; i++) { cdf[i] = mulDiv(csum, free, total) + i; csum += counts[i]; }
      cdf[k] = 2 ** PRECISION;
      dec.decode(new Model(cdf, false), hi - lo, out, lo);
      for (let i = lo; i < hi; i++) { counts[out[i]] += increment; total += increment; }
      while (total > limit) {
        total = 0;
        for (let i = 0; i < k; i++) { counts[i] = Math.floor((counts[i] + 1) / 2); total += counts[i]; }
      }
    }
  }
  dec.finish(count);
  return out;
}

