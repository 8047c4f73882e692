// Every module but the entry imports in Node: none touches the page or opens the socket
// at import time. connection.js start() is what connects (static/js/*.js).
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';

const DIR = new URL('../../static/js/', import.meta.url);
const opened = [];
const handlers = new Map();
globalThis.io = (options) => {
  opened.push(options);
  return { on: (event, fn) => handlers.set(event, fn) };
};

test('importing a module opens no connection and needs no page', async () => {
  const modules = readdirSync(DIR).filter((f) => f.endsWith('.js') && f !== 'main.js');
  assert.ok(modules.length >= 10, modules);
  for (const name of modules) await import(new URL(name, DIR));  // no document, window, Chart here
  assert.deepEqual(opened, []);
});

test('start() connects once, with a kiosk token taken out of the address bar', async () => {
  const replaced = [];
  globalThis.location = { href: 'http://127.0.0.1:5000/?token=k1&x=1#top' };
  globalThis.history = { state: null, replaceState: (state, title, url) => replaced.push(url) };
  const kept = new Map();
  globalThis.sessionStorage = { setItem: (k, v) => kept.set(k, v), getItem: (k) => kept.get(k) ?? null };
  const { start } = await import(new URL('connection.js', DIR));
  const { session } = await import(new URL('state.js', DIR));
  start();
  assert.equal(opened.length, 1);
  assert.deepEqual(opened[0].auth, { token: 'k1', batch: true }, 'the dashboard takes readings in batches');
  assert.deepEqual(replaced, ['/?x=1#top']);
  assert.equal(session.token, 'k1');
  assert.equal(kept.get('sensorhub.token'), 'k1', 'kept for this tab: a kiosk reload signs in again');
  for (const event of ['connect', 'disconnect', 'connect_error', 'snapshot', 'reading', 'readings', 'alert', 'sensor_state']) {
    assert.equal(typeof handlers.get(event), 'function', event);
  }
});

test('a kiosk link /kiosk#token=… gives its token from the fragment, which no log holds', async () => {
  const replaced = [];
  const kept = new Map();
  globalThis.sessionStorage = { setItem: (k, v) => kept.set(k, v), getItem: (k) => kept.get(k) ?? null };
  globalThis.history = { state: null, replaceState: (state, title, url) => replaced.push(url) };
  const { takeToken } = await import(new URL('connection.js', DIR));
  globalThis.location = { href: 'http://127.0.0.1:5000/kiosk?range=24h#token=k2&x=1' };
  assert.equal(takeToken(), 'k2');
  assert.deepEqual(replaced, ['/kiosk?range=24h#x=1']);
  globalThis.location = { href: 'http://127.0.0.1:5000/kiosk' };  // reloaded: from the tab
  assert.equal(takeToken(), 'k2');
  assert.equal(replaced.length, 1, 'nothing left to take out');
});
