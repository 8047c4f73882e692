/* Sensors compared on one chart: when the address chooses two or more sensors, one line
   per sensor (a colour each) of one quantity, drawn from the series the cards hold. */

import { makeChart, NAMES, recolour, unitOf } from './charts.js';
import { $, PAGE, create } from './dom.js';
import { AXES, fitAxis } from './fit.js';
import { showLegend } from './legend.js';
import { AXIS } from './marks.js';
import { gapOf, LETTER, lineRows } from './series.js';
import { charts, hooks, state } from './state.js';

const PALETTE = ['s1', 's2', 's3', 's4', 's5', 's6', 's7', 's8'];
let chart = null;

/** The sensors overlaid: the chosen ones that are on screen, when there are two or more. */
export function overlaid() {
  if (!state.chosen) return [];
  const shown = state.chosen.map((id) => state.sensors.get(id)).filter(Boolean);
  return shown.length >= 2 ? shown : [];
}

/** Show or hide the overlay for the current choice, with a button per quantity measured. */
export function showOverlay() {
  const box = $(PAGE.overlay);
  if (!box) return;
  const sensors = overlaid();
  box.hidden = !sensors.length;
  if (chart) { chart.destroy(); chart = null; charts.delete('overlay'); }
  if (!sensors.length) return;
  const measured = ['temperature', 'humidity', 'pressure', 'co2']
    .filter((q) => sensors.some((s) => s.quantities.includes(q)));
  if (!measured.includes(state.quantity)) state.quantity = measured[0];
  $(PAGE.overlayQ).replaceChildren(...measured.map((q) => create('button', {
    type: 'button', textContent: NAMES[LETTER[q]],
  })));
  $(PAGE.overlayQ).querySelectorAll('button').forEach((b, i) => {
    b.dataset.quantity = measured[i];
    b.setAttribute('aria-pressed', String(measured[i] === state.quantity));
    b.addEventListener('click', () => { state.quantity = measured[i]; hooks.chose(); showOverlay(); });
  });
  const l = LETTER[state.quantity];
  chart = makeChart($('canvas', box), [], [l]);
  sensors.forEach((s, i) => chart.data.datasets.push({
    label: s.name, yAxisID: AXIS[l], data: [], spanGaps: false, pointRadius: 0, tension: 0,
    borderWidth: 2, legend: true, dots: true, letter: l, group: s.id, colour: PALETTE[i % PALETTE.length],
    sensor: s.id,
  }));
  recolour(chart);
  showLegend(chart, $(PAGE.overlayLegend));
  charts.set('overlay', chart);
}

/** Refill the overlay from the sensors' series and fit its axes to [start, end]. */
export function redrawOverlay(start, end) {
  if (!chart) return;
  const l = LETTER[state.quantity];
  let lo = null, hi = null;
  for (const ds of chart.data.datasets) {
    const s = state.sensors.get(ds.sensor);
    ds.data = s ? lineRows(s.pts, l, state.unit, gapOf(s)) : [];
    for (const p of ds.data) {
      if (p.y == null || p.x < start || p.x > end) continue;
      lo = lo == null ? p.y : Math.min(lo, p.y);
      hi = hi == null ? p.y : Math.max(hi, p.y);
    }
  }
  const scales = chart.options.scales;
  Object.assign(scales.x, { min: start, max: end });
  const minSpan = l === 't' && state.unit === 'F' ? AXES.t.minSpan * 1.8 : AXES[l].minSpan;
  const fit = fitAxis(lo, hi, { ...AXES[l], minSpan });
  Object.assign(scales[AXIS[l]], fit || { min: undefined, max: undefined });
  chart.options.plugins.tooltip.callbacks.label = (item) => ` ${item.dataset.label}: ${item.parsed.y.toFixed(l === 'h' || l === 'c' ? 0 : 1)} ${unitOf(l)}`;
  chart.update('none');
}

