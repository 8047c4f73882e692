/* X axis ticks: epoch seconds placed on local clock boundaries (whole minutes, hours,
   midnights, first days of months), at most about seven of them. Pure: Node imports it too. */

import { fmtDay, fmtMonth, fmtSeconds, fmtTime, fmtWeekday } from './format.js';

const DAY = 86400;
const MONTH = 30 * DAY;  // steps from here on are whole calendar months
export const TICK_STEPS = [1, 2, 5, 10, 15, 30, 60, 300, 600, 1800, 3600, 10800, 21600, 43200, DAY, 2 * DAY, 5 * DAY,
  7 * DAY, 14 * DAY, MONTH, 2 * MONTH, 3 * MONTH, 6 * MONTH, 12 * MONTH];

/** The smallest step that gives at most `most` (seven) ticks over `span` seconds. */
export const tickStep = (span, most = 7) => TICK_STEPS.find((s) => span / s <= most) || TICK_STEPS.at(-1);

/** Tick times in [min, max]: multiples of `step` in local time, or local midnights for days. */
export function tickValues(min, max, step) {
  const ticks = [];
  if (step < DAY) {
    // the zone offset at `min` aligns hours in zones off by 30 or 45 minutes too
    const tz = -new Date(min * 1000).getTimezoneOffset() * 60;
    for (let t = Math.ceil((min + tz) / step) * step - tz; t <= max; t += step) ticks.push(t);
  } else if (step >= MONTH) {
    // the first of a month, every step / 30 days' worth of months
    const months = Math.round(step / MONTH);
    const d = new Date(min * 1000);
    d.setHours(0, 0, 0, 0);
    d.setDate(1);
    d.setMonth(Math.ceil(d.getMonth() / months) * months);
    if (d / 1000 < min) d.setMonth(d.getMonth() + months);
    for (; d / 1000 <= max; d.setMonth(d.getMonth() + months)) ticks.push(d / 1000);
  } else {
    // calendar days, not 86400 s: midnight stays midnight across a DST change
    const d = new Date(min * 1000);
    d.setHours(0, 0, 0, 0);
    if (d / 1000 < min) d.setDate(d.getDate() + 1);
    for (; d / 1000 <= max; d.setDate(d.getDate() + step / DAY)) ticks.push(d / 1000);
  }
  return ticks;
}

/** The label format of a tick: a clock time, or a day (with the weekday up to a week's range). */
export const tickFormat = (step, range) => (step < 60 ? fmtSeconds : step < DAY ? fmtTime : step >= MONTH ? fmtMonth
  : range > 7 * DAY ? fmtDay : fmtWeekday);
