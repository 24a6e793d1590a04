"""The canonical local frame of a Gaussian: axes sorted by scale, one quaternion out of eight.

A Gaussian's covariance ``R diag(s)^2 R^T`` does not change when its axes are permuted (with
the scales permuted alike and one axis negated where the permutation is odd, so R stays a
rotation) or when two axes are negated together: 24 rotations of the local frame, times the
sign of the quaternion, give 48 quaternions and 6 scale orders for one and the same Gaussian.
The codec (scene format 5) writes one of them:

- the axes in order of decreasing log-scale, so the coder sees ``s_max >= s_mid >= s_min``
  and codes the two gaps instead of two free values (donut at quality 1: 14.4 -> 12.4 bits per
  Gaussian for the three);
- of the four rotations left (the identity and the half turns about each local axis, which
  permute the quaternion's components with signs), the one whose w is the largest component,
  w > 0: the smallest rotation angle (at most 120 degrees), so no smallest-three index is needed;
- that rotation as its modified Rodrigues parameters ``sigma = (x, y, z) / (1 + w)``
  (``tan(angle / 4)`` times the axis), each in ``[-(sqrt2 - 1), sqrt2 - 1]`` on 2^b - 1 steps.
  The map is conformal: a step of ``d`` in sigma turns the Gaussian by ``4 d / (1 + |sigma|^2)``
  in every direction, 3d to 4d over the whole canonical range, where the smallest three's
  error doubles along one direction as w falls to 1/2 (the canonical frame's rotations sit
  farther from the identity than raw training output's: donut at quality 1, 56.0 dB with only
  the rotations quantized in the input's frame, 54.7 dB in the canonical frame with the smallest
  three). Decoding is rational: ``w = (1 - S) / (1 + S)``, ``(x, y, z) = 2 sigma / (1 + S)``,
  ``S = |sigma|^2``, exact float64 arithmetic in a fixed order (Python and JavaScript agree).

The render, the bounding ellipsoid and every covariance-based measure are unchanged (up to
float rounding of the quaternion).
"""

from __future__ import annotations

import numpy as np

from .data import GaussianScene

__all__ = ["canonical_frame", "canonical_scene", "equivalent_quats", "align_frames", "mrp_to_int", "quats_from_mrp",
           "MRP_LIMIT", "rotation_matrices", "quat_multiply"]

MRP_LIMIT = float(np.sqrt(2.0) - 1.0)  # tan(pi / 8): the largest |sigma_i| of a canonical rotation


def rotation_matrices(q: np.ndarray) -> np.ndarray:
    """[N, 4] (w, x, y, z) float64 unit quaternions -> [N, 3, 3]; column k is local axis k."""
    w, x, y, z = q.T
    return np.stack([
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], axis=1).reshape(-1, 3, 3)


def _quaternion_with_largest_w(m: np.ndarray) -> np.ndarray:
    """[N, 3, 3] rotations -> [N, 4] unit quaternions (w, x, y, z) of R, R diag(1,-1,-1),
    R diag(-1,1,-1) or R diag(-1,-1,1): the one whose w is its largest |component|, w >= 0.

    The four share the magnitudes of their components in some order (right-multiplying by i,
    j or k moves x, y or z to the w slot), and |w| of each is read off R's diagonal, so this
    is Shepperd's stable conversion with the chosen half turn folded in."""
    d0, d1, d2 = m[:, 0, 0], m[:, 1, 1], m[:, 2, 2]
    four = np.stack([1 + d0 + d1 + d2, 1 + d0 - d1 - d2, 1 - d0 + d1 - d2, 1 - d0 - d1 + d2], axis=1)
    k = np.argmax(four, axis=1)  # the component of R's quaternion with the largest magnitude
    big = 0.5 * np.sqrt(np.maximum(four[np.arange(len(m)), k], 1e-300))
    s = 0.25 / big
    a = (m[:, 2, 1] - m[:, 1, 2]) * s  # 4wx / 4|q_k| and so on: R's quaternion divided by |q_k|/q_k
    b = (m[:, 0, 2] - m[:, 2, 0]) * s
    c = (m[:, 1, 0] - m[:, 0, 1]) * s
    xy, xz, yz = (m[:, 0, 1] + m[:, 1, 0]) * s, (m[:, 0, 2] + m[:, 2, 0]) * s, (m[:, 1, 2] + m[:, 2, 1]) * s
    # R's quaternion up to sign, by its largest component k: (w, x, y, z) =
    #   k=0: (big, a, b, c); k=1: (a, big, xy, xz); k=2: (b, xy, big, yz); k=3: (c, xz, yz, big)
    # times the half turn about axis k (q*i = (-x, w, z, -y), q*j = (-y, -z, w, x), q*k = (-z, y, -x, w)),
    # each with w = +big after fixing the sign
    out = np.empty((len(m), 4))
    rows = [(big, a, b, c), (big, -a, -xz, xy), (big, yz, -b, -xy), (big, -yz, xz, -c)]
    for j, comps in enumerate(rows):
        sel = k == j
        for col, v in enumerate(comps):
            out[sel, col] = v[sel]
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def canonical_frame(log_scales: np.ndarray, quats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """([N, 3] float32 log-scales in decreasing order, [N, 4] float32 unit quaternions with w the
    largest component) describing the same Gaussians as ``log_scales`` [N, 3], ``quats`` [N, 4]."""
    order = np.argsort(-np.asarray(log_scales, np.float64), axis=1, kind="stable")
    scales = np.take_along_axis(np.asarray(log_scales, np.float32), order, axis=1)
    q = np.asarray(quats, np.float64)
    q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-30)
    m = np.take_along_axis(rotation_matrices(q), order[:, None, :], axis=2)
    odd = (order[:, 0] > order[:, 1]) ^ (order[:, 0] > order[:, 2]) ^ (order[:, 1] > order[:, 2])
    m[odd, :, 2] *= -1.0  # an odd permutation reflects: negate the smallest axis back to a rotation
    return scales, _quaternion_with_largest_w(m).astype(np.float32)


def canonical_scene(scene: GaussianScene) -> GaussianScene:
    """``scene`` with every Gaussian in its canonical frame (:func:`canonical_frame`)."""
    s, q = canonical_frame(scene.log_scales, scene.quats)
    return GaussianScene(scene.means, s, q, scene.opacity_logits, scene.sh_dc, scene.sh_rest)


def _frame_changes() -> tuple[np.ndarray, np.ndarray]:
    """([24, 4] unit quaternions g, [24, 3] int): the rotations that map the local axes onto
    themselves (the octahedral group, one quaternion of each sign pair: 1, i, j, k; (1 +-i +-j
    +-k)/2; (1 +-i)/sqrt2 and the like) and, for each, the old axis that becomes new axis k, so
    that ``(q g, s[perm])`` is the Gaussian ``(q, s)``."""
    r = np.sqrt(0.5)
    quats = [(1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1)]
    quats += [(0.5, a, b, c) for a in (0.5, -0.5) for b in (0.5, -0.5) for c in (0.5, -0.5)]
    for i in range(4):
        for j in range(i + 1, 4):
            for sign in (1, -1):
                g = [0.0] * 4
                g[i], g[j] = r, sign * r
                quats.append(tuple(g))
    g = np.array(quats, np.float64)
    perms = np.abs(rotation_matrices(g)).argmax(axis=1)  # [24, 3]: row of the 1 in column k
    return g, perms


_CHANGES, _PERMS = _frame_changes()


def quat_multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton products of [..., 4] quaternions (broadcasting)."""
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack([aw * bw - ax * bx - ay * by - az * bz, aw * bx + ax * bw + ay * bz - az * by,
                     aw * by - ax * bz + ay * bw + az * bx, aw * bz + ax * by - ay * bx + az * bw], axis=-1)


def equivalent_quats(quats: np.ndarray) -> np.ndarray:
    """[N, 4] -> [N, 24, 4]: the quaternions ``q g`` of the same Gaussian in each of its local
    frames (axes permuted along, see :func:`align_frames`), one of each sign pair."""
    return quat_multiply(np.asarray(quats, np.float64)[:, None, :], _CHANGES[None])


def align_frames(ref_quats: np.ndarray, log_scales: np.ndarray, quats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Gaussians (``log_scales`` [N, 3], ``quats`` [N, 4]) rewritten in the local frames
    closest to ``ref_quats`` [N, 4] (of the 24 that give each the same covariance), as float64:
    compares two writers' copies of a scene axis by axis whichever frame each one chose."""
    cands = equivalent_quats(quats)  # [N, 24, 4]
    best = np.abs(np.einsum("nkc,nc->nk", cands, np.asarray(ref_quats, np.float64))).argmax(axis=1)
    rows = np.arange(len(cands))
    scales = np.take_along_axis(np.asarray(log_scales, np.float64), _PERMS[best], axis=1)
    return scales, cands[rows, best]


def mrp_to_int(quats: np.ndarray, bits) -> np.ndarray:
    """[N, 4] canonical unit quaternions (w >= 0), ``bits`` an int or [N] ints -> [N, 3] int64 in
    [0, 2^bits - 1]: the modified Rodrigues parameters on ``2^bits - 1`` steps of
    ``[-MRP_LIMIT, MRP_LIMIT]``; each is within half a step (``MRP_LIMIT / (2^bits - 1)``)."""
    q = np.asarray(quats, np.float64)
    sigma = q[:, 1:] / (1.0 + np.abs(q[:, :1]))
    levels = ((1 << np.asarray(bits, np.int64)) - 1).reshape(-1, 1) if np.ndim(bits) else (1 << bits) - 1
    return np.clip(np.round((sigma / MRP_LIMIT + 1.0) * 0.5 * levels), 0, levels).astype(np.int64)


def quats_from_mrp(i0: np.ndarray, i1: np.ndarray, i2: np.ndarray, bits, out: np.ndarray,
                   rows: np.ndarray) -> np.ndarray:
    """Write the unit quaternions of [N] int symbol columns ``i0..i2`` at [N] ``bits`` (>= 1) into
    ``out[rows]`` ([M, 4] float32, C-contiguous; other rows untouched) and return ``out``.

    Each component value comes from a table over (bits, int): ``(i / (2^b - 1) * 2 - 1) * MRP_LIMIT``;
    then ``S = (s0^2 + s1^2) + s2^2``, ``w = (1 - S) / (1 + S)``, ``v = 2 s / (1 + S)``:
    elementwise float64 in this order, so every platform (and the JavaScript decoder) agrees."""
    comps = [np.asarray(i, np.int64) for i in (i0, i1, i2)]
    n = comps[0].shape[0]
    if n == 0:
        return out
    b = np.broadcast_to(np.asarray(bits, np.int64), (n,))
    width = max(int(c.max()) for c in comps) + 1
    levels = np.maximum((1 << np.arange(int(b.max()) + 1, dtype=np.int64)) - 1, 1).astype(np.float64)
    table = (np.arange(width, dtype=np.float64)[None, :] / levels[:, None] * 2.0 - 1.0) * MRP_LIMIT
    flat, base = table.ravel(), b * width
    s = [flat[base + c] for c in comps]
    big_s = (s[0] * s[0] + s[1] * s[1]) + s[2] * s[2]
    d = 1.0 + big_s
    assert out.flags.c_contiguous and out.dtype == np.float32
    flat_out, row = out.reshape(-1), np.asarray(rows, np.int64) * 4
    flat_out[row] = (1.0 - big_s) / d
    for j in range(3):
        flat_out[row + 1 + j] = 2.0 * s[j] / d
    return out
