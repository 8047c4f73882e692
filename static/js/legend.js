/* A chart's legend in HTML below it: a button per quantity (per compare line, per sensor
   overlaid), built when the datasets change instead of laid out on every update as
   Chart.js's own legend is. A click hides or shows a quantity's line and band together. */

import { create } from './dom.js';

function toggle(chart, group, button) {
  const show = button.getAttribute('aria-pressed') !== 'true';
  chart.data.datasets.forEach((ds, i) => { if (ds.group === group) chart.setDatasetVisibility(i, show); });
  button.setAttribute('aria-pressed', String(show));
  chart.update('none');
}

/** Fill `box` (a list) with the chart's legend. */
export function showLegend(chart, box) {
  if (!box) return;
  const seen = new Set();
  const items = [];
  chart.data.datasets.forEach((ds, i) => {
    if (!ds.legend || seen.has(ds.group) || (ds.compare && !ds.data.length)) return;
    seen.add(ds.group);
    const button = create('button', { type: 'button', textContent: ds.label });
    button.setAttribute('aria-pressed', String(chart.isDatasetVisible(i)));
    button.style.setProperty('--key', ds.borderColor);  // CSSOM: allowed by the CSP
    if (ds.compare) button.classList.add('dashed');
    button.addEventListener('click', () => toggle(chart, ds.group, button));
    const li = create('li', {});
    li.append(button);
    items.push(li);
  });
  box.replaceChildren(...items);
}
