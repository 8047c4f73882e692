/* The page's DOM contract in one place: every id, class, data attribute and CSS property
   that templates/dashboard.html and static/app.css share with the scripts. Other modules
   reach the page only through these names and helpers. Nothing here runs at import.

   Data attributes: body[data-ready="1"] once history is in (tests wait on it);
   body[data-zoom="1"] once the zoom plugin is loaded (charts.js loadZoom);
   script#chartjs[data-zoom]: the zoom plugin's URL;
   body[data-conn="lost"] while the server is unreachable; html[data-theme] when the
   address forces a scheme; #conn[data-state]; .room[data-room];
   .card[data-sensor][data-state][data-quantities]; the toggle buttons [data-range],
   [data-unit], [data-page], [data-period]. Custom properties --cols, --rows (kiosk grid). */

/** Elements of the page, by selector. Those of the header are missing in a kiosk. */
export const PAGE = {
  bar: '#bar', menu: '#menu', controls: '#controls',
  chartjs: '#chartjs',  // the Chart.js script; data-zoom: its zoom plugin's URL
  conn: '#conn',  // connection status: data-state connecting | live | reconnecting | down
  lost: '#lost',  // the banner while the server is unreachable
  rooms: '#rooms',  // room sections go here
  alerts: '#alerts',  // the banner of firing alerts
  history: '#history',  // <details> of the alert history, loaded when opened
  alertList: '#alert-list', alertNone: '#alert-none',
  card: '#card',  // <template> of one sensor card
  user: '.who .user',  // who is watching; filled in for a token
  logout: '.who form',  // there when logged in with a password
  custom: '#custom', dialog: '#range-dialog', from: '#range-from', to: '#range-to',
  rangeError: '#range-error',
  compare: '#compare', picker: '#picker', picks: '#picks', picksAll: '#picks-all',
  exportCsv: '#export-csv', exportJson: '#export-json', exportBox: '#export',
  window: '#window', windowWhat: '#window .what', reset: '#reset',
  overlay: '#overlay', overlayQ: '#overlay-q', overlayLegend: '#overlay .legend',
  table: '#table', tableTitle: '#table .title', tableSensor: '#table-sensor',
  tableQ: '#table-q', tableBody: '#table tbody', tableExtremes: '#table .extremes',
  tableNote: '#table .note',
  firstRun: '#first-run', firstRunHide: '#first-run-hide',
};

/** Parts of a card: class names inside the #card template. */
const PARTS = ['row', 'rname', 'rval', 'rstate', 'spark', 'name', 'badge', 't', 'tu', 'h',
  'p', 'c', 'trend', 'mm', 'dew', 'since', 'err', 'ago', 'legend', 'more', 'health'];

/** Classes the scripts set (app.css styles them). */
export const CLS = {
  room: 'room', cards: 'cards', empty: 'empty', open: 'open', menuOpen: 'open',
  stale: 'stale', noted: 'noted', alarm: 'alarm', acked: 'acked', nodata: 'nodata',  // a card
  firing: 'firing',  // an alert history entry
  hottest: 'hottest', coldest: 'coldest',  // statistics table rows
};

/** Chart colours: CSS custom properties on :root, with light and dark values. */
const COLOURS = ['temp', 'band', 'hum', 'hband', 'pres', 'pband', 'co2', 'cband', 'muted', 'grid',
  'alert', 'alertband', 's1', 's2', 's3', 's4', 's5', 's6', 's7', 's8'];

export const $ = (sel, el = document) => el.querySelector(sel);
export const $$ = (sel, el = document) => [...el.querySelectorAll(sel)];
/** A new element with properties: create('li', {className: 'firing', textContent: '…'}). */
export const create = (tag, props) => Object.assign(document.createElement(tag), props);

/** A new card from the template: {card, canvas, name, badge, t, ...} by part. */
export function newCard(id) {
  const card = $(PAGE.card).content.firstElementChild.cloneNode(true);
  card.dataset.sensor = id;
  const el = { card, canvas: $('.chart canvas', card) };
  for (const k of PARTS) el[k] = $(`.${k}`, card);
  return el;
}

/** A room's section; its cards go in the list. */
export function newRoom(room) {
  const section = create('section', { className: CLS.room });
  const list = create('div', { className: CLS.cards });
  section.dataset.room = room.id;
  section.append(create('h2', { textContent: room.name }), list);
  return [section, list];
}

export function setConn(state, text) {
  const conn = $(PAGE.conn);
  if (!conn) return;  // a kiosk has no header: the banner says it
  conn.dataset.state = state;
  conn.textContent = text;
}

export const setReady = () => { document.body.dataset.ready = '1'; };
export const setZoomReady = () => { document.body.dataset.zoom = '1'; };
export const setConnLost = (lost) => { document.body.dataset.conn = lost ? 'lost' : 'live'; };
export const isKiosk = () => document.body.classList.contains('kiosk');
export const setTheme = (theme) => {
  if (theme) document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
};

/** The buttons of a toggle group: `key` is their data attribute ("range", "unit"). */
export const toggleButtons = (key) => document.querySelectorAll(`button[data-${key}]`);

/** The chart colours in force (they follow the light/dark scheme). */
export function colours() {
  const css = getComputedStyle(document.documentElement);
  return Object.fromEntries(COLOURS.map((name) => [name, css.getPropertyValue(`--${name}`).trim()]));
}

export const darkScheme = () => matchMedia('(prefers-color-scheme: dark)');
export const phone = () => matchMedia('(max-width: 719px)').matches;

/** Custom properties the kiosk grid uses (CSSOM, which the CSP allows). */
export function setGrid(cols, rows) {
  const main = $(PAGE.rooms);
  main.style.setProperty('--cols', String(cols));
  main.style.setProperty('--rows', String(rows));
}
