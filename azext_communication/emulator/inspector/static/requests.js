// Requests: the last request lines the emulator answered (method, path without query, status, time).
import { api } from './api.js';
import { h, replace, table, time } from './dom.js';

export function mount(root) {
  const list = h('div');
  root.append(h('h2', { class: 'view-title' }, 'Requests'),
    h('p', {}, 'The latest 200 requests to the service APIs, newest first (no query strings, no headers).'), list);
  return {
    topics: ['requests'],
    async refresh() {
      const { requests } = await api('GET', 'requests');
      replace(list, table('Requests', ['When', 'Method', 'Path', 'Status', 'Time'], requests.map((r) => h('tr', {},
        h('td', {}, time(r.at)), h('td', {}, r.method), h('td', {}, h('code', {}, r.path)),
        h('td', {}, h('span', { class: `badge ${Number(r.status) < 400 ? 'good' : 'bad'}` }, r.status)),
        h('td', { class: 'num' }, `${r.ms} ms`))), 'No requests yet.'));
    },
  };
}
