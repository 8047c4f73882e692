/* The admin page's entry: tabs by #hash, the shared room list, each section's module. */
import { call } from './api.js';
import { loadAudit } from './audit.js';
import { loadConfig, wireConfig } from './config.js';
import { say } from './dom.js';
import { loadTokens, wireTokens } from './tokens.js';
import { loadUsers, wireUsers } from './users.js';

const LOADERS = { users: loadUsers, tokens: loadTokens, config: loadConfig, audit: loadAudit };
const flash = document.getElementById('flash');
/** What every section shares: the rooms of the running config, and how to tell the admin. */
export const page = {
  rooms: [],
  flash: (text, error = false) => say(flash, text, error),
  refresh: () => show(current()),
};

function current() {
  const tab = location.hash.slice(1);
  return tab in LOADERS ? tab : 'users';
}

async function show(tab) {
  delete document.body.dataset.loaded;
  page.flash('');  // a message belongs to the tab it was said on
  for (const section of document.querySelectorAll('.adm-tab')) section.hidden = section.id !== tab;
  for (const link of document.querySelectorAll('[data-tab]')) {
    if (link.dataset.tab === tab) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  try {
    await LOADERS[tab](page);
  } catch (error) {
    page.flash(error.message, true);
  }
  document.body.dataset.ready = '1';  // tests wait for these two
  document.body.dataset.loaded = tab;
}

async function start() {
  try {
    page.rooms = (await call('GET', '/api/admin/config')).rooms;
  } catch (error) {
    page.flash(error.message, true);
  }
  wireUsers(page);
  wireTokens(page);
  wireConfig(page);
  addEventListener('hashchange', () => show(current()));
  await show(current());
}

start();
