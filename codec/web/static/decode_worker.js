// Module worker: decodes frame records and scene files off the main thread and answers with the
// renderer's typed arrays (copies transferred). It keeps the last decoded frame, the delta state
// and the packed texture data, so records must arrive in stream order; a keyframe resets all
// three, and a delta frame repacks only the rows it changed.
import { CodecError } from "./errors.js";
import { packFrame, repackRows } from "./pack.js";
import { decodeScene } from "./scene.js";
import { TYPE_KEYFRAME, decodeRecord, parseRecord } from "./stream.js";

let ref = null, state = null, packed = null;

function reply(id, extra) {
  const splat = packed.splat.slice(), sh = packed.sh.slice();
  self.postMessage({ id, ok: true, ...extra, n: packed.n, shDegree: packed.shDegree, splat, sh }, [splat.buffer, sh.buffer]);
}

async function handle(msg) {
  const { id, op } = msg;
  if (op === "scene") { // a static scene file
    const t0 = performance.now();
    const frame = await decodeScene(new Uint8Array(msg.buffer));
    ref = null; state = null;
    packed = packFrame(frame);
    return reply(id, { number: 0, keyframe: true, decodeMs: performance.now() - t0, bytes: msg.buffer.byteLength });
  }
  if (op === "records") { // one or more frame records, back to back (as /frames/{n}?deps=1 sends)
    const bytes = new Uint8Array(msg.buffer);
    let pos = 0, last = null, decodeMs = 0;
    const times = [];
    while (pos < bytes.length) {
      const rec = parseRecord(bytes, pos);
      pos += rec.size;
      const t0 = performance.now();
      if (rec.type !== TYPE_KEYFRAME && ref === null) throw new CodecError(`delta frame ${rec.number} has no keyframe before it`);
      try {
        ({ frame: ref, state } = await decodeRecord(rec, ref, state));
      } catch (e) {
        ref = null; state = null; packed = null; // the next usable frame is a keyframe
        throw e;
      }
      if (rec.type === TYPE_KEYFRAME) packed = packFrame(ref);
      else repackRows(ref, packed, new Map([...state.q].map(([g, v]) => [g, v.rows])));
      const ms = performance.now() - t0;
      decodeMs += ms;
      times.push([rec.number, rec.type === TYPE_KEYFRAME, ms]);
      last = rec;
    }
    if (last === null) throw new CodecError("no frame record in the data");
    return reply(id, { number: last.number, keyframe: last.type === TYPE_KEYFRAME, timestamp: last.timestamp,
      decodeMs, times, bytes: bytes.length });
  }
  if (op === "reset") { ref = null; state = null; packed = null; return self.postMessage({ id, ok: true }); }
  throw new Error(`unknown op ${op}`);
}

let queue = Promise.resolve();
self.onmessage = (ev) => {
  queue = queue.then(() => handle(ev.data)).catch((e) => {
    self.postMessage({ id: ev.data.id, ok: false, error: e && e.message ? e.message : String(e), codec: e instanceof CodecError });
  });
};
