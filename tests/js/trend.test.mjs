// A card's range extremes and trend arrow (static/js/trend.js).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { direction, extremes, trend } from '../../static/js/trend.js';

/** Points a minute apart whose temperature changes by `perMin` °C a minute. */
const line = (n, perMin, start = 1000) => Array.from({ length: n }, (_, i) => ({ ts: start + 60 * i, t: 20 + perMin * i }));

test('the slope is given per ten minutes', () => {
  assert.ok(Math.abs(trend(line(11, 0.05)) - 0.5) < 1e-9);
  assert.ok(Math.abs(trend(line(11, -0.1)) + 1) < 1e-9);
  assert.equal(trend(line(11, 0)), 0);
});

test('only the last ten minutes count, or the last three points', () => {
  const old = [{ ts: 0, t: 90 }, { ts: 100, t: -40 }];
  assert.ok(Math.abs(trend([...old, ...line(11, 0.05)]) - 0.5) < 1e-9);
  const sparse = [{ ts: 0, t: 20 }, { ts: 3600, t: 21 }, { ts: 7200, t: 22 }];  // hourly buckets
  assert.ok(Math.abs(trend(sparse) - 1 / 6) < 1e-9);
});

test('no trend from fewer than two readings; failed readings are left out', () => {
  assert.equal(trend([]), null);
  assert.equal(trend([{ ts: 1, t: 20 }]), null);
  assert.equal(trend([{ ts: 1, t: 20 }, { ts: 60, t: null }]), null);
});

test('arrows: steady within 0.2 °C per ten minutes', () => {
  assert.deepEqual(direction(0.21), { arrow: '↗', word: 'rising' });
  assert.deepEqual(direction(-0.21), { arrow: '↘', word: 'falling' });
  assert.deepEqual(direction(0.2), { arrow: '→', word: 'steady' });
  assert.deepEqual(direction(-0.2), { arrow: '→', word: 'steady' });
  assert.equal(direction(null).arrow, '');
  assert.equal(direction(null).word, undefined);
});

test('extremes come from the min/max band, skipping gaps', () => {
  const pts = [{ tl: 19, th: 21 }, { tl: null, th: null }, { tl: 18.5, th: 20 }, { tl: 19.5, th: 23 }];
  assert.deepEqual(extremes(pts), [18.5, 23]);
  assert.deepEqual(extremes([]), [null, null]);
});
