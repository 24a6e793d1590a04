// The page served by `codec stream serve` at /: a stream list, then a player. Decoding runs in
// decode_worker.js, the depth sort in sort_worker.js, drawing in renderer.js (WebGL2).
// URL parameters: ?stream=ID (play a served stream), &live=1 (join the live edge over the
// WebSocket), &frame=N (start at frame N), ?scene=URL (open a scene file), &bench=1 (print
// decode / sort / draw timings as JSON), &size=WxH (canvas size in pixels).
import { orbitCamera, orbitFor } from "./camera.js";
import { createRenderer } from "./renderer.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

class WorkerCall { // request/response over a module worker, by message id
  constructor(url) {
    this.worker = new Worker(new URL(url, import.meta.url), { type: "module" });
    this.pending = new Map();
    this.next = 1;
    this.worker.onmessage = (ev) => {
      const p = this.pending.get(ev.data.id);
      if (!p) return;
      this.pending.delete(ev.data.id);
      if (ev.data.ok) p.resolve(ev.data); else p.reject(new Error(ev.data.error));
    };
  }
  call(msg, transfer = []) {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...msg, id }, transfer);
    });
  }
}

class Player {
  constructor(canvas, renderer) {
    this.canvas = canvas;
    this.renderer = renderer;
    this.decoder = new WorkerCall("decode_worker.js");
    this.sorter = new Worker(new URL("sort_worker.js", import.meta.url), { type: "module" });
    this.sorter.onmessage = (ev) => this.onOrder(ev.data);
    this.orbit = null;
    this.camOverride = null;
    this.frameSeq = 0; // increments with each frame shown
    this.sortBusy = false;
    this.sortDirty = false;
    this.sortedFor = null; // [frameSeq, camera version] of the order on the GPU
    this.camVersion = 0;
    this.drawn = null;
    this.shown = null; // {number, keyframe, n}
    this.history = []; // numbers of the frames shown, in order
    this.errors = [];
    this.stats = { frames: [], bytes: [], decodeMs: 0, sortMs: 0 };
    this.idleWaiters = [];
    this.session = 0; // bumps on seek / mode change, so stale async work is dropped
    this.playing = false;
    this.manifest = null;
    this.ws = null;
    this.needKeyframe = false;
    requestAnimationFrame(() => this.tick());
  }

  // --- camera ---------------------------------------------------------------------------
  camera() {
    if (this.camOverride) return this.camOverride;
    return orbitCamera(this.orbit, this.canvas.width, this.canvas.height);
  }
  cameraChanged() { this.camVersion++; this.requestSort(); }
  setCamera(cam) { this.camOverride = cam; this.cameraChanged(); }

  // --- frames ---------------------------------------------------------------------------
  show(r) {
    this.renderer.setFrame(r);
    const positions = new Float32Array(3 * r.n);
    for (let i = 0; i < r.n; i++) {
      positions[3 * i] = r.splat[12 * i]; positions[3 * i + 1] = r.splat[12 * i + 1]; positions[3 * i + 2] = r.splat[12 * i + 2];
    }
    if (this.orbit === null) {
      const o = orbitFor(positions);
      this.orbit = { target: o.target, distance: o.radius, azimuth: 0, elevation: (20 * Math.PI) / 180, fov: 60 };
    }
    this.frameSeq++;
    this.sorter.postMessage({ positions }, [positions.buffer]);
    this.shown = { number: r.number, keyframe: r.keyframe, n: r.n };
    this.history.push(r.number);
    this.stats.frames.push(performance.now());
    this.stats.decodeMs = r.decodeMs;
    $("count").textContent = `${r.n.toLocaleString()} Gaussians, SH ${r.shDegree}`;
    this.updateCounter();
    this.requestSort();
  }
  requestSort() {
    if (this.shown === null) return;
    if (this.sortBusy) { this.sortDirty = true; return; }
    const c = this.camera();
    this.sortBusy = true;
    this.sortDirty = false;
    this.sorter.postMessage({ id: 0, view: [c.rot[6], c.rot[7], c.rot[8], c.trans[2]], frame: [this.frameSeq, this.camVersion] });
  }
  onOrder(m) {
    this.sortBusy = false;
    this.stats.sortMs = m.sortMs;
    if (m.frame[0] === this.frameSeq) { // never draw a frame with another frame's order
      this.renderer.setOrder(m.order);
      this.sortedFor = m.frame;
    }
    if (this.sortDirty || m.frame[0] !== this.frameSeq || m.frame[1] !== this.camVersion) this.requestSort();
  }
  tick() {
    requestAnimationFrame(() => this.tick());
    if (this.sortedFor === null) return;
    const key = `${this.sortedFor[0]}/${this.sortedFor[1]}/${this.camVersion}`;
    if (key !== this.drawn) {
      this.renderer.draw(this.camera());
      this.drawn = key;
    }
    const settled = this.sortedFor[0] === this.frameSeq && this.sortedFor[1] === this.camVersion;
    if (settled && this.idleWaiters.length) { for (const w of this.idleWaiters.splice(0)) w(); }
    this.updateReadout();
  }
  /** Resolves once the frame shown has been drawn in an order sorted for the current camera. */
  idle() { return new Promise((resolve) => this.idleWaiters.push(resolve)); }

  /** Show (or with "" clear) the message over the view; errors stay up for 3 s at least. */
  message(text) {
    const el = $("message");
    if (!text && performance.now() - (this.messageAt || 0) < 3000) return;
    el.hidden = !text;
    el.textContent = text || "";
    if (text) {
      this.messageAt = performance.now();
      this.errors.push({ text, shown: this.shown ? this.shown.number : null });
    }
  }

  updateCounter() {
    const total = this.manifest ? this.manifest.frame_count : 1;
    const n = this.shown ? this.shown.number : 0;
    $("counter").textContent = `frame ${n + 1} / ${total}${this.shown && this.shown.keyframe ? " (key)" : ""}`;
    if (this.manifest && document.activeElement !== $("timeline")) $("timeline").value = String(n);
  }
  updateReadout() {
    const now = performance.now();
    const f = this.stats.frames, b = this.stats.bytes;
    while (f.length && now - f[0] > 1000) f.shift();
    while (b.length && now - b[0][0] > 1000) b.shift();
    $("fps").textContent = `${f.length} fps`;
    $("bitrate").textContent = `${((b.reduce((s, x) => s + x[1], 0) * 8) / 1e6).toFixed(2)} Mbit/s`;
    $("decode").textContent = `decode ${this.stats.decodeMs.toFixed(1)} ms`;
    $("sort").textContent = `sort ${this.stats.sortMs.toFixed(1)} ms`;
  }
  received(bytes) { this.stats.bytes.push([performance.now(), bytes]); }

  // --- sources --------------------------------------------------------------------------
  async openScene(buffer) {
    this.stop();
    this.manifest = null;
    const session = this.session;
    try {
      const r = await this.decoder.call({ op: "scene", buffer }, [buffer]);
      if (session === this.session) { this.message(""); this.show(r); }
    } catch (e) {
      this.message(`cannot open the scene: ${e.message}`);
    }
  }

  async openStream(id) {
    this.id = id;
    const res = await fetch(`/streams/${encodeURIComponent(id)}/manifest`);
    if (!res.ok) throw new Error(`no stream ${id}: HTTP ${res.status}`);
    this.manifest = await res.json();
    $("timeline").max = String(Math.max(this.manifest.frame_count - 1, 0));
  }

  async refreshManifest() {
    if (!this.manifest || this.manifest.finished) return;
    const res = await fetch(`/streams/${encodeURIComponent(this.id)}/manifest`);
    if (res.ok) { this.manifest = await res.json(); $("timeline").max = String(Math.max(this.manifest.frame_count - 1, 0)); }
  }

  nextKeyframe(n) {
    const fr = this.manifest.frames;
    for (let i = n; i < fr.length; i++) if (fr[i][1]) return i;
    return -1;
  }

  async fetchRecords(n, deps) {
    const res = await fetch(`/streams/${encodeURIComponent(this.id)}/frames/${n}${deps ? "?deps=1" : ""}`);
    if (!res.ok) throw new Error(`frame ${n} is missing (HTTP ${res.status})`);
    const buf = await res.arrayBuffer();
    this.received(buf.byteLength);
    return buf;
  }

  async decodeShow(buffer, session, label) {
    try {
      const r = await this.decoder.call({ op: "records", buffer }, [buffer]);
      if (session !== this.session) return false;
      this.needKeyframe = false;
      this.message("");
      this.show(r);
      return true;
    } catch (e) {
      if (session === this.session) {
        this.needKeyframe = true;
        this.message(`${label} cannot be shown (${e.message}); keeping the last good frame`);
      }
      return false;
    }
  }

  stop() {
    this.session++;
    this.playing = false;
    if (this.ws) { this.ws.onmessage = null; this.ws.close(); this.ws = null; }
    $("play").textContent = "play";
    $("live").classList.remove("on");
  }

  /** Show frame n: its group's keyframe and deltas up to n in one request, decoded in order. */
  async seek(n) {
    const wasPlaying = this.playing;
    this.stop();
    const session = this.session;
    n = Math.max(0, Math.min(n, this.manifest.frame_count - 1));
    try {
      const buf = await this.fetchRecords(n, true);
      if (session !== this.session) return;
      await this.decodeShow(buf, session, `frame ${n}`);
    } catch (e) {
      if (session === this.session) this.message(`frame ${n} cannot be shown (${e.message}); keeping the last good frame`);
    }
    if (wasPlaying && session === this.session) this.play();
  }

  /** Play over HTTP from the frame after the one shown, at the stream's fps, prefetching. */
  async play() {
    if (!this.manifest) return;
    this.stop();
    const session = this.session;
    this.playing = true;
    $("play").textContent = "pause";
    const fps = this.manifest.fps, ahead = new Map();
    let n = this.shown ? this.shown.number + 1 : 0;
    if (n >= this.manifest.frame_count) n = 0;
    let t0 = performance.now(), first = n;
    const get = (i) => {
      if (!ahead.has(i)) ahead.set(i, this.fetchRecords(i, false).catch((e) => e));
      return ahead.get(i);
    };
    while (this.playing && session === this.session) {
      if (n >= this.manifest.frame_count) {
        await this.refreshManifest();
        if (this.manifest.finished && n >= this.manifest.frame_count) break;
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      if (this.needKeyframe && !this.manifest.frames[n][1]) { // a damaged frame: resume at the next keyframe
        const k = this.nextKeyframe(n);
        if (k < 0) break;
        n = k; t0 = performance.now(); first = n;
      }
      for (let i = n; i < Math.min(n + 6, this.manifest.frame_count); i++) get(i);
      const buf = await get(n);
      ahead.delete(n);
      if (session !== this.session) return;
      if (buf instanceof Error) { this.needKeyframe = true; this.message(`frame ${n} cannot be shown (${buf.message}); keeping the last good frame`); n++; continue; }
      const due = t0 + ((n - first) * 1000) / fps;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (session !== this.session) return;
      await this.decodeShow(buf, session, `frame ${n}`);
      n++;
    }
    if (session === this.session) { this.playing = false; $("play").textContent = "play"; }
  }

  /** Live mode: the server pushes records over the WebSocket from the newest keyframe on. */
  live(start = -1) {
    this.stop();
    const session = this.session;
    $("live").classList.add("on");
    const url = `${location.origin.replace(/^http/, "ws")}/streams/${encodeURIComponent(this.id)}/live?start=${start}`;
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    let chain = Promise.resolve();
    ws.onmessage = (ev) => {
      if (session !== this.session) return;
      if (typeof ev.data === "string") {
        const m = JSON.parse(ev.data);
        if (m.type === "end") $("live").classList.remove("on");
        return;
      }
      this.received(ev.data.byteLength);
      const buf = ev.data;
      const rtype = new Uint8Array(buf, 4, 1)[0], number = new DataView(buf, 8, 4).getUint32(0, true);
      if (this.needKeyframe && rtype !== 1) return; // wait for the next keyframe after damage
      chain = chain.then(() => this.decodeShow(buf, session, `live frame ${number}`));
    };
    ws.onerror = () => { if (session === this.session) this.message("the live connection failed"); };
  }
}

// --- input: orbit / pan / zoom with mouse, wheel and touch ---------------------------------
function attachControls(player, canvas) {
  let drag = null;
  const pointers = new Map();
  const orbit = () => { player.camOverride = null; return player.orbit; };
  canvas.addEventListener("contextmenu", (e) => e.preventDefault());
  canvas.addEventListener("pointerdown", (e) => {
    canvas.setPointerCapture(e.pointerId);
    pointers.set(e.pointerId, [e.clientX, e.clientY]);
    drag = { pan: e.button === 2 || e.shiftKey };
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!pointers.has(e.pointerId) || !player.orbit) return;
    const [px, py] = pointers.get(e.pointerId);
    const dx = e.clientX - px, dy = e.clientY - py;
    const o = orbit();
    if (pointers.size === 2) { // pinch: zoom by the change in finger distance, pan by the midpoint
      const other = [...pointers.entries()].find(([id]) => id !== e.pointerId)[1];
      const before = Math.hypot(px - other[0], py - other[1]), after = Math.hypot(e.clientX - other[0], e.clientY - other[1]);
      if (before > 0 && after > 0) o.distance *= before / after;
      pan(o, dx / 2, dy / 2, canvas);
    } else if (drag && drag.pan) pan(o, dx, dy, canvas);
    else {
      o.azimuth -= dx * 0.005;
      o.elevation = Math.max(-1.5, Math.min(1.5, o.elevation + dy * 0.005));
    }
    pointers.set(e.pointerId, [e.clientX, e.clientY]);
    player.cameraChanged();
  });
  const up = (e) => { pointers.delete(e.pointerId); if (!pointers.size) drag = null; };
  canvas.addEventListener("pointerup", up);
  canvas.addEventListener("pointercancel", up);
  canvas.addEventListener("wheel", (e) => {
    if (!player.orbit) return;
    e.preventDefault();
    orbit().distance *= Math.exp(e.deltaY * 0.001);
    player.cameraChanged();
  }, { passive: false });
}

function pan(o, dx, dy, canvas) {
  const cam = orbitCamera(o, canvas.width, canvas.height);
  const k = (o.distance / cam.fx);
  for (let a = 0; a < 3; a++) o.target[a] -= k * (dx * cam.rot[a] + dy * cam.rot[3 + a]);
}

// --- page ------------------------------------------------------------------------------
async function showList() {
  $("list").hidden = false;
  const res = await fetch("/streams");
  if (!res.ok) throw new Error(`cannot list the streams: HTTP ${res.status}`);
  const list = await res.json();
  const ul = $("streams");
  for (const s of list) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = `?stream=${encodeURIComponent(s.id)}`;
    a.textContent = s.id;
    li.append(a, ` ${s.frames} frames at ${s.fps} fps${s.finished ? "" : " (live)"} `);
    const live = document.createElement("a");
    live.href = `?stream=${encodeURIComponent(s.id)}&live=1`;
    live.textContent = "live";
    li.append(live);
    ul.append(li);
  }
  if (!list.length) ul.textContent = "no streams";
}

async function bench(player) {
  // decode times come from the worker; sort and draw are timed here, drawing with a 1-pixel
  // readPixels so the GPU work is finished before the clock stops
  const out = { userAgent: navigator.userAgent, ...player.renderer.info, frames: [] };
  await player.seek(0);
  await player.idle();
  out.gaussians = player.shown.n;
  const n = Math.min(player.manifest.frame_count, 30);
  for (let i = 1; i < n; i++) {
    const buf = await player.fetchRecords(i, false);
    const r = await player.decoder.call({ op: "records", buffer: buf }, [buf]);
    player.show(r);
    await player.idle();
    out.frames.push({ number: i, keyframe: r.keyframe, bytes: r.bytes, decodeMs: r.decodeMs, sortMs: player.stats.sortMs });
  }
  const gl = player.renderer.gl, px = new Uint8Array(4), t0 = performance.now();
  const draws = 20;
  for (let i = 0; i < draws; i++) { player.renderer.draw(player.camera()); gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, px); }
  out.drawMs = (performance.now() - t0) / draws;
  const key = await player.fetchRecords(0, false);
  const rk = await player.decoder.call({ op: "records", buffer: key }, [key]);
  out.keyframeDecodeMs = rk.decodeMs;
  const deltas = out.frames.filter((f) => !f.keyframe).map((f) => f.decodeMs).sort((a, b) => a - b);
  out.deltaDecodeMsMedian = deltas.length ? deltas[deltas.length >> 1] : null;
  const sorts = out.frames.map((f) => f.sortMs).sort((a, b) => a - b);
  out.sortMsMedian = sorts.length ? sorts[sorts.length >> 1] : null;
  $("bench").hidden = false;
  $("bench").textContent = JSON.stringify(out, null, 1);
  console.log(`BENCH ${JSON.stringify(out)}`);
  return out;
}

async function main() {
  const canvas = $("view");
  const size = (params.get("size") || "").match(/^(\d+)x(\d+)$/);
  if (size) { canvas.width = +size[1]; canvas.height = +size[2]; }
  const stream = params.get("stream"), sceneUrl = params.get("scene");
  if (!stream && !sceneUrl) await showList();
  $("player").hidden = !(stream || sceneUrl);
  const renderer = createRenderer(canvas);
  if (renderer === null) {
    $("player").hidden = false;
    const el = $("message");
    el.hidden = false;
    el.textContent = "This player needs WebGL2 (with float render targets), which this browser does not provide. " +
      "Try a current Chrome, Edge, Firefox or Safari with hardware acceleration on.";
    window.__player = { webgl2: false };
    return;
  }
  const player = new Player(canvas, renderer);
  window.__player = player;
  attachControls(player, canvas);
  const file = $("file");
  const openFile = async (f) => {
    $("list").hidden = true;
    $("player").hidden = false;
    await player.openScene(await f.arrayBuffer());
  };
  file.addEventListener("change", () => file.files[0] && openFile(file.files[0]));
  document.addEventListener("dragover", (e) => e.preventDefault());
  document.addEventListener("drop", (e) => { e.preventDefault(); if (e.dataTransfer.files[0]) openFile(e.dataTransfer.files[0]); });
  $("play").addEventListener("click", () => (player.playing ? player.stop() : player.play()));
  $("live").addEventListener("click", () => (player.ws ? player.stop() : player.live()));
  $("timeline").addEventListener("change", () => player.seek(Number($("timeline").value)));
  document.addEventListener("keydown", (e) => {
    if (e.code === "Space" && player.manifest) { e.preventDefault(); player.playing ? player.stop() : player.play(); }
  });
  if (sceneUrl) {
    const res = await fetch(sceneUrl);
    if (!res.ok) { player.message(`cannot fetch ${sceneUrl}: HTTP ${res.status}`); return; }
    await player.openScene(await res.arrayBuffer());
  } else if (stream) {
    await player.openStream(stream);
    if (params.get("bench") === "1") { player.bench = await bench(player); return; }
    if (params.get("live") === "1") player.live();
    else await player.seek(Number(params.get("frame") || 0));
  }
}

main().catch((e) => {
  const el = $("message");
  $("player").hidden = false;
  el.hidden = false;
  el.textContent = `error: ${e.message}`;
});
