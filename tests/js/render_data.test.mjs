// The decode worker's texture packing and the sort worker's depth order, on decoded fixtures.
import assert from "node:assert/strict";
import { test } from "node:test";

import { packFrame, repackRows } from "../../codec/web/static/pack.js";
import { sortByDepth } from "../../codec/web/static/sort.js";
import { decodeRecord, parseStreamFile } from "../../codec/web/static/stream.js";
import { fixtureDir, readFixture } from "./fixtures.mjs";

const dir = fixtureDir();

test("repacking the rows a delta frame changed equals packing the whole frame", async () => {
  const { records } = parseStreamFile(readFixture(dir, "stream_q1_sh1.gss"));
  let { frame, state } = await decodeRecord(records[0], null, null);
  const packed = packFrame(frame);
  for (const rec of records.slice(1)) {
    ({ frame, state } = await decodeRecord(rec, frame, state));
    if (rec.type === 1) { Object.assign(packed, packFrame(frame)); continue; }
    repackRows(frame, packed, new Map([...state.q].map(([g, v]) => [g, v.rows])));
    const full = packFrame(frame);
    assert.deepEqual(packed.splat, full.splat, `frame ${rec.number} splat texels`);
    assert.deepEqual(packed.sh, full.sh, `frame ${rec.number} SH texels`);
  }
});

test("the depth sort orders every Gaussian in front of the camera back to front", () => {
  const n = 20000, pos = new Float32Array(3 * n);
  let seed = 1;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 4 - 2;
  for (let i = 0; i < 3 * n; i++) pos[i] = rand();
  const r = [0.3, -0.2, 0.932737905308882], t = 0.5; // depth = r . p + t
  const order = sortByDepth(pos, r[0], r[1], r[2], t);
  const depth = (i) => Math.fround(r[0] * pos[3 * i] + r[1] * pos[3 * i + 1] + r[2] * pos[3 * i + 2] + t);
  const visible = [...Array(n).keys()].filter((i) => depth(i) > 0.01);
  assert.equal(order.length, visible.length);
  assert.deepEqual([...order].sort((a, b) => a - b), visible);
  const span = Math.max(...visible.map(depth)) - Math.min(...visible.map(depth));
  for (let j = 1; j < order.length; j++) { // far first, up to one 16-bit bucket
    assert.ok(depth(order[j]) <= depth(order[j - 1]) + span / 65535 * 1.01, `position ${j}`);
  }
});
