/* sensorhub dashboard: live charts over Socket.IO (see docs/protocol.md).
   The entry module, loaded after the vendored Chart and io globals: it wires the others,
   the range and unit toggles, and opens the connection. Exposes window.sensorhub for
   tests, benchmarks and debugging. */

import { showAlerts, wireHistory } from './alerts.js';
import { showNow, showState } from './cards.js';
import { recolour } from './charts.js';
import { start } from './connection.js';
import { darkScheme, toggleButtons } from './dom.js';
import { redraw } from './redraw.js';
import { charts, lastTs, RANGES, serverNow, state } from './state.js';
import { load } from './sync.js';

const saved = (key) => { try { return localStorage.getItem(`sensorhub.${key}`); } catch { return null; } };
const save = (key, value) => { try { localStorage.setItem(`sensorhub.${key}`, value); } catch { /* private mode */ } };

/** Wire a group of toggle buttons: `key` is their data attribute and the saved setting. */
function toggles(key, apply) {
  const buttons = toggleButtons(key);
  const set = (value) => {
    for (const b of buttons) b.setAttribute('aria-pressed', String(b.dataset[key] === String(value)));
    apply(value);
  };
  for (const b of buttons) b.addEventListener('click', () => { save(key, b.dataset[key]); set(b.dataset[key]); });
  set(state[key]);
  return set;
}

if (RANGES.includes(+saved('range'))) state.range = +saved('range');
if (saved('unit') === 'F') state.unit = 'F';
const socket = start();
wireHistory();
const setRange = toggles('range', (value) => {
  state.range = +value;
  for (const s of state.sensors.values()) load(s);
});
toggles('unit', (value) => {
  state.unit = value;
  for (const s of state.sensors.values()) { s.dirty = true; redraw(s); showNow(s); }
  showAlerts();
});
darkScheme().addEventListener('change', () => charts.forEach(recolour));
// keeps "last reading … ago", staleness and the range's start moving without readings
setInterval(() => {
  for (const s of state.sensors.values()) if (s.busy) showState(s); else redraw(s);
}, 5000);

window.sensorhub = { charts, lastTs, state, socket, setRange, serverNow };
