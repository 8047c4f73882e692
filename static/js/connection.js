/* The Socket.IO connection (docs/protocol.md): its status badge, reconnects, and the
   server's events. Nothing connects until start(); it uses the vendored io global.
   The dashboard takes readings in batches ({"batch": true}: one `readings` message per
   tick of a room) and still understands single `reading` events. */

import { onAlert, showAlerts, loadEpisodes } from './alerts.js';
import { build, latest, showNow, showState } from './cards.js';
import { $, PAGE, setConn } from './dom.js';
import { connectionBack, connectionLost } from './lost.js';
import { showOverlay } from './overlay.js';
import { hooks, session, state } from './state.js';
import { backfill, load, markReady, onReading } from './sync.js';

const TOKEN_KEY = 'sensorhub.token';

/** A kiosk's token: from /kiosk#token=… (a #fragment is never sent, so no server or
    proxy log holds it) or an older link's ?token=…; taken out of the address bar so it
    is not bookmarked or shared, and kept for this tab so a reload still signs in. */
export function takeToken() {
  const url = new URL(location.href);
  const fragment = new URLSearchParams(url.hash.slice(1));
  const fromFragment = fragment.get('token');
  const token = fromFragment || url.searchParams.get('token');
  if (token) {
    url.searchParams.delete('token');
    let hash = url.hash;
    if (fromFragment) {
      fragment.delete('token');
      hash = fragment.toString() ? `#${fragment}` : '';
    }
    history.replaceState(history.state, '', url.pathname + url.search + hash);
    try { sessionStorage.setItem(TOKEN_KEY, token); } catch { /* storage off */ }
    return token;
  }
  try { return sessionStorage.getItem(TOKEN_KEY); } catch { return null; }
}

function onSnapshot(snap) {
  state.offset = snap.server_time - Date.now() / 1000;
  state.snapshots++;
  state.retryMs = 2000;
  state.boot = snap.boot;
  state.user = snap.user;
  connectionBack();
  const user = $(PAGE.user);
  if (snap.user && user && !$(PAGE.logout)) user.textContent = snap.user.name;  // a token
  state.all = snap.sensors.map((x) => ({ id: x.id, name: x.name, room: x.room, quantities: x.quantities }));
  const key = JSON.stringify([snap.rooms, snap.sensors.map((x) => [x.id, x.name, x.room, x.interval]), state.chosen]);
  state.alerts = new Map((snap.alerts || []).map((a) => [`${a.sensor} ${a.kind}`, a]));
  if (key !== state.key) {
    state.key = key;
    state.snap = snap;
    build(snap);
    showOverlay();
    for (const s of state.sensors.values()) load(s);
    hooks.built();
  } else {
    for (const info of snap.sensors) {
      const s = state.sensors.get(info.id);
      if (!s) continue;
      s.st = info.state;
      const l = info.latest;
      if (l && (!s.latest || l.ts > s.latest.ts)) s.latest = latest(l);
      s.seq = null;
      backfill(s);  // a reconnect: fetch what the blip (or the restart) missed
      showNow(s);
    }
  }
  loadEpisodes();
  showAlerts();
  markReady();
}

/** Connect, and keep the status badge and the dashboard in step with the server. */
export function start() {
  const token = takeToken();
  const auth = { ...(token ? { token } : {}), batch: true };
  const socket = io({ transports: ['websocket', 'polling'], tryAllTransports: true, auth });
  Object.assign(session, { socket, token });

  socket.on('connect', () => setConn('live', 'live'));
  socket.on('disconnect', (reason) => {
    connectionLost();
    if (reason === 'io client disconnect') { setConn('down', 'disconnected'); return; }
    setConn('reconnecting', 'reconnecting');
    if (reason === 'io server disconnect') {  // rights changed: come back to learn them
      setTimeout(() => socket.connect(), state.retryMs);
      state.retryMs = Math.min(state.retryMs * 2, 60000);
    }
  });
  socket.on('connect_error', (err) => {
    connectionLost();
    if (socket.active) { setConn('reconnecting', 'reconnecting'); return; }
    setConn('down', err.message || 'refused');
    if (!token && /authentication required|session expired/.test(err.message)) location.assign('/login');
  });

  socket.on('snapshot', onSnapshot);
  socket.on('reading', onReading);
  socket.on('readings', (list) => { for (const r of list) onReading(r); });
  socket.on('alert', onAlert);
  socket.on('sensor_state', (msg) => {
    const s = state.sensors.get(msg.sensor);
    if (s) { s.st = msg; showState(s); }
  });
  return socket;
}
