/* The Tokens tab: every token (label, owner, rooms, created, last used), a new one shown
   once, with its kiosk link as a URL and a QR code made on the server (no image from
   anywhere else), and revoking one. */
import { call } from './api.js';
import { confirmButton, el, roomBoxes, ticked, when } from './dom.js';
import { showSecret } from './users.js';

/** The server's SVG as a node of this page (parsed as SVG: no HTML, no script). */
function svgNode(markup) {
  const parsed = new DOMParser().parseFromString(markup, 'image/svg+xml').documentElement;
  if (parsed.nodeName !== 'svg') return el('p', { class: 'adm-error' }, 'no QR code');
  return document.importNode(parsed, true);
}

function row(page, token) {
  const rooms = token.rooms === null ? 'the user\'s own rights'
    : `kiosk: ${token.rooms.map((id) => page.rooms.find((r) => r.id === id)?.name || id).join(', ')}`;
  return el('article', { class: 'adm-card', dataset: { token: String(token.id) } },
    el('header', {}, el('h3', {}, token.label || `token ${token.id}`),
      el('span', { class: 'adm-badge adm-owner' }, token.user)),
    el('p', { class: 'adm-meta' }, el('span', {}, rooms), el('span', {}, `#${token.id}`),
      el('span', {}, `made ${when(token.created)}`), el('span', {}, `last used ${when(token.last_used)}`)),
    el('div', { class: 'adm-buttons' }, confirmButton('Revoke', 'Really revoke?', async () => {
      try {
        await call('DELETE', `/api/tokens/${token.id}`);
        page.flash(`token ${token.id} revoked`);
      } catch (error) {
        page.flash(error.message, true);
      }
      await loadTokens(page);
    })));
}

/** Read the tokens (and the users to make them for) again and draw them. */
export async function loadTokens(page) {
  const [{ tokens }, { users }] = await Promise.all([call('GET', '/api/tokens'), call('GET', '/api/users')]);
  const list = document.getElementById('token-list');
  list.replaceChildren(...tokens.map((t) => row(page, t)));
  list.dataset.count = String(tokens.length);
  const select = document.getElementById('token-user');
  const chosen = select.value;
  select.replaceChildren(...users.map((u) => el('option', { value: u.name, selected: u.name === chosen }, u.name)));
}

/** The new-token form. */
export function wireTokens(page) {
  const form = document.getElementById('add-token');
  roomBoxes(form.querySelector('[data-rooms="token"]'), page.rooms);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const rooms = ticked(form);
    try {
      const answer = await call('POST', '/api/tokens', {
        user: form.elements.user.value, label: form.elements.label.value,
        rooms: rooms.length ? rooms : null,
      });
      const kiosk = rooms.length ? [
        el('p', {}, 'Kiosk link: open it on the wall tablet, or scan the code with its camera.'),
        el('a', { class: 'adm-code adm-kiosk-url', href: answer.kiosk_url, target: '_blank', rel: 'noreferrer' }, answer.kiosk_url),
        el('div', { class: 'adm-qr' }, svgNode(answer.qr_svg)),
      ] : [];
      showSecret(document.getElementById('token-secret'),
        `Token ${answer.token.id} for ${answer.token.user}`, answer.secret, kiosk);
      form.elements.label.value = '';
      page.flash(`token ${answer.token.id} created`);
    } catch (error) {
      page.flash(error.message, true);
    }
    await loadTokens(page);
  });
}
