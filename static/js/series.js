/* The points of one sensor: history and live readings merged in order, bucketed like the
   server's downsampling, trimmed to the range. Pure: Node imports it too.

   A series `s` holds s.pts, oldest first, each {ts, k, t, tl, th, h, hl, hh, p, pl, ph,
   c, cl, ch, nt, nh, np, nc}: per quantity letter (t temperature °C, h humidity, p
   pressure, c CO2) the mean, the min/max band (l, h suffixes) and the readings averaged
   (n prefix); k is the bucket index. s.sets are the chart's datasets, one per key of
   s.keys (a key is a letter or letter + l/h), mirroring the points in the display unit,
   with a {x, y: null, gap: true} marker where readings stop. */

import { toUnit } from './format.js';

export const ms = (sec) => Math.round(sec * 1000);

/** The quantity letters, in the server's order (temperature, humidity, pressure, CO2). */
export const LETTERS = ['t', 'h', 'p', 'c'];
export const LETTER = { temperature: 't', humidity: 'h', pressure: 'p', co2: 'c' };
const NAME = { t: 'temperature', h: 'humidity', p: 'pressure', c: 'co2' };
const KEYS = LETTERS.flatMap((l) => [l, `${l}l`, `${l}h`]);
const FIELD = (key) => NAME[key[0]] + (key.length === 1 ? '' : key[1] === 'l' ? '_min' : '_max');

/** Where each of KEYS sits in a history answer's rows, from its `fields` (-1: absent). */
export const layout = (fields) => KEYS.map((key) => fields.indexOf(FIELD(key)));
const BASE = layout(['ts', 'temperature', 'humidity', 'temperature_min', 'temperature_max',
  'humidity_min', 'humidity_max']);
const FULL = KEYS.map((_, i) => i + 1);  // [ts, t, tl, th, h, hl, hh, …]: a live reading

/** The dataset keys of a sensor measuring these quantities: mean, min, max each. */
export const keysFor = (quantities) => LETTERS.filter((l) => quantities.includes(NAME[l]))
  .flatMap((l) => [l, `${l}l`, `${l}h`]);

/** An empty series; the chart passes its own datasets and keys, tests plain ones. */
export const newSeries = (interval, sets = [0, 1, 2, 3].map(() => ({ data: [] })), keys = ['t', 'tl', 'th', 'h']) => ({
  interval, sets, keys, pts: [], step: 0, stepMs: 1, range: null, seq: null, dirty: false,
});

// Buckets longer than the sensor's interval average several readings each
const bucketed = (s) => s.step > s.interval;
const gapAfter = (s) => 3 * Math.max(s.step, s.interval);

/** A point from a server row (laid out as `at` says), standing for `n` readings. */
export function point(row, n, stepMs, at = BASE) {
  const p = { ts: row[0], k: Math.floor(ms(row[0]) / stepMs) };
  KEYS.forEach((key, i) => { p[key] = at[i] >= 0 ? (row[at[i]] ?? null) : null; });
  for (const l of LETTERS) p[`n${l}`] = n;
  return p;
}

/** A point's row in each dataset (temperatures in the display unit). */
export function rows(p, unit, keys = ['t', 'tl', 'th', 'h']) {
  const x = p.ts;
  return keys.map((key) => ({ x, y: key[0] === 't' ? toUnit(p[key], unit) : p[key] }));
}

function pushRows(s, p, prev, unit) {
  if (prev && p.ts - prev.ts > gapAfter(s)) {
    for (const ds of s.sets) ds.data.push({ x: (prev.ts + p.ts) / 2, y: null, gap: true });
  }
  rows(p, unit, s.keys).forEach((row, i) => s.sets[i].data.push(row));
}

/** Refill the datasets from the points (after out-of-order merges or a unit change). */
export function rebuild(s, unit) {
  for (const ds of s.sets) ds.data = [];
  s.pts.forEach((p, i) => pushRows(s, p, s.pts[i - 1], unit));
}

function setLast(s, q, unit) {
  if (s.dirty) return;  // a rebuild is due anyway
  rows(q, unit, s.keys).forEach((row, j) => Object.assign(s.sets[j].data.at(-1), row));
}

const wavg = (a, na, b, nb) => (a == null ? b : b == null ? a : (a * na + b * nb) / (na + nb));
export const lo = (a, b) => (a == null ? b : b == null ? a : Math.min(a, b));
export const hi = (a, b) => (a == null ? b : b == null ? a : Math.max(a, b));

/** Add point p into the bucket q: weighted means, widened bands, counts. */
function combine(q, p) {
  for (const l of LETTERS) {
    const n = `n${l}`;
    q[l] = wavg(q[l], q[n], p[l], p[n]);
    if (p[l] != null) q[n] += p[n];
    q[`${l}l`] = lo(q[`${l}l`], p[`${l}l`]);
    q[`${l}h`] = hi(q[`${l}h`], p[`${l}h`]);
  }
  q.ts = Math.max(q.ts, p.ts);  // while live, a bucket sits at its newest reading
}

/** Put one reading or backfilled point in its place; false when it is already there.
    Appending updates the datasets at once; anything else marks them dirty. */
export function merge(s, p, unit) {
  const pts = s.pts;
  let i = pts.length;
  while (i > 0 && (bucketed(s) ? pts[i - 1].k > p.k : ms(pts[i - 1].ts) > ms(p.ts))) i--;
  const q = pts[i - 1];
  if (q && bucketed(s) && q.k === p.k) {
    combine(q, p);
    if (i === pts.length) setLast(s, q, unit);
    else s.dirty = true;
    return true;
  }
  if (q && !bucketed(s) && ms(q.ts) === ms(p.ts)) return false;
  if (i === pts.length) {
    if (q && bucketed(s) && Math.max(...LETTERS.map((l) => q[`n${l}`])) > 1) {
      q.ts = (q.k + 0.5) * s.stepMs / 1000;  // a full bucket moves to its centre, as the server's do
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
  const first = s.sets[0].data;  // the datasets stay aligned: cut them alike
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
  const at = ans.fields ? layout(ans.fields) : BASE;
  s.pts = ans.points.map((p) => point(p, full, s.stepMs, at));
  const last = s.pts.at(-1);
  if (last && bucketed(s)) {
    const part = Math.min(full, Math.max(1, (until - (last.k * s.stepMs) / 1000) / s.interval));
    for (const l of LETTERS) last[`n${l}`] = part;
  }
  return last;
}

/** Merge a backfill answer: the points after `from`, at the series' own bucket size. */
export function absorb(s, ans, from, unit) {
  const n = Math.max(1, ans.step / s.interval);
  const at = ans.fields ? layout(ans.fields) : BASE;
  for (const p of ans.points) if (ms(p[0]) > ms(from)) merge(s, point(p, n, s.stepMs, at), unit);
}

/** Apply one live reading; every reading up to `mark` is in already. Gives the new mark,
    or null when the reading's seq shows readings were missed before it. */
export function applyReading(s, r, mark, unit) {
  if (mark != null && ms(r.ts) <= ms(mark) && bucketed(s)) return mark;  // already counted
  if (r.seq != null && s.seq != null && r.seq > s.seq + 1) return null;
  s.seq = r.seq ?? null;
  const row = [r.ts];
  for (const l of LETTERS) {
    const v = r[NAME[l]] ?? null;
    row.push(v, v, v);
  }
  merge(s, point(row, 1, s.stepMs, FULL), unit);
  return Math.max(r.ts, mark ?? 0);
}

/** Whether the value at index i of a dataset stands alone (no value on either side),
    so the chart draws it as a dot: a line needs two points. */
export function lone(data, i) {
  const y = (j) => (data[j] == null ? null : data[j].y);
  return y(i) != null && y(i - 1) == null && y(i + 1) == null;
}

/** A line's rows with gap markers, from (ts, value) pairs: the overlay and compare
    charts, which draw one quantity of several series. `shift` moves them in time. */
export function lineRows(pts, key, unit, gap, shift = 0) {
  const out = [];
  let prev = null;
  for (const p of pts) {
    const v = p[key];
    if (v == null) continue;
    if (prev != null && p.ts - prev > gap) out.push({ x: (prev + p.ts) / 2 + shift, y: null, gap: true });
    out.push({ x: p.ts + shift, y: key[0] === 't' ? toUnit(v, unit) : v });
    prev = p.ts;
  }
  return out;
}

/** The gap length of a series: readings further apart than this are not joined. */
export const gapOf = gapAfter;
