/* The page's state in its address, so a zoomed view can be bookmarked and shared and Back
   undoes a zoom. Pure: Node imports it too.

   ?range=24h                     the last 24 hours, following live readings
   ?from=2025-06-01T10:00&to=…    a fixed window (ISO 8601, local time unless it says Z or
                                  ±hh:mm, or epoch milliseconds); from alone: from then on
   &compare=yesterday             overlay the same window shifted: yesterday | last_week | last_year
   &sensors=gh-air,cellar         only these sensors, overlaid on one chart (&quantity=humidity)
   &view=table&sensor=gh-air&period=day   the daily (or monthly) statistics table
   &theme=dark                    force a colour scheme (kiosks); otherwise the system's */

const UNIT = { s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };
export const PRESETS = { '10m': 600, '1h': 3600, '24h': 86400, '7d': 604800, '30d': 2592000, '1y': 31536000 };
export const COMPARES = ['yesterday', 'last_week', 'last_year'];
export const QUANTITIES = ['temperature', 'humidity', 'pressure', 'co2'];
export const MIN_SPAN = 60;  // the narrowest window: a minute
const MAX_SPAN = 20 * UNIT.y;

/** Seconds from "1h", "90m", "7d", "3600" (seconds); null when not a sensible range. */
export function parseRange(text) {
  const m = /^(\d+(?:\.\d+)?)([smhdwy]?)$/.exec(String(text ?? '').trim());
  if (!m) return null;
  const sec = +m[1] * UNIT[m[2] || 's'];
  return sec >= MIN_SPAN && sec <= MAX_SPAN ? Math.round(sec) : null;
}

/** "24h" for a preset, else the largest whole unit ("90m", "3d"), else seconds ("5400s"). */
export function formatRange(sec) {
  for (const [name, value] of Object.entries(PRESETS)) if (value === sec) return name;
  for (const u of ['y', 'w', 'd', 'h', 'm']) if (sec % UNIT[u] === 0) return `${sec / UNIT[u]}${u}`;
  return `${Math.round(sec)}s`;
}

/** Epoch seconds from ISO 8601 or epoch milliseconds (all digits); null otherwise. */
export function parseTime(text) {
  const s = String(text ?? '').trim();
  if (/^\d{10,14}$/.test(s)) return +s / 1000;
  if (!/^\d{4}-\d\d-\d\d/.test(s)) return null;  // Date.parse accepts too much
  const t = Date.parse(s);
  return Number.isFinite(t) ? t / 1000 : null;
}

/** ISO 8601 in UTC, to the second: what the address bar shows. */
export const formatTime = (sec) => new Date(Math.round(sec) * 1000).toISOString().replace('.000Z', 'Z');

/** The view from an address: {live, range, from, to} plus the other choices.
    `now` is the server's clock, in epoch seconds. */
export function parseState(search, now) {
  const q = new URLSearchParams(search);
  const out = { view: null, compare: null, chosen: null, quantity: 'temperature', page: 'charts',
    sensor: null, period: 'day', theme: null };
  const from = parseTime(q.get('from'));
  const to = parseTime(q.get('to'));
  const range = parseRange(q.get('range'));
  if (from != null && to != null && to - from >= MIN_SPAN && to - from <= MAX_SPAN) {
    out.view = to >= now ? { live: true, range: Math.round(to - from) } : { live: false, from, to };
  } else if (from != null && to == null && now - from >= MIN_SPAN) {
    out.view = { live: true, range: Math.min(MAX_SPAN, Math.round(now - from)) };
  } else if (range != null) {
    out.view = { live: true, range };
  }
  if (COMPARES.includes(q.get('compare'))) out.compare = q.get('compare');
  const ids = (q.get('sensors') || '').split(',').filter(Boolean);
  if (ids.length) out.chosen = [...new Set(ids)];
  if (QUANTITIES.includes(q.get('quantity'))) out.quantity = q.get('quantity');
  if (q.get('view') === 'table') out.page = 'table';
  if (q.get('sensor')) out.sensor = q.get('sensor');
  if (q.get('period') === 'month') out.period = 'month';
  if (['dark', 'light'].includes(q.get('theme'))) out.theme = q.get('theme');
  return out;
}

/** The address for a state (the inverse of parseState), parameters in a fixed order. */
export function formatState(st) {
  const q = new URLSearchParams();
  const v = st.view;
  if (v.live) q.set('range', formatRange(v.range));
  else { q.set('from', formatTime(v.from)); q.set('to', formatTime(v.to)); }
  if (st.compare) q.set('compare', st.compare);
  if (st.chosen && st.chosen.length) q.set('sensors', st.chosen.join(','));
  if (st.chosen && st.quantity !== 'temperature') q.set('quantity', st.quantity);
  if (st.page === 'table') {
    q.set('view', 'table');
    if (st.sensor) q.set('sensor', st.sensor);
    if (st.period !== 'day') q.set('period', st.period);
  }
  if (st.theme) q.set('theme', st.theme);
  return `?${q.toString().replaceAll('%2C', ',').replaceAll('%3A', ':')}`;
}

/** How far back a compare overlay looks, for a window centred on `mid` (epoch s):
    a day, a week, or the same calendar date a year earlier (365 or 366 days). */
export function compareShift(compare, mid) {
  if (compare === 'yesterday') return UNIT.d;
  if (compare === 'last_week') return UNIT.w;
  if (compare !== 'last_year') return 0;
  const d = new Date(mid * 1000);
  const before = new Date(d);
  before.setFullYear(d.getFullYear() - 1);
  return Math.round((d - before) / 1000);
}

export const COMPARE_LABEL = { yesterday: 'yesterday', last_week: 'a week ago', last_year: 'a year ago' };

/** The export link for sensors and a window (epoch s), in a temperature unit. */
export function exportUrl(format, ids, since, until, unit) {
  const q = new URLSearchParams();
  for (const id of ids) q.append('sensor', id);
  q.set('since', since.toFixed(3));
  q.set('until', until.toFixed(3));
  q.set('unit', unit);
  return `/api/export.${format}?${q}`;
}
