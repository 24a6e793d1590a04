// Back-to-front order of the Gaussians for a view: one counting sort over 16-bit buckets of the
// view-space depth (antimatter15/splat's approach). Used by sort_worker.js and the benchmark.
const BUCKETS = 1 << 16;
const counts = new Uint32Array(BUCKETS);
let depth = new Float32Array(0), key = new Uint16Array(0); // scratch, grown on demand

/** positions [3n], view row (depth = r0 x + r1 y + r2 z + t) -> Uint32Array order, far first,
 * only Gaussians in front of the near plane. */
export function sortByDepth(positions, r0, r1, r2, t, near = 0.01, out = null) {
  const n = positions.length / 3;
  if (depth.length < n) { depth = new Float32Array(n); key = new Uint16Array(n); }
  let lo = Infinity, hi = -Infinity, visible = 0;
  for (let i = 0; i < n; i++) {
    const d = Math.fround(r0 * positions[3 * i] + r1 * positions[3 * i + 1] + r2 * positions[3 * i + 2] + t);
    depth[i] = d; // every later test reads the same float32
    if (d > near) { visible++; if (d < lo) lo = d; if (d > hi) hi = d; }
  }
  const order = out && out.length >= visible ? out.subarray(0, visible) : new Uint32Array(visible);
  if (visible === 0) return order;
  const scale = hi > lo ? (BUCKETS - 1) / (hi - lo) : 0;
  counts.fill(0);
  for (let i = 0; i < n; i++) {
    if (depth[i] > near) { const k = (BUCKETS - 1) - (((depth[i] - lo) * scale) | 0); key[i] = k; counts[k]++; }
  }
  for (let b = 1; b < BUCKETS; b++) counts[b] += counts[b - 1];
  for (let i = n - 1; i >= 0; i--) if (depth[i] > near) order[--counts[key[i]]] = i; // stable
  return order;
}
