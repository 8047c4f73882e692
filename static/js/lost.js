/* Losing the server is shown so nobody can miss it: after a short grace (a blip is not
   news) a banner (role alert) says since when and what the last data was, the cards go
   grey and their badges say "no connection". A snapshot on reconnect takes it all back. */

import { showState } from './cards.js';
import { $, PAGE, setConnLost } from './dom.js';
import { ago, fmtSeconds } from './format.js';
import { serverNow, state } from './state.js';

export const GRACE_MS = 1500;
let timer = 0;

/** The newest reading time the page has (server clock), or null. */
function lastData() {
  let last = null;
  for (const s of state.sensors.values()) if (s.latest && (last == null || s.latest.ts > last)) last = s.latest.ts;
  return last;
}

/** The banner's text: since when, the last data, what happens next. */
export function lostText(sinceSec, last, now) {
  const data = last == null ? 'no data yet' : `last data ${fmtSeconds(last)} (${ago(now - last)})`;
  return `No connection to the server since ${fmtSeconds(sinceSec)}: ${data}. Reconnecting…`;
}

function show() {
  const banner = $(PAGE.lost);
  banner.textContent = lostText(state.conn.since / 1000 + state.offset, lastData(), serverNow());
  banner.hidden = false;
}

/** The socket went away: say so unless it is back within the grace period. */
export function connectionLost() {
  if (state.conn.since == null) state.conn.since = Date.now();
  if (timer || state.conn.lost) return;
  timer = setTimeout(() => {
    timer = 0;
    state.conn.lost = true;
    setConnLost(true);
    show();
    for (const s of state.sensors.values()) showState(s);
  }, GRACE_MS);
}

/** A snapshot arrived: the server is back. */
export function connectionBack() {
  clearTimeout(timer);
  timer = 0;
  const was = state.conn.lost;
  state.conn = { lost: false, since: null };
  setConnLost(false);
  $(PAGE.lost).hidden = true;
  if (was) for (const s of state.sensors.values()) showState(s);
}

/** Keep the banner's ages moving (the 5-s tick). */
export function tickLost() {
  if (state.conn.lost) show();
}
