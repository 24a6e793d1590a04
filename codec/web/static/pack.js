// Decoded frame -> the renderer's texture layout (done in the decode worker).
//   splat: 3 RGBA32F texels per Gaussian: [x, y, z, opacity], [S00, S01, S02, S11], [S12, S22, 0, 0]
//          (opacity after the sigmoid, S = R diag(exp(2 log_scale)) R^T, the 3D covariance)
//   sh:    shTexels(deg) RGBA32F texels per Gaussian: the 3 (1 + K) SH coefficients, DC first,
//          coefficient-major with RGB innermost, zero-padded to a multiple of 4
import { SH_COEFFS } from "./scene.js";

export const SPLAT_TEXELS = 3;
export const shTexels = (deg) => Math.ceil((3 * (1 + SH_COEFFS[deg])) / 4);

function splatRow(f, i, splat) {
  const { means, logScales, quats, opacity } = f;
  let w = quats[4 * i], x = quats[4 * i + 1], y = quats[4 * i + 2], z = quats[4 * i + 3];
  const qn = Math.max(Math.hypot(w, x, y, z), 1e-12);
  w /= qn; x /= qn; y /= qn; z /= qn;
  const s0 = Math.exp(logScales[3 * i]), s1 = Math.exp(logScales[3 * i + 1]), s2 = Math.exp(logScales[3 * i + 2]);
  // M = R diag(s); S = M M^T
  const m00 = (1 - 2 * (y * y + z * z)) * s0, m01 = 2 * (x * y - w * z) * s1, m02 = 2 * (x * z + w * y) * s2;
  const m10 = 2 * (x * y + w * z) * s0, m11 = (1 - 2 * (x * x + z * z)) * s1, m12 = 2 * (y * z - w * x) * s2;
  const m20 = 2 * (x * z - w * y) * s0, m21 = 2 * (y * z + w * x) * s1, m22 = (1 - 2 * (x * x + y * y)) * s2;
  const o = 12 * i;
  splat[o] = means[3 * i]; splat[o + 1] = means[3 * i + 1]; splat[o + 2] = means[3 * i + 2];
  splat[o + 3] = 1 / (1 + Math.exp(-opacity[i]));
  splat[o + 4] = m00 * m00 + m01 * m01 + m02 * m02;
  splat[o + 5] = m00 * m10 + m01 * m11 + m02 * m12;
  splat[o + 6] = m00 * m20 + m01 * m21 + m02 * m22;
  splat[o + 7] = m10 * m10 + m11 * m11 + m12 * m12;
  splat[o + 8] = m10 * m20 + m11 * m21 + m12 * m22;
  splat[o + 9] = m20 * m20 + m21 * m21 + m22 * m22;
}

function shRow(f, i, sh, per, k3) {
  const o = per * i;
  sh[o] = f.shDc[3 * i]; sh[o + 1] = f.shDc[3 * i + 1]; sh[o + 2] = f.shDc[3 * i + 2];
  for (let j = 0; j < k3; j++) sh[o + 3 + j] = f.shRest[k3 * i + j];
}

/** {n, shDegree, splat Float32Array(12 n), sh Float32Array(4 shTexels n)} of a whole frame. */
export function packFrame(f) {
  const n = f.n, splat = new Float32Array(12 * n);
  const k3 = 3 * SH_COEFFS[f.shDegree], per = 4 * shTexels(f.shDegree), sh = new Float32Array(per * n);
  for (let i = 0; i < n; i++) { splatRow(f, i, splat); shRow(f, i, sh, per, k3); }
  return { n, shDegree: f.shDegree, splat, sh };
}

/** Update `packed` (of the previous frame, same n and degree) in place for a delta frame `f`
 * whose groups changed only the rows in `rows` (Map group bit -> ascending rows; groups 0-3
 * feed the splat texels, 4-5 the SH texels). */
export function repackRows(f, packed, rows) {
  const k3 = 3 * SH_COEFFS[f.shDegree], per = 4 * shTexels(f.shDegree);
  for (const [g, list] of rows) {
    for (let j = 0; j < list.length; j++) {
      if (g < 4) splatRow(f, list[j], packed.splat); else shRow(f, list[j], packed.sh, per, k3);
    }
  }
}
