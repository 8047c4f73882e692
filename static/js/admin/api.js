/* The admin and account pages' one way to the server: JSON in and out, with the
   session's CSRF token (from <meta name="csrf-token">) on every change. An error
   answer becomes an Error carrying the server's one-line reason. Nothing runs at import. */

/** The CSRF token the page was served with. */
function csrf() {
  const meta = globalThis.document?.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : '';
}

/** Call the API: `call('PATCH', '/api/users/bob', {rooms: ['a']})` -> the answer's JSON. */
export async function call(method, path, body, fetcher = globalThis.fetch) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET') headers['X-CSRF-Token'] = csrf();
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const answer = await fetcher(path, {
    method, headers, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await answer.json(); } catch { data = null; }
  if (!answer.ok) {
    const reason = data && typeof data.error === 'string' ? data.error : `HTTP ${answer.status}`;
    const error = new Error(reason);
    error.status = answer.status;
    throw error;
  }
  return data;
}
