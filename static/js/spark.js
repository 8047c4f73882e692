/* The phone list's sparklines: a sensor's temperature over the window in a small canvas,
   drawn with plain 2D calls (no chart for a 96 x 32 picture). sparkPath is pure. */

import { colours } from './dom.js';

/** Pixel runs of a series in a w x h box over [x0, x1]: [[[x, y], …], …], broken at gaps
    (points further apart than `gap` seconds). Empty without two values to scale by. */
export function sparkPath(pts, x0, x1, w, h, gap, key = 't') {
  const shown = pts.filter((p) => p[key] != null && p.ts >= x0 && p.ts <= x1);
  if (!shown.length) return [];
  let lo = Math.min(...shown.map((p) => p[key])), hi = Math.max(...shown.map((p) => p[key]));
  if (hi - lo < 0.5) { const mid = (lo + hi) / 2; lo = mid - 0.25; hi = mid + 0.25; }  // no zig-zag of noise
  const px = (ts) => ((ts - x0) / Math.max(1e-9, x1 - x0)) * (w - 2) + 1;
  const py = (v) => h - 2 - ((v - lo) / (hi - lo)) * (h - 4);
  const runs = [];
  let run = [], prev = null;
  for (const p of shown) {
    if (prev != null && p.ts - prev > gap) { runs.push(run); run = []; }
    run.push([+px(p.ts).toFixed(1), +py(p[key]).toFixed(1)]);
    prev = p.ts;
  }
  runs.push(run);
  return runs;
}

/** Draw a sensor's sparkline, when its compact row is on screen. */
export function drawSpark(s, x0, x1, gap) {
  const canvas = s.el.spark;
  if (!canvas || !canvas.offsetParent) return;
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * ratio)) { canvas.width = Math.round(w * ratio); canvas.height = Math.round(h * ratio); }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, w, h);
  ctx.strokeStyle = colours().temp;
  ctx.fillStyle = ctx.strokeStyle;
  ctx.lineWidth = 1.5;
  for (const run of sparkPath(s.pts, x0, x1, w, h, gap)) {
    if (run.length === 1) { ctx.fillRect(run[0][0] - 1, run[0][1] - 1, 2.5, 2.5); continue; }
    ctx.beginPath();
    run.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    ctx.stroke();
  }
}
