// Bounds-checked little-endian reading of byte arrays and CRC32 (zlib polynomial).
import { CodecError, corrupt } from "./errors.js";

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC32 of bytes (Uint8Array), as zlib.crc32: an unsigned 32-bit number. */
export function crc32(bytes) {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Reads what codec/stream/_bytes.py ByteWriter wrote; every read checks the bytes present. */
export class ByteReader {
  constructor(bytes, what) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = 0;
    this.what = what;
  }
  take(n, field) {
    if (n < 0 || n > this.bytes.length - this.pos) {
      throw corrupt(`corrupt ${this.what}: ${field} runs past the end of the data`);
    }
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  u8(field) { this.take(1, field); return this.bytes[this.pos - 1]; }
  u16(field) { this.take(2, field); return this.view.getUint16(this.pos - 2, true); }
  u32(field) { this.take(4, field); return this.view.getUint32(this.pos - 4, true); }
  f32(field) { this.take(4, field); return this.view.getFloat32(this.pos - 4, true); }
  f64(field) { this.take(8, field); return this.view.getFloat64(this.pos - 8, true); }
  u64(field) {
    this.take(8, field);
    const lo = this.view.getUint32(this.pos - 8, true), hi = this.view.getUint32(this.pos - 4, true);
    return hi * 4294967296 + lo; // exact below 2^53; callers bound it
  }
  i64(field) {
    this.take(8, field);
    const v = this.view.getBigInt64(this.pos - 8, true);
    return v >= -(2n ** 53n) && v <= 2n ** 53n ? Number(v) : v; // huge values stay BigInt
  }
  /** Unsigned LEB128, at most `limit`. */
  varint(field, limit = 2 ** 40) {
    let value = 0, scale = 1;
    for (;;) {
      const byte = this.u8(field);
      value += (byte & 0x7f) * scale;
      if (value > limit) throw corrupt(`corrupt ${this.what}: ${field} is larger than ${limit}`);
      if (!(byte & 0x80)) return value;
      scale *= 128;
    }
  }
  blob(field) { return this.take(this.u32(`${field} length`), field); }
  get remaining() { return this.bytes.length - this.pos; }
  expectEnd() {
    if (this.remaining) throw corrupt(`corrupt ${this.what}: ${this.remaining} unexpected byte(s) at the end`);
  }
}

export function asBytes(data) {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new CodecError("data must be bytes (Uint8Array or ArrayBuffer)", "corrupt");
}
