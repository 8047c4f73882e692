// The page state in the address (static/js/url.js): what a bookmark or a shared link brings back.
import assert from 'node:assert/strict';
import { test } from 'node:test';

process.env.TZ = 'Europe/Berlin';
const { compareShift, exportUrl, formatRange, formatState, parseRange, parseState, parseTime } =
  await import('../../static/js/url.js');

const NOW = Date.UTC(2025, 5, 15, 12) / 1000;  // Sunday 15 June 2025, 14:00 in Berlin

test('ranges: presets, units, seconds; nonsense refused', () => {
  assert.equal(parseRange('24h'), 86400);
  assert.equal(parseRange('90m'), 5400);
  assert.equal(parseRange('1y'), 31536000);
  assert.equal(parseRange('3600'), 3600);
  for (const bad of ['', 'x', '-1h', '10s', '100y', '1h30m', null]) assert.equal(parseRange(bad), null, bad);
  assert.deepEqual([3600, 5400, 259200, 5430].map(formatRange), ['1h', '90m', '3d', '5430s']);
  for (const r of ['10m', '1h', '24h', '7d', '30d', '1y', '90m', '3d']) assert.equal(formatRange(parseRange(r)), r);
});

test('times: ISO 8601 (local unless it says), epoch milliseconds', () => {
  assert.equal(parseTime('2025-06-15T12:00:00Z'), NOW);
  assert.equal(parseTime('2025-06-15T14:00'), NOW, 'no zone: local time');
  assert.equal(parseTime('2025-06-15T13:00+01:00'), NOW);
  assert.equal(parseTime(String(NOW * 1000)), NOW, 'epoch ms');
  for (const bad of ['yesterday', '15/06/2025', '12', '', null]) assert.equal(parseTime(bad), null, bad);
});

test('a fixed window, a live range, and from alone', () => {
  const fixed = parseState('?from=2025-06-14T08:00Z&to=2025-06-14T10:30Z', NOW);
  assert.deepEqual(fixed.view, { live: false, from: NOW - 100800, to: NOW - 91800 });
  assert.deepEqual(parseState('?range=7d', NOW).view, { live: true, range: 604800 });
  assert.deepEqual(parseState(`?from=${(NOW - 7200) * 1000}`, NOW).view, { live: true, range: 7200 });
  assert.deepEqual(parseState(`?from=${(NOW - 7200) * 1000}&to=${(NOW + 60) * 1000}`, NOW).view,
    { live: true, range: 7260 }, 'a window reaching now is live');
  assert.equal(parseState('?from=2025-06-14T10:00Z&to=2025-06-14T09:00Z', NOW).view, null, 'backwards');
  assert.equal(parseState('?from=nonsense&to=2025-06-14', NOW).view, null);
  assert.equal(parseState('', NOW).view, null);
});

test('the other choices, with defaults and nothing unknown let through', () => {
  const st = parseState('?range=24h&compare=last_week&sensors=a1,b1,a1&quantity=humidity&view=table&sensor=b1&period=month&theme=dark', NOW);
  assert.deepEqual([st.compare, st.chosen, st.quantity, st.page, st.sensor, st.period, st.theme],
    ['last_week', ['a1', 'b1'], 'humidity', 'table', 'b1', 'month', 'dark']);
  const odd = parseState('?compare=tomorrow&quantity=wind&view=pie&period=year&theme=pink', NOW);
  assert.deepEqual([odd.compare, odd.chosen, odd.quantity, odd.page, odd.period, odd.theme],
    [null, null, 'temperature', 'charts', 'day', null]);
});

test('formatState is the inverse of parseState', () => {
  const st = { view: { live: false, from: NOW - 7200, to: NOW - 3600 }, compare: 'yesterday',
    chosen: ['a1', 'b1'], quantity: 'humidity', page: 'table', sensor: 'a1', period: 'month', theme: null };
  const search = formatState(st);
  assert.equal(search, '?from=2025-06-15T10:00:00Z&to=2025-06-15T11:00:00Z&compare=yesterday&sensors=a1,b1&quantity=humidity&view=table&sensor=a1&period=month');
  const back = parseState(search, NOW);
  assert.deepEqual([back.view, back.compare, back.chosen, back.quantity, back.page, back.sensor, back.period],
    [st.view, st.compare, st.chosen, st.quantity, st.page, st.sensor, st.period]);
  assert.equal(formatState({ view: { live: true, range: 86400 }, page: 'charts', quantity: 'temperature' }), '?range=24h');
});

test('compare shifts: a day, a week, the same date a year before', () => {
  assert.equal(compareShift('yesterday', NOW), 86400);
  assert.equal(compareShift('last_week', NOW), 604800);
  assert.equal(compareShift('last_year', NOW), 365 * 86400);
  assert.equal(compareShift('last_year', Date.UTC(2024, 5, 15) / 1000), 366 * 86400, 'across 29 February');
  assert.equal(compareShift(null, NOW), 0);
});

test('export links name every sensor on screen, the window and the unit', () => {
  assert.equal(exportUrl('csv', ['a1', 'b 2'], 100, 200.5, 'F'),
    '/api/export.csv?sensor=a1&sensor=b+2&since=100.000&until=200.500&unit=F');
});
