// Merging history and live readings into a sensor's series (static/js/series.js).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { absorb, applyReading, merge, newSeries, point, rebuild, replace, trim } from '../../static/js/series.js';

const row = (ts, t, h = 50) => [ts, t, h, t, t, h, h];  // one raw reading as the server sends it
const xs = (s, i = 0) => s.sets[i].data.map((d) => (d.gap ? `gap@${d.x}` : d.x));
const ys = (s, i = 0) => s.sets[i].data.map((d) => d.y);
const reading = (ts, temperature, seq, humidity = 50) => ({ ts, temperature, humidity, seq });

/** A series loaded with raw history (buckets shorter than the 1 s interval). */
function raw(times) {
  const s = newSeries(1);
  replace(s, { step: 0.5, points: times.map((ts) => row(ts, 20)) }, times.at(-1) + 0.001, 600);
  rebuild(s, 'C');
  return s;
}

test('live readings that overlap the history are not shown twice', () => {
  const s = raw([100, 101, 102]);
  let mark = applyReading(s, reading(102, 20, 7), 102.001, 'C');  // sent while history loaded
  mark = applyReading(s, reading(103, 21, 8), mark, 'C');
  assert.equal(mark, 103);
  assert.deepEqual(xs(s), [100, 101, 102, 103]);
  assert.deepEqual(ys(s), [20, 20, 20, 21]);
  assert.equal(s.sets.every((ds) => ds.data.length === 4), true, 'the four datasets stay aligned');
});

test('a backfill merges only what came after the mark, skipping points already there', () => {
  const s = raw([100, 101, 102, 103]);
  absorb(s, { step: 0.5, points: [row(102, 99), row(103, 99), row(104, 22)] }, 102.5, 'C');
  assert.deepEqual(xs(s), [100, 101, 102, 103, 104]);
  assert.deepEqual(ys(s), [20, 20, 20, 20, 22]);
  assert.equal(s.dirty, false, 'appending needs no rebuild');
});

test('a point older than the newest goes in its place after a rebuild', () => {
  const s = raw([100, 103]);
  assert.equal(merge(s, point(row(101, 25), 1, s.stepMs), 'C'), true);
  assert.equal(s.dirty, true);
  assert.deepEqual(xs(s), [100, 103], 'the datasets wait for the rebuild');
  rebuild(s, 'C');
  assert.deepEqual(xs(s), [100, 101, 103]);
  assert.deepEqual(ys(s), [20, 25, 20]);
});

test('the line breaks where readings stop for more than three intervals', () => {
  const s = raw([100, 101, 103, 110]);  // 2 s apart: joined; 7 s apart: a gap
  for (let i = 0; i < 4; i++) assert.deepEqual(xs(s, i), [100, 101, 103, 'gap@106.5', 110]);
  assert.equal(s.sets[0].data[3].y, null);
  applyReading(s, reading(120, 20, null), 110, 'C');  // live readings resume after a pause
  assert.deepEqual(xs(s), [100, 101, 103, 'gap@106.5', 110, 'gap@115', 120]);
});

test('trimming to the range cuts points and datasets alike, with a leading gap marker', () => {
  const s = raw([100, 101, 110, 111]);
  trim(s, 102);
  assert.deepEqual(s.pts.map((p) => p.ts), [110, 111]);
  for (let i = 0; i < 4; i++) assert.deepEqual(xs(s, i), [110, 111]);
  trim(s, 50);
  assert.deepEqual(xs(s), [110, 111], 'nothing older: nothing cut');
});

test('a repeated seq-less reading and a seq jump', () => {
  const s = raw([100]);
  assert.equal(applyReading(s, reading(101, 20, 5), 100, 'C'), 101);
  assert.equal(applyReading(s, reading(102, 20, 7), 101, 'C'), null, 'seq 6 was missed');
  assert.deepEqual(xs(s), [100, 101], 'nothing merged before the backfill');
  assert.equal(applyReading(s, reading(102, 20, 6), 101, 'C'), 102);
});

/** A series of 10 s buckets of a 1 s sensor, loaded up to until = 17. */
function bucketed() {
  const s = newSeries(1);
  const last = replace(s, { step: 10, points: [[5, 20, 50, 19, 21, 48, 52], [15, 22, 60, 21, 23, 58, 62]] }, 17, 600);
  rebuild(s, 'C');
  return [s, last];
}

test('history buckets: the newest counts only the readings it has had so far', () => {
  const [s, last] = bucketed();
  assert.deepEqual([s.step, s.stepMs, s.range], [10, 10000, 600]);
  assert.deepEqual(s.pts.map((p) => [p.k, p.nt]), [[0, 10], [1, 7]]);  // 7 s of the 10 s bucket
  assert.equal(last, s.pts[1]);
});

test('a live reading merges into its bucket: weighted mean, min/max band widened', () => {
  const [s] = bucketed();
  assert.equal(applyReading(s, reading(18, 30, null, 70), 17, 'C'), 18);
  const q = s.pts[1];
  assert.equal(s.pts.length, 2);
  assert.deepEqual([q.t, q.h, q.nt, q.nh], [23, 61.25, 8, 8]);  // (7 × 22 + 30) / 8
  assert.deepEqual([q.tl, q.th, q.hl, q.hh], [21, 30, 58, 70]);
  assert.equal(q.ts, 18, 'a filling bucket sits at its newest reading');
  assert.deepEqual(s.sets.map((ds) => ds.data.at(-1)), [{ x: 18, y: 23 }, { x: 18, y: 21 }, { x: 18, y: 30 }, { x: 18, y: 61.25 }]);
});

test('a reading the history already counted is skipped; a new bucket centres the full one', () => {
  const [s] = bucketed();
  assert.equal(applyReading(s, reading(16.5, 99, null), 17, 'C'), 17);
  assert.equal(s.pts[1].t, 22);
  applyReading(s, reading(21, 24, null), 17, 'C');
  assert.deepEqual(s.pts.map((p) => [p.k, p.ts]), [[0, 5], [1, 15], [2, 21]]);
  assert.deepEqual(xs(s), [5, 15, 21]);
});

test('a failed reading (no temperature) merges its humidity only', () => {
  const [s] = bucketed();
  applyReading(s, reading(18, null, null, 68), 17, 'C');
  const q = s.pts[1];
  assert.deepEqual([q.t, q.nt, q.h, q.nh], [22, 7, 61, 8]);
});

test('backfilled buckets weigh as many readings as they stand for', () => {
  const [s] = bucketed();
  absorb(s, { step: 10, points: [[16, 32, 60, 31, 33, 60, 60], [25, 40, 60, 40, 40, 60, 60]] }, 15.5, 'C');
  assert.deepEqual(s.pts.map((p) => [p.k, p.t, p.nt]), [[0, 20, 10], [1, (7 * 22 + 10 * 32) / 17, 17], [2, 40, 10]]);
  assert.equal(s.pts[1].th, 33);
});

test('the datasets show the display unit; the points stay in °C', () => {
  const s = raw([100, 101]);
  rebuild(s, 'F');
  assert.deepEqual(ys(s), [68, 68]);
  assert.deepEqual(ys(s, 3), [50, 50], 'humidity is not converted');
  assert.equal(s.pts[0].t, 20);
});
