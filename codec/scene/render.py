"""Reference CPU renderer for 3D Gaussian scenes, pure torch (no CUDA, no compiled kernels).

One function per stage, as in 3DGS/gsplat "classic" mode:

1. :func:`project`: world -> camera, EWA covariance ``S2D = J W S W^T J^T + 0.3 I``, conic,
   3-sigma pixel radius, frustum culling (near plane 0.01).
2. :func:`sh_colors`: SH degree 0..3 along the view direction from the camera centre,
   ``rgb = max(SH + 0.5, 0)``.
3. :func:`rasterize`: global depth sort, 8x8 pixel tiles, front-to-back compositing with
   ``alpha = min(0.99, o * exp(-d^T conic d / 2))``, alphas under 1/255 skipped, a pixel
   stops once its transmittance would fall under 1e-4. A Gaussian is only paired with the
   tiles its ellipse ``alpha >= 1/255`` reaches, within its 3-sigma footprint (exact per tile
   row, so the render equals compositing every Gaussian at every pixel). Tiles with similar
   numbers of Gaussians are composited together, up to 256 Gaussians per step, so memory stays
   bounded and a view costs a few hundred torch ops, not thousands per tile.

:func:`render` chains them; :func:`contributions` runs the same compositing to find how much
each Gaussian can weigh in any pixel of a set of views (for pruning). Camera convention is
OpenCV (x right, y down, z forward), the same axes as a 3DGS ``.ply``. Letters: N Gaussians,
H x W image.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from .data import GaussianScene

__all__ = ["Camera", "project", "sh_colors", "rasterize", "render", "contributions", "Projected"]

TILE = 8
CHUNK = 256  # Gaussians per tile per compositing step
BATCH_ELEMENTS = 1 << 19  # tiles x pixels x Gaussians per step: bounds memory
NEAR = 0.01
EPS2D = 0.3
ALPHA_MIN = 1.0 / 255.0
ALPHA_MAX = 0.99
T_MIN = 1e-4
SH_C0 = 0.28209479177387814
SH_C1 = 0.4886025119029199
SH_C2 = (1.0925484305920792, -1.0925484305920792, 0.31539156525252005, -1.0925484305920792, 0.5462742152960396)
SH_C3 = (-0.5900435899266435, 2.890611442640554, -0.4570457994644658, 0.3731763325901154,
         -0.4570457994644658, 1.445305721320277, -0.5900435899266435)


@dataclass(frozen=True)
class Camera:
    """Pinhole camera. ``rotation`` [3, 3] and ``translation`` [3] map world to camera
    (``p_cam = R p + t``); focal lengths and principal point in pixels."""

    rotation: np.ndarray
    translation: np.ndarray
    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    @property
    def center(self) -> np.ndarray:
        """[3] camera centre in world coordinates."""
        return -np.asarray(self.rotation, np.float64).T @ np.asarray(self.translation, np.float64)

    @staticmethod
    def look_at(eye, target, up, width: int, height: int, fov_x_deg: float = 60.0) -> "Camera":
        """Camera at ``eye`` looking at ``target``; ``up`` is the world up (image up)."""
        eye, target, up = (np.asarray(v, np.float64) for v in (eye, target, up))
        z = target - eye
        z /= np.linalg.norm(z)
        x = np.cross(-up, z)  # image x = right; image y points down = -up
        if np.linalg.norm(x) < 1e-9:
            x = np.cross(z, np.array([1.0, 0.0, 0.0]) if abs(z[0]) < 0.9 else np.array([0.0, 0.0, 1.0]))
        x /= np.linalg.norm(x)
        y = np.cross(z, x)
        rot = np.stack([x, y, z])
        f = 0.5 * width / np.tan(np.radians(fov_x_deg) / 2)
        return Camera(rot, -rot @ eye, f, f, width / 2.0, height / 2.0, int(width), int(height))


@dataclass
class Projected:
    """Per visible Gaussian (V of them): ``index`` [V] into the scene, ``xy`` [V, 2] pixel
    centre, ``depth`` [V], ``conic`` [V, 3] (a, b, c of the inverse 2D covariance),
    ``radius`` [V] pixels."""

    index: torch.Tensor
    xy: torch.Tensor
    depth: torch.Tensor
    conic: torch.Tensor
    radius: torch.Tensor


def _quat_to_rotmat(q: torch.Tensor) -> torch.Tensor:
    q = q / q.norm(dim=1, keepdim=True).clamp_min(1e-12)
    w, x, y, z = q.unbind(1)
    return torch.stack([
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], dim=1).reshape(-1, 3, 3)


def project(scene: GaussianScene, cam: Camera) -> Projected:
    """Stage 1: EWA projection and culling (float64 for stability)."""
    dt = torch.float64
    means = torch.from_numpy(np.array(scene.means)).to(dt)
    rot = torch.from_numpy(np.asarray(cam.rotation, np.float64))
    trans = torch.from_numpy(np.asarray(cam.translation, np.float64))
    pc = means @ rot.T + trans
    z = pc[:, 2]
    keep = z > NEAR
    idx = torch.nonzero(keep).squeeze(1)
    pc, z = pc[idx], z[idx]
    tan_x = 0.5 * cam.width / cam.fx
    tan_y = 0.5 * cam.height / cam.fy
    tx = (pc[:, 0] / z).clamp(-1.3 * tan_x, 1.3 * tan_x) * z
    ty = (pc[:, 1] / z).clamp(-1.3 * tan_y, 1.3 * tan_y) * z
    zero = torch.zeros_like(z)
    jac = torch.stack([cam.fx / z, zero, -cam.fx * tx / z ** 2,
                       zero, cam.fy / z, -cam.fy * ty / z ** 2], dim=1).reshape(-1, 2, 3)
    r_g = _quat_to_rotmat(torch.from_numpy(np.array(scene.quats[idx.numpy()])).to(dt))
    s = torch.exp(torch.from_numpy(np.array(scene.log_scales[idx.numpy()])).to(dt))
    m = r_g * s[:, None, :]
    cov3 = m @ m.transpose(1, 2)
    t = jac @ rot[None]
    cov2 = t @ cov3 @ t.transpose(1, 2)
    a = cov2[:, 0, 0] + EPS2D
    b = cov2[:, 0, 1]
    c = cov2[:, 1, 1] + EPS2D
    det = a * c - b * b
    ok = det > 0
    mid = 0.5 * (a + c)
    lam = mid + torch.sqrt((mid * mid - det).clamp_min(0.1))
    radius = torch.ceil(3.0 * torch.sqrt(lam))
    x = cam.fx * pc[:, 0] / z + cam.cx
    y = cam.fy * pc[:, 1] / z + cam.cy
    ok &= (x + radius > 0) & (x - radius < cam.width) & (y + radius > 0) & (y - radius < cam.height)
    det_safe = torch.where(ok, det, torch.ones_like(det))
    conic = torch.stack([c / det_safe, -b / det_safe, a / det_safe], dim=1)
    sel = torch.nonzero(ok).squeeze(1)
    return Projected(idx[sel], torch.stack([x, y], 1)[sel].float(), z[sel].float(), conic[sel].float(),
                     radius[sel].float())


def sh_colors(scene: GaussianScene, index: torch.Tensor, cam_center: np.ndarray) -> torch.Tensor:
    """Stage 2: [V, 3] float32 colours of the Gaussians ``index`` seen from ``cam_center``."""
    ii = index.numpy()
    dc = torch.from_numpy(np.array(scene.sh_dc[ii]))
    col = SH_C0 * dc
    deg = scene.sh_degree
    if deg > 0:
        rest = torch.from_numpy(np.array(scene.sh_rest[ii]))  # [V, K, 3]
        d = torch.from_numpy(scene.means[ii]) - torch.from_numpy(np.asarray(cam_center, np.float32))
        d = d / d.norm(dim=1, keepdim=True).clamp_min(1e-12)
        x, y, z = (d[:, i:i + 1] for i in range(3))
        col = col - SH_C1 * y * rest[:, 0] + SH_C1 * z * rest[:, 1] - SH_C1 * x * rest[:, 2]
        if deg > 1:
            xx, yy, zz, xy, yz, xz = x * x, y * y, z * z, x * y, y * z, x * z
            col = (col + SH_C2[0] * xy * rest[:, 3] + SH_C2[1] * yz * rest[:, 4]
                   + SH_C2[2] * (2 * zz - xx - yy) * rest[:, 5] + SH_C2[3] * xz * rest[:, 6]
                   + SH_C2[4] * (xx - yy) * rest[:, 7])
            if deg > 2:
                col = (col + SH_C3[0] * y * (3 * xx - yy) * rest[:, 8] + SH_C3[1] * xy * z * rest[:, 9]
                       + SH_C3[2] * y * (4 * zz - xx - yy) * rest[:, 10]
                       + SH_C3[3] * z * (2 * zz - 3 * xx - 3 * yy) * rest[:, 11]
                       + SH_C3[4] * x * (4 * zz - xx - yy) * rest[:, 12] + SH_C3[5] * z * (xx - yy) * rest[:, 13]
                       + SH_C3[6] * x * (xx - 3 * yy) * rest[:, 14])
    return (col + 0.5).clamp_min(0.0)


def _tile_ranges(proj: Projected, opacities: torch.Tensor, tw: int, th: int):
    """Per Gaussian the inclusive tile ranges (x0, x1, y0, y1) [V] int64 that can see it.

    A pixel gets alpha = o exp(-q/2) >= 1/255 only where q = d^T conic d <= reach^2 =
    2 ln(255 o), so a Gaussian reaches no further than the bounding box of that ellipse (half
    widths reach sqrt(Sigma_xx), reach sqrt(Sigma_yy)), and never further than its 3-sigma
    radius (the classic footprint). Pixels left out would all have alpha < 1/255, which
    compositing skips anyway: the render is unchanged.
    """
    # the classic footprint, in float32 as it always was (so the tile sets stay the same)
    reach = torch.sqrt(2.0 * torch.log((255.0 * opacities).clamp_min(1.0)))
    radius = torch.minimum(proj.radius, torch.ceil(proj.radius / 3.0 * reach) + 1.0)
    x0 = ((proj.xy[:, 0] - radius) / TILE).floor().clamp(0, tw - 1).long()
    x1 = ((proj.xy[:, 0] + radius) / TILE).floor().clamp(0, tw - 1).long()
    y0 = ((proj.xy[:, 1] - radius) / TILE).floor().clamp(0, th - 1).long()
    y1 = ((proj.xy[:, 1] + radius) / TILE).floor().clamp(0, th - 1).long()
    # the bounding box of the ellipse q <= reach^2 (float64, with a margin for float32 rounding)
    reach2 = torch.where(reach > 0, 2.0 * torch.log((255.0 * opacities.double()).clamp_min(1.0)), -1.0)
    a, b, c = proj.conic.double().unbind(1)
    det = (a * c - b * b).clamp_min(1e-30)
    half_x = torch.sqrt(reach2 * c / det) * (1 + 1e-4) + 1e-2
    half_y = torch.sqrt(reach2 * a / det) * (1 + 1e-4) + 1e-2
    x, y = proj.xy[:, 0].double(), proj.xy[:, 1].double()
    x0 = torch.maximum(x0, ((x - half_x) / TILE).floor().clamp(0, tw - 1).long())
    x1 = torch.minimum(x1, ((x + half_x) / TILE).floor().clamp(0, tw - 1).long())
    y0 = torch.maximum(y0, ((y - half_y) / TILE).floor().clamp(0, th - 1).long())
    y1 = torch.minimum(y1, ((y + half_y) / TILE).floor().clamp(0, th - 1).long())
    return x0, x1, y0, y1, reach2  # reach2 < 0: never reaches 1/255


def _row_spans(xy: torch.Tensor, conic: torch.Tensor, reach2: torch.Tensor, row: torch.Tensor, height: int):
    """([M], [M]) float64 leftmost and rightmost x of each ellipse q <= reach^2 inside the
    pixel-centre strip of its tile ``row`` (xy [M, 2], conic [M, 3], reach2 [M]); empty
    strips come back with left > right.

    For a fixed dy the ellipse spans dx = (-b dy +- sqrt(a r^2 - det dy^2)) / a; the right end
    is concave in dy and the left end convex, so their extremes over the strip are at the
    ellipse's rightmost / leftmost point dy = -+ b r / sqrt(det c), clamped into the strip.
    """
    a, b, c = conic.double().unbind(1)
    det = (a * c - b * b).clamp_min(1e-30)
    r2 = reach2 * (1 + 1e-4) + 1e-3  # margin for the float32 rounding of the compositor's alpha
    cy = xy[:, 1].double()
    ymax = torch.sqrt(r2 * a / det)
    lo = torch.maximum(row * TILE + 0.5 - cy, -ymax)
    hi = torch.minimum(torch.clamp_max(row * TILE + TILE, height) - 0.5 - cy, ymax)
    turn = b * torch.sqrt(r2 / (det * c))

    def end(dy, sign):
        return (-b * dy + sign * torch.sqrt((a * r2 - det * dy * dy).clamp_min(0.0))) / a

    cx = xy[:, 0].double()
    left = cx + end(torch.minimum(torch.maximum(turn, lo), hi), -1.0)
    right = cx + end(torch.minimum(torch.maximum(-turn, lo), hi), 1.0)
    return torch.where(lo <= hi, left, torch.inf), torch.where(lo <= hi, right, -torch.inf)


def _tile_weights(proj: Projected, opacities: torch.Tensor, width: int, height: int,
                  consume: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], None]) -> torch.Tensor:
    """Front-to-back compositing weights, for many tiles at once.

    Tiles are numbered row-major (``tw = ceil(W / 8)`` per row), pixels within a tile too
    (P = 64). Calls ``consume(tiles, g, w)`` per batch of R tiles and depth chunk of C
    Gaussians, in depth order for each tile: ``tiles`` [R] tile numbers, ``g`` [R, C] int64
    indices into ``proj``, ``w`` [R, P, C] float32 weights alpha * T of those Gaussians at the
    tiles' pixels (0 for padding and for pixels outside the image). Returns ``trans``
    [tiles, P] float32, the transmittance left at each pixel (1 where no Gaussian reaches).
    """
    tw, th = (width + TILE - 1) // TILE, (height + TILE - 1) // TILE
    n_tiles, npix = tw * th, TILE * TILE
    trans_all = torch.ones(n_tiles, npix)
    x0, x1, y0, y1, reach2 = _tile_ranges(proj, opacities, tw, th)
    order = torch.nonzero(reach2 >= 0).squeeze(1)
    order = order[torch.argsort(proj.depth[order], stable=True)]
    v = order.numel()
    if v == 0:
        return trans_all
    x0, x1, y0, y1 = x0[order], x1[order], y0[order], y1[order]
    xy, conic, opac = proj.xy[order], proj.conic[order], opacities[order]
    # one item per (Gaussian, tile row), then the tile columns its ellipse reaches in that row
    ny = (y1 - y0 + 1).clamp_min(0)
    item = torch.repeat_interleave(torch.arange(v), ny)
    row = y0[item] + torch.arange(item.numel()) - (torch.cumsum(ny, 0) - ny)[item]
    left, right = _row_spans(xy[item], conic[item], reach2[order][item], row, height)
    col0 = torch.maximum(x0[item], ((left - 1e-2) / TILE).floor().clamp(-1, tw).long())
    col1 = torch.minimum(x1[item], ((right + 1e-2) / TILE).floor().clamp(-1, tw).long())
    ncol = (col1 - col0 + 1).clamp_min(0)
    pair = torch.repeat_interleave(torch.arange(item.numel()), ncol)
    tx = col0[pair] + torch.arange(pair.numel()) - (torch.cumsum(ncol, 0) - ncol)[pair]
    gid, tile = item[pair], row[pair] * tw + tx
    key, perm = torch.sort(tile * v + gid)  # depth order within a tile, since gid is already depth-sorted
    gid = gid[perm]
    bounds = torch.searchsorted(key // v, torch.arange(n_tiles + 1))
    count = bounds[1:] - bounds[:-1]
    # pixel centres of every tile [tiles, P]; pixels outside the image never composite
    lp = torch.arange(npix)
    tiles = torch.arange(n_tiles)
    pix_x = ((tiles % tw)[:, None] * TILE + lp % TILE).float() + 0.5
    pix_y = ((tiles // tw)[:, None] * TILE + lp // TILE).float() + 0.5
    inside = (pix_x < width) & (pix_y < height)
    busy = torch.nonzero(count > 0).squeeze(1)
    # batches of tiles with similar counts (same power of two), C Gaussians per step
    klass = torch.ceil(torch.log2(count[busy].double())).long()
    for k in torch.unique(klass).tolist():
        group = busy[klass == k]
        chunk = min(1 << k, CHUNK)
        per = max(1, BATCH_ELEMENTS // (npix * chunk))
        for b0 in range(0, group.numel(), per):
            tb = group[b0:b0 + per]
            trans, alive = torch.ones(tb.numel(), npix), inside[tb].clone()
            start, end = bounds[tb], bounds[tb + 1]
            rows = torch.arange(tb.numel())
            c0 = 0
            while rows.numel():
                idx = start[rows, None] + c0 + torch.arange(chunk)
                valid = idx < end[rows, None]
                g = gid[torch.where(valid, idx, 0)]  # [R, C]
                d0 = pix_x[tb[rows]][:, :, None] - xy[g, 0][:, None, :]  # [R, P, C]
                d1 = pix_y[tb[rows]][:, :, None] - xy[g, 1][:, None, :]
                cg = conic[g][:, None]  # [R, 1, C, 3]
                power = -0.5 * (cg[..., 0] * d0 ** 2 + cg[..., 2] * d1 ** 2) - cg[..., 1] * d0 * d1
                og = torch.where(valid, opac[g], torch.zeros(()))[:, None, :]
                alpha = (og * torch.exp(power.clamp_max(0.0))).clamp_max(ALPHA_MAX)
                alpha = torch.where((power <= 0) & (alpha >= ALPHA_MIN) & alive[rows][:, :, None], alpha,
                                    torch.zeros(()))
                tcum = torch.cumprod(1.0 - alpha, dim=2)
                t_before = torch.cat([torch.ones(rows.numel(), npix, 1), tcum[:, :, :-1]], 2) * trans[rows][:, :, None]
                stop = t_before * (1.0 - alpha) < T_MIN  # the Gaussian that would end the pixel is left out
                alpha = torch.where(stop, torch.zeros(()), alpha)
                consume(tb[rows], order[g], alpha * t_before)
                trans[rows] = trans[rows] * torch.prod(1.0 - alpha, dim=2)
                alive[rows] &= ~stop.any(dim=2)
                c0 += chunk
                rows = rows[alive[rows].any(dim=1) & (end[rows] - start[rows] > c0)]
            trans_all[tb] = trans
    return trans_all


def rasterize(proj: Projected, colors: torch.Tensor, opacities: torch.Tensor, width: int, height: int,
              background: float = 0.0) -> torch.Tensor:
    """Stage 3: [H, W, 3] float32 image by sorted front-to-back alpha compositing per tile.

    ``colors`` [V, 3] and ``opacities`` [V] belong to the V projected Gaussians of ``proj``."""
    tw, th = (width + TILE - 1) // TILE, (height + TILE - 1) // TILE
    acc = torch.zeros(tw * th, TILE * TILE, 3)

    def add(tiles, g, w):
        acc[tiles] += torch.bmm(w, colors[g])

    trans = _tile_weights(proj, opacities, width, height, add)
    acc += trans[:, :, None] * background
    image = acc.reshape(th, tw, TILE, TILE, 3).permute(0, 2, 1, 3, 4).reshape(th * TILE, tw * TILE, 3)
    return image[:height, :width].contiguous()


def _opacities(scene: GaussianScene, proj: Projected) -> torch.Tensor:
    """[V] float32 opacities (after sigmoid) of the projected Gaussians."""
    return torch.sigmoid(torch.from_numpy(np.array(scene.opacity_logits[proj.index.numpy()])))


@contextmanager
def _one_thread() -> Iterator[None]:
    """Run torch single-threaded inside the block (then restore the caller's setting).

    The compositor issues a few hundred mid-sized ops per view; on this project's 2-core
    machine with other jobs running, 2 intra-op threads made a 512 px view of biker 4 to 10
    times slower than 1 thread (they wait on each other at every op). Results do not depend
    on the thread count either way.
    """
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


def render(scene: GaussianScene, cam: Camera, background: float = 0.0) -> torch.Tensor:
    """[H, W, 3] float32 render of ``scene`` from ``cam`` (values >= 0, not clamped to 1)."""
    with torch.no_grad(), _one_thread():
        proj = project(scene, cam)
        colors = sh_colors(scene, proj.index, cam.center)
        opac = _opacities(scene, proj)
        return rasterize(proj, colors, opac, cam.width, cam.height, background)


def contributions(scene: GaussianScene, cams: Iterable[Camera]) -> np.ndarray:
    """[N] float32: each Gaussian's largest compositing weight ``alpha * T`` at any pixel of any
    of ``cams`` (0 for one that never reaches a pixel); its most a render pixel can owe to it."""
    best = torch.zeros(len(scene))
    with torch.no_grad(), _one_thread():
        for cam in cams:
            proj = project(scene, cam)
            opac = _opacities(scene, proj)
            view = torch.zeros(proj.index.numel())

            def keep_max(tiles, g, w, view=view):
                view.scatter_reduce_(0, g.reshape(-1), w.amax(dim=1).reshape(-1), "amax")

            _tile_weights(proj, opac, cam.width, cam.height, keep_max)
            best[proj.index] = torch.maximum(best[proj.index], view)
    return best.numpy()
