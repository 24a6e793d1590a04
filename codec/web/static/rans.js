// rANS decoding exactly as constriction's AnsCoder<u32, u64> with 24-bit models (the Python
// package's entropy/ layer): the compressed data is a stack of little-endian u32 words read
// from the end; the 64-bit state is kept as two u32 halves (hi, lo) in doubles, and every
// product is split so that each sum stays below 2^53 (exact).
//
// Per symbol with cdf start c and probability p:  q = state mod 2^24, find s with
// cdf[s] <= q < cdf[s+1], state = (state >> 24) * p + (q - c), then, while words remain and
// state < 2^32, state = (state << 32) | pop().  A complete decode ends with state 0 and no words.
import { CodecError, corrupt } from "./errors.js";

export const PRECISION = 24;
const ONE = 1 << PRECISION; // 2^24
const TWO32 = 4294967296;
const INV_TWO32 = 1 / TWO32; // exact: multiplying by it is an exact division by 2^32
const LUT_BITS = 12;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const LUT_SHIFT = PRECISION - LUT_BITS;
/** Guard pushed first onto every non-empty stream (entropy/_coder.py STREAM_SENTINEL), 16 bits. */
export const STREAM_SENTINEL = 0xb5e1;

/** A categorical model: cdf (Uint32Array, K+1 entries, cdf[K] = 2^24) and an optional lookup
 * table over the top LUT_BITS bits of q that gives a symbol to start the search from. */
export class Model {
  constructor(cdf, withLut = true) {
    this.cdf = cdf;
    this.k = cdf.length - 1;
    this.lut = null;
    if (withLut && this.k > 2) {
      const lut = this.k <= 65536 ? new Uint16Array(1 << LUT_BITS) : new Uint32Array(1 << LUT_BITS);
      let s = 0;
      for (let j = 0; j < 1 << LUT_BITS; j++) {
        const q = j << LUT_SHIFT;
        while (cdf[s + 1] <= q) s++;
        lut[j] = s;
      }
      this.lut = lut;
    }
  }
  /** From frequencies (each >= 1, summing to 2^precision, precision <= 24). */
  static fromFreqs(freqs, precision = PRECISION) {
    const k = freqs.length, cdf = new Uint32Array(k + 1), up = 2 ** (PRECISION - precision);
    let acc = 0;
    for (let i = 0; i < k; i++) { cdf[i] = acc; acc += freqs[i] * up; }
    if (acc !== ONE) throw corrupt("frequency table does not sum to 2^24");
    cdf[k] = acc;
    return new Model(cdf);
  }
}

/** Largest s in [0, kmax] with cdf[s] <= q (binary search). */
function search(cdf, kmax, q) {
  let a = 0, b = kmax;
  while (a < b) { const m = (a + b + 1) >>> 1; if (cdf[m] <= q) a = m; else b = m - 1; }
  return a;
}

export class AnsDecoder {
  /** @param {Uint8Array} bytes little-endian u32 words as written by entropy/_coder.py */
  constructor(bytes) {
    if (bytes.length % 4) throw corrupt(`corrupt data: length ${bytes.length} is not a multiple of 4 (streams are uint32 words)`);
    const n = bytes.length >>> 2;
    let words;
    if (LITTLE_ENDIAN) words = new Uint32Array(bytes.slice().buffer); // one copy, aligned
    else {
      words = new Uint32Array(n);
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let i = 0; i < n; i++) words[i] = dv.getUint32(4 * i, true);
    }
    if (n && words[n - 1] === 0) throw corrupt("corrupt data: an ANS stream never ends in a zero word");
    this.words = words;
    this.pos = n; // words[pos - 1] is popped next
    this.hi = 0;
    this.lo = 0;
    if (this.pos > 0) {
      const w1 = words[--this.pos];
      if (this.pos === 0) this.lo = w1;
      else { this.hi = w1; this.lo = words[--this.pos]; }
    }
  }

  /** Decode `count` symbols of `model` into out[at], out[at + 1], ... */
  decode(model, count, out, at = 0) {
    const cdf = model.cdf, lut = model.lut, words = this.words, kmax = model.k - 1;
    let hi = this.hi, lo = this.lo, pos = this.pos;
    for (let i = 0; i < count; i++) {
      const q = lo & 0xffffff;
      let s;
      if (lut !== null) {
        s = lut[q >>> LUT_SHIFT];
        while (cdf[s + 1] <= q) s++;
      } else s = search(cdf, kmax, q);
      const start = cdf[s], p = cdf[s + 1] - start;
      // new state = (state >> 24) * p + (q - start); state >> 24 = h * 2^24 + x0 (h = hi >> 16,
      // x0 the next 24 bits); with p = ph * 2^8 + pl: h * p * 2^24 = h * ph * 2^32 + h * pl * 2^24
      const h = hi >>> 16;
      const sum = (lo >>> 24 | (hi & 0xffff) << 8) * p + (q - start) + h * (p & 255) * 16777216; // < 2^49
      const carry = Math.floor(sum * INV_TWO32);
      lo = sum - carry * TWO32;
      hi = h * (p >>> 8) + carry;
      if (hi === 0 && pos > 0) { hi = lo; lo = words[--pos]; }
      out[at + i] = s;
    }
    this.hi = hi; this.lo = lo; this.pos = pos;
  }

  /** Like decode, writing the i-th symbol to out[idx[i]]. */
  decodeScatter(model, count, out, idx) {
    const cdf = model.cdf, lut = model.lut, words = this.words, kmax = model.k - 1;
    let hi = this.hi, lo = this.lo, pos = this.pos;
    for (let i = 0; i < count; i++) {
      const q = lo & 0xffffff;
      let s;
      if (lut !== null) {
        s = lut[q >>> LUT_SHIFT];
        while (cdf[s + 1] <= q) s++;
      } else s = search(cdf, kmax, q);
      const start = cdf[s], p = cdf[s + 1] - start, h = hi >>> 16;
      const sum = (lo >>> 24 | (hi & 0xffff) << 8) * p + (q - start) + h * (p & 255) * 16777216;
      const carry = Math.floor(sum * INV_TWO32);
      lo = sum - carry * TWO32;
      hi = h * (p >>> 8) + carry;
      if (hi === 0 && pos > 0) { hi = lo; lo = words[--pos]; }
      out[idx[i]] = s;
    }
    this.hi = hi; this.lo = lo; this.pos = pos;
  }

  /** One symbol of a uniform model over 2^bits values (constriction's Uniform, bits <= 24). */
  decodeUniform(bits) {
    const p = 2 ** (PRECISION - bits), q = this.lo & 0xffffff, s = Math.floor(q / p), h = this.hi >>> 16;
    const sum = (this.lo >>> 24 | (this.hi & 0xffff) << 8) * p + (q - s * p) + h * (p & 255) * 16777216;
    const carry = Math.floor(sum * INV_TWO32);
    this.lo = sum - carry * TWO32;
    this.hi = h * (p >>> 8) + carry;
    if (this.hi === 0 && this.pos > 0) { this.hi = this.lo; this.lo = this.words[--this.pos]; }
    return s;
  }

  /** Pop the sentinel of a `count`-symbol stream and require the stream to be used up. */
  finish(count) {
    if (count > 0 && this.decodeUniform(16) !== STREAM_SENTINEL) {
      throw corrupt("corrupt data: stream check value mismatch (truncated, damaged, or decoded with the wrong tables / count)");
    }
    if (this.hi !== 0 || this.lo !== 0 || this.pos !== 0) {
      throw corrupt("corrupt data: bits left over after decoding the expected number of symbols");
    }
  }
}

export function checkCount(count) {
  if (!Number.isInteger(count) || count < 0 || count > 2 ** 28) {
    throw new CodecError(`symbol count must be in [0, 2^28], got ${count}`, "limit");
  }
  return count;
}
