// Cameras as codec/scene/render.py defines them (OpenCV axes: x right, y down, z forward;
// p_cam = R p + t; pinhole fx, fy, cx, cy in pixels), and the orbit the player starts from
// (codec/scene/evaluate.py orbit_cameras: median centre, 10-90 % extent, 20 degrees elevation,
// 60 degree horizontal field of view, world up -y).
export const UP = [0, -1, 0];

const sub = (a, b) => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const cross = (a, b) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const norm = (a) => { const l = Math.hypot(a[0], a[1], a[2]); return [a[0] / l, a[1] / l, a[2] / l]; };

/** Camera.look_at: {rot (row-major 9), trans [3], fx, fy, cx, cy, width, height}. */
export function lookAt(eye, target, up, width, height, fovXDeg = 60) {
  const z = norm(sub(target, eye));
  let x = cross([-up[0], -up[1], -up[2]], z);
  if (Math.hypot(...x) < 1e-9) x = cross(z, Math.abs(z[0]) < 0.9 ? [1, 0, 0] : [0, 0, 1]);
  x = norm(x);
  const y = cross(z, x);
  const rot = [...x, ...y, ...z];
  const trans = [0, 1, 2].map((r) => -(rot[3 * r] * eye[0] + rot[3 * r + 1] * eye[1] + rot[3 * r + 2] * eye[2]));
  const f = (0.5 * width) / Math.tan((fovXDeg * Math.PI) / 360);
  return { rot, trans, fx: f, fy: f, cx: width / 2, cy: height / 2, width, height };
}

function quantile(sorted, q) { // numpy's default (linear) percentile
  const pos = (sorted.length - 1) * q, lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Orbit parameters {target, radius} around the Gaussians' median (positions [3n]). */
export function orbitFor(positions) {
  const n = positions.length / 3;
  if (n === 0) return { target: [0, 0, 0], radius: 1 };
  const axes = [0, 1, 2].map((a) => Float64Array.from({ length: n }, (_, i) => positions[3 * i + a]).sort());
  const target = axes.map((v) => quantile(v, 0.5));
  const span = axes.map((v) => quantile(v, 0.9) - quantile(v, 0.1));
  return { target, radius: Math.max(Math.hypot(...span), 1e-3) };
}

/** The orbit camera at azimuth/elevation (radians) and distance around target. */
export function orbitCamera(o, width, height) {
  const ce = Math.cos(o.elevation), se = Math.sin(o.elevation);
  const off = [0, 1, 2].map((a) => o.distance * (ce * [Math.sin(o.azimuth), 0, Math.cos(o.azimuth)][a] + se * UP[a]));
  return lookAt([o.target[0] + off[0], o.target[1] + off[1], o.target[2] + off[2]], o.target, UP, width, height, o.fov);
}
