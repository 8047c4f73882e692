/* The sensor cards: rooms laid out from a snapshot, and each card's current values,
   range statistics, trend arrow, state badge, compact phone row and sensor health. */

import { makeChart } from './charts.js';
import { $, CLS, PAGE, create, newCard, newRoom } from './dom.js';
import { ago, fix, fmtFull, fmtTime, toUnit } from './format.js';
import { showLegend } from './legend.js';
import { watchScreen } from './redraw.js';
import { keysFor, newSeries } from './series.js';
import { charts, lastTs, serverNow, session, state } from './state.js';
import { direction, extremes, trend } from './trend.js';

const conv = (c) => toUnit(c, state.unit);

/** A reading (or a snapshot's latest) as the card shows it. */
export const latest = (r) => ({ ts: r.ts, t: r.temperature, h: r.humidity, p: r.pressure ?? null,
  c: r.co2 ?? null, dew: r.dew_point });

export function showNow(s) {
  const { el } = s, l = s.latest || {};
  el.t.textContent = fix(conv(l.t), 1);
  el.tu.textContent = `°${state.unit}`;
  el.h.textContent = fix(l.h, 0);
  el.p.textContent = fix(l.p, 1);
  el.c.textContent = fix(l.c, 0);
  el.rval.textContent = `${fix(conv(l.t), 1)}°  ${fix(l.h, 0)}%`;
  const dew = conv(l.dew);  // computed by the server (sensorhub/derived.py)
  el.dew.textContent = dew == null ? '' : `dew point ${fix(dew, 1)}°`;
  showState(s);
}

/** "20:58", or "Fri 20 Nov 20:58" for a time more than 20 hours ago. */
const when = (ts) => (serverNow() - ts > 72000 ? fmtFull(ts).replace(/:\d\d$/, '') : fmtTime(ts));

/** What the chart just drawn says: min and max in the window [x0, x1], the trend (live
    only: a window in the past has none), and from when there is data if it starts late. */
export function showStats(s, since = null, x0 = -Infinity, x1 = Infinity) {
  const shown = s.pts.filter((p) => p.ts >= x0 && p.ts <= x1);
  s.el.card.classList.toggle(CLS.nodata, !shown.length && !s.busy);
  const [tl, th] = extremes(shown);
  s.el.mm.textContent = tl == null ? '' : `min ${fix(conv(tl), 1)}° · max ${fix(conv(th), 1)}°`;
  s.el.since.textContent = since == null ? '' : `collecting since ${when(since)}`;
  const slope = state.view.live ? trend(s.pts) : null;
  const { arrow, word } = direction(slope);
  s.el.trend.textContent = arrow;
  s.el.trend.title = word ? `${word}: ${fix(conv(slope) - conv(0), 1)}° per 10 min` : '';
  s.el.trend.setAttribute('aria-label', word || 'no trend');
  showNow(s);
}

const SHORT = { acknowledged: 'ack', 'no connection': 'no link' };

/** The card's badge: the sensor's state, unless an alert or the connection says more. */
function badge(s, st) {
  if (state.conn.lost) return ['no connection', 'lost'];
  const firing = [...state.alerts.values()].filter((a) => a.sensor === s.id);
  if (firing.length) return firing.every((a) => a.acked) ? ['acknowledged', 'acked'] : ['alert', 'alert'];
  return [st, st];
}

export function showState(s) {
  const { el } = s;
  const st = (s.st && s.st.state) || 'ok';
  const age = s.latest ? serverNow() - s.latest.ts : null;
  const stale = age == null || age > Math.max(3 * s.interval, 3);
  const [text, look] = badge(s, st);
  el.card.dataset.state = st;
  el.card.dataset.badge = look;
  el.card.classList.toggle(CLS.stale, stale);
  el.card.classList.toggle(CLS.noted, !!s.note);
  el.card.classList.toggle(CLS.alarm, look === 'alert' || look === 'acked');
  el.badge.textContent = text;
  el.rstate.textContent = SHORT[text] || text;  // the phone row has little room
  const said = [st !== 'ok' && s.st.error, s.note].filter(Boolean).join(' · ');
  el.err.textContent = said;
  el.ago.textContent = (said ? ' · ' : '') + (age == null ? 'no reading yet' : `last reading ${ago(age)}`);
  if (el.more.open && s.health) showHealth(s);
}

/** A card's "Sensor health": read counters from GET /api/sensors, fetched when opened;
    the ages in it are recomputed on every refresh, against the server's clock. */
async function loadHealth(s) {
  const headers = session.token ? { Authorization: `Bearer ${session.token}` } : {};
  const answer = await fetch('/api/sensors', { headers, credentials: 'same-origin' }).then((r) => r.json()).catch(() => ({}));
  s.health = (answer.sensors || []).find((x) => x.id === s.id) || null;
  if (s.health) showHealth(s);
}

function showHealth(s) {
  const info = s.health, h = info.health, f = h.failures;
  const last = Math.max(h.last_good_ts || 0, (s.latest && s.latest.ts) || 0);
  const rows = [['reads', `${h.good} good of ${h.attempts}`],
    ...Object.keys(f).sort().map((k) => [k.replace('_', ' '), f[k]]),
    ['power cycles', h.power_cycles],
    ['last good reading', last ? ago(serverNow() - last) : 'never'],
    ['abs. humidity', info.latest && info.latest.abs_humidity != null ? `${info.latest.abs_humidity} g/m³` : '—']];
  s.el.health.replaceChildren(...rows.flatMap(([k, v]) => [create('dt', { textContent: k }), create('dd', { textContent: String(v) })]));
}

/** A sensor's card and chart, and its record in state.sensors. */
function addSensor(info, list) {
  const el = newCard(info.id);
  const s = { id: info.id, el };
  el.more.addEventListener('toggle', () => el.more.open && loadHealth(s));
  el.row.addEventListener('click', () => {  // phones: the compact row opens the full card
    const open = el.card.classList.toggle(CLS.open);
    el.row.setAttribute('aria-expanded', String(open));
  });
  el.name.textContent = el.rname.textContent = info.name;
  el.card.dataset.quantities = info.quantities.join(' ');
  el.canvas.ariaLabel = `${info.name}: ${info.quantities.join(', ')}`;
  list.append(el.card);  // in the page before the chart sizes itself to it
  const keys = keysFor(info.quantities);
  const chart = makeChart(el.canvas, keys);
  chart.$marks.rules = info.alert_rules;
  const l = info.latest;
  Object.assign(s, newSeries(info.interval || 1, chart.data.datasets.slice(0, keys.length), keys), {
    name: info.name, quantities: info.quantities, rules: info.alert_rules,
    cmpSets: chart.data.datasets.slice(keys.length), cmp: null, fetched: null,
    st: info.state, latest: l ? latest(l) : null, health: null,
    gen: 0, busy: false, queue: [], note: '', chart,
  });
  state.sensors.set(s.id, s);
  charts.set(s.id, s.chart);
  showLegend(chart, el.legend);
  watchScreen(s);
  showNow(s);
  return s;
}

/** Replace every card with the snapshot's rooms and sensors (their history still to load).
    Only the chosen sensors get a card when the address names some. */
export function build(snap) {
  for (const chart of charts.values()) chart.destroy();
  charts.clear(); lastTs.clear(); state.sensors.clear(); state.loading = 0;
  const main = $(PAGE.rooms);
  main.replaceChildren();
  const wanted = state.chosen && snap.sensors.some((x) => state.chosen.includes(x.id))
    ? snap.sensors.filter((x) => state.chosen.includes(x.id)) : snap.sensors;
  const rooms = new Map(snap.rooms.map((r) => [r.id, r]));
  for (const sensor of wanted) if (!rooms.has(sensor.room)) rooms.set(sensor.room, { id: sensor.room, name: sensor.room });
  for (const room of rooms.values()) {
    const sensors = wanted.filter((x) => x.room === room.id);
    if (!sensors.length) continue;
    const [section, list] = newRoom(room);
    main.append(section);
    for (const info of sensors) addSensor(info, list);
  }
  if (!wanted.length) main.append(create('p', { className: CLS.empty, textContent: 'No sensors to show.' }));
}
