/* Small DOM and formatting helpers of the admin pages. Text always goes in as text
   (never as HTML): user names, labels and addresses come from other people. */

/** An element: `el('button', {class: 'x', onclick: fn}, 'text', child)`. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) {
      node.append(child instanceof Node ? child : String(child));
    }
  }
  return node;
}

/** A time as the admin reads it: "2026-11-24 14:03", or "never". */
export function when(ts) {
  if (ts === null || ts === undefined) return 'never';
  const d = new Date(ts * 1000);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Show a one-line message in an element, as an error or not; it clears itself. */
export function say(node, text, error = false) {
  node.textContent = text;
  node.hidden = !text;
  node.classList.toggle('adm-error', error);
  clearTimeout(node._timer);
  if (text && !error) node._timer = setTimeout(() => { node.hidden = true; }, 8000);
}

/** Checkboxes of rooms in a fieldset (kept: its legend); `checked` ids ticked. */
export function roomBoxes(fieldset, rooms, checked = [], name = 'rooms') {
  fieldset.querySelectorAll('label').forEach((n) => n.remove());
  for (const room of rooms) {
    fieldset.append(el('label', { class: 'adm-check' },
      el('input', { type: 'checkbox', name, value: room.id, checked: checked.includes(room.id) }),
      ` ${room.name}`));
  }
}

/** The room ids ticked in a form or fieldset. */
export function ticked(root, name = 'rooms') {
  return [...root.querySelectorAll(`input[name="${name}"]:checked`)].map((n) => n.value);
}

/** A button that asks once more before it acts (no dialog box: one more click). */
export function confirmButton(label, question, action) {
  const button = el('button', { type: 'button', class: 'adm-ghost adm-danger' }, label);
  let armed = null;
  button.addEventListener('click', () => {
    if (armed) { clearTimeout(armed); armed = null; button.textContent = label; action(); return; }
    button.textContent = question;
    armed = setTimeout(() => { armed = null; button.textContent = label; }, 4000);
  });
  return button;
}

/** A browser's user agent as a person reads it: its name and system, roughly.
    Checked in this order: every Chromium says "Chrome" and "Safari", Android says "Linux". */
export function browserName(agent = '') {
  const browser = ['Firefox', 'Edg', 'OPR', 'Chrome', 'Safari'].find((b) => agent.includes(`${b}/`));
  const system = ['Android', 'iPhone', 'iPad', 'Windows', 'Mac OS X', 'Linux'].find((s) => agent.includes(s));
  const name = browser ? { Edg: 'Edge', OPR: 'Opera' }[browser] || browser : 'a browser';
  return system ? `${name} on ${system}` : name;
}
