"""Reference CPU renderer for 3D Gaussian scenes, pure torch (no CUDA, no compiled kernels).

One function per stage, as in 3DGS/gsplat "classic" mode:

1. :func:`project`: world -> camera, EWA covariance ``S2D = J W S W^T J^T + 0.3 I``, conic,
   3-sigma pixel radius, frustum culling (near plane 0.01).
2. :func:`sh_colors`: SH degree 0..3 along the view direction from the camera centre,
   ``rgb = max(SH + 0.5, 0)``.
3. :func:`rasterize`: global depth sort, 8x8 pixel tiles (opacity-aware footprints), front-to-back compositing with
   ``alpha = min(0.99, o * exp(-d^T conic d / 2))``, alphas under 1/255 skipped, a pixel
   stops once its transmittance would fall under 1e-4. Gaussians are processed in chunks so
   memory stays bounded whatever the scene.

:func:`render` chains them; :func:`contributions` runs the same compositing to find how much
each Gaussian can weigh in any pixel of a set of views (for pruning). Camera convention is
OpenCV (x right, y down, z forward), the same axes as a 3DGS ``.ply``. Letters: N Gaussians,
H x W image.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch

from .data import GaussianScene

__all__ = ["Camera", "project", "sh_colors", "rasterize", "render", "contributions", "Projected"]

TILE = 8
CHUNK = 2048
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


def _tile_weights(proj: Projected, opacities: torch.Tensor, width: int, height: int):
    """Front-to-back compositing weights, tile by tile.

    Yields ``(box, pieces, trans)`` per tile that any Gaussian touches: ``box`` = (y0, y1, x0,
    x1) pixel bounds, ``pieces`` a list of (``g`` [G] int64 indices into ``proj``, ``w`` [P, G]
    float32 weights alpha * T of those Gaussians at the tile's P pixels), ``trans`` [P] the
    transmittance left at each pixel.
    """
    # Opacity-aware footprint: alpha = o exp(-d^2/2) reaches 1/255 only for d^2 <= 2 ln(255 o),
    # so the tile box shrinks from 3 sigma to that (and Gaussians with 255 o <= 1 never show).
    # Pixels left out would all have alpha < 1/255, which compositing skips anyway: lossless.
    reach = torch.sqrt(2.0 * torch.log((255.0 * opacities).clamp_min(1.0)))
    radius_eff = torch.minimum(proj.radius, torch.ceil(proj.radius / 3.0 * reach) + 1.0)
    order = torch.nonzero(reach > 0).squeeze(1)
    order = order[torch.argsort(proj.depth[order], stable=True)]
    v = order.numel()
    if v == 0:
        return
    xy, conic, radius, opac = proj.xy[order], proj.conic[order], radius_eff[order], opacities[order]
    tw, th = (width + TILE - 1) // TILE, (height + TILE - 1) // TILE
    x0 = ((xy[:, 0] - radius) / TILE).floor().clamp(0, tw - 1).long()
    x1 = ((xy[:, 0] + radius) / TILE).floor().clamp(0, tw - 1).long()
    y0 = ((xy[:, 1] - radius) / TILE).floor().clamp(0, th - 1).long()
    y1 = ((xy[:, 1] + radius) / TILE).floor().clamp(0, th - 1).long()
    nx, ny = x1 - x0 + 1, y1 - y0 + 1
    counts = nx * ny
    gid = torch.repeat_interleave(torch.arange(v), counts)
    start = torch.cumsum(counts, 0) - counts
    local = torch.arange(gid.numel()) - start[gid]
    tile = (y0[gid] + local // nx[gid]) * tw + x0[gid] + local % nx[gid]
    key = tile * v + gid  # depth order within a tile, since gid is already depth-sorted
    key, perm = torch.sort(key)
    gid = gid[perm]
    tile_sorted = key // v
    bounds = torch.searchsorted(tile_sorted, torch.arange(tw * th + 1))
    for t in torch.nonzero(bounds[1:] > bounds[:-1]).squeeze(1).tolist():
        ty, tx = divmod(t, tw)
        px0, py0 = tx * TILE, ty * TILE
        px1, py1 = min(px0 + TILE, width), min(py0 + TILE, height)
        gy, gx = torch.meshgrid(torch.arange(py0, py1, dtype=torch.float32) + 0.5,
                                torch.arange(px0, px1, dtype=torch.float32) + 0.5, indexing="ij")
        pix = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)  # [P, 2]
        trans = torch.ones(pix.shape[0])
        alive = torch.ones(pix.shape[0], dtype=torch.bool)
        pieces = []
        ids = gid[bounds[t]:bounds[t + 1]]
        for c0 in range(0, ids.numel(), CHUNK):
            g = ids[c0:c0 + CHUNK]
            d = pix[:, None, :] - xy[g][None]  # [P, G, 2]
            cg = conic[g]
            power = -0.5 * (cg[:, 0] * d[..., 0] ** 2 + cg[:, 2] * d[..., 1] ** 2) - cg[:, 1] * d[..., 0] * d[..., 1]
            alpha = (opac[g][None] * torch.exp(power.clamp_max(0.0))).clamp_max(ALPHA_MAX)
            alpha = torch.where((power <= 0) & (alpha >= ALPHA_MIN) & alive[:, None], alpha, torch.zeros_like(alpha))
            tcum = torch.cumprod(1.0 - alpha, dim=1)
            t_before = torch.cat([torch.ones(alpha.shape[0], 1), tcum[:, :-1]], 1) * trans[:, None]
            stop = t_before * (1.0 - alpha) < T_MIN  # the Gaussian that would end the pixel is left out
            alpha = torch.where(stop, torch.zeros_like(alpha), alpha)
            pieces.append((order[g], alpha * t_before))
            trans = trans * torch.prod(1.0 - alpha, dim=1)
            alive &= ~stop.any(dim=1)
            if not bool(alive.any()):
                break
        yield (py0, py1, px0, px1), pieces, trans


def rasterize(proj: Projected, colors: torch.Tensor, opacities: torch.Tensor, width: int, height: int,
              background: float = 0.0) -> torch.Tensor:
    """Stage 3: [H, W, 3] float32 image by sorted front-to-back alpha compositing per tile.

    ``colors`` [V, 3] and ``opacities`` [V] belong to the V projected Gaussians of ``proj``."""
    image = torch.full((height, width, 3), float(background))
    for (py0, py1, px0, px1), pieces, trans in _tile_weights(proj, opacities, width, height):
        acc = torch.zeros(trans.shape[0], 3)
        for g, w in pieces:
            acc += w @ colors[g]
        image[py0:py1, px0:px1] = (acc + trans[:, None] * background).reshape(py1 - py0, px1 - px0, 3)
    return image


def _opacities(scene: GaussianScene, proj: Projected) -> torch.Tensor:
    """[V] float32 opacities (after sigmoid) of the projected Gaussians."""
    return torch.sigmoid(torch.from_numpy(np.array(scene.opacity_logits[proj.index.numpy()])))


def render(scene: GaussianScene, cam: Camera, background: float = 0.0) -> torch.Tensor:
    """[H, W, 3] float32 render of ``scene`` from ``cam`` (values >= 0, not clamped to 1)."""
    with torch.no_grad():
        proj = project(scene, cam)
        colors = sh_colors(scene, proj.index, cam.center)
        opac = _opacities(scene, proj)
        return rasterize(proj, colors, opac, cam.width, cam.height, background)


def contributions(scene: GaussianScene, cams: Iterable[Camera]) -> np.ndarray:
    """[N] float32: each Gaussian's largest compositing weight ``alpha * T`` at any pixel of any
    of ``cams`` (0 for one that never reaches a pixel); its most a render pixel can owe to it."""
    best = torch.zeros(len(scene))
    with torch.no_grad():
        for cam in cams:
            proj = project(scene, cam)
            opac = _opacities(scene, proj)
            view = torch.zeros(proj.index.numel())
            for _, pieces, _ in _tile_weights(proj, opac, cam.width, cam.height):
                for g, w in pieces:
                    view[g] = torch.maximum(view[g], w.max(dim=0).values)
            best[proj.index] = torch.maximum(best[proj.index], view)
    return best.numpy()
