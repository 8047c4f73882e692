/* The sensor cards: rooms laid out from a snapshot, and each card's current values,
   range statistics, trend arrow, state badge and sensor health. */

import { makeChart } from './charts.js';
import { $, CLS, PAGE, create, newCard, newRoom } from './dom.js';
import { ago, fix, toUnit } from './format.js';
import { newSeries } from './series.js';
import { charts, lastTs, serverNow, session, state } from './state.js';
import { direction, extremes, trend } from './trend.js';

const conv = (c) => toUnit(c, state.unit);

/** A reading (or a snapshot's latest) as the card shows it. */
export const latest = (r) => ({ ts: r.ts, t: r.temperature, h: r.humidity, dew: r.dew_point });

export function showNow(s) {
  const { el } = s, l = s.latest || {};
  el.t.textContent = fix(conv(l.t), 1);
  el.tu.textContent = `°${state.unit}`;
  el.h.textContent = fix(l.h, 0);
  const dew = conv(l.dew);  // computed by the server (sensorhub/derived.py)
  el.dew.textContent = dew == null ? '' : `dew point ${fix(dew, 1)}°`;
  showState(s);
}

/** What the chart just drawn says: min and max over the range, and the trend. */
export function showStats(s) {
  s.el.card.classList.toggle(CLS.nodata, !s.pts.length && !s.busy);
  const [tl, th] = extremes(s.pts);
  s.el.mm.textContent = tl == null ? '' : `min ${fix(conv(tl), 1)}° · max ${fix(conv(th), 1)}°`;
  const slope = trend(s.pts);
  const { arrow, word } = direction(slope);
  s.el.trend.textContent = arrow;
  s.el.trend.title = word ? `${word}: ${fix(conv(slope) - conv(0), 1)}° per 10 min` : '';
  s.el.trend.setAttribute('aria-label', word || 'no trend');
  showNow(s);
}

export function showState(s) {
  const { el } = s;
  const st = (s.st && s.st.state) || 'ok';
  const age = s.latest ? serverNow() - s.latest.ts : null;
  const stale = age == null || age > Math.max(3 * s.interval, 3);
  el.card.dataset.state = st;
  el.card.classList.toggle(CLS.stale, stale);
  el.card.classList.toggle(CLS.noted, !!s.note);
  el.card.classList.toggle(CLS.alarm, [...state.alerts.values()].some((a) => a.sensor === s.id));
  el.badge.textContent = st;
  const said = [st !== 'ok' && s.st.error, s.note].filter(Boolean).join(' · ');
  el.err.textContent = said;
  el.ago.textContent = (said ? ' · ' : '') + (age == null ? 'no reading yet' : `last reading ${ago(age)}`);
}

/** A card's "Sensor health": read counters from GET /api/sensors, fetched when opened. */
async function showHealth(id, dl) {
  const headers = session.token ? { Authorization: `Bearer ${session.token}` } : {};
  const answer = await fetch('/api/sensors', { headers, credentials: 'same-origin' }).then((r) => r.json()).catch(() => ({}));
  const info = (answer.sensors || []).find((x) => x.id === id);
  if (!info) return;
  const h = info.health, f = h.failures;
  const rows = [['reads', `${h.good} good of ${h.attempts}`],
    ...Object.keys(f).sort().map((k) => [k.replace('_', ' '), f[k]]),
    ['power cycles', h.power_cycles],
    ['last good reading', h.last_good_ts ? ago(serverNow() - h.last_good_ts) : 'never'],
    ['abs. humidity', info.latest && info.latest.abs_humidity != null ? `${info.latest.abs_humidity} g/m³` : '—']];
  dl.replaceChildren(...rows.flatMap(([k, v]) => [create('dt', { textContent: k }), create('dd', { textContent: String(v) })]));
}

/** A sensor's card and chart, and its record in state.sensors. */
function addSensor(info, list) {
  const el = newCard(info.id);
  el.more.addEventListener('toggle', () => el.more.open && showHealth(info.id, el.health));
  el.name.textContent = info.name;
  el.canvas.ariaLabel = `${info.name}: temperature and humidity`;
  list.append(el.card);  // in the page before the chart sizes itself to it
  const chart = makeChart(el.canvas);
  const l = info.latest;
  const s = {
    ...newSeries(info.interval || 1, chart.data.datasets),
    id: info.id, st: info.state, latest: l ? latest(l) : null,
    gen: 0, busy: false, queue: [], note: '', el, chart,
  };
  state.sensors.set(s.id, s);
  charts.set(s.id, s.chart);
  showNow(s);
  return s;
}

/** Replace every card with the snapshot's rooms and sensors (their history still to load). */
export function build(snap) {
  for (const chart of charts.values()) chart.destroy();
  charts.clear(); lastTs.clear(); state.sensors.clear(); state.loading = 0;
  const main = $(PAGE.rooms);
  main.replaceChildren();
  const rooms = new Map(snap.rooms.map((r) => [r.id, r]));
  for (const sensor of snap.sensors) if (!rooms.has(sensor.room)) rooms.set(sensor.room, { id: sensor.room, name: sensor.room });
  for (const room of rooms.values()) {
    const sensors = snap.sensors.filter((x) => x.room === room.id);
    if (!sensors.length) continue;
    const [section, list] = newRoom(room);
    main.append(section);
    for (const info of sensors) addSensor(info, list);
  }
  if (!snap.sensors.length) main.append(create('p', { className: CLS.empty, textContent: 'No sensors to show.' }));
}
