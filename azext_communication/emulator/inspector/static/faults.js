// Faults: make the next N service requests fail with 429, 503, a dropped connection or a stall.
import { api } from './api.js';
import { attempt, h, replace, table } from './dom.js';

const MODES = [['429', '429 Too Many Requests'], ['503', '503 Service Unavailable'], ['close', 'Drop the connection'],
  ['stall', 'Stall, then answer']];

export function mount(root) {
  const mode = h('select', { id: 'fault-mode' }, MODES.map(([v, label]) => h('option', { value: v }, label)));
  const count = h('input', { id: 'fault-count', type: 'number', min: 1, value: 1, required: true });
  const retry = h('input', { id: 'fault-retry', type: 'number', min: 0, value: 1 });
  const stall = h('input', { id: 'fault-stall', type: 'number', min: 0, max: 600, step: 0.1, value: 1 });
  const pending = h('div');
  const form = h('form', { class: 'card', 'aria-labelledby': 'fault-title' },
    h('h3', { id: 'fault-title' }, 'Inject a fault'),
    h('p', {}, 'The next requests to the chat and identity APIs fail this way (the page and /admin are not affected).'),
    h('div', { class: 'row' },
      h('div', {}, h('label', { for: 'fault-mode' }, 'Fault'), mode),
      h('div', {}, h('label', { for: 'fault-count' }, 'Requests'), count),
      h('div', {}, h('label', { for: 'fault-retry' }, 'Retry-After (s)'), retry),
      h('div', {}, h('label', { for: 'fault-stall' }, 'Stall (s)'), stall)),
    h('button', { type: 'submit' }, 'Inject'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    attempt(() => api('POST', 'faults', { mode: mode.value, count: Number(count.value),
      retryAfter: Number(retry.value), stallSeconds: Number(stall.value) }));
  });
  const clear = h('button', { type: 'button', class: 'secondary', onclick: () => attempt(() => api('DELETE', 'faults')) },
    'Clear pending faults');
  root.append(h('h2', { class: 'view-title' }, 'Faults'), form,
    h('section', { 'aria-labelledby': 'pending-title' }, h('h3', { id: 'pending-title' }, 'Pending'), pending, clear));

  return {
    topics: ['faults', 'requests'],
    async refresh() {
      const { faults } = await api('GET', 'faults');
      replace(pending, table('Pending faults', ['Fault', 'Requests left', 'Retry-After', 'Stall'],
        faults.map((f) => h('tr', {}, h('td', {}, f.mode), h('td', { class: 'num' }, f.count),
          h('td', { class: 'num' }, `${f.retryAfter} s`), h('td', { class: 'num' }, `${f.stallSeconds} s`))),
        'No fault pending: requests are answered normally.'));
    },
  };
}
