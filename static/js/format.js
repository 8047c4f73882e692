/* Units, numbers, times and alerts as the dashboard writes them. Pure: Node imports it too. */

/** A °C value in the display unit ('C' or 'F'); null stays null. */
export const toUnit = (c, unit) => (c == null ? null : unit === 'F' ? c * 1.8 + 32 : c);

/** A number with `d` decimals, or a dash for none. */
export const fix = (v, d) => (v == null ? '—' : v.toFixed(d));

// Epoch seconds in the browser's locale and time zone, on a 24-hour clock
const clock = { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
const format = (options) => {
  const f = new Intl.DateTimeFormat(undefined, options);
  return (sec) => f.format(sec * 1000);
};
export const fmtTime = format(clock);
export const fmtSeconds = format({ ...clock, second: '2-digit' });
export const fmtWeekday = format({ weekday: 'short', day: 'numeric' });
export const fmtDay = format({ day: 'numeric', month: 'short' });
export const fmtMonth = format({ month: 'short', year: 'numeric' });
export const fmtDayOfWeek = format({ weekday: 'short', day: 'numeric', month: 'short' });
export const fmtDate = format({ weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' });
export const fmtFull = format({ weekday: 'short', day: 'numeric', month: 'short', ...clock, second: '2-digit' });

/** "12 s ago", "3 min ago", "5 h ago", "2 d ago": whole units, rounded down. */
export function ago(sec) {
  const [n, unit] = sec < 60 ? [Math.max(0, sec), 's'] : sec < 3600 ? [sec / 60, 'min']
    : sec < 86400 ? [sec / 3600, 'h'] : [sec / 86400, 'd'];
  return `${Math.floor(n)} ${unit} ago`;
}

/** "temperature above 30.0 °C (31.2 °C)" in the display unit; "offline" for offline alerts. */
export function describeAlert(a, unit) {
  if (a.kind === 'offline') return 'offline';
  const [q, op] = a.kind.split('_');
  const v = (x) => (q === 'temperature' ? `${fix(toUnit(x, unit), 1)} °${unit}` : `${fix(x, 0)} %`);
  return `${q} ${op} ${v(a.threshold)}${a.value == null ? '' : ` (${v(a.value)})`}`;
}
