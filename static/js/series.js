/* The points of one sensor: history and live readings merged in order, bucketed like the
   server's downsampling, trimmed to the range. Pure: Node imports it too.

   A series `s` holds s.pts = [{ts, t, h, tl, th, hl, hh, nt, nh, k}] in °C, oldest first
   (tl..hh: the min/max band; nt, nh: readings averaged; k: bucket index), and s.sets,
   the chart's four datasets (temperature, min, max, humidity) mirroring it in the display
   unit, with a {x, y: null, gap: true} marker where readings stop. */

import { toUnit } from './format.js';

export const ms = (sec) => Math.round(sec * 1000);

/** An empty series; the chart passes its own datasets, tests plain ones. */
export const newSeries = (interval, sets = [0, 1, 2, 3].map(() => ({ data: [] }))) => ({
  interval, sets, pts: [], step: 0, stepMs: 1, range: null, seq: null, dirty: false,
});

// Buckets longer than the sensor's interval average several readings each
const bucketed = (s) => s.step > s.interval;
const gapAfter = (s) => 3 * Math.max(s.step, s.interval);

/** A point from the server's [ts, t, h, tl, th, hl, hh] row, standing for `n` readings. */
export function point(p, n, stepMs) {
  return { ts: p[0], t: p[1], h: p[2], tl: p[3], th: p[4], hl: p[5], hh: p[6], nt: n, nh: n,
    k: Math.floor(ms(p[0]) / stepMs) };
}

/** A point's row in each of the four datasets. */
export function rows(p, unit) {
  const x = p.ts;
  return [{ x, y: toUnit(p.t, unit) }, { x, y: toUnit(p.tl, unit) }, { x, y: toUnit(p.th, unit) }, { x, y: p.h }];
}

function pushRows(s, p, prev, unit) {
  if (prev && p.ts - prev.ts > gapAfter(s)) {
    for (const ds of s.sets) ds.data.push({ x: (prev.ts + p.ts) / 2, y: null, gap: true });
  }
  rows(p, unit).forEach((row, i) => s.sets[i].data.push(row));
}

/** Refill the datasets from the points (after out-of-order merges or a unit change). */
export function rebuild(s, unit) {
  for (const ds of s.sets) ds.data = [];
  s.pts.forEach((p, i) => pushRows(s, p, s.pts[i - 1], unit));
}

function setLast(s, q, unit) {
  if (s.dirty) return;  // a rebuild is due anyway
  rows(q, unit).forEach((row, j) => Object.assign(s.sets[j].data.at(-1), row));
}

const wavg = (a, na, b, nb) => (a == null ? b : b == null ? a : (a * na + b * nb) / (na + nb));
export const lo = (a, b) => (a == null ? b : b == null ? a : Math.min(a, b));
export const hi = (a, b) => (a == null ? b : b == null ? a : Math.max(a, b));

/** Put one reading or backfilled point in its place; false when it is already there.
    Appending updates the datasets at once; anything else marks them dirty. */
export function merge(s, p, unit) {
  const pts = s.pts;
  let i = pts.length;
  while (i > 0 && (bucketed(s) ? pts[i - 1].k > p.k : ms(pts[i - 1].ts) > ms(p.ts))) i--;
  const q = pts[i - 1];
  if (q && bucketed(s) && q.k === p.k) {
    q.t = wavg(q.t, q.nt, p.t, p.nt); q.h = wavg(q.h, q.nh, p.h, p.nh);
    if (p.t != null) q.nt += p.nt;
    if (p.h != null) q.nh += p.nh;
    q.tl = lo(q.tl, p.tl); q.th = hi(q.th, p.th); q.hl = lo(q.hl, p.hl); q.hh = hi(q.hh, p.hh);
    q.ts = Math.max(q.ts, p.ts);  // while live, a bucket sits at its newest reading
    if (i === pts.length) setLast(s, q, unit);
    else s.dirty = true;
    return true;
  }
  if (q && !bucketed(s) && ms(q.ts) === ms(p.ts)) return false;
  if (i === pts.length) {
    if (q && bucketed(s) && Math.max(q.nt, q.nh) > 1) {  // a full bucket moves to its centre, as the server's do
      q.ts = (q.k + 0.5) * s.stepMs / 1000;
      setLast(s, q, unit);
    }
    pts.push(p);
    if (!s.dirty) pushRows(s, p, q, unit);
  } else {
    pts.splice(i, 0, p);
    s.dirty = true;
  }
  return true;
}

/** Drop what is older than `start`, from the points and the datasets alike. */
export function trim(s, start) {
  let n = 0;
  while (n < s.pts.length && s.pts[n].ts < start) n++;
  if (n) s.pts.splice(0, n);
  const first = s.sets[0].data;  // the four stay aligned: cut them alike
  let m = 0;
  while (m < first.length && first[m].x < start) m++;
  if (first[m] && first[m].gap) m++;
  if (m) for (const ds of s.sets) ds.data.splice(0, m);
}

/** Take a history answer for [until - range, until] as the whole series; the last point.
    The newest bucket is still filling: it counts only the readings up to `until`. */
export function replace(s, ans, until, range) {
  s.step = ans.step; s.stepMs = Math.max(1, ms(ans.step)); s.range = range;
  const full = Math.max(1, s.step / s.interval);
  s.pts = ans.points.map((p) => point(p, full, s.stepMs));
  const last = s.pts.at(-1);
  if (last && bucketed(s)) {
    const part = (until - (last.k * s.stepMs) / 1000) / s.interval;
    last.nt = last.nh = Math.min(full, Math.max(1, part));
  }
  return last;
}

/** Merge a backfill answer: the points after `from`, at the series' own bucket size. */
export function absorb(s, ans, from, unit) {
  const n = Math.max(1, ans.step / s.interval);
  for (const p of ans.points) if (ms(p[0]) > ms(from)) merge(s, point(p, n, s.stepMs), unit);
}

/** Apply one live reading; every reading up to `mark` is in already. Gives the new mark,
    or null when the reading's seq shows readings were missed before it. */
export function applyReading(s, r, mark, unit) {
  if (mark != null && ms(r.ts) <= ms(mark) && bucketed(s)) return mark;  // already counted
  if (r.seq != null && s.seq != null && r.seq > s.seq + 1) return null;
  s.seq = r.seq ?? null;
  const t = r.temperature, h = r.humidity;
  merge(s, point([r.ts, t, h, t, t, h, h], 1, s.stepMs), unit);
  return Math.max(r.ts, mark ?? 0);
}
