// Events: subscriptions with their counts, recent deliveries (status, attempt, latency), dead letters (reason,
// redeliver).
import { api, enc } from './api.js';
import { attempt, eventType, h, replace, table, time } from './dom.js';

export function mount(root) {
  const subs = h('div');
  const dead = h('div');
  const attempts = h('div');
  root.append(h('h2', { class: 'view-title' }, 'Events'),
    h('section', { 'aria-labelledby': 'subs-title' }, h('h3', { id: 'subs-title' }, 'Subscriptions'), subs),
    h('section', { 'aria-labelledby': 'dead-title' }, h('h3', { id: 'dead-title' }, 'Dead letters'), dead),
    h('section', { 'aria-labelledby': 'del-title' }, h('h3', { id: 'del-title' }, 'Recent deliveries'), attempts));

  function render(data) {
    replace(subs, table('Subscriptions', ['Name', 'Endpoint', 'Schema', 'Delivered', 'Failed', 'Pending', 'Dead-lettered'],
      data.subscriptions.map((s) => h('tr', {}, h('td', {}, s.name), h('td', {}, h('code', {}, s.endpointBaseUrl)),
        h('td', {}, s.eventDeliverySchema), h('td', { class: 'num' }, s.delivered), h('td', { class: 'num' }, s.failed),
        h('td', { class: 'num' }, s.pending), h('td', { class: 'num' }, s.deadLettered))),
    'No event subscriptions: add one with --event-webhook, --events-config or az communication emulator subscription create.'));
    replace(dead, table('Dead letters', ['When', 'Subscription', 'Event', 'Reason', 'Attempts', 'Last outcome', ''],
      data.deadLetters.map((d) => h('tr', { class: 'dead-letter' }, h('td', {}, time(d.at)), h('td', {}, d.subscription),
        h('td', {}, eventType(d.eventType)), h('td', {}, h('span', { class: 'badge bad reason' }, d.reason)),
        h('td', { class: 'num' }, d.attempts),
        h('td', {}, d.status ? `${d.status} ${d.outcome}` : d.outcome, d.excerpt ? h('div', { class: 'excerpt' }, d.excerpt) : ''),
        h('td', {}, d.redelivered ? 'sent again' : h('button', { type: 'button', class: 'small', 'data-focus': `re-${d.id}`,
          'aria-label': `Redeliver ${d.eventType.replace(/^Microsoft\.Communication\./, '')} to ${d.subscription}`,
          onclick: () => attempt(() => api('POST', `events/deadletters/${enc(d.id)}/redeliver`)) }, 'Redeliver')))),
    'No dead letters.'));
    replace(attempts, table('Recent deliveries', ['When', 'Subscription', 'Event', 'Status', 'Attempt', 'Latency'],
      data.attempts.map((a) => h('tr', {}, h('td', {}, time(a.at)), h('td', {}, a.subscription), h('td', {}, eventType(a.eventType)),
        h('td', {}, h('span', { class: `badge ${a.ok ? 'good' : 'bad'}` }, a.status ? `${a.status} ${a.outcome}` : a.outcome)),
        h('td', { class: 'num' }, a.attempt), h('td', { class: 'num' }, `${a.latencyMs} ms`))),
    'No deliveries yet.'));
  }

  return {
    topics: ['events', 'model'],
    async refresh() { render(await api('GET', 'events')); },
  };
}
