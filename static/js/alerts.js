/* Alerts: the banner of firing ones (and the cards' alarm frame), and the history list. */

import { showState } from './cards.js';
import { $, CLS, PAGE, create } from './dom.js';
import { describeAlert, fmtFull } from './format.js';
import { session, state } from './state.js';

const nameOf = (id) => { const s = state.sensors.get(id); return s ? s.el.name.textContent : id; };
const describe = (a) => describeAlert(a, state.unit);

export function showAlerts() {
  const box = $(PAGE.alerts);
  const lines = [...state.alerts.values()].map((a) => create('p', {
    textContent: `⚠ ${nameOf(a.sensor)}: ${describe(a)} since ${fmtFull(a.since)}`,
  }));
  box.replaceChildren(...lines);
  box.hidden = !lines.length;
  for (const s of state.sensors.values()) showState(s);
}

function loadHistory() {
  session.socket.emit('alert_history', { limit: 50 }, (answer) => {
    const items = (answer.alerts || []).map((a) => {
      const end = a.cleared == null ? 'still firing' : `cleared ${fmtFull(a.cleared)}`;
      return create('li', {
        className: a.cleared == null ? CLS.firing : '',
        textContent: `${nameOf(a.sensor)}: ${describe(a)}, ${fmtFull(a.since)} – ${end}`,
      });
    });
    $(PAGE.alertList).replaceChildren(...(items.length ? items : [create('li', { textContent: 'No alerts yet.' })]));
  });
}

const historyOpen = () => $(PAGE.history).open;

/** Load the alert history whenever it is opened. */
export function wireHistory() {
  $(PAGE.history).addEventListener('toggle', () => historyOpen() && loadHistory());
}

/** An alert event: it starts or stops firing. */
export function onAlert(a) {
  if (a.state === 'firing') state.alerts.set(`${a.sensor} ${a.kind}`, a);
  else state.alerts.delete(`${a.sensor} ${a.kind}`);
  showAlerts();
  if (historyOpen()) loadHistory();
}
