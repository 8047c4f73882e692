/* What a card says about its chart: the range's extremes and the recent trend.
   Pure: Node imports it too. */

import { hi, lo } from './series.js';

export const TREND_S = 600;  // the trend arrow looks at the last ten minutes
export const TREND_MIN = 0.2;  // °C per ten minutes below which a sensor is "steady"

/** The lowest and highest temperature of the min/max band, or nulls. */
export function extremes(pts) {
  let tl = null, th = null;
  for (const p of pts) { tl = lo(tl, p.tl); th = hi(th, p.th); }
  return [tl, th];
}

/** Least-squares temperature slope over the last 10 min (3 points at least), in °C per 10 min. */
export function trend(pts) {
  const known = pts.filter((p) => p.t != null);
  const end = known.length && known.at(-1).ts;
  const recent = known.filter((p, i) => p.ts >= end - TREND_S || i >= known.length - 3);
  const n = recent.length;
  const mx = recent.reduce((a, p) => a + p.ts - end, 0) / n;
  const my = recent.reduce((a, p) => a + p.t, 0) / n;
  let sxy = 0, sxx = 0;
  for (const p of recent) { sxy += (p.ts - end - mx) * (p.t - my); sxx += (p.ts - end - mx) ** 2; }
  return n > 1 && sxx ? (sxy / sxx) * TREND_S : null;
}

const WORDS = { '↗': 'rising', '↘': 'falling', '→': 'steady' };

/** The arrow and word for a slope; empty for none. */
export function direction(slope) {
  const arrow = slope == null ? '' : slope > TREND_MIN ? '↗' : slope < -TREND_MIN ? '↘' : '→';
  return { arrow, word: WORDS[arrow] };
}
