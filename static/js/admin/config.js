/* The Rooms & sensors tab: the config as it runs, each sensor's state and health, and
   two buttons: check config.yaml on disk (applies nothing) and reload it now. */
import { call } from './api.js';
import { el, when } from './dom.js';

/** A sensor's read health in a few words: "98 good of 100, 0 power cycles". */
export function healthText(health) {
  if (!health || !health.attempts) return 'no reads yet';
  const failures = Object.entries(health.failures || {}).map(([kind, n]) => `${n} ${kind}`);
  return [`${health.good} good of ${health.attempts}`, ...failures,
    `${health.power_cycles} power cycle${health.power_cycles === 1 ? '' : 's'}`].join(', ');
}

function sensorRow(sensor) {
  const latest = sensor.latest;
  const values = latest ? sensor.quantities.map((q) => latest[q]).filter((v) => v !== null).join(' / ') : '—';
  return el('tr', { dataset: { sensor: sensor.id, state: sensor.state.state } },
    el('td', {}, el('strong', {}, sensor.name), el('br'), el('small', {}, sensor.id)),
    el('td', {}, sensor.driver || ''),
    el('td', {}, `${sensor.interval} s`),
    el('td', {}, el('span', { class: `adm-state adm-${sensor.state.state}` }, sensor.state.state),
      sensor.state.error ? el('small', { class: 'adm-error' }, ` ${sensor.state.error}`) : ''),
    el('td', {}, values),
    el('td', {}, healthText(sensor.health)));
}

function showResult(result) {
  const box = document.getElementById('config-result');
  box.replaceChildren(el('p', {}, el('strong', {}, result.ok ? 'OK: ' : 'Not applied: '), result.message),
    ...(result.errors || []).map((e) => el('code', { class: 'adm-code' }, e)));
  box.classList.toggle('adm-bad', !result.ok);
  box.hidden = false;
}

/** Read the running config again and draw it. */
export async function loadConfig(page) {
  const data = await call('GET', '/api/admin/config');
  page.rooms = data.rooms;
  const last = data.last_reload;
  document.getElementById('config-source').textContent =
    `${data.source}${last ? ` · last reload: ${last.ok ? 'ok' : 'refused'}: ${last.message}` : ''}`;
  const rooms = data.rooms.map((room) => el('div', { class: 'adm-panel', dataset: { room: room.id } },
    el('h3', {}, room.name, ' ', el('small', {}, `${room.id}${room.public ? ' · public' : ''}`)),
    el('div', { class: 'adm-scroll' }, el('table', { class: 'adm-table adm-stack' },
      el('thead', {}, el('tr', {}, ['Sensor', 'Driver', 'Every', 'State', 'Latest', 'Health'].map((h) => el('th', {}, h)))),
      el('tbody', {}, data.sensors.filter((s) => s.room === room.id).map(sensorRow))))));
  document.getElementById('room-list').replaceChildren(...rooms,
    el('p', { class: 'adm-muted' }, `read at ${when(Date.now() / 1000)}`));
}

/** The check and reload buttons. */
export function wireConfig(page) {
  for (const [id, path] of [['check-config', '/api/admin/check-config'], ['reload-config', '/api/admin/reload']]) {
    document.getElementById(id).addEventListener('click', async (event) => {
      event.currentTarget.disabled = true;
      try {
        showResult(await call('POST', path));
        if (id === 'reload-config') await loadConfig(page);
      } catch (error) {
        page.flash(error.message, true);
      } finally {
        document.getElementById(id).disabled = false;
      }
    });
  }
}
