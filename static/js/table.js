/* The statistics view: a daily (or monthly) min / mean / max table of one sensor from
   GET /api/statistics, with the hottest and coldest days picked out. extremeRows is pure. */

import { $, CLS, PAGE, create } from './dom.js';
import { windowOf } from './fit.js';
import { fix, fmtDate, fmtDayOfWeek, fmtMonth, toUnit } from './format.js';
import { serverNow, session, state } from './state.js';

const DAY = 86400;
const LABEL = { temperature: 'Temperature', humidity: 'Humidity', pressure: 'Pressure', co2: 'CO₂' };

/** Indexes of the rows with the highest max and the lowest min of a quantity (null when
    none): the hottest and coldest days. Ties go to the earliest. */
export function extremeRows(rows, fields, quantity) {
  const lo = fields.indexOf(`${quantity}_min`), hi = fields.indexOf(`${quantity}_max`);
  let hot = null, cold = null;
  rows.forEach((r, i) => {
    if (r[hi] != null && (hot == null || r[hi] > rows[hot][hi])) hot = i;
    if (r[lo] != null && (cold == null || r[lo] < rows[cold][lo])) cold = i;
  });
  return { hot, cold };
}

/** The days the table covers: the window, or the last 30 days when that is shorter than 2. */
export function tableSpan(view, now) {
  const [start, end] = windowOf(view, now);
  return end - start >= 2 * DAY ? [start, end] : [end - 30 * DAY, end];
}

/** Noon of a row's label (the server's calendar date, "2025-06-01" or "2025-06") here,
    in epoch s: the same date whatever the browser's time zone. */
export function labelDate(label) {
  const [y, m, d] = label.split('-').map(Number);
  return new Date(y, m - 1, d || 1, 12) / 1000;
}

let asked = 0;

/** Fetch and show the table for the current sensor, quantity and period. */
export async function showTable() {
  const box = $(PAGE.table);
  if (!box || box.hidden) return;
  const sensors = [...state.sensors.values()];
  if (!sensors.length) return;
  const s = state.sensors.get(state.sensor) || sensors[0];
  state.sensor = s.id;
  const q = s.quantities.includes(state.quantity) ? state.quantity : s.quantities[0];
  fillSelects(sensors, s, q);
  const [since, until] = tableSpan(state.view, serverNow());
  const period = state.period;
  const mine = ++asked;
  const headers = session.token ? { Authorization: `Bearer ${session.token}` } : {};
  const params = new URLSearchParams({ sensor: s.id, period, since: String(since), until: String(until) });
  let body;
  try {
    body = await statistics(params, headers, mine);
  } catch (error) {
    if (mine === asked) $(PAGE.tableNote).textContent = `Could not load statistics: ${error.message}`;
    return;
  }
  if (mine !== asked) return;  // a newer request is on its way
  render(s, q, period, body, since, until);
}

const RETRIES = 4;
const MAX_WAIT_S = 30;

/** The statistics answer; a refusal for now (429 over the history limit, 503 every
    query slot busy) is asked again after the server's Retry-After, a few times. */
async function statistics(params, headers, mine) {
  for (let left = RETRIES; ; left--) {
    const answer = await fetch(`/api/statistics?${params}`, { headers, credentials: 'same-origin' });
    const body = await answer.json();
    if (answer.ok) return body;
    if ((answer.status === 429 || answer.status === 503) && left > 1 && mine === asked) {
      const wait = Math.min(MAX_WAIT_S, Math.max(1, Number(answer.headers.get('Retry-After')) || 2));
      $(PAGE.tableNote).textContent = `The Pi is busy: asking again in ${wait} s…`;
      await new Promise((resolve) => { setTimeout(resolve, wait * 1000); });
      if (mine !== asked) return body;  // superseded: the caller drops it
      continue;
    }
    throw new Error(body.error || answer.statusText);
  }
}

function fillSelects(sensors, s, q) {
  const pick = $(PAGE.tableSensor), what = $(PAGE.tableQ);
  pick.replaceChildren(...sensors.map((x) => create('option', { value: x.id, textContent: x.name, selected: x === s })));
  what.replaceChildren(...s.quantities.map((x) => create('option', { value: x, textContent: LABEL[x], selected: x === q })));
  for (const b of document.querySelectorAll('button[data-period]')) b.setAttribute('aria-pressed', String(b.dataset.period === state.period));
}

function render(s, q, period, body, since, until) {
  const f = body.fields, rows = body.rows;
  const at = (name) => f.indexOf(`${q}_${name}`);
  const conv = (v) => (q === 'temperature' ? toUnit(v, state.unit) : v);
  const unit = { temperature: `°${state.unit}`, humidity: '%', pressure: ' hPa', co2: ' ppm' }[q];
  const digits = q === 'temperature' || q === 'pressure' ? 1 : 0;
  const show = (v) => (v == null ? '—' : `${fix(conv(v), digits)}${unit}`);
  const thisYear = rows.every((r) => r[1].startsWith(String(new Date().getFullYear())));
  const day = thisYear ? fmtDayOfWeek : fmtDate;
  const when = (r) => (period === 'month' ? fmtMonth(labelDate(r[1])) : day(labelDate(r[1])));
  const { hot, cold } = extremeRows(rows, f, q);
  $(PAGE.tableTitle).textContent = `${period === 'month' ? 'Monthly' : 'Daily'} min / mean / max: ${s.name}`;
  const trs = rows.map((r, i) => {
    const tr = create('tr', {});
    tr.append(create('th', { scope: 'row', textContent: when(r) }),
      ...[r[at('min')], r[at('mean')], r[at('max')]].map((v) => create('td', { textContent: show(v) })),
      create('td', { textContent: String(r[at('n')]) }));
    tr.classList.toggle(CLS.hottest, i === hot);
    tr.classList.toggle(CLS.coldest, i === cold);
    return tr;
  }).reverse();  // newest first
  $(PAGE.tableBody).replaceChildren(...trs);
  const word = q === 'temperature' ? ['Hottest', 'Coldest'] : ['Highest', 'Lowest'];
  $(PAGE.tableExtremes).textContent = hot == null ? 'No statistics for this range yet.'
    : `${word[0]}: ${when(rows[hot])}, ${show(rows[hot][at('max')])} · ${word[1]}: ${when(rows[cold])}, ${show(rows[cold][at('min')])}`;
  $(PAGE.tableNote).textContent = `${fmtDate(since)} – ${fmtDate(until)} · days are the server's local days; means are weighted by time.`;
}
