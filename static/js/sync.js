/* Keeps each sensor's series in step with the server: history for the view (at the tier
   the server picks for its span), backfill of what a blip or a lost message missed, live
   readings in order (queued while loading), and the shifted window of a compare. */

import { latest, showNow } from './cards.js';
import { setReady } from './dom.js';
import { covers, fetchWindow, MAX_POINTS } from './fit.js';
import { redraw } from './redraw.js';
import { absorb, applyReading, rebuild, replace } from './series.js';
import { hooks, lastTs, serverNow, session, state } from './state.js';
import { compareShift } from './url.js';

const ACK_MS = 15000;
const MAX_QUEUE = 20000;  // live readings kept while history loads

/** Ask for history; retried when unanswered or rate limited (the limit is per 10 s). */
function ask(s, since, until, points, done, tries = 4) {
  const gen = s.gen;
  session.socket.timeout(ACK_MS).emit('history', { sensor: s.id, since, until, max_points: points }, (err, ans) => {
    if (gen !== s.gen || state.sensors.get(s.id) !== s) return;  // superseded
    const error = err ? 'no answer' : ans && ans.error;
    if (error && tries > 1 && (err || /too many/.test(error))) {
      setTimeout(() => { if (gen === s.gen) ask(s, since, until, points, done, tries - 1); }, 2500 * (5 - tries));
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

/** Load what the view shows, replacing the series; a fixed window already fetched (a pan
    within it) needs nothing new. When the data begins well inside a live window (a new
    install, a new sensor), the span that has data is fetched again at its own, finer
    step: a 24-h chart of ten minutes of readings shows ten minutes, not one bucket. */
export function load(s) {
  const view = state.view;
  if (covers(s.fetched, view, serverNow())) { redraw(s); loadCompare(s); return; }
  begin(s);
  const until = view.live ? upTo(s) : serverNow();
  const w = fetchWindow(view, until);
  const take = (ans, error, since) => {
    if (ans) {
      const first = ans.points.length ? ans.points[0][0] : null;
      const late = view.live && since === w.since && first != null && ans.step > s.interval
        && first - ans.step > w.since + 0.02 * (w.until - w.since);
      if (late) {  // ask again for the span with data only
        const from = Math.floor(first / ans.step) * ans.step;
        ask(s, from, w.until, MAX_POINTS, (again, err) => take(again || ans, err, from));
        return;
      }
      const last = replace(s, ans, w.until, view.live ? view.range : null);
      s.fetched = { ...w, live: view.live, span: view.live ? view.range : view.to - view.from };
      if (view.live) lastTs.set(s.id, Math.max(w.until, last ? last.ts : 0));
      else lastTs.delete(s.id);  // live readings do not go into a fixed window
      rebuild(s, state.unit);
      s.dirty = false;
    }
    finish(s, error);
  };
  ask(s, w.since, w.until, w.points, (ans, error) => take(ans, error, w.since));
  s.cmp = null;
  loadCompare(s);
}

/** Live readings add points at the step of the last load: when the data span has grown
    well past what that step was for, load again (the server picks a coarser one). */
export function refit(s) {
  if (state.view.live && !s.busy && s.pts.length > 3 * MAX_POINTS) load(s);
}

/** Fetch the compare window (the view shifted back a day, a week or a year), when one is
    chosen and what is loaded no longer reaches the view's end. */
export function loadCompare(s) {
  if (!state.compare) { s.cmp = null; return; }
  const view = state.view, now = serverNow();
  const [start, end] = view.live ? [now - view.range, now] : [view.from, view.to];
  const shift = compareShift(state.compare, (start + end) / 2);
  const c = s.cmp;
  if (c && c.compare === state.compare && c.since <= start - shift && c.until >= end - shift) return;
  if (c && c.busy) return;
  const ahead = view.live ? view.range / 4 : 0;  // a live window moves on: fetch some of it
  const since = start - shift, until = Math.min(now - shift + ahead, end - shift + ahead);
  const cmp = { compare: state.compare, shift, since, until, pts: [], busy: true, step: 0 };
  s.cmp = cmp;
  const points = Math.round(MAX_POINTS * (until - since) / (end - start));
  ask(s, since, until, points, (ans) => {
    if (s.cmp !== cmp) return;
    cmp.busy = false;
    if (ans) {
      const holder = { interval: s.interval, sets: [], keys: [] };
      replace(holder, ans, until, null);
      cmp.pts = holder.pts;
      cmp.step = ans.step;
    }
    s.cmpDirty = true;
    redraw(s);
  });
}

/** Fetch what was missed since the last reading and merge it in, in order. */
export function backfill(s) {
  const from = lastTs.get(s.id);
  const view = state.view;
  if (!view.live) { redraw(s); return; }  // a fixed window: nothing live to catch up on
  if (from == null || s.range !== view.range || serverNow() - from > view.range) { load(s); return; }
  begin(s);
  const until = upTo(s);
  ask(s, from, until, MAX_POINTS, (ans, error) => {
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
  if (!state.view.live) s.queue.length = 0;
  while (s.queue.length) {
    if (!apply(s, s.queue[0])) { backfill(s); return; }
    s.queue.shift();
  }
  redraw(s);
}

/** A reading that came before the first history answer: drawn now, on its own (the
    history takes the series' place when it comes, and the queue is applied onto it,
    this reading with it). The first live point is on screen a history-load sooner. */
function early(s, r) {
  if (s.pts.length && r.ts <= s.pts.at(-1).ts) return;
  applyReading(s, r, null, state.unit);
  redraw(s);
}

/** A live reading from the socket. */
export function onReading(r) {
  const s = state.sensors.get(r.sensor);
  if (!s) return;
  if (!s.latest || r.ts >= s.latest.ts) s.latest = latest(r);
  if (!state.view.live) { showNow(s); return; }  // the card's numbers, not the fixed chart
  if (s.busy) {
    s.queue.push(r);
    if (s.queue.length > MAX_QUEUE) s.queue.shift();
    if (!s.fetched) early(s, r);
    showNow(s);
    return;
  }
  if (apply(s, r)) redraw(s);
  else { s.queue.push(r); backfill(s); }
  showNow(s);
}

/** body[data-ready] once a snapshot came and no history is loading. */
export function markReady() {
  if (state.snapshots && !state.loading) { setReady(); hooks.ready(); }
}
