// Decoded frame -> the renderer's texture layout (done in the decode worker).
//   splat: 3 RGBA32F texels per Gaussian: [x, y, z, opacity], [S00, S01, S02, S11], [S12, S22, 0, 0]
//          (opacity after the sigmoid, S = R diag(exp(2 log_scale)) R^T, the 3D covariance)
//   sh:    shTexels(deg) RGBA32F texels per Gaussian: the 3 (1 + K) SH coefficients, DC first,
//          coefficient-major with RGB innermost, zero-padded to a multiple of 4
import { SH_COEFFS } from "./scene.js";

export const SPLAT_TEXELS = 3;
export const shTexels = (deg) => Math.ceil((3 * (1 + SH_COEFFS[deg])) / 4);

/** {n, shDegree, splat Float32Array(12 n), sh Float32Array(4 shTexels n)}. */
export function packFrame(f) {
  const n = f.n, splat = new Float32Array(12 * n);
  const { means, logScales, quats, opacity } = f;
  for (let i = 0; i < n; i++) {
    let w = quats[4 * i], x = quats[4 * i + 1], y = quats[4 * i + 2], z = quats[4 * i + 3];
    const qn = Math.max(Math.hypot(w, x, y, z), 1e-12);
    w /= qn; x /= qn; y /= qn; z /= qn;
    const r00 = 1 - 2 * (y * y + z * z), r01 = 2 * (x * y - w * z), r02 = 2 * (x * z + w * y);
    const r10 = 2 * (x * y + w * z), r11 = 1 - 2 * (x * x + z * z), r12 = 2 * (y * z - w * x);
    const r20 = 2 * (x * z - w * y), r21 = 2 * (y * z + w * x), r22 = 1 - 2 * (x * x + y * y);
    const s0 = Math.exp(logScales[3 * i]), s1 = Math.exp(logScales[3 * i + 1]), s2 = Math.exp(logScales[3 * i + 2]);
    // M = R diag(s); S = M M^T
    const m00 = r00 * s0, m01 = r01 * s1, m02 = r02 * s2;
    const m10 = r10 * s0, m11 = r11 * s1, m12 = r12 * s2;
    const m20 = r20 * s0, m21 = r21 * s1, m22 = r22 * s2;
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
  const k3 = 3 * SH_COEFFS[f.shDegree], per = 4 * shTexels(f.shDegree), sh = new Float32Array(per * n);
  for (let i = 0; i < n; i++) {
    const o = per * i;
    sh[o] = f.shDc[3 * i]; sh[o + 1] = f.shDc[3 * i + 1]; sh[o + 2] = f.shDc[3 * i + 2];
    if (k3) sh.set(f.shRest.subarray(k3 * i, k3 * i + k3), o + 3);
  }
  return { n, shDegree: f.shDegree, splat, sh };
}
