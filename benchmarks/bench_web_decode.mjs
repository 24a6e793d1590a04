// JS side of bench_web_decode.py: decode a stream's first keyframe and its delta frames in Node
// with the browser player's modules, and time the depth sort of the keyframe's Gaussians.
//   node benchmarks/bench_web_decode.mjs STREAM.gss [--repeat R] [--warmup W]
// The group is decoded W + R times; the first run's keyframe is keyframe_cold_ms (V8 has not
// compiled the decoder yet: a fresh worker's first keyframe), the others are timed after W runs.
// Prints one JSON line: keyframe_ms (fastest of R), delta_ms (per delta frame, fastest of R),
// sort_ms (fastest of R, orbit camera), pack_ms (texture layout of a whole frame, as after a
// keyframe), repack_ms (the rows one delta frame changed, as the worker does), gaussians.
import fs from "node:fs";

import { orbitCamera, orbitFor } from "../codec/web/static/camera.js";
import { packFrame, repackRows } from "../codec/web/static/pack.js";
import { sortByDepth } from "../codec/web/static/sort.js";
import { decodeRecord, parseStreamFile } from "../codec/web/static/stream.js";

const args = process.argv.slice(2);
const repeat = args.includes("--repeat") ? Number(args[args.indexOf("--repeat") + 1]) : 3;
const warmup = args.includes("--warmup") ? Number(args[args.indexOf("--warmup") + 1]) : 5;
const { records } = parseStreamFile(new Uint8Array(fs.readFileSync(args[0])));
const group = [records[0]];
for (let i = 1; i < records.length && records[i].type === 2; i++) group.push(records[i]);

const best = (xs) => Math.min(...xs);
const keyTimes = [], deltaTimes = group.slice(1).map(() => []), sortTimes = [], packTimes = [], repackTimes = [];
let key = null, coldMs = null;
for (let r = -warmup; r < repeat; r++) {
  let t0 = performance.now();
  let { frame, state } = await decodeRecord(group[0], null, null);
  if (coldMs === null) coldMs = performance.now() - t0;
  if (r >= 0) keyTimes.push(performance.now() - t0);
  key = frame;
  t0 = performance.now();
  const packed = packFrame(key);
  if (r >= 0) packTimes.push(performance.now() - t0);
  for (let i = 1; i < group.length; i++) {
    t0 = performance.now();
    ({ frame, state } = await decodeRecord(group[i], frame, state));
    if (r >= 0) deltaTimes[i - 1].push(performance.now() - t0);
    t0 = performance.now();
    repackRows(frame, packed, new Map([...state.q].map(([g, v]) => [g, v.rows])));
    if (i === group.length - 1 && r >= 0) repackTimes.push(performance.now() - t0);
  }
  const o = orbitFor(key.means);
  const cam = orbitCamera({ target: o.target, distance: o.radius, azimuth: r, elevation: 0.35, fov: 60 }, 1280, 720);
  const out = new Uint32Array(key.n);
  t0 = performance.now();
  sortByDepth(key.means, cam.rot[6], cam.rot[7], cam.rot[8], cam.trans[2], 0.01, out);
  if (r >= 0) sortTimes.push(performance.now() - t0);
}
console.log(JSON.stringify({
  gaussians: key.n, keyframe_bytes: group[0].payload.length, keyframe_ms: best(keyTimes), keyframe_cold_ms: coldMs,
  delta_bytes: group.slice(1).map((g) => g.payload.length), delta_ms: deltaTimes.map(best),
  sort_ms: best(sortTimes), pack_ms: best(packTimes), repack_ms: best(repackTimes),
}));
