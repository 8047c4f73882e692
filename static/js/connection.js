/* The Socket.IO connection (docs/protocol.md): its status badge, reconnects, and the
   server's events. Nothing connects until start(); it uses the vendored io global. */

import { onAlert, showAlerts } from './alerts.js';
import { build, latest, showNow, showState } from './cards.js';
import { $, PAGE, setConn } from './dom.js';
import { backfill, load, markReady, onReading } from './sync.js';
import { session, state } from './state.js';

/** A kiosk's token: from /kiosk#token=… (a #fragment is never sent, so no server or
    proxy log holds it) or an older link's ?token=…; taken out of the address bar so it
    is not bookmarked or shared. */
function takeToken() {
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
  }
  return token;
}

function onSnapshot(snap) {
  state.offset = snap.server_time - Date.now() / 1000;
  state.snapshots++;
  state.retryMs = 2000;
  if (snap.user && !$(PAGE.logout)) $(PAGE.user).textContent = snap.user.name;  // a kiosk's token
  const key = JSON.stringify([snap.rooms, snap.sensors.map((x) => [x.id, x.name, x.room, x.interval])]);
  state.alerts = new Map((snap.alerts || []).map((a) => [`${a.sensor} ${a.kind}`, a]));
  if (key !== state.key) {
    state.key = key;
    build(snap);
    for (const s of state.sensors.values()) load(s);
  } else {
    for (const info of snap.sensors) {
      const s = state.sensors.get(info.id);
      s.st = info.state;
      const l = info.latest;
      if (l && (!s.latest || l.ts > s.latest.ts)) s.latest = latest(l);
      s.seq = null;
      backfill(s);  // a reconnect: fetch what the blip missed
      showNow(s);
    }
  }
  showAlerts();
  markReady();
}

/** Connect, and keep the status badge and the dashboard in step with the server. */
export function start() {
  const token = takeToken();
  const socket = io({ transports: ['websocket', 'polling'], tryAllTransports: true, ...(token ? { auth: { token } } : {}) });
  Object.assign(session, { socket, token });

  socket.on('connect', () => setConn('live', 'live'));
  socket.on('disconnect', (reason) => {
    if (reason === 'io client disconnect') { setConn('down', 'disconnected'); return; }
    setConn('reconnecting', 'reconnecting');
    if (reason === 'io server disconnect') {  // rights changed: come back to learn them
      setTimeout(() => socket.connect(), state.retryMs);
      state.retryMs = Math.min(state.retryMs * 2, 60000);
    }
  });
  socket.on('connect_error', (err) => {
    if (socket.active) { setConn('reconnecting', 'reconnecting'); return; }
    setConn('down', err.message || 'refused');
    if (!token && /authentication required|session expired/.test(err.message)) location.assign('/login');
  });

  socket.on('snapshot', onSnapshot);
  socket.on('reading', onReading);
  socket.on('alert', onAlert);
  socket.on('sensor_state', (msg) => {
    const s = state.sensors.get(msg.sensor);
    if (s) { s.st = msg; showState(s); }
  });
  return socket;
}
