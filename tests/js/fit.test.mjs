// Charts that fit the data (static/js/fit.js), and the other pure pieces of the page:
// sparklines, the kiosk grid, the table's extremes, threshold marks, lone points.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { AXES, covers, fetchWindow, fitAxis, niceStep, xRange } from '../../static/js/fit.js';
import { kioskGrid } from '../../static/js/kiosk.js';
import { spans, thresholds } from '../../static/js/marks.js';
import { keysFor, layout, lineRows, lone, point, rows } from '../../static/js/series.js';
import { sparkPath } from '../../static/js/spark.js';
import { extremeRows, labelDate, tableSpan } from '../../static/js/table.js';

test('a 0.1 °C wobble gets a 2 °C axis, not a zig-zag', () => {
  assert.deepEqual(fitAxis(21.3, 21.4, AXES.t), { min: 20, max: 22.5 });
  const wide = fitAxis(12, 31, AXES.t);
  assert.ok(wide.min <= 12 && wide.max >= 31 && wide.max - wide.min < 30, JSON.stringify(wide));
  assert.equal(fitAxis(null, 3, AXES.t), null);
});

test('humidity: an auto range with a floor span, never past 0 or 100', () => {
  const flat = fitAxis(61, 62, AXES.h);
  assert.ok(flat.max - flat.min >= 10 && flat.max - flat.min < 20, JSON.stringify(flat));
  assert.deepEqual(fitAxis(97, 99.5, AXES.h).max, 100);
  assert.deepEqual(fitAxis(0.5, 2, AXES.h).min, 0);
  const all = fitAxis(3, 98, AXES.h);
  assert.ok(all.min >= 0 && all.max <= 100);
});

test('round steps', () => {
  assert.deepEqual([0.42, 2.5, 12, 13, 700].map((s) => niceStep(s)), [0.1, 0.5, 2.5, 5, 200]);
});

test('the x axis spans the data when it starts late in the window, and says from when', () => {
  assert.deepEqual(xRange(0, 86400, 100, 2), { min: 0, max: 86400, since: null }, 'data from the start');
  const late = xRange(0, 86400, 80000, 2);
  assert.equal(late.since, 80000);
  assert.ok(late.min > 79000 && late.min < 80000, late.min);
  assert.equal(xRange(0, 86400, null, 2).since, null, 'no data: the whole window');
});

test('fixed windows are fetched with room to pan; a pan inside needs nothing new', () => {
  const now = 1e6;
  assert.deepEqual(fetchWindow({ live: true, range: 3600 }, now), { since: now - 3600, until: now, points: 600 });
  const view = { live: false, from: now - 7200, to: now - 3600 };
  const w = fetchWindow(view, now);
  assert.deepEqual(w, { since: now - 10800, until: now, points: 1800 });
  const fetched = { ...w, live: false, span: 3600 };
  assert.equal(covers(fetched, { live: false, from: now - 9000, to: now - 5400 }, now), true);
  assert.equal(covers(fetched, { live: false, from: now - 12000, to: now - 8400 }, now), false, 'beyond');
  assert.equal(covers(fetched, { live: false, from: now - 6000, to: now - 5000 }, now), false, 'zoomed');
  assert.equal(covers(fetched, { live: true, range: 3600 }, now), false);
});

test('pressure and CO2 take their place in points and datasets', () => {
  const fields = ['ts', 'temperature', 'humidity', 'temperature_min', 'temperature_max', 'humidity_min',
    'humidity_max', 'pressure', 'pressure_min', 'pressure_max', 'co2', 'co2_min', 'co2_max'];
  const p = point([10, 20, 50, 19, 21, 49, 51, 1013, 1012, 1014, 600, 550, 650], 1, 1000, layout(fields));
  assert.deepEqual([p.t, p.tl, p.th, p.h, p.p, p.pl, p.ph, p.c, p.cl, p.ch], [20, 19, 21, 50, 1013, 1012, 1014, 600, 550, 650]);
  const keys = keysFor(['temperature', 'humidity', 'pressure', 'co2']);
  assert.deepEqual(keys, ['t', 'tl', 'th', 'h', 'hl', 'hh', 'p', 'pl', 'ph', 'c', 'cl', 'ch']);
  assert.deepEqual(rows(p, 'F', keys).map((r) => +r.y.toFixed(2)), [68, 66.2, 69.8, 50, 49, 51, 1013, 1012, 1014, 600, 550, 650]);
  assert.deepEqual(keysFor(['temperature']), ['t', 'tl', 'th']);
});

test('a value alone between gaps is a dot; lines for overlays break at gaps', () => {
  const data = [{ y: 1 }, { y: null }, { y: 2 }, { y: null }, { y: 3 }, { y: 4 }];
  assert.deepEqual(data.map((_, i) => lone(data, i)), [true, false, true, false, false, false]);
  assert.equal(lone([{ y: 5 }], 0), true);
  const pts = [{ ts: 0, t: 20 }, { ts: 10, t: 21 }, { ts: 100, t: null }, { ts: 200, t: 22 }];
  assert.deepEqual(lineRows(pts, 't', 'C', 30, 5), [{ x: 5, y: 20 }, { x: 15, y: 21 },
    { x: 110, y: null, gap: true }, { x: 205, y: 22 }]);
});

test('sparklines: scaled into the box, broken at gaps, no zig-zag of a flat line', () => {
  const pts = [{ ts: 0, t: 20 }, { ts: 10, t: 22 }, { ts: 50, t: 21 }, { ts: 60, t: 21 }];
  const runs = sparkPath(pts, 0, 60, 62, 32, 15);
  assert.equal(runs.length, 2);
  assert.deepEqual(runs[0], [[1, 30], [11, 2]]);
  assert.equal(runs[1].length, 2);
  const flat = sparkPath([{ ts: 0, t: 20 }, { ts: 1, t: 20.1 }], 0, 1, 10, 32, 5)[0];
  assert.ok(Math.abs(flat[0][1] - flat[1][1]) < 8, 'a 0.1 step is a small one');
  assert.deepEqual(sparkPath([], 0, 1, 10, 10, 1), []);
});

test('the kiosk grid: 1 to 12 cards on 1080p and on a 7-inch 800 x 480 screen', () => {
  const cases = { '1920x1080': [[1, 1, 1], [2, 2, 1], [4, 2, 2], [6, 3, 2], [12, 4, 3]],
    '800x480': [[1, 1, 1], [2, 2, 1], [3, 2, 2], [4, 2, 2], [12, 4, 3]] };
  for (const [screen, list] of Object.entries(cases)) {
    const [w, h] = screen.split('x').map(Number);
    for (const [n, cols, rowsWanted] of list) assert.deepEqual(kioskGrid(n, w, h), { cols, rows: rowsWanted }, `${n} on ${screen}`);
  }
  for (let n = 1; n <= 12; n++) {
    const g = kioskGrid(n, 800, 480);
    assert.ok(g.cols * g.rows >= n && (g.cols - 1) * g.rows < n, `${n}: no empty column`);
  }
});

test('the table picks the hottest and coldest days; labels stay on their date', () => {
  const fields = ['start', 'label', 'temperature_mean', 'temperature_min', 'temperature_max', 'temperature_n'];
  const rowsIn = [[0, '2025-06-01', 20, 15, 25, 10], [1, '2025-06-02', 21, 12, 31, 10], [2, '2025-06-03', 20, 12, 28, 10]];
  assert.deepEqual(extremeRows(rowsIn, fields, 'temperature'), { hot: 1, cold: 1 });
  assert.deepEqual(extremeRows([], fields, 'temperature'), { hot: null, cold: null });
  assert.equal(new Date(labelDate('2025-06-03') * 1000).getDate(), 3);
  assert.equal(new Date(labelDate('2025-06') * 1000).getDate(), 1);
  assert.deepEqual(tableSpan({ live: true, range: 3600 }, 1e7), [1e7 - 30 * 86400, 1e7], 'an hour: the last 30 days');
  assert.deepEqual(tableSpan({ live: false, from: 1e6, to: 1e6 + 5 * 86400 }, 1e7), [1e6, 1e6 + 5 * 86400]);
});

test('threshold marks in the display unit; alert spans clipped to the window', () => {
  const rules = [{ kind: 'temperature_above', threshold: 30 }, { kind: 'humidity_below', threshold: 20 },
    { kind: 'offline', threshold: 60 }];
  assert.deepEqual(thresholds(rules, 'F').map((t) => [t.axis, t.value, t.label]),
    [['y', 86, 'above 86°'], ['y1', 20, 'humidity below 20%']]);
  assert.deepEqual(spans([[0, 50], [80, null], [200, 210]], 10, 100, 95), [[10, 50], [80, 95]]);
});
