// Where the Python-written fixtures are: $GMC_FIXTURES, or a fresh folder written by running
// tests/web_fixtures.py with $PYTHON (default python3).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));

export function fixtureDir() {
  if (process.env.GMC_FIXTURES) return process.env.GMC_FIXTURES;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gmc-js-"));
  execFileSync(process.env.PYTHON || "python3", [path.join(here, "..", "web_fixtures.py"), dir], { stdio: "inherit" });
  process.env.GMC_FIXTURES = dir;
  return dir;
}

export function readFixture(dir, name) {
  return new Uint8Array(fs.readFileSync(path.join(dir, name)));
}

/** The JS frame's attributes laid out as tests/web_fixtures.py scene_floats writes them. */
export function frameFloats(f) {
  const parts = [f.means, f.logScales, f.quats, f.opacity, f.shDc, f.shRest];
  const total = parts.reduce((s, p) => s + p.length, 0);
  const out = new Float32Array(total);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return new Uint8Array(out.buffer);
}

/** Index of the first differing byte, or -1. */
export function firstDifference(a, b) {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}
