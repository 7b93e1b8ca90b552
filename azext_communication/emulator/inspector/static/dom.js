// Small DOM helpers: element builder, times, copy button, toast. No framework.

/** h('button', {type: 'button', onclick}, 'text', child...) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

export function time(ms) {
  if (!ms) return '';
  const d = new Date(ms);
  return h('time', { datetime: d.toISOString(), title: d.toISOString() }, d.toLocaleTimeString());
}

export function dateTime(ms) {
  if (!ms) return '';
  const d = new Date(ms);
  return h('time', { datetime: d.toISOString(), title: d.toISOString() }, d.toLocaleString());
}

/** "in 2d 3h", "in 42 s", "due" */
export function countdown(untilMs, now = Date.now()) {
  let s = Math.round((untilMs - now) / 1000);
  if (s <= 0) return 'due now';
  const parts = [];
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['min', 60], ['s', 1]]) {
    if (s >= size || (unit === 's' && !parts.length)) {
      parts.push(`${Math.floor(s / size)} ${unit}`);
      s %= size;
    }
    if (parts.length === 2) break;
  }
  return `in ${parts.join(' ')}`;
}

/** "Microsoft.Communication.ChatMessageReceived" -> "ChatMessageReceived" (the full name as a tooltip). */
export function eventType(type) {
  return h('span', { title: type }, String(type || '').replace(/^Microsoft\.Communication\./, ''));
}

export function shortId(raw) {
  if (!raw) return '';
  return raw.length > 20 ? `…${raw.slice(-12)}` : raw;
}

/** A chip list of metadata key=value pairs (nothing when empty). */
export function metadata(meta) {
  const entries = Object.entries(meta || {});
  if (!entries.length) return '';
  return h('ul', { class: 'chips', 'aria-label': 'metadata' },
    entries.map(([k, v]) => h('li', { class: 'chip' }, h('b', {}, k), '=', String(v))));
}

export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

export function copyButton(getText, label = 'Copy') {
  const btn = h('button', { type: 'button', class: 'small' }, label);
  btn.addEventListener('click', async () => {
    const ok = await copyText(getText());
    btn.textContent = ok ? 'Copied' : 'Select and copy';
    setTimeout(() => { btn.textContent = label; }, 1500);
  });
  return btn;
}

let toastTimer;
export function toast(message, kind = 'error') {
  const el = document.getElementById('toast');
  el.textContent = message;
  el.dataset.kind = kind;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 5000);
}

/** Run an action, report its error in the toast; returns whether it succeeded. */
export async function attempt(fn) {
  try {
    await fn();
    return true;
  } catch (err) {
    toast(err.message || String(err));
    return false;
  }
}

/** Replace a container's children, keeping focus on the element with the same data-focus key. */
export function replace(container, ...children) {
  const active = document.activeElement;
  const key = container.contains(active) ? active?.dataset?.focus : undefined;
  container.replaceChildren(...children.flat());
  if (key) container.querySelector(`[data-focus="${CSS.escape(key)}"]`)?.focus();
}

export function table(caption, head, rows, empty = 'Nothing yet.') {
  if (!rows.length) return h('p', { class: 'empty' }, empty);
  for (const row of rows) {  // on a phone each row is a card: every cell says what it is
    [...row.children].forEach((cell, i) => {
      cell.dataset.label = head[i] || '';
      cell.replaceChildren(h('div', { class: 'cell' }, ...cell.childNodes));
    });
  }
  return h('div', { class: 'scroll' }, h('table', {},
    h('caption', { class: 'sr-only' }, caption),
    h('thead', {}, h('tr', {}, head.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows)));
}
