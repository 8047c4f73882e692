/* Keeps each sensor's series in step with the server: history for the range, backfill of
   what a blip or a lost message missed, live readings in order (queued while loading). */

import { latest, showNow } from './cards.js';
import { setReady } from './dom.js';
import { redraw } from './redraw.js';
import { absorb, applyReading, ms, rebuild, replace } from './series.js';
import { lastTs, serverNow, session, state } from './state.js';

const MAX_POINTS = 600;  // buckets asked per chart; the server downsamples
const ACK_MS = 15000;
const MAX_QUEUE = 20000;  // live readings kept while history loads

/** Ask for history; retried when unanswered or rate limited (the limit is per 10 s). */
function ask(s, since, until, done, tries = 4) {
  const gen = s.gen;
  session.socket.timeout(ACK_MS).emit('history', { sensor: s.id, since, until, max_points: MAX_POINTS }, (err, ans) => {
    if (gen !== s.gen || state.sensors.get(s.id) !== s) return;  // superseded
    const error = err ? 'no answer' : ans && ans.error;
    if (error && tries > 1 && (err || /too many/.test(error))) {
      setTimeout(() => { if (gen === s.gen) ask(s, since, until, done, tries - 1); }, 2500 * (5 - tries));
      return;
    }
    done(error ? null : ans, error);
  });
}

// The server truncates `until` to ms but rounds reading times: ask 1 ms past the last reading.
const upTo = (s) => Math.max(serverNow(), (lastTs.get(s.id) || 0) + 0.001);

function begin(s) {
  s.gen++;
  if (!s.busy) { s.busy = true; state.loading++; }
}

function finish(s, error) {
  s.busy = false;
  state.loading--;
  s.seq = null;  // all up to `until` is in: no gap to detect yet
  s.note = error ? `history: ${error}` : '';
  drain(s);
  markReady();
}

/** Load the whole current range, replacing what the chart shows. */
export function load(s) {
  begin(s);
  const until = upTo(s);
  const range = state.range;
  ask(s, until - range, until, (ans, error) => {
    if (ans) {
      const last = replace(s, ans, until, range);
      lastTs.set(s.id, Math.max(until, last ? last.ts : 0));
      rebuild(s, state.unit);
      s.dirty = false;
    }
    finish(s, error);
  });
}

/** Fetch what was missed since the last reading and merge it in, in order. */
export function backfill(s) {
  const from = lastTs.get(s.id);
  if (from == null || s.range !== state.range || serverNow() - from > state.range) { load(s); return; }
  begin(s);
  const until = upTo(s);
  ask(s, from, until, (ans, error) => {
    if (ans) {
      absorb(s, ans, from, state.unit);
      lastTs.set(s.id, Math.max(until, lastTs.get(s.id)));
    }
    finish(s, error);
  });
}

/** Apply one reading; false when its seq shows readings were missed before it. */
function apply(s, r) {
  const mark = applyReading(s, r, lastTs.get(s.id), state.unit);
  if (mark == null) return false;
  lastTs.set(s.id, mark);
  return true;
}

function drain(s) {
  while (s.queue.length) {
    if (!apply(s, s.queue[0])) { backfill(s); return; }
    s.queue.shift();
  }
  redraw(s);
}

/** A live reading from the socket. */
export function onReading(r) {
  const s = state.sensors.get(r.sensor);
  if (!s) return;
  if (!s.latest || r.ts >= s.latest.ts) s.latest = latest(r);
  if (s.busy) {
    s.queue.push(r);
    if (s.queue.length > MAX_QUEUE) s.queue.shift();
    showNow(s);
    return;
  }
  if (apply(s, r)) redraw(s);
  else { s.queue.push(r); backfill(s); }
  showNow(s);
}

/** body[data-ready] once a snapshot came and no history is loading. */
export function markReady() {
  if (state.snapshots && !state.loading) setReady();
}
