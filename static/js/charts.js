/* Chart.js setup: one chart per sensor (each quantity it measures with its min-max band,
   a legend, an axis each), the compare overlay's dashed lines, zoom and pan. The one
   module that uses the Chart global, when called: static/vendor/chart.bundle.min.js, a
   build with only what is used here (its entry, tools/chart-bundle.js, registers the line
   controller, linear scales, Filler and Tooltip). Using anything else (a bar chart, a
   time scale, Chart.js's legend) means adding it there and re-running
   tools/refresh_vendor.py. Zoom and pan come later (loadZoom): the charts carry their
   zoom options from the start, and take the plugin up when it is registered. */

import { $, colours, PAGE, setZoomReady } from './dom.js';
import { fix, fmtFull } from './format.js';
import { AXIS, marks } from './marks.js';
import { hooks, state } from './state.js';
import { tickFormat, tickStep, tickValues } from './ticks.js';

export const NAMES = { t: 'temperature', h: 'humidity', p: 'pressure', c: 'CO₂' };
const BAND = { t: 'band', h: 'hband', p: 'pband', c: 'cband' };
const LINE = { t: 'temp', h: 'hum', p: 'pres', c: 'co2' };
const DIGITS = { t: 1, h: 0, p: 1, c: 0 };
export const unitOf = (l) => ({ t: `°${state.unit}`, h: '%', p: 'hPa', c: 'ppm' }[l]);

const line = (label, yAxisID, more) => ({ label, yAxisID, data: [], spanGaps: false, pointRadius: 0,
  tension: 0, legend: false, ...more });

/** The datasets for a sensor's keys (letter, letter+l, letter+h each), then one dashed
    compare line per quantity. */
function datasets(keys) {
  const sets = [];
  for (const key of keys) {
    const l = key[0];
    if (key.length === 1) sets.push(line(NAMES[l], AXIS[l], { borderWidth: l === 't' ? 2 : 1.5, legend: true, dots: true, group: l }));
    else if (key[1] === 'l') sets.push(line('min', AXIS[l], { borderWidth: 0, fill: false, group: l }));
    else sets.push(line('max', AXIS[l], { borderWidth: 0, fill: '-1', group: l }));
  }
  for (const l of keys.filter((k) => k.length === 1)) {
    sets.push(line(NAMES[l], AXIS[l], { borderWidth: 1.2, borderDash: [5, 4], compare: true,
      legend: true, group: `cmp${l}`, letter: l, name: NAMES[l] }));
  }
  return sets;
}

/** The zoom plugin's settings: x only, wheel, pinch, shift-drag box, drag pans. */
function zoomOptions() {
  const done = ({ chart }) => hooks.zoomDone(chart);
  const moving = ({ chart }) => hooks.zoomed(chart);
  return {
    limits: { x: { minRange: 60 } },
    pan: { enabled: true, mode: 'x', threshold: 6, onPan: moving, onPanComplete: done },
    zoom: {
      mode: 'x', wheel: { enabled: true, speed: 0.15 }, pinch: { enabled: true },
      drag: { enabled: true, modifierKey: 'shift', borderWidth: 1 },
      onZoom: moving, onZoomComplete: done,
    },
  };
}

/** x axis ticks on local clock boundaries; the label format follows the step. */
function timeAxis() {
  let step = 600;  // the tick step of the last layout, for its labels
  return {
    type: 'linear',
    afterBuildTicks: (scale) => {  // about one label per 80 px: a phone gets fewer
      step = tickStep(scale.max - scale.min, Math.max(2, Math.min(7, Math.floor(scale.chart.width / 80))));
      scale.ticks = tickValues(scale.min, scale.max, step).map((value) => ({ value }));
    },
    ticks: { callback: (v) => tickFormat(step, state.view.live ? state.view.range : state.view.to - state.view.from)(v), maxRotation: 0, autoSkipPadding: 10 },
  };
}

const POSITION = { t: 'left', h: 'right', p: 'left', c: 'right' };
const valueAxis = (l, position, first) => ({
  position, display: 'auto', grid: { drawOnChartArea: first },
  ticks: { maxTicksLimit: 6, callback: (v) => `${+v.toFixed(l === 't' || l === 'p' ? 1 : 0)}${l === 't' ? '°' : l === 'h' ? '%' : ''}` },
});

/** A chart on `canvas` for a sensor's dataset keys (series.js keysFor), with an axis
    for each quantity in `letters` only: every scale costs on every update, shown or not. */
export function makeChart(canvas, keys, letters = keys.filter((k) => k.length === 1)) {
  const scales = { x: timeAxis() };
  letters.forEach((l, i) => { scales[AXIS[l]] = valueAxis(l, POSITION[l], i === 0); });
  const chart = new Chart(canvas, {
    type: 'line',
    data: { datasets: datasets(keys) },
    options: {
      animation: false, parsing: false, normalized: true, spanGaps: false,
      responsive: true, maintainAspectRatio: false,
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      elements: { point: { radius: 0, hitRadius: 4, hoverRadius: 3 } },
      plugins: {
        tooltip: {
          filter: (item) => item.dataset.legend,
          callbacks: {
            title: (items) => (items.length ? fmtFull(items[0].parsed.x - (items[0].dataset.shift || 0)) : ''),
            label: (item) => {
              const l = item.dataset.letter || item.dataset.group;
              return ` ${item.dataset.label}: ${fix(item.parsed.y, DIGITS[l] ?? 1)} ${unitOf(l) || ''}`;
            },
          },
        },
        zoom: zoomOptions(),
      },
      scales,
    },
    plugins: [marks],
  });
  chart.$marks = { rules: [], episodes: [], unit: state.unit, now: 0, colours: {} };  // marks.js
  canvas.addEventListener('dblclick', () => hooks.reset());
  recolour(chart);
  return chart;
}

let zoomLoad = null;

/** Load the zoom plugin (static/vendor/chart.zoom.min.js) once, and give it to every
    chart. Not needed for the first picture (a fifth of the page's bytes): main.js asks
    once the first charts are drawn, or at the first touch, click, wheel or key. */
export function loadZoom() {
  const url = $(PAGE.chartjs)?.dataset.zoom;
  if (zoomLoad || !url) return zoomLoad;
  zoomLoad = new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = url;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`could not load ${url}`));
    document.head.append(script);
  }).then(() => {
    for (const chart of Object.values(Chart.instances)) chart.update('none');  // plugin starts
    setZoomReady();
  }, (err) => { zoomLoad = null; throw err; });  // the next gesture tries again
  return zoomLoad;
}

/** Take the chart colours from the CSS custom properties (light or dark). */
export function recolour(chart) {
  const c = colours();
  for (const ds of chart.data.datasets) {
    const l = ds.letter || ds.group;
    if (ds.colour) ds.borderColor = c[ds.colour];  // an overlay's sensor line
    else if (ds.compare) ds.borderColor = c[LINE[l]];
    else if (ds.label === 'max') ds.backgroundColor = c[BAND[l]];
    else if (ds.label !== 'min') ds.borderColor = c[LINE[l]];
    if (ds.legend) ds.backgroundColor = ds.borderColor;  // the tooltip's colour box (no fill)
  }
  const scales = chart.options.scales;
  scales.x.ticks.color = c.muted;
  scales.x.grid.color = c.grid;
  for (const [l, axis] of Object.entries(AXIS)) {
    if (!scales[axis]) continue;
    scales[axis].ticks.color = c[LINE[l]];
    scales[axis].grid.color = c.grid;
  }
  chart.options.plugins.zoom.zoom.drag.backgroundColor = c.band;
  chart.$marks.colours = c;
  chart.update('none');
}
