// X axis ticks on local clock boundaries (static/js/ticks.js).
import assert from 'node:assert/strict';
import { test } from 'node:test';

process.env.TZ = 'Asia/Kolkata';  // UTC+5:30: local hours are not UTC hours
const { TICK_STEPS, tickFormat, tickStep, tickValues } = await import('../../static/js/ticks.js');
const { fmtDay, fmtTime, fmtWeekday } = await import('../../static/js/format.js');

const utc = (...args) => Date.UTC(...args) / 1000;
const DAY = 86400;

test('each range gets at most seven ticks, at the smallest step that allows it', () => {
  const ranges = { 600: 300, 3600: 600, 86400: 21600, 604800: DAY, 2592000: 5 * DAY };
  for (const [range, step] of Object.entries(ranges)) assert.equal(tickStep(+range), step, `range ${range}`);
  assert.equal(tickStep(420), 60);
  assert.equal(tickStep(365 * DAY), 60 * DAY, 'a year: every other month');
  assert.equal(tickStep(10 * 365 * DAY), 360 * DAY, 'beyond the steps: yearly');
  assert.deepEqual(TICK_STEPS, [...TICK_STEPS].sort((a, b) => a - b));
});

test('hour ticks fall on local whole hours', () => {
  const min = utc(2024, 0, 1, 0, 10);  // 05:40 in Kolkata
  const ticks = tickValues(min, min + 3 * 3600, 3600);
  assert.deepEqual(ticks, [utc(2024, 0, 1, 0, 30), utc(2024, 0, 1, 1, 30), utc(2024, 0, 1, 2, 30)]);
  for (const t of ticks) assert.equal(new Date(t * 1000).getMinutes(), 0);
});

test('a tick at exactly the start or end is kept', () => {
  const min = utc(2024, 0, 1, 0, 30);
  assert.deepEqual(tickValues(min, min + 600, 300), [min, min + 300, min + 600]);
});

test('day ticks are local midnights, also across a DST change', () => {
  process.env.TZ = 'Europe/Berlin';  // summer time begins 2024-03-31 at 02:00
  try {
    const min = utc(2024, 2, 28, 11);
    const ticks = tickValues(min, min + 5 * DAY, DAY);
    assert.equal(ticks.length, 5);
    for (const t of ticks) assert.equal(new Date(t * 1000).getHours(), 0);
    const lengths = ticks.slice(1).map((t, i) => t - ticks[i]);
    assert.deepEqual(lengths, [DAY, DAY, DAY - 3600, DAY]);
    const every2 = tickValues(min, min + 5 * DAY, 2 * DAY);
    assert.deepEqual(every2, [ticks[0], ticks[2], ticks[4]]);
    const midnight = ticks[1];
    assert.equal(tickValues(midnight, midnight + DAY, DAY)[0], midnight);
  } finally {
    process.env.TZ = 'Asia/Kolkata';
  }
});

test('labels: clock times below a day, weekdays up to a week, dates beyond', () => {
  assert.equal(tickFormat(600, 3600), fmtTime);
  assert.equal(tickFormat(21600, 86400), fmtTime);
  assert.equal(tickFormat(DAY, 604800), fmtWeekday);
  assert.equal(tickFormat(5 * DAY, 2592000), fmtDay);
});

test('a year: ticks on the first of every other month, labelled by month', () => {
  process.env.TZ = 'Europe/Berlin';
  const min = utc(2025, 0, 10), max = utc(2026, 0, 10);
  const step = tickStep(max - min);
  const ticks = tickValues(min, max, step);
  assert.equal(ticks.length, 6);
  for (const t of ticks) {
    const d = new Date(t * 1000);
    assert.deepEqual([d.getDate(), d.getHours(), d.getMonth() % 2], [1, 0, 0], d.toString());
  }
  assert.equal(tickFormat(step, max - min)(ticks[0]), new Intl.DateTimeFormat(undefined,
    { month: 'short', year: 'numeric' }).format(ticks[0] * 1000));
  assert.equal(tickStep(30), 5, 'half a minute: second ticks');
  assert.equal(tickStep(30, 3), 10, 'a narrow chart: fewer');
});
