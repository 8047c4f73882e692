/* What the dashboard's modules share: settings, the sensors shown, the server link.
   Plain data: importing it touches nothing. main.js exposes it as window.sensorhub. */

export const RANGES = [600, 3600, 86400, 604800, 2592000];

export const state = {
  offset: 0,  // server clock minus browser clock, seconds
  key: null,  // the rooms and sensors the cards show
  range: 3600,  // seconds shown (main.js restores the saved one)
  unit: 'C',
  sensors: new Map(),  // sensor id -> record (see cards.js addSensor)
  alerts: new Map(),  // "sensor kind" -> firing alert
  loading: 0,  // history requests in flight
  snapshots: 0,
  retryMs: 2000,
};
export const charts = new Map();  // sensor id -> Chart
export const lastTs = new Map();  // sensor id -> every reading up to this ts is in the chart
export const session = { socket: null, token: null };  // set by connection.js start()

export const serverNow = () => Date.now() / 1000 + state.offset;
