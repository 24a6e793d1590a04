// The JS decoder against the Python decoder on fixture files the Python encoder wrote.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";

import { CodecError } from "../../codec/web/static/errors.js";
import { decodeScene } from "../../codec/web/static/scene.js";
import { decodeRecord, parseRecord, parseStreamFile } from "../../codec/web/static/stream.js";
import { firstDifference, fixtureDir, frameFloats, readFixture } from "./fixtures.mjs";

const dir = fixtureDir();
const manifest = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8"));
const cases = (kind) => manifest.cases.filter((c) => c.kind === kind);

function assertSameBits(frame, expectedFile, what) {
  const got = frameFloats(frame), want = readFixture(dir, expectedFile);
  const at = firstDifference(got, want);
  assert.equal(at, -1, `${what}: JS output differs from Python's at byte ${at} of ${want.length}`);
}

async function decodeStream(bytes) {
  const { records } = parseStreamFile(bytes);
  const frames = [];
  let ref = null, state = null;
  for (const rec of records) {
    ({ frame: ref, state } = await decodeRecord(rec, ref, state));
    frames.push(ref);
  }
  return frames;
}

for (const c of cases("scene")) {
  test(`scene ${c.name}: same bits as the Python decoder`, async () => {
    assertSameBits(await decodeScene(readFixture(dir, c.file)), c.expected[0], c.name);
  });
}

for (const c of cases("stream")) {
  test(`stream ${c.name}: every keyframe and delta frame has the Python decoder's bits`, async () => {
    const bytes = readFixture(dir, c.file);
    const { records } = parseStreamFile(bytes);
    assert.ok(records.some((r) => r.type === 1) && records.some((r) => r.type === 2), "needs keyframes and deltas");
    const frames = await decodeStream(bytes);
    assert.equal(frames.length, c.expected.length);
    frames.forEach((f, i) => assertSameBits(f, c.expected[i], `${c.name} frame ${i}`));
  });
}

test("damaged scenes (CRCs recomputed): an error where Python errs, the same values where it decodes", async () => {
  let errors = 0;
  for (const c of cases("damaged-scene")) {
    let out = null;
    try { out = await decodeScene(readFixture(dir, c.file)); } catch (e) {
      assert.ok(e instanceof CodecError, `${c.name}: ${e}`);
    }
    if (c.expected === null) { assert.equal(out, null, `${c.name}: JS decoded what Python rejects`); errors++; }
    else { assert.notEqual(out, null, `${c.name}: JS rejects what Python decodes`); assertSameBits(out, c.expected, c.name); }
  }
  assert.ok(errors > 0, "no damaged case was rejected");
});

test("damaged delta frames (CRCs recomputed): same answer as Python", async () => {
  for (const c of cases("damaged-delta")) {
    const bytes = readFixture(dir, c.file);
    const key = parseRecord(bytes, 0), delta = parseRecord(bytes, key.size);
    const { frame: ref, state } = await decodeRecord(key, null, null);
    let out = null;
    try { out = (await decodeRecord(delta, ref, state)).frame; } catch (e) {
      assert.ok(e instanceof CodecError, `${c.name}: ${e}`);
    }
    if (c.expected === null) assert.equal(out, null, `${c.name}: JS decoded what Python rejects`);
    else { assert.notEqual(out, null, `${c.name}: JS rejects what Python decodes`); assertSameBits(out, c.expected, c.name); }
  }
});

test("any flipped byte or truncation of a scene file is a CodecError", async () => {
  const bytes = readFixture(dir, "q3_sh3.gsz");
  for (let pos = 0; pos < bytes.length; pos += Math.max(1, Math.floor(bytes.length / 97))) {
    const bad = bytes.slice();
    bad[pos] ^= 0x10;
    await assert.rejects(decodeScene(bad), CodecError, `flip at ${pos}`);
  }
  for (const cut of [0, 3, 5, 11, 40, bytes.length >> 1, bytes.length - 1]) {
    await assert.rejects(decodeScene(bytes.subarray(0, cut)), CodecError, `cut at ${cut}`);
  }
  await assert.rejects(decodeScene(new TextEncoder().encode("GMCI not a scene")), (e) => e.kind === "wrong-kind");
});

test("any flipped byte of a stream file is a CodecError", async () => {
  const bytes = readFixture(dir, "stream_q3.gss");
  for (let pos = 0; pos < bytes.length; pos += Math.max(1, Math.floor(bytes.length / 61))) {
    const bad = bytes.slice();
    bad[pos] ^= 0x04;
    let threw = false;
    try { await decodeStream(bad); } catch (e) { assert.ok(e instanceof CodecError, `flip at ${pos}: ${e}`); threw = true; }
    // a flip inside the index record (after the last frame) is not needed to decode the frames
    if (!threw) assert.ok(pos >= bytes.length - 16 - 32 - 21 * 9, `flip at ${pos} decoded`);
  }
});
