// The admin pages' pure helpers (static/js/admin/): the API call's error handling, the
// words for a sensor's health and a session's browser. No page, no server.
import assert from 'node:assert/strict';
import { test } from 'node:test';

const DIR = new URL('../../static/js/admin/', import.meta.url);
const { call } = await import(new URL('api.js', DIR));
const { browserName } = await import(new URL('dom.js', DIR));
const { healthText } = await import(new URL('config.js', DIR));

function fake(status, body) {
  const sent = [];
  const fetcher = async (path, options) => {
    sent.push({ path, ...options });
    return { ok: status < 400, status, json: async () => { if (body === undefined) throw new Error('no json'); return body; } };
  };
  return { sent, fetcher };
}

test('a change is sent as JSON with the CSRF header; a read without', async () => {
  const { sent, fetcher } = fake(200, { ok: true });
  assert.deepEqual(await call('PATCH', '/api/users/bob', { rooms: ['a'] }, fetcher), { ok: true });
  await call('GET', '/api/users', undefined, fetcher);
  assert.equal(sent[0].method, 'PATCH');
  assert.equal(sent[0].body, '{"rooms":["a"]}');
  assert.equal(sent[0].headers['Content-Type'], 'application/json');
  assert.ok('X-CSRF-Token' in sent[0].headers);
  assert.ok(!('X-CSRF-Token' in sent[1].headers) && sent[1].body === undefined);
});

test("an error answer throws the server's one-line reason, or the status", async () => {
  await assert.rejects(call('DELETE', '/api/users/root', undefined, fake(409, { error: 'root is the last admin' }).fetcher),
    (e) => e.message === 'root is the last admin' && e.status === 409);
  await assert.rejects(call('GET', '/api/users', undefined, fake(502).fetcher), /HTTP 502/);
});

test('health and browsers in words', () => {
  assert.equal(healthText(null), 'no reads yet');
  assert.equal(healthText({ attempts: 10, good: 8, failures: { checksum: 2 }, power_cycles: 1 }),
    '8 good of 10, 2 checksum, 1 power cycle');
  assert.equal(browserName('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36'),
    'Chrome on Linux');
  assert.equal(browserName('Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Version/17.0 Mobile/15E148 Safari/604.1'), 'Safari on iPhone');
  assert.equal(browserName('Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36'),
    'Chrome on Android');
  assert.equal(browserName('Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/120.0 Safari/537.36 Edg/120.0'), 'Edge on Windows');
  assert.equal(browserName(''), 'a browser');
});
