/* Data changes now; drawing waits for the next frame (once a burst, never while hidden).
   Each drawing fits the axes: x to the window (or to where the data starts), each value
   axis to what is visible, with a sensible least span. */

import { showStats } from './cards.js';
import { AXES, fitAxis, windowOf, xRange } from './fit.js';
import { toUnit } from './format.js';
import { showLegend } from './legend.js';
import { AXIS } from './marks.js';
import { redrawOverlay } from './overlay.js';
import { gapOf, LETTER, LETTERS, lineRows, rebuild, trim } from './series.js';
import { drawSpark } from './spark.js';
import { lastTs, serverNow, state } from './state.js';
import { COMPARE_LABEL } from './url.js';

const due = new Set();
let frame = 0;
let overlayDue = false;
let watcher = null;

/** Charts more than a screen away from the viewport are not drawn until they come near
    (16 charts redrawn every tick cost 50-100 ms; a phone shows two). */
export function watchScreen(s) {
  if (!('IntersectionObserver' in globalThis)) return;
  watcher = watcher || new IntersectionObserver((entries) => {
    for (const entry of entries) {
      const t = state.sensors.get(entry.target.dataset.sensor);
      if (!t || t.el.card !== entry.target) continue;
      t.far = !entry.isIntersecting;
      if (!t.far && t.skipped) redraw(t);
    }
  }, { rootMargin: '100% 0px' });
  watcher.observe(s.el.card);
}

/** Bring a sensor's chart to the current view and unit, and draw it at the next frame. */
export function redraw(s) {
  const now = Math.max(serverNow(), lastTs.get(s.id) || 0);
  const [start] = windowOf(state.view, now);
  if (s.dirty) { rebuild(s, state.unit); s.dirty = false; s.cmpDirty = true; }
  if (state.view.live) trim(s, start);
  due.add(s);
  overlayDue = true;
  if (!frame) frame = requestAnimationFrame(paint);
  state.drawing = true;  // a frame is due: what the charts show is about to change
}

/** Redraw every card (a new view, unit or compare). */
export function redrawAll() {
  for (const s of state.sensors.values()) { s.cmpDirty = true; redraw(s); }
}

function compareRows(s) {
  const c = s.cmp;
  for (const ds of s.cmpSets) {
    const l = ds.letter;
    ds.data = c && c.pts.length ? lineRows(c.pts, l, state.unit, 3 * Math.max(c.step, s.interval), c.shift) : [];
    ds.shift = c ? c.shift : 0;
    ds.label = `${ds.name} ${c ? COMPARE_LABEL[c.compare] : ''}`;
  }
  s.cmpDirty = false;
  showLegend(s.chart, s.el.legend);
}

/** Lowest and highest value of a letter in [x0, x1], from the bands (display unit). */
function extent(pts, l, x0, x1, shift = 0) {
  let lo = null, hi = null;
  for (const p of pts) {
    const x = p.ts + shift;
    if (x < x0 || x > x1) continue;
    const a = p[`${l}l`] ?? p[l], b = p[`${l}h`] ?? p[l];
    if (a != null && (lo == null || a < lo)) lo = a;
    if (b != null && (hi == null || b > hi)) hi = b;
  }
  return l === 't' ? [toUnit(lo, state.unit), toUnit(hi, state.unit)] : [lo, hi];
}

/** Fit each value axis to what the window shows; a threshold close by is kept in view. */
function fitValues(s, x0, x1) {
  const scales = s.chart.options.scales;
  for (const l of LETTERS) {
    if (!s.keys.includes(l)) continue;
    let [lo, hi] = extent(s.pts, l, x0, x1);
    if (s.cmp && s.cmp.pts.length) {
      const [a, b] = extent(s.cmp.pts, l, x0, x1, s.cmp.shift);
      lo = lo == null ? a : a == null ? lo : Math.min(lo, a);
      hi = hi == null ? b : b == null ? hi : Math.max(hi, b);
    }
    const axis = { ...AXES[l], minSpan: l === 't' && state.unit === 'F' ? AXES.t.minSpan * 1.8 : AXES[l].minSpan };
    if (lo != null) {
      for (const t of s.chart.$marks.rules || []) {
        if (LETTER[t.kind.split('_')[0]] !== l) continue;
        const v = l === 't' ? toUnit(t.threshold, state.unit) : t.threshold;
        const reach = Math.max(hi - lo, axis.minSpan) / 2;
        if (v > lo - reach && v < hi + reach) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      }
    }
    const fit = fitAxis(lo, hi, axis);
    const scale = scales[AXIS[l]];
    scale.min = fit ? fit.min : undefined;
    scale.max = fit ? fit.max : undefined;
    scale.display = fit ? 'auto' : false;  // no data in the window: no made-up 0-1 axis
  }
}

function paint() {
  frame = 0;
  state.drawing = false;
  const now = serverNow();
  const [start, end] = windowOf(state.view, now);
  for (const s of due) {
    if (state.sensors.get(s.id) !== s) continue;  // its card was rebuilt
    s.skipped = !!s.far;
    if (s.far) continue;  // drawn when it comes near the screen
    if (s.cmpDirty) compareRows(s);
    const first = s.pts.length ? s.pts[0].ts : null;
    const x = state.view.live ? xRange(start, end, first, s.interval) : { min: start, max: end, since: null };
    const scale = s.chart.options.scales.x;
    scale.min = x.min; scale.max = x.max;
    s.chart.options.plugins.zoom.limits.x.max = Math.max(now, end);
    Object.assign(s.chart.$marks, { unit: state.unit, now, episodes: state.episodes.get(s.id) || [] });
    fitValues(s, x.min, x.max);
    s.chart.update('none');
    showStats(s, x.since, x.min, x.max);
    drawSpark(s, x.min, x.max, gapOf(s));
  }
  due.clear();
  if (overlayDue) { overlayDue = false; redrawOverlay(start, end); }
}
