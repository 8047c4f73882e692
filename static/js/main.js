/* sensorhub dashboard: live charts over Socket.IO (see docs/protocol.md).
   The entry module, loaded after the vendored Chart and io globals: it
   reads the address, wires the other modules and opens the connection. Exposes
   window.sensorhub for tests, benchmarks and debugging. */

import { wireHistory } from './alerts.js';
import { build, showState } from './cards.js';
import { loadZoom, recolour } from './charts.js';
import { start } from './connection.js';
import { fillPicker, press, saved, setPage, setUnit, wireControls } from './controls.js';
import { $, PAGE, darkScheme, isKiosk, setTheme } from './dom.js';
import { layoutKiosk, watchKiosk } from './kiosk.js';
import { showLegend } from './legend.js';
import { tickLost } from './lost.js';
import { showOverlay } from './overlay.js';
import { redraw, redrawAll } from './redraw.js';
import { charts, hooks, lastTs, RANGES, serverNow, state } from './state.js';
import { load, loadCompare, refit } from './sync.js';
import { showTable } from './table.js';
import { parseState } from './url.js';
import { remember, reset, setView, showWindow, zoomDone, zoomed } from './view.js';

/** Take what the address says (a bookmark, a shared link, Back or Forward). */
function fromAddress(first) {
  const got = parseState(location.search, serverNow());
  const before = { chosen: JSON.stringify(state.chosen), compare: state.compare };
  const savedRange = +saved('range');
  const fallback = RANGES.includes(savedRange) ? savedRange : state.kiosk ? 86400 : 3600;
  const view = got.view || { live: true, range: fallback };
  Object.assign(state, { compare: got.compare, chosen: got.chosen, quantity: got.quantity,
    page: got.page, sensor: got.sensor, period: got.period, theme: got.theme });
  if (view.live && RANGES.includes(view.range)) state.base = view.range;
  else if (first) state.base = fallback;
  setTheme(state.theme);
  if (first) { state.view = view; state.range = view.live ? view.range : state.range; return; }
  const compare = $(PAGE.compare);
  if (compare) compare.value = state.compare || '';
  if (JSON.stringify(state.chosen) !== before.chosen && state.snap) {
    state.key = null;
    build(state.snap);
    showOverlay();
    hooks.built();
  }
  setPage(state.page);
  setView(view, { push: false });
  if (state.compare !== before.compare) for (const s of state.sensors.values()) loadCompare(s);
}

/** Zoom and pan once the charts are drawn (or at the first gesture, if sooner). */
function zoomLater() {
  loadZoom()?.catch((err) => console.warn(err.message));
}

state.kiosk = isKiosk();
fromAddress(true);
if (saved('unit') === 'F') state.unit = 'F';
Object.assign(hooks, {
  zoomed, zoomDone, reset,
  chose: () => remember(false),
  built: () => { fillPicker(); if (state.kiosk) layoutKiosk(); showTable(); },
  ready: zoomLater,
});
wireControls();
press('unit', state.unit);
setPage(state.page);
const socket = start();  // takes a kiosk's token out of the address first
remember(false);  // then the address says what is shown
wireHistory();
if (state.kiosk) watchKiosk();
window.addEventListener('popstate', () => fromAddress(false));
for (const type of ['pointerdown', 'touchstart', 'wheel', 'keydown']) {
  window.addEventListener(type, zoomLater, { capture: true, passive: true, once: true });
}
darkScheme().addEventListener('change', () => {
  charts.forEach(recolour);
  for (const s of state.sensors.values()) showLegend(s.chart, s.el.legend);
});
// keeps "last reading … ago", staleness, the banner and the window moving without readings
setInterval(() => {
  for (const s of state.sensors.values()) if (s.busy) showState(s); else { refit(s); redraw(s); }
  tickLost();
  if (state.view.live && state.compare) for (const s of state.sensors.values()) loadCompare(s);
}, 5000);

const setRange = (seconds) => setView({ live: true, range: +seconds });
window.sensorhub = { charts, lastTs, state, socket, setRange, setView, setUnit, serverNow, load, showWindow, redrawAll };
