/* Alerts on a chart: the sensor's thresholds as dashed lines, the times its alerts fired
   as shaded spans. A Chart.js plugin object given to each card's chart (not registered
   globally); what it draws is in chart.$marks = {rules, episodes, unit}. */

import { toUnit } from './format.js';
import { lone } from './series.js';

export const AXIS = { t: 'y', h: 'y1', p: 'yp', c: 'yc' };
const LETTER = { temperature: 't', humidity: 'h', pressure: 'p', co2: 'c' };
const UNIT = { t: '°', h: '%', p: ' hPa', c: ' ppm' };

/** The thresholds of a sensor's rules on their axes: [{axis, value, label, quantity}]. */
export function thresholds(rules, unit) {
  return (rules || []).filter((r) => r.kind !== 'offline' && LETTER[r.kind.split('_')[0]])
    .map((r) => {
      const [q, op] = r.kind.split('_');
      const l = LETTER[q];
      const value = l === 't' ? toUnit(r.threshold, unit) : r.threshold;
      const name = l === 't' ? '' : `${q === 'co2' ? 'CO₂' : q} `;  // not on the temperature axis
      return { axis: AXIS[l], value, label: `${name}${op} ${+value.toFixed(1)}${UNIT[l]}`, quantity: q };
    });
}

/** Episodes clipped to [min, max]: [[from, to]] with an open end drawn up to `now`. */
export function spans(episodes, min, max, now) {
  return (episodes || []).map(([a, b]) => [Math.max(a, min), Math.min(b ?? now, max)])
    .filter(([a, b]) => b > a);
}

export const marks = {
  id: 'sensorhubMarks',
  beforeDatasetsDraw(chart) {
    const m = chart.$marks;
    const x = chart.scales.x;
    if (!m || !x || !m.episodes || !m.episodes.length) return;
    const { ctx, chartArea: area } = chart;
    ctx.save();
    ctx.fillStyle = m.colours.alertband;
    for (const [a, b] of spans(m.episodes, x.min, x.max, m.now)) {
      const left = x.getPixelForValue(a), right = x.getPixelForValue(b);
      ctx.fillRect(left, area.top, Math.max(2, right - left), area.bottom - area.top);
    }
    ctx.restore();
  },
  afterDatasetsDraw(chart) {
    drawDots(chart);
    const m = chart.$marks;
    if (!m || !m.rules || !m.rules.length) return;
    const { ctx, chartArea: area } = chart;
    ctx.save();
    ctx.strokeStyle = ctx.fillStyle = m.colours.alert;
    ctx.lineWidth = 1;
    ctx.font = '11px system-ui, sans-serif';
    ctx.setLineDash([5, 4]);
    for (const t of thresholds(m.rules, m.unit)) {
      const scale = chart.scales[t.axis];
      if (!scale) continue;
      const y = scale.getPixelForValue(t.value);
      if (y < area.top || y > area.bottom) {  // off the axis: a marker at the edge
        const edge = y < area.top ? area.top + 10 : area.bottom - 3;
        ctx.fillText(`${y < area.top ? '▲' : '▼'} ${t.label}`, area.left + 4, edge);
        continue;
      }
      ctx.beginPath();
      ctx.moveTo(area.left, y);
      ctx.lineTo(area.right, y);
      ctx.stroke();
      ctx.fillText(t.label, area.left + 4, y - 3);
    }
    ctx.restore();
  },
};

/** A value alone between gaps is drawn as a dot (a line needs two points). Done here,
    not with a scriptable pointRadius, which makes Chart.js resolve every point's
    options on every update. The x of each dot drawn is kept in chart.$marks.dots. */
function drawDots(chart) {
  const dots = [];
  const { ctx, chartArea: area } = chart;
  chart.data.datasets.forEach((ds, i) => {
    if (!ds.dots || !chart.isDatasetVisible(i)) return;
    const x = chart.scales.x, y = chart.scales[ds.yAxisID];
    if (!x || !y) return;
    ctx.save();
    ctx.fillStyle = ds.borderColor;
    ds.data.forEach((d, j) => {
      if (!lone(ds.data, j) || d.x < x.min || d.x > x.max) return;
      const px = x.getPixelForValue(d.x), py = y.getPixelForValue(d.y);
      if (py < area.top || py > area.bottom) return;
      ctx.beginPath();
      ctx.arc(px, py, 2.5, 0, 2 * Math.PI);
      ctx.fill();
      if (i === 0) dots.push(d.x);
    });
    ctx.restore();
  });
  if (chart.$marks) chart.$marks.dots = dots;
}
