/* sensorhub dashboard: live charts over Socket.IO (see docs/protocol.md).
   Loaded as a module (own scope, strict, deferred) after the vendored Chart and io globals. */

const MAX_POINTS = 600;  // buckets asked per chart; the server downsamples
const TREND_S = 600;  // the trend arrow looks at the last ten minutes
const TREND_MIN = 0.2;  // °C per ten minutes below which a sensor is "steady"
const ACK_MS = 15000;
const RANGES = [600, 3600, 86400, 604800, 2592000];
const $ = (sel, el = document) => el.querySelector(sel);
const saved = (key, fallback) => { try { return localStorage.getItem(key) ?? fallback; } catch { return fallback; } };
const save = (key, value) => { try { localStorage.setItem(key, value); } catch { /* private mode */ } };
const ms = (sec) => Math.round(sec * 1000);

const charts = new Map();  // sensor id -> Chart
const lastTs = new Map();  // sensor id -> every reading up to this ts is in the chart
const state = {
  offset: 0,  // server clock minus browser clock, seconds
  key: null,  // the rooms and sensors the cards show
  range: RANGES.includes(+saved('sensorhub.range')) ? +saved('sensorhub.range') : 3600,
  unit: saved('sensorhub.unit', 'C') === 'F' ? 'F' : 'C',
  sensors: new Map(),  // sensor id -> record (see addSensor)
  alerts: new Map(),  // "sensor kind" -> firing alert
  loading: 0,  // history requests in flight
  snapshots: 0,
  retryMs: 2000,
};
const serverNow = () => Date.now() / 1000 + state.offset;

// Formatting
const conv = (c) => (c == null ? null : state.unit === 'F' ? c * 1.8 + 32 : c);
const fix = (v, d) => (v == null ? '—' : v.toFixed(d));
const clock = { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
const format = (options) => { const f = new Intl.DateTimeFormat(undefined, options); return (sec) => f.format(sec * 1000); };
const fmtTime = format(clock);
const fmtWeekday = format({ weekday: 'short', day: 'numeric' });
const fmtDay = format({ day: 'numeric', month: 'short' });
const fmtFull = format({ weekday: 'short', day: 'numeric', month: 'short', ...clock, second: '2-digit' });

function ago(sec) {
  const [n, unit] = sec < 60 ? [Math.max(0, sec), 's'] : sec < 3600 ? [sec / 60, 'min'] : sec < 86400 ? [sec / 3600, 'h'] : [sec / 86400, 'd'];
  return `${Math.floor(n)} ${unit} ago`;
}


// X axis: a linear scale of epoch seconds with ticks on local clock boundaries
const TICK_STEPS = [60, 300, 600, 1800, 3600, 10800, 21600, 43200, 86400, 172800, 432000, 604800];
let tickStep = 600;

function buildTicks(scale) {
  const { min, max } = scale;
  const span = max - min;
  tickStep = TICK_STEPS.find((s) => span / s <= 7) || 604800;
  const ticks = [];
  if (tickStep < 86400) {
    const tz = -new Date(min * 1000).getTimezoneOffset() * 60;
    for (let t = Math.ceil((min + tz) / tickStep) * tickStep - tz; t <= max; t += tickStep) ticks.push({ value: t });
  } else {
    const d = new Date(min * 1000);
    d.setHours(0, 0, 0, 0);
    if (d / 1000 < min) d.setDate(d.getDate() + 1);
    for (; d / 1000 <= max; d.setDate(d.getDate() + tickStep / 86400)) ticks.push({ value: d / 1000 });
  }
  scale.ticks = ticks;
}

const tickLabel = (value) => (tickStep < 86400 ? fmtTime : state.range > 604800 ? fmtDay : fmtWeekday)(value);

// Charts
function makeChart(canvas) {
  const line = (label, yAxisID, more) => ({ label, yAxisID, data: [], spanGaps: false, pointRadius: 0, tension: 0, ...more });
  const chart = new Chart(canvas, {
    type: 'line',
    data: {
      datasets: [
        line('temperature', 'y', { borderWidth: 2 }),
        line('min', 'y', { borderWidth: 0, fill: false }),
        line('max', 'y', { borderWidth: 0, fill: '-1' }),  // the faint min-max band
        line('humidity', 'y1', { borderWidth: 1.5 }),
      ],
    },
    options: {
      animation: false, parsing: false, normalized: true, spanGaps: false,
      responsive: true, maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      elements: { point: { radius: 0, hitRadius: 4, hoverRadius: 3 } },
      plugins: {
        legend: { display: false },
        decimation: { enabled: false },  // Chart.js #11929: the server downsamples instead
        tooltip: {
          filter: (item) => item.datasetIndex === 0 || item.datasetIndex === 3,
          callbacks: {
            title: (items) => (items.length ? fmtFull(items[0].parsed.x) : ''),
            label: (item) => (item.datasetIndex === 0
              ? ` ${fix(item.parsed.y, 1)} °${state.unit}`
              : ` ${fix(item.parsed.y, 0)} %`),
          },
        },
      },
      scales: {
        x: { type: 'linear', afterBuildTicks: buildTicks, ticks: { callback: tickLabel, maxRotation: 0, autoSkipPadding: 10 } },
        y: { position: 'left', grace: '5%', ticks: { maxTicksLimit: 6, callback: (v) => `${+v.toFixed(1)}°` } },
        y1: { position: 'right', min: 0, max: 100, ticks: { stepSize: 25, callback: (v) => `${v}%` }, grid: { drawOnChartArea: false } },
      },
    },
  });
  recolour(chart);
  return chart;
}

/** Take the chart colours from the CSS custom properties (light or dark). */
function recolour(chart) {
  const css = getComputedStyle(document.documentElement);
  const c = (name) => css.getPropertyValue(`--${name}`).trim();
  const [t, , band, h] = chart.data.datasets;
  t.borderColor = c('temp'); band.backgroundColor = c('band'); h.borderColor = c('hum');
  const { x, y, y1 } = chart.options.scales;
  x.ticks.color = c('muted'); y.ticks.color = c('temp'); y1.ticks.color = c('hum');
  x.grid.color = y.grid.color = c('grid');
  chart.update('none');
}

// The points of one sensor
// s.pts holds {ts, t, h, tl, th, hl, hh, nt, nh, k} in °C, oldest first; the chart's four
// datasets mirror it in the display unit, with a {x, y: null} marker where readings stop.
const bucketed = (s) => s.step > s.interval;
const gapAfter = (s) => 3 * Math.max(s.step, s.interval);

function point(p, n, stepMs) {
  return { ts: p[0], t: p[1], h: p[2], tl: p[3], th: p[4], hl: p[5], hh: p[6], nt: n, nh: n,
    k: Math.floor(ms(p[0]) / stepMs) };
}

function rows(p) {
  return [{ x: p.ts, y: conv(p.t) }, { x: p.ts, y: conv(p.tl) }, { x: p.ts, y: conv(p.th) }, { x: p.ts, y: p.h }];
}

function pushRows(s, p, prev) {
  const sets = s.chart.data.datasets;
  if (prev && p.ts - prev.ts > gapAfter(s)) {
    for (const ds of sets) ds.data.push({ x: (prev.ts + p.ts) / 2, y: null, gap: true });
  }
  rows(p).forEach((row, i) => sets[i].data.push(row));
}

function rebuild(s) {
  for (const ds of s.chart.data.datasets) ds.data = [];
  s.pts.forEach((p, i) => pushRows(s, p, s.pts[i - 1]));
}

function setLast(s, q) {
  if (s.dirty) return;  // a rebuild is due anyway
  rows(q).forEach((row, j) => Object.assign(s.chart.data.datasets[j].data.at(-1), row));
}

const wavg = (a, na, b, nb) => (a == null ? b : b == null ? a : (a * na + b * nb) / (na + nb));
const lo = (a, b) => (a == null ? b : b == null ? a : Math.min(a, b));
const hi = (a, b) => (a == null ? b : b == null ? a : Math.max(a, b));

/** Put one reading or backfilled point in its place; false when it is already there. */
function merge(s, p) {
  const pts = s.pts;
  let i = pts.length;
  while (i > 0 && (bucketed(s) ? pts[i - 1].k > p.k : ms(pts[i - 1].ts) > ms(p.ts))) i--;
  const q = pts[i - 1];
  if (q && bucketed(s) && q.k === p.k) {
    q.t = wavg(q.t, q.nt, p.t, p.nt); q.h = wavg(q.h, q.nh, p.h, p.nh);
    if (p.t != null) q.nt += p.nt;
    if (p.h != null) q.nh += p.nh;
    q.tl = lo(q.tl, p.tl); q.th = hi(q.th, p.th); q.hl = lo(q.hl, p.hl); q.hh = hi(q.hh, p.hh);
    q.ts = Math.max(q.ts, p.ts);  // while live, a bucket sits at its newest reading
    if (i === pts.length) setLast(s, q);
    else s.dirty = true;
    return true;
  }
  if (q && !bucketed(s) && ms(q.ts) === ms(p.ts)) return false;
  if (i === pts.length) {
    if (q && bucketed(s) && Math.max(q.nt, q.nh) > 1) {  // a full bucket moves to its centre, as the server's do
      q.ts = (q.k + 0.5) * s.stepMs / 1000;
      setLast(s, q);
    }
    pts.push(p);
    if (!s.dirty) pushRows(s, p, q);
  } else {
    pts.splice(i, 0, p);
    s.dirty = true;
  }
  return true;
}

function trim(s, start) {
  let n = 0;
  while (n < s.pts.length && s.pts[n].ts < start) n++;
  if (n) s.pts.splice(0, n);
  const sets = s.chart.data.datasets;  // the four stay aligned: cut them alike
  const first = sets[0].data;
  let m = 0;
  while (m < first.length && first[m].x < start) m++;
  if (first[m] && first[m].gap) m++;
  if (m) for (const ds of sets) ds.data.splice(0, m);
}

// Data changes now; drawing waits for the next frame (once a burst, never while hidden).
const due = new Set();
let frame = 0;

function redraw(s) {
  const now = Math.max(serverNow(), lastTs.get(s.id) || 0);
  const start = now - state.range;
  if (s.dirty) { rebuild(s); s.dirty = false; }
  trim(s, start);
  const x = s.chart.options.scales.x;
  x.min = start; x.max = now;
  due.add(s);
  if (!frame) frame = requestAnimationFrame(paint);
}

function paint() {
  frame = 0;
  for (const s of due) {
    if (state.sensors.get(s.id) !== s) continue;  // its card was rebuilt
    s.chart.update('none');
    s.el.card.classList.toggle('nodata', !s.pts.length && !s.busy);
    showStats(s);
  }
  due.clear();
}

// History requests
function ask(s, since, until, done, tries = 4) {
  const gen = s.gen;
  socket.timeout(ACK_MS).emit('history', { sensor: s.id, since, until, max_points: MAX_POINTS }, (err, ans) => {
    if (gen !== s.gen || state.sensors.get(s.id) !== s) return;  // superseded
    const error = err ? 'no answer' : ans && ans.error;
    if (error && tries > 1 && (err || /too many/.test(error))) {  // the limit is per 10 s
      setTimeout(() => { if (gen === s.gen) ask(s, since, until, done, tries - 1); }, 2500 * (5 - tries));
      return;
    }
    done(error ? null : ans, error);
  });
}

// The server truncates `until` to ms but rounds reading times: ask 1 ms past the last reading.
const upTo = (s) => Math.max(serverNow(), (lastTs.get(s.id) || 0) + 0.001);

function begin(s) {
  s.gen++;
  if (!s.busy) { s.busy = true; state.loading++; }
}

function finish(s, error) {
  s.busy = false;
  state.loading--;
  s.seq = null;  // all up to `until` is in: no gap to detect yet
  s.note = error ? `history: ${error}` : '';
  drain(s);
  markReady();
}

/** Load the whole current range, replacing what the chart shows. */
function load(s) {
  begin(s);
  const until = upTo(s);
  const range = state.range;
  ask(s, until - range, until, (ans, error) => {
    if (ans) {
      s.step = ans.step; s.stepMs = Math.max(1, ms(ans.step)); s.range = range;
      const full = Math.max(1, s.step / s.interval);
      s.pts = ans.points.map((p) => point(p, full, s.stepMs));
      const last = s.pts.at(-1);
      if (last && bucketed(s)) {
        const part = (until - (last.k * s.stepMs) / 1000) / s.interval;
        last.nt = last.nh = Math.min(full, Math.max(1, part));
      }
      lastTs.set(s.id, Math.max(until, last ? last.ts : 0));
      rebuild(s);
      s.dirty = false;
    }
    finish(s, error);
  });
}

/** Fetch what was missed since the last reading and merge it in, in order. */
function backfill(s) {
  const from = lastTs.get(s.id);
  if (from == null || s.range !== state.range || serverNow() - from > state.range) { load(s); return; }
  begin(s);
  const until = upTo(s);
  ask(s, from, until, (ans, error) => {
    if (ans) {
      const n = Math.max(1, ans.step / s.interval);
      for (const p of ans.points) if (ms(p[0]) > ms(from)) merge(s, point(p, n, s.stepMs));
      lastTs.set(s.id, Math.max(until, lastTs.get(s.id)));
    }
    finish(s, error);
  });
}

// Live readings
/** Apply one reading; false when its seq shows readings were missed before it. */
function apply(s, r) {
  const mark = lastTs.get(s.id);
  if (mark != null && ms(r.ts) <= ms(mark) && bucketed(s)) return true;  // already counted
  if (r.seq != null && s.seq != null && r.seq > s.seq + 1) return false;
  s.seq = r.seq ?? null;
  const p = point([r.ts, r.temperature, r.humidity, r.temperature, r.temperature, r.humidity, r.humidity], 1, s.stepMs);
  merge(s, p);
  lastTs.set(s.id, Math.max(r.ts, mark ?? 0));
  return true;
}

function drain(s) {
  while (s.queue.length) {
    if (!apply(s, s.queue[0])) { backfill(s); return; }
    s.queue.shift();
  }
  redraw(s);
}

function onReading(r) {
  const s = state.sensors.get(r.sensor);
  if (!s) return;
  if (!s.latest || r.ts >= s.latest.ts) s.latest = latest(r);
  if (s.busy) {
    s.queue.push(r);
    if (s.queue.length > 20000) s.queue.shift();
    showNow(s);
    return;
  }
  if (apply(s, r)) redraw(s);
  else { s.queue.push(r); backfill(s); }
  showNow(s);
}

// Cards
const latest = (r) => ({ ts: r.ts, t: r.temperature, h: r.humidity, dew: r.dew_point });

function showNow(s) {
  const { el } = s, l = s.latest || {};
  el.t.textContent = fix(conv(l.t), 1);
  el.tu.textContent = `°${state.unit}`;
  el.h.textContent = fix(l.h, 0);
  const dew = conv(l.dew);  // computed by the server (sensorhub/derived.py)
  el.dew.textContent = dew == null ? '' : `dew point ${fix(dew, 1)}°`;
  showState(s);
}

function showStats(s) {
  let tl = null, th = null;
  for (const p of s.pts) { tl = lo(tl, p.tl); th = hi(th, p.th); }
  s.el.mm.textContent = tl == null ? '' : `min ${fix(conv(tl), 1)}° · max ${fix(conv(th), 1)}°`;
  const slope = trend(s);
  const arrow = slope == null ? '' : slope > TREND_MIN ? '↗' : slope < -TREND_MIN ? '↘' : '→';
  const word = { '↗': 'rising', '↘': 'falling', '→': 'steady' }[arrow];
  s.el.trend.textContent = arrow;
  s.el.trend.title = word ? `${word}: ${fix(conv(slope) - conv(0), 1)}° per 10 min` : '';
  s.el.trend.setAttribute('aria-label', word || 'no trend');
  showNow(s);
}

/** Least-squares temperature slope over the last 10 min (3 points at least), per 10 min. */
function trend(s) {
  const pts = s.pts.filter((p) => p.t != null);
  const end = pts.length && pts.at(-1).ts;
  const recent = pts.filter((p, i) => p.ts >= end - TREND_S || i >= pts.length - 3);
  const n = recent.length;
  const mx = recent.reduce((a, p) => a + p.ts - end, 0) / n;
  const my = recent.reduce((a, p) => a + p.t, 0) / n;
  let sxy = 0, sxx = 0;
  for (const p of recent) { sxy += (p.ts - end - mx) * (p.t - my); sxx += (p.ts - end - mx) ** 2; }
  return n > 1 && sxx ? (sxy / sxx) * TREND_S : null;
}

function showState(s) {
  const { el } = s;
  const st = (s.st && s.st.state) || 'ok';
  const age = s.latest ? serverNow() - s.latest.ts : null;
  const stale = age == null || age > Math.max(3 * s.interval, 3);
  el.card.dataset.state = st;
  el.card.classList.toggle('stale', stale);
  el.card.classList.toggle('noted', !!s.note);
  el.card.classList.toggle('alarm', [...state.alerts.values()].some((a) => a.sensor === s.id));
  el.badge.textContent = st;
  const said = [st !== 'ok' && s.st.error, s.note].filter(Boolean).join(' · ');
  el.err.textContent = said;
  el.ago.textContent = (said ? ' · ' : '') + (age == null ? 'no reading yet' : `last reading ${ago(age)}`);
}

function addSensor(info, list) {
  const card = $('#card').content.firstElementChild.cloneNode(true);
  card.dataset.sensor = info.id;
  const el = { card };
  for (const k of ['badge', 't', 'tu', 'h', 'trend', 'mm', 'dew', 'err', 'ago', 'more', 'health']) el[k] = $(`.${k}`, card);
  el.more.addEventListener('toggle', () => el.more.open && showHealth(info.id, el.health));
  $('.name', card).textContent = info.name;
  const canvas = $('canvas', card);
  canvas.ariaLabel = `${info.name}: temperature and humidity`;
  list.append(card);
  const l = info.latest;
  const s = {
    id: info.id, interval: info.interval || 1,
    st: info.state, latest: l ? latest(l) : null,
    seq: null, pts: [], step: 0, stepMs: 1, range: null, gen: 0, busy: false, queue: [], dirty: false,
    note: '', el, chart: makeChart(canvas),
  };
  state.sensors.set(s.id, s);
  charts.set(s.id, s.chart);
  showNow(s);
  return s;
}

function build(snap) {
  for (const chart of charts.values()) chart.destroy();
  charts.clear(); lastTs.clear(); state.sensors.clear(); state.loading = 0;
  const main = $('#rooms');
  main.replaceChildren();
  const rooms = new Map(snap.rooms.map((r) => [r.id, r]));
  for (const sensor of snap.sensors) if (!rooms.has(sensor.room)) rooms.set(sensor.room, { id: sensor.room, name: sensor.room });
  const make = (tag, cls, text = '') => Object.assign(document.createElement(tag), { className: cls, textContent: text });
  for (const room of rooms.values()) {
    const sensors = snap.sensors.filter((x) => x.room === room.id);
    if (!sensors.length) continue;
    const section = make('section', 'room');
    const list = make('div', 'cards');
    section.dataset.room = room.id;
    section.append(make('h2', '', room.name), list);
    main.append(section);
    for (const info of sensors) addSensor(info, list);
  }
  if (!snap.sensors.length) main.append(make('p', 'empty', 'No sensors to show.'));
  for (const s of state.sensors.values()) load(s);
}

function markReady() {
  if (state.snapshots && !state.loading) document.body.dataset.ready = '1';
}

// Socket
const url = new URL(location.href);
const token = url.searchParams.get('token');
if (token) {
  url.searchParams.delete('token');
  history.replaceState(history.state, '', url.pathname + url.search + url.hash);
}
const socket = io({ transports: ['websocket', 'polling'], tryAllTransports: true, ...(token ? { auth: { token } } : {}) });
const conn = $('#conn');
const setConn = (st, text) => { conn.dataset.state = st; conn.textContent = text; };

socket.on('connect', () => setConn('live', 'live'));
socket.on('disconnect', (reason) => {
  if (reason === 'io client disconnect') { setConn('down', 'disconnected'); return; }
  setConn('reconnecting', 'reconnecting');
  if (reason === 'io server disconnect') {  // rights changed: come back to learn them
    setTimeout(() => socket.connect(), state.retryMs);
    state.retryMs = Math.min(state.retryMs * 2, 60000);
  }
});
socket.on('connect_error', (err) => {
  if (socket.active) { setConn('reconnecting', 'reconnecting'); return; }
  setConn('down', err.message || 'refused');
  if (!token && /authentication required|session expired/.test(err.message)) location.assign('/login');
});

socket.on('snapshot', (snap) => {
  state.offset = snap.server_time - Date.now() / 1000;
  state.snapshots++;
  state.retryMs = 2000;
  const who = $('.who .user');
  if (snap.user && !$('.who form')) who.textContent = snap.user.name;  // a kiosk's token
  const key = JSON.stringify([snap.rooms, snap.sensors.map((x) => [x.id, x.name, x.room, x.interval])]);
  state.alerts = new Map((snap.alerts || []).map((a) => [`${a.sensor} ${a.kind}`, a]));
  if (key !== state.key) {
    state.key = key;
    build(snap);
  } else {
    for (const info of snap.sensors) {
      const s = state.sensors.get(info.id);
      s.st = info.state;
      const l = info.latest;
      if (l && (!s.latest || l.ts > s.latest.ts)) s.latest = latest(l);
      s.seq = null;
      backfill(s);  // a reconnect: fetch what the blip missed
      showNow(s);
    }
  }
  showAlerts();
  markReady();
});
socket.on('reading', onReading);
socket.on('alert', (a) => {
  if (a.state === 'firing') state.alerts.set(`${a.sensor} ${a.kind}`, a);
  else state.alerts.delete(`${a.sensor} ${a.kind}`);
  showAlerts();
  if ($('#history').open) loadHistory();
});
socket.on('sensor_state', (msg) => {
  const s = state.sensors.get(msg.sensor);
  if (s) { s.st = msg; showState(s); }
});

// Alerts and sensor health
const nameOf = (id) => { const s = state.sensors.get(id); return s ? $('.name', s.el.card).textContent : id; };

/** "temperature above 30.0 °C (31.2)" in the chosen unit; "offline" for offline alerts. */
function describe(a) {
  if (a.kind === 'offline') return 'offline';
  const [q, op] = a.kind.split('_');
  const t = q === 'temperature';
  const v = (x) => (t ? `${fix(conv(x), 1)} °${state.unit}` : `${fix(x, 0)} %`);
  return `${q} ${op} ${v(a.threshold)}${a.value == null ? '' : ` (${v(a.value)})`}`;
}

function showAlerts() {
  const box = $('#alerts');
  const lines = [...state.alerts.values()].map((a) => {
    const p = document.createElement('p');
    p.textContent = `⚠ ${nameOf(a.sensor)}: ${describe(a)} since ${fmtFull(a.since)}`;
    return p;
  });
  box.replaceChildren(...lines);
  box.hidden = !lines.length;
  for (const s of state.sensors.values()) showState(s);
}

function loadHistory() {
  socket.emit('alert_history', { limit: 50 }, (answer) => {
    const items = (answer.alerts || []).map((a) => {
      const li = document.createElement('li');
      li.className = a.cleared == null ? 'firing' : '';
      const end = a.cleared == null ? 'still firing' : `cleared ${fmtFull(a.cleared)}`;
      li.textContent = `${nameOf(a.sensor)}: ${describe(a)}, ${fmtFull(a.since)} – ${end}`;
      return li;
    });
    $('#alert-list').replaceChildren(...(items.length ? items : [Object.assign(document.createElement('li'), { textContent: 'No alerts yet.' })]));
  });
}
$('#history').addEventListener('toggle', () => $('#history').open && loadHistory());

/** Read-health counters from GET /api/sensors, shown in a card's "Sensor health". */
async function showHealth(id, dl) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const answer = await fetch('/api/sensors', { headers, credentials: 'same-origin' }).then((r) => r.json()).catch(() => ({}));
  const info = (answer.sensors || []).find((x) => x.id === id);
  if (!info) return;
  const h = info.health, f = h.failures;
  const rows = [['reads', `${h.good} good of ${h.attempts}`],
    ...Object.keys(f).sort().map((k) => [k.replace('_', ' '), f[k]]),
    ['power cycles', h.power_cycles],
    ['last good reading', h.last_good_ts ? ago(serverNow() - h.last_good_ts) : 'never'],
    ['abs. humidity', info.latest && info.latest.abs_humidity != null ? `${info.latest.abs_humidity} g/m³` : '—']];
  dl.replaceChildren(...rows.flatMap(([k, v]) => [Object.assign(document.createElement('dt'), { textContent: k }), Object.assign(document.createElement('dd'), { textContent: String(v) })]));
}

// Controls
/** Wire a group of toggle buttons: `key` is their data attribute and the saved setting. */
function toggles(key, apply) {
  const buttons = document.querySelectorAll(`[data-${key}]`);
  const set = (value) => {
    for (const b of buttons) b.setAttribute('aria-pressed', String(b.dataset[key] === String(value)));
    apply(value);
  };
  for (const b of buttons) b.addEventListener('click', () => { save(`sensorhub.${key}`, b.dataset[key]); set(b.dataset[key]); });
  set(state[key]);
  return set;
}

const setRange = toggles('range', (value) => {
  state.range = +value;
  for (const s of state.sensors.values()) load(s);
});
toggles('unit', (value) => {
  state.unit = value;
  for (const s of state.sensors.values()) { s.dirty = true; redraw(s); showNow(s); }
  showAlerts();
});

matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => charts.forEach(recolour));
setInterval(() => {
  for (const s of state.sensors.values()) if (s.busy) showState(s); else redraw(s);
}, 5000);

window.sensorhub = { charts, lastTs, state, socket, setRange, serverNow };
