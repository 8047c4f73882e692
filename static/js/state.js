/* What the dashboard's modules share: settings, the sensors shown, the server link.
   Plain data: importing it touches nothing. main.js exposes it as window.sensorhub. */

export const RANGES = [600, 3600, 86400, 604800, 2592000, 31536000];

export const state = {
  offset: 0,  // server clock minus browser clock, seconds
  key: null,  // the rooms and sensors the cards show
  boot: null,  // the server's boot id: a new one means it restarted
  // the window shown: live {range} follows the clock; fixed {from, to} stays put
  view: { live: true, range: 3600 },
  base: 3600,  // the live range a reset (double-click) goes back to
  range: 3600,  // view.range while live (kept for scripts and benchmarks)
  compare: null,  // yesterday | last_week | last_year: the window shifted, overlaid
  chosen: null,  // ids chosen in the address (null: every sensor); two or more: overlaid
  quantity: 'temperature',  // what the overlay of chosen sensors shows
  page: 'charts',  // or 'table': daily statistics
  sensor: null,  // the table's sensor
  period: 'day',  // the table's rows: day | month
  theme: null,  // dark | light forced by the address (kiosks); null: the system's
  kiosk: false,
  unit: 'C',
  all: [],  // every sensor the snapshot listed (the picker's choices)
  sensors: new Map(),  // sensor id -> record (see cards.js addSensor): the cards on screen
  alerts: new Map(),  // "sensor kind" -> firing alert
  episodes: new Map(),  // sensor id -> [[from, to | null]] alert episodes in the window
  conn: { lost: false, since: null },  // the socket is down (since: browser ms)
  user: null,  // from the snapshot: null for anonymous viewers
  loading: 0,  // history requests in flight
  drawing: false,  // a redraw waits for the next animation frame
  snapshots: 0,
  retryMs: 2000,
};
export const charts = new Map();  // sensor id -> Chart
export const lastTs = new Map();  // sensor id -> every reading up to this ts is in the chart
export const session = { socket: null, token: null };  // set by connection.js start()
/* Functions main.js plugs in, so that low modules can call high ones without importing
   them (charts.js calls hooks.zoomed when a chart is zoomed or panned). */
export const hooks = { zoomed: () => {}, zoomDone: () => {}, reset: () => {}, chose: () => {}, built: () => {},
  ready: () => {} };

export const serverNow = () => Date.now() / 1000 + state.offset;
