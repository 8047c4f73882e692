/* The window the page shows and the address that names it: range buttons, zoom and pan
   on any chart (all follow), double-click to reset, a custom range, Back and Forward. */

import { loadEpisodes } from './alerts.js';
import { $, PAGE, toggleButtons } from './dom.js';
import { windowOf } from './fit.js';
import { fmtFull } from './format.js';
import { redrawAll } from './redraw.js';
import { charts, serverNow, state } from './state.js';
import { load } from './sync.js';
import { formatRange, formatState, MIN_SPAN, PRESETS } from './url.js';

const SETTLE_MS = 350;  // a wheel sends many small zooms: fetch and remember the last
let settle = 0;

/** The address of the current state (path kept: / or /kiosk). */
export const address = () => location.pathname + formatState(state);

/** Write the state to the address: a new history entry (Back undoes it) or in place. */
export function remember(push) {
  const url = address();
  if (url === location.pathname + location.search) return;
  if (push) history.pushState(null, '', url);
  else history.replaceState(null, '', url);
}

const isPreset = (view) => view.live && Object.values(PRESETS).includes(view.range);

/** The bar that says what a zoomed or custom window shows, and offers the way back. */
export function showWindow() {
  for (const b of toggleButtons('range')) b.setAttribute('aria-pressed', String(state.view.live && +b.dataset.range === state.view.range));
  const bar = $(PAGE.window);
  if (!bar) return;
  bar.hidden = isPreset(state.view);
  const [start, end] = windowOf(state.view, serverNow());
  $(PAGE.windowWhat).textContent = state.view.live
    ? `Last ${formatRange(state.view.range).replace(/(\d)([a-z])/, '$1 $2')}, live`
    : `${fmtFull(start)} – ${fmtFull(end)}`;
}

/** Show a view on every chart and fetch its history (at the tier its span needs). */
export function setView(view, { push = true } = {}) {
  clearTimeout(settle);
  state.view = view;
  if (view.live) state.range = view.range;
  remember(push);
  showWindow();
  for (const s of state.sensors.values()) load(s);
  redrawAll();
  loadEpisodes();
}

/** A chart is being zoomed or panned: every chart follows at once; nothing is fetched yet. */
export function zoomed(chart) {
  const { min, max } = chart.scales.x;
  const now = serverNow();
  state.view = max >= now - (max - min) * 0.01
    ? { live: true, range: Math.max(MIN_SPAN, Math.round(now - min)) }
    : { live: false, from: min, to: max };
  for (const other of charts.values()) {
    if (other === chart) continue;
    Object.assign(other.options.scales.x, { min, max });
    other.update('none');
  }
  showWindow();
}

/** A zoom or pan ended: once the gestures settle, remember it and fetch what it shows. */
export function zoomDone(chart) {
  zoomed(chart);
  clearTimeout(settle);
  settle = setTimeout(() => setView(state.view), SETTLE_MS);
}

/** Double-click or "Back to live": the live range chosen last. */
export const reset = () => setView({ live: true, range: state.base });

/** `YYYY-MM-DDTHH:MM` in local time, for a datetime-local input. */
export function localInput(sec) {
  const d = new Date(sec * 1000);
  const two = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** The custom range dialog: from and to, in local time. */
export function wireCustom() {
  const dialog = $(PAGE.dialog);
  if (!dialog) return;
  const from = $(PAGE.from), to = $(PAGE.to), error = $(PAGE.rangeError);
  $(PAGE.custom).addEventListener('click', () => {
    const [start, end] = windowOf(state.view, serverNow());
    from.value = localInput(start);
    to.value = localInput(end);
    error.hidden = true;
    dialog.showModal();
  });
  dialog.addEventListener('close', () => {
    if (dialog.returnValue !== 'show') return;
    const a = new Date(from.value) / 1000, b = new Date(to.value) / 1000;
    if (!(b - a >= MIN_SPAN)) {
      error.textContent = 'The range must end at least a minute after it starts.';
      error.hidden = false;
      dialog.showModal();
      return;
    }
    const now = serverNow();
    setView(b >= now ? { live: true, range: Math.round(now - a) } : { live: false, from: a, to: b });
  });
}
