/* Chart.js setup: one line chart per sensor (temperature with its min-max band, humidity
   on a second axis), coloured from the CSS. Uses the vendored Chart global when called. */

import { colours } from './dom.js';
import { fix, fmtFull } from './format.js';
import { state } from './state.js';
import { tickFormat, tickStep, tickValues } from './ticks.js';

const line = (label, yAxisID, more) => ({ label, yAxisID, data: [], spanGaps: false, pointRadius: 0, tension: 0, ...more });

/** A chart on `canvas` whose datasets series.js fills (temperature, min, max, humidity). */
export function makeChart(canvas) {
  let step = 600;  // the x tick step of the last layout, for its labels
  const buildTicks = (scale) => {
    step = tickStep(scale.max - scale.min);
    scale.ticks = tickValues(scale.min, scale.max, step).map((value) => ({ value }));
  };
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
        x: {
          type: 'linear', afterBuildTicks: buildTicks,
          ticks: { callback: (v) => tickFormat(step, state.range)(v), maxRotation: 0, autoSkipPadding: 10 },
        },
        y: { position: 'left', grace: '5%', ticks: { maxTicksLimit: 6, callback: (v) => `${+v.toFixed(1)}°` } },
        y1: {
          position: 'right', min: 0, max: 100, grid: { drawOnChartArea: false },
          ticks: { stepSize: 25, callback: (v) => `${v}%` },
        },
      },
    },
  });
  recolour(chart);
  return chart;
}

/** Take the chart colours from the CSS custom properties (light or dark). */
export function recolour(chart) {
  const c = colours();
  const [t, , band, h] = chart.data.datasets;
  t.borderColor = c.temp; band.backgroundColor = c.band; h.borderColor = c.hum;
  const { x, y, y1 } = chart.options.scales;
  x.ticks.color = c.muted; y.ticks.color = c.temp; y1.ticks.color = c.hum;
  x.grid.color = y.grid.color = c.grid;
  chart.update('none');
}
