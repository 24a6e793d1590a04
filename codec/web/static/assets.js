// Integer tables of the format that are not in the bitstream: the two pinned Laplace scale
// families (scene positions, stream residuals) as serialized entropy.ScaleFamily bytes, and the
// scene codec's opacity dequantization tables. They are written by codec/web/assets.py from the
// Python definitions, and a test checks that the shipped files equal them.
import { ScaleFamily } from "./entropy.js";

const isNode = typeof process !== "undefined" && !!(process.versions && process.versions.node)
  && typeof window === "undefined" && typeof importScripts === "undefined";

async function load(name) {
  const url = new URL(`tables/${name}`, import.meta.url);
  if (isNode) {
    const fs = await import("node:fs/promises");
    const { fileURLToPath } = await import("node:url");
    return new Uint8Array(await fs.readFile(fileURLToPath(url)));
  }
  const res = await fetch(url);
  if (!res.ok) throw new Error(`cannot load ${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

let cached = null;

/** {sceneFamily, residualFamily, opacity: {bits: Float32Array}} (loaded once). */
export function tables() {
  if (cached === null) {
    cached = Promise.all([load("laplace_scene.esf"), load("laplace_residual.esf"), load("opacity_logits.json")])
      .then(([scene, residual, opacity]) => {
        const json = JSON.parse(new TextDecoder().decode(opacity));
        const op = {};
        for (const [bits, values] of Object.entries(json)) op[bits] = Float32Array.from(values);
        return { sceneFamily: new ScaleFamily(scene), residualFamily: new ScaleFamily(residual), opacity: op };
      });
  }
  return cached;
}
