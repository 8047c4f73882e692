/* Alerts: the banner of firing ones (with Acknowledge for people logged in), the cards'
   alarm frame, the history list, and the episodes the charts shade. */

import { showState } from './cards.js';
import { $, CLS, PAGE, create } from './dom.js';
import { windowOf } from './fit.js';
import { describeAlert, fmtFull, fmtTime } from './format.js';
import { redrawAll } from './redraw.js';
import { serverNow, session, state } from './state.js';

const nameOf = (id) => { const s = state.sensors.get(id); return s ? s.name : id; };
const describe = (a) => describeAlert(a, state.unit);

function acknowledge(a, button) {
  button.disabled = true;
  session.socket.emit('acknowledge', { sensor: a.sensor, kind: a.kind }, (answer) => {
    if (answer && answer.alert) onAlert({ ...answer.alert, state: 'acknowledged' });
    else { button.disabled = false; button.title = (answer && answer.error) || 'no answer'; }
  });
}

function line(a) {
  const p = create('p', { textContent: `⚠ ${nameOf(a.sensor)}: ${describe(a)} since ${fmtFull(a.since)}` });
  if (a.acked) {
    p.classList.add(CLS.acked);
    p.append(create('span', { className: 'who', textContent: ` · acknowledged by ${a.acked_by} at ${fmtTime(a.acked)}` }));
  } else if (state.user && !state.kiosk) {
    const button = create('button', { type: 'button', className: 'ack', textContent: 'Acknowledge' });
    button.addEventListener('click', () => acknowledge(a, button));
    p.append(' ', button);
  }
  return p;
}

export function showAlerts() {
  const box = $(PAGE.alerts);
  const all = [...state.alerts.values()];
  box.replaceChildren(...all.map(line));
  box.hidden = !all.length;
  box.classList.toggle(CLS.acked, all.length > 0 && all.every((a) => a.acked));
  for (const s of state.sensors.values()) showState(s);
}

function loadHistory() {
  session.socket.emit('alert_history', { limit: 50 }, (answer) => {
    const items = (answer.alerts || []).map((a) => {
      const end = a.cleared == null ? 'still firing' : `cleared ${fmtFull(a.cleared)}`;
      const acked = a.acked ? `, acknowledged by ${a.acked_by}` : '';
      return create('li', {
        className: a.cleared == null ? CLS.firing : '',
        textContent: `${nameOf(a.sensor)}: ${describe(a)}, ${fmtFull(a.since)} – ${end}${acked}`,
      });
    });
    $(PAGE.alertList).replaceChildren(...items);
    $(PAGE.alertList).hidden = !items.length;
    $(PAGE.alertNone).hidden = !!items.length;
  });
}

const historyOpen = () => { const h = $(PAGE.history); return !!h && h.open; };

/** Load the alert history whenever it is opened. */
export function wireHistory() {
  const h = $(PAGE.history);
  if (h) h.addEventListener('toggle', () => historyOpen() && loadHistory());
}

/** The alert episodes that overlap the window, per sensor, for the charts' shading. */
export function loadEpisodes() {
  if (!session.socket || !session.socket.connected) return;
  const [start] = windowOf(state.view, serverNow());
  session.socket.emit('alert_history', { since: start, limit: 500 }, (answer) => {
    const by = new Map();
    for (const a of (answer && answer.alerts) || []) {
      if (a.kind === 'offline') continue;  // the chart's gap already says it
      if (!by.has(a.sensor)) by.set(a.sensor, []);
      by.get(a.sensor).push([a.since, a.cleared]);
    }
    state.episodes = by;
    redrawAll();
  });
}

/** An alert event: it fires, is acknowledged, or clears. */
export function onAlert(a) {
  const key = `${a.sensor} ${a.kind}`;
  if (a.state === 'cleared') state.alerts.delete(key);
  else state.alerts.set(key, { ...a, state: 'firing' });
  if (a.kind !== 'offline') {  // the chart's shading follows
    const list = state.episodes.get(a.sensor) || [];
    const open = list.find((e) => e[0] === a.since || (a.state === 'cleared' && e[1] == null));
    if (a.state === 'firing' && !open) list.push([a.since, null]);
    if (a.state === 'cleared' && open) open[1] = a.since;
    state.episodes.set(a.sensor, list);
  }
  showAlerts();
  if (historyOpen()) loadHistory();
}
