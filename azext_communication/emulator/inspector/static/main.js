// The page: asks for the key when it has none, routes #/view/arg to a view module, keeps it live (long poll).
import { api, hasKey, setKey, takeKeyFromFragment, whenUnauthorized } from './api.js';
import { h } from './dom.js';
import * as events from './events.js';
import * as faults from './faults.js';
import * as requests from './requests.js';
import * as thread from './thread.js';
import * as threads from './threads.js';
import * as users from './users.js';

const VIEWS = { threads, thread, users, events, faults, requests };
const main = document.getElementById('main');
const nav = document.getElementById('nav');
const live = document.getElementById('live');
let current = null;
let versions = {};
let looping = false;
let waiting = null;  // the AbortController of the pending long poll: a new view waits for its own topics
const MIN_REFRESH_MS = 300;  // under a load test the page refreshes at most ~3 times a second

function keyForm(message) {
  nav.hidden = true;
  current = null;
  const input = h('input', { id: 'key', name: 'key', type: 'password', autocomplete: 'off', required: true,
    'aria-describedby': 'key-help' });
  const form = h('form', { class: 'card narrow', 'aria-labelledby': 'key-title' },
    h('h2', { id: 'key-title' }, 'Key needed'),
    message ? h('p', { class: 'error', role: 'alert' }, message) : '',
    h('p', { id: 'key-help' }, 'Open the URL the emulator printed when it started (it ends with #key=…), ',
      'or paste the key from it here. The key is new at each start.'),
    h('label', { for: 'key' }, 'Key'), input,
    h('button', { type: 'submit' }, 'Open'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    setKey(input.value);
    start();
  });
  main.replaceChildren(form);
  input.focus();
}

function parseRoute() {
  const [, name, ...rest] = (location.hash || '#/threads').split('/');
  return { name: VIEWS[name] ? name : 'threads', arg: rest.length ? decodeURIComponent(rest.join('/')) : undefined };
}

async function show() {
  const { name, arg } = parseRoute();
  for (const a of nav.querySelectorAll('a')) {
    if (a.dataset.view === name || (name === 'thread' && a.dataset.view === 'threads')) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  current?.unmount?.();
  waiting?.abort();
  const hadFocus = main.contains(document.activeElement);
  main.replaceChildren();
  current = VIEWS[name].mount(main, arg);
  if (hadFocus) main.focus();  // a keyboard user who followed a link in the view lands in the new one
  await current.refresh().catch((err) => {
    if (hasKey()) main.prepend(h('p', { class: 'error', role: 'alert' }, err.message));
  });
}

async function liveLoop() {
  if (looping) return;
  looping = true;
  let lastRefresh = 0;
  while (hasKey()) {
    try {
      const wait = lastRefresh + MIN_REFRESH_MS - Date.now();
      if (wait > 0) await new Promise((ok) => { setTimeout(ok, wait); });
      const topics = current ? current.topics : Object.keys(versions);  // only what the view shows wakes it
      waiting = new AbortController();
      const next = await api('GET', `wait?${new URLSearchParams(topics.map((t) => [t, versions[t] ?? -1]))}`,
        undefined, waiting.signal);
      const changed = Object.keys(next).filter((k) => k in versions && versions[k] !== next[k]);
      versions = next;
      live.textContent = '● live';
      live.dataset.state = 'on';
      if (current && changed.some((t) => current.topics.includes(t))) {
        lastRefresh = Date.now();
        await current.refresh().catch(() => {});
      }
    } catch (err) {
      if (err.name === 'AbortError') continue;  // the view changed: wait again for its topics
      live.textContent = '○ reconnecting';
      live.dataset.state = 'off';
      await new Promise((ok) => { setTimeout(ok, 1000); });
    }
  }
  looping = false;
}

async function start() {
  if (!hasKey()) {
    keyForm();
    return;
  }
  try {
    versions = (await api('GET', 'overview')).versions;
  } catch (err) {
    if (!hasKey()) return;  // the 401 handler shows the form
    keyForm(err.message);
    return;
  }
  nav.hidden = false;
  live.textContent = '● live';
  live.dataset.state = 'on';
  if (!location.hash.startsWith('#/')) history.replaceState(null, '', `${location.pathname}#/threads`);
  await show();
  liveLoop();
}

whenUnauthorized((message) => keyForm(message || 'The key is wrong or from an earlier start.'));
window.addEventListener('hashchange', () => { if (hasKey() && location.hash.startsWith('#/')) show(); });
setInterval(() => current?.tick?.(), 1000);
takeKeyFromFragment();
start();
