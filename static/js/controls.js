/* The header's controls: range buttons, compare, the sensor picker, °C/°F, charts or
   table, export links, the phone menu, and the first-run note. */

import { showAlerts } from './alerts.js';
import { build, showNow } from './cards.js';
import { $, $$, CLS, PAGE, create, toggleButtons } from './dom.js';
import { windowOf } from './fit.js';
import { showOverlay } from './overlay.js';
import { redraw, redrawAll } from './redraw.js';
import { hooks, serverNow, state } from './state.js';
import { load, loadCompare } from './sync.js';
import { showTable } from './table.js';
import { exportUrl } from './url.js';
import { remember, reset, setView, showWindow, wireCustom } from './view.js';

export const saved = (key) => { try { return localStorage.getItem(`sensorhub.${key}`); } catch { return null; } };
export const save = (key, value) => { try { localStorage.setItem(`sensorhub.${key}`, value); } catch { /* private mode */ } };

/** Mark the pressed button of a toggle group. */
export function press(key, value) {
  for (const b of toggleButtons(key)) b.setAttribute('aria-pressed', String(b.dataset[key] === String(value)));
}

/** Apply the unit to everything drawn. */
export function setUnit(unit) {
  state.unit = unit;
  press('unit', unit);
  for (const s of state.sensors.values()) { s.dirty = true; redraw(s); showNow(s); }
  showAlerts();
  showTable();
}

/** Charts or the statistics table. */
export function setPage(page) {
  state.page = page;
  press('page', page);
  const table = $(PAGE.table);
  if (table) table.hidden = page !== 'table';
  $(PAGE.rooms).hidden = page === 'table';
  showTable();
}

/** The export links: the sensors on screen, the window they show, the unit in use. */
function updateExport() {
  const csv = $(PAGE.exportCsv);
  if (!csv) return;
  const [start, end] = windowOf(state.view, serverNow());
  const ids = [...state.sensors.keys()];
  csv.href = exportUrl('csv', ids, start, end, state.unit);
  $(PAGE.exportJson).href = exportUrl('json', ids, start, end, state.unit);
}

/** The sensor picker: a checkbox per sensor; two or more chosen are overlaid. */
export function fillPicker() {
  const box = $(PAGE.picks);
  if (!box) return;
  box.replaceChildren(...state.all.map((x) => {
    const label = create('label', {});
    const input = create('input', { type: 'checkbox', value: x.id, checked: !!state.chosen && state.chosen.includes(x.id) });
    label.append(input, ` ${x.name}`);
    return label;
  }));
}

function choose(ids) {
  state.chosen = ids && ids.length ? ids : null;
  state.key = null;
  build(state.snap);
  showOverlay();
  for (const s of state.sensors.values()) load(s);
  remember(true);
  hooks.built();
}

/** Wire every control of the header (a kiosk has none). */
export function wireControls() {
  for (const b of toggleButtons('range')) {
    b.addEventListener('click', () => { state.base = +b.dataset.range; save('range', b.dataset.range); setView({ live: true, range: +b.dataset.range }); });
  }
  for (const b of toggleButtons('unit')) b.addEventListener('click', () => { save('unit', b.dataset.unit); setUnit(b.dataset.unit); });
  for (const b of toggleButtons('page')) b.addEventListener('click', () => { setPage(b.dataset.page); remember(true); });
  for (const b of toggleButtons('period')) b.addEventListener('click', () => { state.period = b.dataset.period; remember(false); showTable(); });
  const reset$ = $(PAGE.reset);
  if (reset$) reset$.addEventListener('click', reset);
  wireCustom();
  const compare = $(PAGE.compare);
  if (compare) {
    compare.value = state.compare || '';
    compare.addEventListener('change', () => {
      state.compare = compare.value || null;
      remember(false);
      for (const s of state.sensors.values()) loadCompare(s);
      redrawAll();
    });
  }
  const picks = $(PAGE.picks);
  if (picks) {
    picks.addEventListener('change', () => choose($$('input:checked', picks).map((i) => i.value)));
    $(PAGE.picksAll).addEventListener('click', () => choose(null));
  }
  const exportBox = $(PAGE.exportBox);
  if (exportBox) exportBox.addEventListener('toggle', updateExport);
  for (const id of [PAGE.exportCsv, PAGE.exportJson]) { const a = $(id); if (a) a.addEventListener('click', updateExport); }
  const tableSensor = $(PAGE.tableSensor);
  tableSensor.addEventListener('change', () => { state.sensor = tableSensor.value; remember(false); showTable(); });
  $(PAGE.tableQ).addEventListener('change', () => { state.quantity = $(PAGE.tableQ).value; showTable(); });
  const menu = $(PAGE.menu);
  if (menu) {
    menu.addEventListener('click', () => {
      const open = $(PAGE.bar).classList.toggle(CLS.menuOpen);
      menu.setAttribute('aria-expanded', String(open));
      menu.textContent = open ? 'Close' : 'Menu';
    });
  }
  const hint = $(PAGE.firstRun);
  if (hint) {
    if (saved('firstRunHidden') === '1') hint.hidden = true;
    $(PAGE.firstRunHide).addEventListener('click', () => { hint.hidden = true; save('firstRunHidden', '1'); });
  }
  showWindow();
}
