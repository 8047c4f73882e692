/* The page's DOM contract in one place: every id, class, data attribute and CSS property
   that templates/dashboard.html and static/app.css share with the scripts. Other modules
   reach the page only through these names and helpers. Nothing here runs at import.

   Data attributes: body[data-ready="1"] once history is in (tests wait on it);
   #conn[data-state]; .room[data-room]; .card[data-sensor][data-state]; the toggle
   buttons [data-range] and [data-unit]. */

/** Elements of the page, by selector. */
export const PAGE = {
  conn: '#conn',  // connection status: data-state connecting | live | reconnecting | down
  rooms: '#rooms',  // room sections go here
  alerts: '#alerts',  // the banner of firing alerts
  history: '#history',  // <details> of the alert history, loaded when opened
  alertList: '#alert-list',
  card: '#card',  // <template> of one sensor card
  user: '.who .user',  // who is watching; filled in for a kiosk's token
  logout: '.who form',  // there when logged in with a password
};

/** Parts of a card: class names inside the #card template. */
const PARTS = ['name', 'badge', 't', 'tu', 'h', 'trend', 'mm', 'dew', 'err', 'ago', 'more', 'health'];

/** Classes the scripts set (app.css styles them). */
export const CLS = {
  room: 'room', cards: 'cards', empty: 'empty',
  stale: 'stale', noted: 'noted', alarm: 'alarm', nodata: 'nodata',  // on a card
  firing: 'firing',  // an alert history entry
};

/** Chart colours: CSS custom properties on :root, with light and dark values. */
const COLOURS = ['temp', 'band', 'hum', 'muted', 'grid'];

export const $ = (sel, el = document) => el.querySelector(sel);
/** A new element with properties: create('li', {className: 'firing', textContent: '…'}). */
export const create = (tag, props) => Object.assign(document.createElement(tag), props);

/** A new card from the template: {card, canvas, name, badge, t, ...} by part. */
export function newCard(id) {
  const card = $(PAGE.card).content.firstElementChild.cloneNode(true);
  card.dataset.sensor = id;
  const el = { card, canvas: $('canvas', card) };
  for (const k of PARTS) el[k] = $(`.${k}`, card);
  return el;
}

/** A room's section; its cards go in the list. */
export function newRoom(room) {
  const section = create('section', { className: CLS.room });
  const list = create('div', { className: CLS.cards });
  section.dataset.room = room.id;
  section.append(create('h2', { textContent: room.name }), list);
  return [section, list];
}

export function setConn(state, text) {
  const conn = $(PAGE.conn);
  conn.dataset.state = state;
  conn.textContent = text;
}

export const setReady = () => { document.body.dataset.ready = '1'; };

/** The buttons of a toggle group: `key` is their data attribute ("range", "unit"). */
export const toggleButtons = (key) => document.querySelectorAll(`[data-${key}]`);

/** The chart colours in force (they follow the light/dark preference). */
export function colours() {
  const css = getComputedStyle(document.documentElement);
  return Object.fromEntries(COLOURS.map((name) => [name, css.getPropertyValue(`--${name}`).trim()]));
}

export const darkScheme = () => matchMedia('(prefers-color-scheme: dark)');
