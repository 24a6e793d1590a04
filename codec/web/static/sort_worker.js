// Module worker: keeps the current frame's positions and answers each view with the
// back-to-front order (transferred). Messages: {positions} on a new frame, {id, view} to sort.
import { sortByDepth } from "./sort.js";

let positions = new Float32Array(0);
self.onmessage = (ev) => {
  const m = ev.data;
  if (m.positions) positions = m.positions;
  if (m.view) {
    const t0 = performance.now();
    const [r0, r1, r2, t] = m.view;
    const order = sortByDepth(positions, r0, r1, r2, t);
    self.postMessage({ id: m.id, order, sortMs: performance.now() - t0, frame: m.frame }, [order.buffer]);
  }
};
