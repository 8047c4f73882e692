// Units, numbers, times and alert texts (static/js/format.js).
import assert from 'node:assert/strict';
import { test } from 'node:test';

process.env.TZ = 'UTC';  // before the formatters are made
const { ago, describeAlert, fix, fmtFull, fmtTime, toUnit } = await import('../../static/js/format.js');

test('°C to °F, and nothing stays nothing', () => {
  assert.equal(toUnit(100, 'F'), 212);
  assert.equal(toUnit(-40, 'F'), -40);
  assert.equal(toUnit(21.5, 'C'), 21.5);
  assert.equal(toUnit(null, 'F'), null);
  assert.equal(toUnit(undefined, 'C'), null);
});

test('fixed decimals, a dash for no value', () => {
  assert.equal(fix(21.26, 1), '21.3');
  assert.equal(fix(0, 0), '0');
  assert.equal(fix(null, 1), '—');
});

test('ago: whole units rounded down, never negative', () => {
  const cases = [[-3, '0 s ago'], [0, '0 s ago'], [59.9, '59 s ago'], [60, '1 min ago'],
    [3599, '59 min ago'], [3600, '1 h ago'], [86399, '23 h ago'], [86400, '1 d ago'], [3.5 * 86400, '3 d ago']];
  for (const [sec, text] of cases) assert.equal(ago(sec), text, `ago(${sec})`);
});

test('times on a 24-hour clock', () => {
  const t = 13 * 3600 + 5 * 60 + 9;  // 1970-01-01 13:05:09 UTC
  assert.match(fmtTime(t), /13\D05/);
  assert.doesNotMatch(fmtTime(t), /PM/i);
  assert.match(fmtFull(t), /13\D05\D09/);
});

test('alert texts in the display unit', () => {
  const hot = { kind: 'temperature_above', threshold: 30, value: 31.24 };
  assert.equal(describeAlert(hot, 'C'), 'temperature above 30.0 °C (31.2 °C)');
  assert.equal(describeAlert({ ...hot, threshold: -50, value: null }, 'F'), 'temperature above -58.0 °F');
  assert.equal(describeAlert({ kind: 'humidity_below', threshold: 30, value: 25.4 }, 'F'), 'humidity below 30 % (25 %)');
  assert.equal(describeAlert({ kind: 'offline', threshold: null }, 'C'), 'offline');
});
