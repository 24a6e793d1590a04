// WebGL2 splat renderer: one instanced quad per Gaussian in back-to-front order, EWA projection
// of the 3D covariance in the vertex shader (the CPU renderer's formulas, codec/scene/render.py:
// J W S W^T J^T + 0.3 I, 3-sigma square), SH up to degree 3 for the view direction, premultiplied
// alpha blending (alpha = min(0.99, o exp(-d^T conic d / 2)), under 1/255 dropped). Blending goes
// to a half-float target, then to the canvas, so many thin layers do not round to 8 bits each.
import { SPLAT_TEXELS, shTexels } from "./pack.js";

const TEX_WIDTH = 4096;

const VERT = `#version 300 es
precision highp float;
precision highp int;
uniform highp sampler2D u_splat;
uniform highp sampler2D u_sh;
uniform mat3 u_rot;
uniform vec3 u_trans;
uniform vec3 u_campos;
uniform vec4 u_intr;   // fx, fy, cx, cy
uniform vec2 u_size;   // width, height in pixels
uniform int u_deg;
uniform int u_shTexels;
layout(location = 0) in vec2 a_corner;
layout(location = 1) in uint a_index;
out vec3 v_color;
out float v_opacity;
out vec3 v_conic;
out vec2 v_d;
ivec2 texel(int t) { return ivec2(t % ${TEX_WIDTH}, t / ${TEX_WIDTH}); }
vec3 sh(int base, int i) {
  int c = 3 * i, t = base + c / 4, o = c % 4;
  vec4 a = texelFetch(u_sh, texel(t), 0), b = texelFetch(u_sh, texel(t + 1), 0);
  float v[8] = float[8](a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w);
  return vec3(v[o], v[o + 1], v[o + 2]);
}
void main() {
  int i = int(a_index);
  vec4 t0 = texelFetch(u_splat, texel(${SPLAT_TEXELS} * i), 0);
  vec4 t1 = texelFetch(u_splat, texel(${SPLAT_TEXELS} * i + 1), 0);
  vec4 t2 = texelFetch(u_splat, texel(${SPLAT_TEXELS} * i + 2), 0);
  vec3 pc = u_rot * t0.xyz + u_trans;
  gl_Position = vec4(2.0, 2.0, 2.0, 1.0);
  if (pc.z <= 0.01) return;
  mat3 S = mat3(t1.x, t1.y, t1.z, t1.y, t1.w, t2.x, t1.z, t2.x, t2.y);
  float fx = u_intr.x, fy = u_intr.y;
  float limx = 1.3 * 0.5 * u_size.x / fx, limy = 1.3 * 0.5 * u_size.y / fy;
  float tx = clamp(pc.x / pc.z, -limx, limx) * pc.z, ty = clamp(pc.y / pc.z, -limy, limy) * pc.z;
  // J (2x3) as the first two columns of a mat3 (column-major: J^T)
  mat3 J = mat3(fx / pc.z, 0.0, 0.0, 0.0, fy / pc.z, 0.0, -fx * tx / (pc.z * pc.z), -fy * ty / (pc.z * pc.z), 0.0);
  mat3 T = J * u_rot;
  mat3 C = T * S * transpose(T);
  float a = C[0][0] + 0.3, b = C[0][1], c = C[1][1] + 0.3;
  float det = a * c - b * b;
  if (det <= 0.0) return;
  float mid = 0.5 * (a + c);
  float lam = mid + sqrt(max(mid * mid - det, 0.1));
  float radius = ceil(3.0 * sqrt(lam));
  vec2 center = vec2(fx * pc.x / pc.z + u_intr.z, fy * pc.y / pc.z + u_intr.w);
  vec2 d = a_corner * radius;
  vec2 pix = center + d;
  gl_Position = vec4(pix.x / u_size.x * 2.0 - 1.0, 1.0 - pix.y / u_size.y * 2.0, 0.0, 1.0);
  v_d = d;
  v_conic = vec3(c / det, -b / det, a / det);
  v_opacity = t0.w;
  int base = u_shTexels * i;
  vec3 col = 0.28209479177387814 * sh(base, 0);
  if (u_deg > 0) {
    vec3 dir = normalize(t0.xyz - u_campos);
    float x = dir.x, y = dir.y, z = dir.z;
    col += -0.4886025119029199 * y * sh(base, 1) + 0.4886025119029199 * z * sh(base, 2) - 0.4886025119029199 * x * sh(base, 3);
    if (u_deg > 1) {
      float xx = x * x, yy = y * y, zz = z * z, xy = x * y, yz = y * z, xz = x * z;
      col += 1.0925484305920792 * xy * sh(base, 4) - 1.0925484305920792 * yz * sh(base, 5)
        + 0.31539156525252005 * (2.0 * zz - xx - yy) * sh(base, 6) - 1.0925484305920792 * xz * sh(base, 7)
        + 0.5462742152960396 * (xx - yy) * sh(base, 8);
      if (u_deg > 2) {
        col += -0.5900435899266435 * y * (3.0 * xx - yy) * sh(base, 9) + 2.890611442640554 * xy * z * sh(base, 10)
          - 0.4570457994644658 * y * (4.0 * zz - xx - yy) * sh(base, 11)
          + 0.3731763325901154 * z * (2.0 * zz - 3.0 * xx - 3.0 * yy) * sh(base, 12)
          - 0.4570457994644658 * x * (4.0 * zz - xx - yy) * sh(base, 13) + 1.445305721320277 * z * (xx - yy) * sh(base, 14)
          - 0.5900435899266435 * x * (xx - 3.0 * yy) * sh(base, 15);
      }
    }
  }
  v_color = max(col + 0.5, 0.0);
}`;

const FRAG = `#version 300 es
precision highp float;
in vec3 v_color;
in float v_opacity;
in vec3 v_conic;
in vec2 v_d;
out vec4 outColor;
void main() {
  float power = -0.5 * (v_conic.x * v_d.x * v_d.x + v_conic.z * v_d.y * v_d.y) - v_conic.y * v_d.x * v_d.y;
  if (power > 0.0) discard;
  float alpha = min(0.99, v_opacity * exp(power));
  if (alpha < 1.0 / 255.0) discard;
  outColor = vec4(v_color * alpha, alpha);
}`;

const BLIT_VERT = `#version 300 es
layout(location = 0) in vec2 a_corner;
out vec2 v_uv;
void main() { v_uv = a_corner * 0.5 + 0.5; gl_Position = vec4(a_corner, 0.0, 1.0); }`;
const BLIT_FRAG = `#version 300 es
precision highp float;
uniform sampler2D u_image;
in vec2 v_uv;
out vec4 outColor;
void main() { vec4 c = texture(u_image, v_uv); outColor = vec4(clamp(c.rgb, 0.0, 1.0), 1.0); }`;

function compile(gl, vs, fs) {
  const prog = gl.createProgram();
  for (const [type, src] of [[gl.VERTEX_SHADER, vs], [gl.FRAGMENT_SHADER, fs]]) {
    const s = gl.createShader(type);
    gl.shaderSource(s, src);
    gl.compileShader(s);
    if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(`shader: ${gl.getShaderInfoLog(s)}`);
    gl.attachShader(prog, s);
  }
  gl.linkProgram(prog);
  if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) throw new Error(`program: ${gl.getProgramInfoLog(prog)}`);
  return prog;
}

function dataTexture(gl, texels, data) {
  const tex = gl.createTexture();
  const rows = Math.ceil((texels + 1) / TEX_WIDTH); // one spare texel: SH reads may look one texel ahead
  const padded = new Float32Array(rows * TEX_WIDTH * 4);
  padded.set(data);
  gl.bindTexture(gl.TEXTURE_2D, tex);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
  gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA32F, TEX_WIDTH, rows, 0, gl.RGBA, gl.FLOAT, padded);
  return tex;
}

/** WebGL2 context of `canvas`, or null where WebGL2 (or float render targets) is missing. */
export function createRenderer(canvas) {
  const gl = canvas.getContext("webgl2", { antialias: false, premultipliedAlpha: true, preserveDrawingBuffer: true });
  if (!gl || !gl.getExtension("EXT_color_buffer_float")) return null;
  return new Renderer(gl);
}

export class Renderer {
  constructor(gl) {
    this.gl = gl;
    this.prog = compile(gl, VERT, FRAG);
    this.blit = compile(gl, BLIT_VERT, BLIT_FRAG);
    this.loc = {};
    for (const u of ["u_splat", "u_sh", "u_rot", "u_trans", "u_campos", "u_intr", "u_size", "u_deg", "u_shTexels"]) {
      this.loc[u] = gl.getUniformLocation(this.prog, u);
    }
    this.vao = gl.createVertexArray();
    gl.bindVertexArray(this.vao);
    const quad = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, quad);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 1, -1, -1, 1, 1, 1]), gl.STATIC_DRAW);
    gl.enableVertexAttribArray(0);
    gl.vertexAttribPointer(0, 2, gl.FLOAT, false, 0, 0);
    this.orderBuf = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, this.orderBuf);
    gl.enableVertexAttribArray(1);
    gl.vertexAttribIPointer(1, 1, gl.UNSIGNED_INT, 0, 0);
    gl.vertexAttribDivisor(1, 1);
    gl.bindVertexArray(null);
    this.blitVao = gl.createVertexArray();
    gl.bindVertexArray(this.blitVao);
    gl.bindBuffer(gl.ARRAY_BUFFER, quad);
    gl.enableVertexAttribArray(0);
    gl.vertexAttribPointer(0, 2, gl.FLOAT, false, 0, 0);
    gl.bindVertexArray(null);
    this.count = 0;
    this.frame = null;
    this.target = null;
  }

  get info() {
    const gl = this.gl, dbg = gl.getExtension("WEBGL_debug_renderer_info");
    return { renderer: dbg ? gl.getParameter(dbg.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER), version: gl.getParameter(gl.VERSION) };
  }

  /** New frame data ({n, shDegree, splat, sh} from packFrame). */
  setFrame(packed) {
    const gl = this.gl;
    if (this.frame) { gl.deleteTexture(this.frame.splatTex); gl.deleteTexture(this.frame.shTex); }
    const st = shTexels(packed.shDegree);
    this.frame = {
      n: packed.n, shDegree: packed.shDegree, shTexels: st,
      splatTex: dataTexture(gl, SPLAT_TEXELS * packed.n, packed.splat),
      shTex: dataTexture(gl, st * packed.n, packed.sh),
    };
  }

  /** Back-to-front order (Uint32Array of Gaussian indices) for the current frame. */
  setOrder(order) {
    const gl = this.gl;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.orderBuf);
    gl.bufferData(gl.ARRAY_BUFFER, order, gl.DYNAMIC_DRAW);
    this.count = order.length;
  }

  _target(w, h) {
    const gl = this.gl;
    if (this.target && this.target.w === w && this.target.h === h) return this.target;
    if (this.target) { gl.deleteFramebuffer(this.target.fb); gl.deleteTexture(this.target.tex); }
    const tex = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, tex);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA16F, w, h, 0, gl.RGBA, gl.HALF_FLOAT, null);
    const fb = gl.createFramebuffer();
    gl.bindFramebuffer(gl.FRAMEBUFFER, fb);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, tex, 0);
    this.target = { w, h, tex, fb };
    return this.target;
  }

  /** Draw with camera {rot: 9 numbers row-major (world -> camera), trans [3], fx, fy, cx, cy}. */
  draw(cam) {
    const gl = this.gl, w = gl.drawingBufferWidth, h = gl.drawingBufferHeight;
    const t = this._target(w, h);
    gl.bindFramebuffer(gl.FRAMEBUFFER, t.fb);
    gl.viewport(0, 0, w, h);
    gl.clearColor(0, 0, 0, 0);
    gl.clear(gl.COLOR_BUFFER_BIT);
    if (this.frame && this.count) {
      const f = this.frame, r = cam.rot;
      gl.useProgram(this.prog);
      gl.activeTexture(gl.TEXTURE0);
      gl.bindTexture(gl.TEXTURE_2D, f.splatTex);
      gl.uniform1i(this.loc.u_splat, 0);
      gl.activeTexture(gl.TEXTURE1);
      gl.bindTexture(gl.TEXTURE_2D, f.shTex);
      gl.uniform1i(this.loc.u_sh, 1);
      gl.uniformMatrix3fv(this.loc.u_rot, false, [r[0], r[3], r[6], r[1], r[4], r[7], r[2], r[5], r[8]]);
      gl.uniform3fv(this.loc.u_trans, cam.trans);
      gl.uniform3fv(this.loc.u_campos, cameraCenter(cam));
      gl.uniform4f(this.loc.u_intr, cam.fx, cam.fy, cam.cx, cam.cy);
      gl.uniform2f(this.loc.u_size, w, h);
      gl.uniform1i(this.loc.u_deg, f.shDegree);
      gl.uniform1i(this.loc.u_shTexels, f.shTexels);
      gl.enable(gl.BLEND);
      gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
      gl.bindVertexArray(this.vao);
      gl.drawArraysInstanced(gl.TRIANGLE_STRIP, 0, 4, this.count);
      gl.bindVertexArray(null);
      gl.disable(gl.BLEND);
    }
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    gl.viewport(0, 0, w, h);
    gl.useProgram(this.blit);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, t.tex);
    gl.uniform1i(gl.getUniformLocation(this.blit, "u_image"), 0);
    gl.bindVertexArray(this.blitVao);
    gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
    gl.bindVertexArray(null);
  }
}

/** Camera centre in world coordinates: -R^T t. */
export function cameraCenter(cam) {
  const r = cam.rot, t = cam.trans;
  return [-(r[0] * t[0] + r[3] * t[1] + r[6] * t[2]), -(r[1] * t[0] + r[4] * t[1] + r[7] * t[2]), -(r[2] * t[0] + r[5] * t[1] + r[8] * t[2])];
}
