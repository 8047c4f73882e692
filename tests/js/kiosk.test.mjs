// A kiosk link's token comes from the #fragment (/kiosk#token=…): browsers never send
// it, so no request line or proxy log holds it (issue 12 item 12). Its own file: node
// runs each in a fresh process, and connection.js starts once per page.
import assert from 'node:assert/strict';
import { test } from 'node:test';

const DIR = new URL('../../static/js/', import.meta.url);
const opened = [];
globalThis.io = (options) => {
  opened.push(options);
  return { on: () => {} };
};

test('start() takes the token from the fragment and keeps the rest of it', async () => {
  const replaced = [];
  globalThis.location = { href: 'http://127.0.0.1:5000/kiosk?x=1#token=k2&view=wall' };
  globalThis.history = { state: null, replaceState: (state, title, url) => replaced.push(url) };
  const { start } = await import(new URL('connection.js', DIR));
  const { session } = await import(new URL('state.js', DIR));
  start();
  // the dashboard takes its readings in batches (one message a tick), token or not
  assert.deepEqual(opened.map((o) => o.auth), [{ token: 'k2', batch: true }]);
  assert.deepEqual(replaced, ['/kiosk?x=1#view=wall']);
  assert.equal(session.token, 'k2');
});
