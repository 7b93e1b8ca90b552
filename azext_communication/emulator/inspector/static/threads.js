// Threads: every thread of the emulator (deleted ones too), and a form to start one as any user.
import { api } from './api.js';
import { attempt, countdown, h, metadata, replace, shortId, table, time } from './dom.js';

export function mount(root) {
  const list = h('div', { id: 'threads-list' });
  const topic = h('input', { id: 'new-topic', required: true, maxlength: 1024 });
  const creator = h('select', { id: 'new-creator', required: true });
  const others = h('fieldset', { class: 'people' }, h('legend', {}, 'Other participants'));
  const meta = h('textarea', { id: 'new-meta', rows: 2, placeholder: 'ticket=1234', 'aria-describedby': 'new-meta-help' });
  const days = h('input', { id: 'new-days', type: 'number', min: 30, max: 90, placeholder: 'never' });
  const form = h('form', { class: 'card', 'aria-labelledby': 'new-thread-title' },
    h('h2', { id: 'new-thread-title' }, 'Start a thread'),
    h('div', { class: 'row' },
      h('div', {}, h('label', { for: 'new-topic' }, 'Topic'), topic),
      h('div', {}, h('label', { for: 'new-creator' }, 'Created by'), creator),
      h('div', {}, h('label', { for: 'new-days' }, 'Delete after (days)'), days),
      h('div', { class: 'grow' }, h('label', { for: 'new-meta' }, 'Metadata'), meta,
        h('small', { id: 'new-meta-help' }, 'One key=value a line (api-version 2025-03-15).'))),
    others,
    h('button', { type: 'submit' }, 'Create thread'));
  let users = [];
  let rows = [];
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const participants = [...others.querySelectorAll('input:checked')].map((c) => ({ rawId: c.value }));
    attempt(async () => {
      const metadata = parseMetadata(meta.value);
      const retentionPolicy = days.value ? { kind: 'threadCreationDate', deleteThreadAfterDays: Number(days.value) } : undefined;
      const made = await api('POST', 'threads', { asUser: creator.value, topic: topic.value, participants, metadata,
        retentionPolicy });
      location.hash = `#/thread/${encodeURIComponent(made.id)}`;
    });
  });
  root.append(h('h2', { class: 'view-title' }, 'Threads'), list, form);

  function renderUsers() {
    const live = users.filter((u) => !u.deleted);
    const chosen = creator.value;
    creator.replaceChildren(...live.map((u) => h('option', { value: u.rawId }, u.displayName || `user ${shortId(u.rawId)}`)));
    if (chosen) creator.value = chosen;
    const checked = new Set([...others.querySelectorAll('input:checked')].map((c) => c.value));
    others.replaceChildren(h('legend', {}, 'Other participants'), ...(live.length ? live.map((u, i) => h('label',
      { class: 'check' }, h('input', { type: 'checkbox', value: u.rawId, checked: checked.has(u.rawId), id: `p-${i}` }),
      u.displayName || `user ${shortId(u.rawId)}`)) : [h('p', { class: 'empty' }, 'Create users first (Users view).')]));
  }

  function render() {
    replace(list, table('Threads', ['Topic', 'Participants', 'Messages', 'Last message', 'Metadata', 'Retention',
      'State'], rows.map((t) => h('tr', { class: t.deletedOn ? 'deleted' : '' },
      h('td', {}, h('a', { href: `#/thread/${encodeURIComponent(t.id)}`, 'data-focus': t.id }, t.topic || '(no topic)')),
      h('td', {}, t.participants.map((p) => p.displayName || `user ${shortId(p.rawId)}`).join(', ')),
      h('td', { class: 'num' }, t.messageCount),
      h('td', {}, time(t.lastMessageOn)),
      h('td', {}, metadata(t.metadata)),
      h('td', { class: 'countdown' }, retention(t)),
      h('td', {}, t.deletedOn ? h('span', { class: 'badge bad' }, 'deleted') : h('span', { class: 'badge' }, 'active')))),
    'No threads yet: create one below, or with an SDK or az communication chat thread create.'));
  }

  return {
    topics: ['model', 'requests'],
    async refresh() {
      [rows, users] = await Promise.all([api('GET', 'threads'), api('GET', 'users')]);
      render();
      renderUsers();
    },
    tick() { for (const [i, t] of rows.entries()) { const c = list.querySelectorAll('td.countdown')[i]; if (c) c.textContent = retention(t); } },
  };
}

/** "a=1\nb=2" -> {a: "1", b: "2"}; undefined when empty; an Error naming a line without "=". */
export function parseMetadata(text) {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  if (!lines.length) return undefined;
  const out = {};
  for (const line of lines) {
    const at = line.indexOf('=');
    if (at < 1) throw new Error(`Metadata: "${line}" is not key=value.`);
    out[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return out;
}

export function retention(t) {
  if (t.retentionDeleteOn && !t.deletedOn) return `deleted ${countdown(t.retentionDeleteOn)}`;
  if (t.retentionPolicy?.kind === 'threadCreationDate') return `${t.retentionPolicy.deleteThreadAfterDays} days`;
  return t.retentionPolicy ? t.retentionPolicy.kind : '';
}
