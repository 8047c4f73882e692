/* The account page: change your own password, see and end your other sessions. */
import { call } from './api.js';
import { browserName, el, say, when } from './dom.js';

const result = document.getElementById('password-result');

async function loadSessions() {
  const { sessions } = await call('GET', '/api/me');
  const list = document.getElementById('sessions');
  list.replaceChildren(...sessions.map((s) => el('li', { dataset: { current: String(s.current) } },
    el('span', {}, el('strong', {}, browserName(s.user_agent)), s.current ? ' (this browser)' : ''),
    el('small', {}, `from ${s.address || '?'} · since ${when(s.created)} · last seen ${when(s.last_seen)}`),
    s.current ? '' : el('button', {
      type: 'button', class: 'adm-ghost',
      onclick: async () => { await call('DELETE', `/api/me/sessions/${s.id}`); await loadSessions(); },
    }, 'Log out'))));
  document.getElementById('end-others').hidden = sessions.length < 2;
  document.body.dataset.ready = '1';
}

function wire() {
  const form = document.getElementById('password-form');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const { current, new: fresh, again } = form.elements;
    if (fresh.value !== again.value) { say(result, 'The two new passwords differ.', true); return; }
    try {
      await call('POST', '/api/me/password', { current: current.value, new: fresh.value });
      form.reset();
      say(result, 'Password changed; your other sessions are logged out.');
    } catch (error) {
      say(result, error.message, true);
    }
    await loadSessions();
  });
  document.getElementById('end-others').addEventListener('click', async () => {
    await call('DELETE', '/api/me/sessions');
    await loadSessions();
  });
}

wire();
loadSessions().catch((error) => say(result, error.message, true));
