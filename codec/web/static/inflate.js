// zlib-format decompression through the platform's DecompressionStream (browsers and Node >= 18):
// no library, no build step. The scene codec zlib-packs each stream's small metadata.
import { corrupt } from "./errors.js";

/** Inflate zlib data to at most `maxBytes` bytes; a damaged, truncated or oversized input throws. */
export async function inflate(bytes, maxBytes, what) {
  const ds = new DecompressionStream("deflate");
  const writer = ds.writable.getWriter();
  writer.write(bytes).catch(() => {});
  writer.close().catch(() => {});
  const reader = ds.readable.getReader();
  const parts = [];
  let size = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > maxBytes) { reader.cancel().catch(() => {}); throw corrupt(`${what}: stream metadata is too large`); }
      parts.push(value);
    }
  } catch (e) {
    if (e && e.name === "CodecError") throw e;
    throw corrupt(`${what}: stream metadata does not decompress`);
  }
  const out = new Uint8Array(size);
  let pos = 0;
  for (const p of parts) { out.set(p, pos); pos += p.length; }
  return out;
}
