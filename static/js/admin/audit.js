/* The Audit log tab: the newest 200 rows; the export links take everything. */
import { call } from './api.js';
import { el, when } from './dom.js';

/** Read the newest rows again and draw them. */
export async function loadAudit() {
  const { entries } = await call('GET', '/api/audit?limit=200');
  const body = document.querySelector('#audit-table tbody');
  body.replaceChildren(...entries.map((e) => el('tr', { dataset: { action: e.action } },
    el('td', {}, when(e.ts)), el('td', {}, e.actor), el('td', {}, e.action),
    el('td', {}, e.target), el('td', {}, e.detail), el('td', {}, e.address))));
  if (!entries.length) body.append(el('tr', {}, el('td', { colspan: 6 }, 'nothing yet')));
}
