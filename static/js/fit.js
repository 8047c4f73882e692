/* Axes that fit the data: value ranges with a minimum span (a 0.1 °C step is not a
   zig-zag), the x window narrowed to where the data starts, what to fetch for a view.
   Pure: Node imports it too. */

/** Axis settings per quantity letter: the least span shown (°C, %, hPa, ppm) and bounds. */
export const AXES = {
  t: { minSpan: 2 },
  h: { minSpan: 10, floor: 0, ceil: 100 },
  p: { minSpan: 4 },
  c: { minSpan: 200, floor: 0 },
};

const STEPS = [1, 2, 2.5, 5, 10];

/** A round step near span / n: 0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10, … */
export function niceStep(span, n = 5) {
  const raw = span / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return mag * STEPS.find((s) => s * mag >= raw - 1e-12);
}

/** {min, max} of a value axis for data in [lo, hi]: at least `minSpan` wide around the
    data's middle, padded, on round numbers, and within [floor, ceil]. Null for no data. */
export function fitAxis(lo, hi, { minSpan = 0, floor = -Infinity, ceil = Infinity, pad = 0.08 } = {}) {
  if (lo == null || hi == null || !Number.isFinite(lo) || !Number.isFinite(hi)) return null;
  let span = Math.max(hi - lo, minSpan);
  let a = (lo + hi) / 2 - span / 2, b = a + span;
  if (hi - lo >= minSpan) { a -= span * pad; b += span * pad; }
  if (a < floor) { b = Math.min(ceil, b + floor - a); a = floor; }
  if (b > ceil) { a = Math.max(floor, a - (b - ceil)); b = ceil; }
  span = b - a;
  const step = niceStep(span);
  const min = Math.max(floor, Math.floor(a / step + 1e-9) * step);
  const max = Math.min(ceil, Math.ceil(b / step - 1e-9) * step);
  return { min: +min.toFixed(6), max: +max.toFixed(6) };
}

/** The x range to draw for a window [start, end]: narrowed to the data when the data
    begins well after the start (a new sensor or install), with `since` saying from when. */
export function xRange(start, end, first, interval = 1) {
  const late = first != null && first > start + Math.max(0.02 * (end - start), 3 * interval);
  if (!late) return { min: start, max: end, since: null };
  const pad = Math.max(0.25 * interval, 0.02 * (end - first));
  return { min: Math.max(start, first - pad), max: end, since: first };
}

/** The window a view shows at `now` (epoch s): [start, end]. */
export const windowOf = (view, now) => (view.live ? [now - view.range, now] : [view.from, view.to]);

export const MAX_POINTS = 600;  // points asked per visible window: the server downsamples

/** What to ask the server for a view: the window itself when live; a fixed window with
    as much again on each side (still no later than now), so a pan finds data waiting. */
export function fetchWindow(view, now) {
  if (view.live) return { since: now - view.range, until: now, points: MAX_POINTS };
  const span = view.to - view.from;
  const since = view.from - span, until = Math.min(now, view.to + span);
  return { since, until, points: Math.min(10000, Math.ceil(MAX_POINTS * (until - since) / span)) };
}

/** Whether what was fetched still serves a view: it covers the window at the same zoom. */
export function covers(fetched, view, now) {
  if (!fetched || view.live || fetched.live) return false;
  const span = view.to - view.from;
  return Math.abs(fetched.span - span) <= span * 0.01 && view.from >= fetched.since
    && Math.min(view.to, now) <= fetched.until;
}
