/* Data changes now; drawing waits for the next frame (once a burst, never while hidden). */

import { showStats } from './cards.js';
import { rebuild, trim } from './series.js';
import { lastTs, serverNow, state } from './state.js';

const due = new Set();
let frame = 0;

/** Bring a sensor's chart to the current range and unit, and draw it at the next frame. */
export function redraw(s) {
  const now = Math.max(serverNow(), lastTs.get(s.id) || 0);
  const start = now - state.range;
  if (s.dirty) { rebuild(s, state.unit); s.dirty = false; }
  trim(s, start);
  const x = s.chart.options.scales.x;
  x.min = start; x.max = now;
  due.add(s);
  if (!frame) frame = requestAnimationFrame(paint);
}

function paint() {
  frame = 0;
  for (const s of due) {
    if (state.sensors.get(s.id) !== s) continue;  // its card was rebuilt
    s.chart.update('none');
    showStats(s);
  }
  due.clear();
}
