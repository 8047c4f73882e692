/* The Users tab: list, add, change rooms / admin / disabled, reset a password, remove.
   Every change goes through the JSON API (the same rules as for scripts), and the
   list is read again after it: what shows is what the server holds. */
import { call } from './api.js';
import { confirmButton, el, roomBoxes, ticked, when } from './dom.js';

const list = () => document.getElementById('user-list');
const secretBox = () => document.getElementById('secret');

/** Show a password the server made, once: it is not kept anywhere readable. */
export function showSecret(box, title, secret, extra = []) {
  box.replaceChildren(
    el('p', {}, el('strong', {}, title), ' (shown once: copy it now)'),
    el('code', { class: 'adm-code', dataset: { secret: '1' } }, secret),
    ...extra,
    el('button', { type: 'button', class: 'adm-ghost', onclick: () => { box.hidden = true; } },
      'Done'));
  box.hidden = false;
  box.scrollIntoView({ block: 'nearest' });
}

function roomNames(page, ids) {
  const names = new Map(page.rooms.map((r) => [r.id, r.name]));
  return ids.map((id) => names.get(id) || id).join(', ') || 'no room';
}

function card(page, user) {
  const form = el('form', { class: 'adm-form' });
  const rooms = el('fieldset', { class: 'adm-rooms' }, el('legend', {}, 'Rooms'));
  roomBoxes(rooms, page.rooms, user.rooms);
  form.append(rooms,
    el('label', { class: 'adm-check' }, el('input', { type: 'checkbox', name: 'admin', checked: user.admin }), ' admin'),
    el('label', { class: 'adm-check' }, el('input', { type: 'checkbox', name: 'disabled', checked: user.disabled }), ' disabled (can not log in; tokens paused)'),
    el('button', { type: 'submit', class: 'adm-primary' }, 'Save'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    act(page, 'PATCH', user.name, {
      rooms: ticked(form), admin: form.elements.admin.checked,
      disabled: form.elements.disabled.checked,
    }, `${user.name} saved`);
  });
  const badges = [user.admin && el('span', { class: 'adm-badge' }, 'admin'),
    user.disabled && el('span', { class: 'adm-badge adm-off' }, 'disabled')];
  return el('article', { class: 'adm-card', dataset: { user: user.name } },
    el('header', {}, el('h3', {}, user.name), ...badges),
    el('p', { class: 'adm-meta' },
      el('span', { class: 'adm-user-rooms' }, user.admin ? 'every room' : roomNames(page, user.rooms)),
      el('span', {}, `last login ${when(user.last_login)}`),
      el('span', {}, `${user.sessions} session${user.sessions === 1 ? '' : 's'}`),
      el('span', {}, `${user.tokens} token${user.tokens === 1 ? '' : 's'}`)),
    el('details', { class: 'adm-edit' }, el('summary', {}, 'Change rooms and rights'), form),
    el('div', { class: 'adm-buttons' },
      el('button', {
        type: 'button', class: 'adm-ghost',
        onclick: () => act(page, 'PATCH', user.name, { password: true }, null),
      }, 'Reset password'),
      confirmButton('Remove', `Really remove ${user.name}?`,
        () => act(page, 'DELETE', user.name, undefined, `${user.name} removed`))));
}

async function act(page, method, name, body, done) {
  try {
    const answer = await call(method, `/api/users/${encodeURIComponent(name)}`, body);
    if (answer.password) showSecret(secretBox(), `New password for ${name}`, answer.password);
    if (done) page.flash(done);
  } catch (error) {
    page.flash(error.message, true);
  }
  await loadUsers(page);
}

/** Read the users again and draw them. */
export async function loadUsers(page) {
  const { users } = await call('GET', '/api/users');
  list().replaceChildren(...users.map((u) => card(page, u)));
  list().dataset.count = String(users.length);
}

/** The add-user form. */
export function wireUsers(page) {
  const form = document.getElementById('add-user');
  roomBoxes(form.querySelector('[data-rooms="add"]'), page.rooms);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const name = form.elements.name.value.trim();
    try {
      const answer = await call('POST', '/api/users', {
        name, admin: form.elements.admin.checked, rooms: ticked(form),
      });
      showSecret(secretBox(), `Password for ${name}`, answer.password);
      form.reset();
      page.flash(`${name} added`);
    } catch (error) {
      page.flash(error.message, true);
    }
    await loadUsers(page);
  });
}
