// One thread, live: messages as they arrive (edits, deletions, system messages in words), read receipts, typing,
// participants with metadata, and a composer to chat as any participant.
import { api, enc } from './api.js';
import { attempt, copyButton, dateTime, h, metadata, replace, shortId, time } from './dom.js';
import { retention } from './threads.js';

const TYPING_MS = 8000;

export function mount(root, tid) {
  const state = { t: null, users: [], editing: null, draft: '' };
  const head = h('div', { class: 'thread-head' });
  const messages = h('ol', { class: 'messages', 'aria-label': 'Messages', 'aria-live': 'polite' });
  const typing = h('p', { class: 'typing', 'aria-live': 'polite' });
  const people = h('div', { class: 'people-list' });
  const asUser = h('select', { id: 'as-user' });
  const text = h('textarea', { id: 'compose', rows: 2, placeholder: 'Say something to the bot…' });
  const composer = h('form', { class: 'composer', 'aria-label': 'Chat as a participant' },
    h('div', { class: 'row' },
      h('div', {}, h('label', { for: 'as-user' }, 'Chat as'), asUser),
      h('div', { class: 'grow' }, h('label', { for: 'compose' }, 'Message'), text)),
    h('div', { class: 'buttons' },
      h('button', { type: 'submit' }, 'Send'),
      h('button', { type: 'button', class: 'secondary', onclick: () => act('typing') }, 'Send typing')));
  const addWho = h('select', { id: 'add-who' });
  const addName = h('input', { id: 'add-name', maxlength: 256 });
  const addForm = h('form', { class: 'add-person', 'aria-label': 'Add a participant' },
    h('label', { for: 'add-who' }, 'Add user'), addWho,
    h('label', { for: 'add-name' }, 'Display name'), addName,
    h('button', { type: 'submit', class: 'secondary' }, 'Add'));
  root.append(h('p', {}, h('a', { href: '#/threads' }, '← All threads')), head,
    h('div', { class: 'thread-grid' },
      h('section', { 'aria-labelledby': 'msgs-title', class: 'card' }, h('h3', { id: 'msgs-title' }, 'Messages'),
        messages, typing, composer),
      h('section', { 'aria-labelledby': 'people-title', class: 'card' }, h('h3', { id: 'people-title' }, 'Participants'),
        people, addForm)));

  text.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); composer.requestSubmit(); }
  });
  composer.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!text.value.trim()) return;
    attempt(async () => {
      await api('POST', `threads/${enc(tid)}/messages`, { asUser: asUser.value, content: text.value });
      text.value = '';
    });
  });
  addForm.addEventListener('submit', (e) => {
    e.preventDefault();
    attempt(() => api('POST', `threads/${enc(tid)}/participants`,
      { asUser: asUser.value, rawId: addWho.value, displayName: addName.value || undefined }));
  });

  function act(what, mid, extra = {}) {
    const path = mid ? `threads/${enc(tid)}/messages/${enc(mid)}/${what}` : `threads/${enc(tid)}/${what}`;
    return attempt(() => api('POST', path, { asUser: asUser.value, ...extra }));
  }

  function readers(mid) {
    return state.t.readReceipts.filter((r) => r.messageId === mid).map((r) => r.displayName);
  }

  function messageItem(m) {
    if (m.system) {
      return h('li', { class: 'msg system' }, h('span', { class: 'what' }, m.content), ' ', time(m.createdOn));
    }
    const mine = m.senderRawId === asUser.value;
    const body = state.editing === m.id
      ? editor(m)
      : h('div', { class: 'content' }, m.deletedOn ? h('em', {}, 'This message was deleted.') : m.content);
    const readBy = readers(m.id);
    const buttons = [];
    if (!m.deletedOn && state.editing !== m.id) {
      if (mine) {
        buttons.push(h('button', { type: 'button', class: 'small secondary', 'data-focus': `edit-${m.id}`,
          onclick: () => { state.editing = m.id; state.draft = m.content; render(); } }, 'Edit'));
        buttons.push(h('button', { type: 'button', class: 'small secondary', 'data-focus': `del-${m.id}`,
          onclick: () => act('delete', m.id) }, 'Delete'));
      }
      buttons.push(h('button', { type: 'button', class: 'small secondary', 'data-focus': `read-${m.id}`,
        onclick: () => act('read', m.id) }, 'Mark read'));
    }
    return h('li', { class: `msg${mine ? ' mine' : ''}${m.deletedOn ? ' deleted' : ''}`, 'data-id': m.id },
      h('div', { class: 'meta' }, h('b', {}, m.senderDisplayName || shortId(m.senderRawId)), ' ', time(m.createdOn),
        m.editedOn ? h('span', { class: 'badge' }, 'edited') : '',
        m.deletedOn ? h('span', { class: 'badge bad' }, 'deleted') : ''),
      body, metadata(m.metadata),
      readBy.length ? h('div', { class: 'receipts' }, `Read by ${readBy.join(', ')}`) : '',
      buttons.length ? h('div', { class: 'actions' }, buttons) : '');
  }

  function editor(m) {
    const input = h('input', { value: state.draft, 'aria-label': 'Edit message', 'data-focus': `editing-${m.id}` });
    input.addEventListener('input', () => { state.draft = input.value; });
    const form = h('form', { class: 'edit' }, input,
      h('button', { type: 'submit', class: 'small' }, 'Save'),
      h('button', { type: 'button', class: 'small secondary', onclick: () => { state.editing = null; render(); } }, 'Cancel'));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (await act('edit', m.id, { content: state.draft })) { state.editing = null; render(); }
    });
    setTimeout(() => input.focus(), 0);
    return form;
  }

  function renderTyping() {
    const now = Date.now();
    const who = (state.t?.typing || []).filter((x) => now - x.at < TYPING_MS).map((x) => x.displayName);
    typing.textContent = who.length ? `${who.join(', ')} ${who.length > 1 ? 'are' : 'is'} typing…` : '';
  }

  function render() {
    const t = state.t;
    replace(head, h('h2', { class: 'view-title' }, t.topic || '(no topic)',
      t.deletedOn ? h('span', { class: 'badge bad' }, 'deleted') : ''),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Id'), h('dd', {}, h('code', {}, t.id), ' ', copyButton(() => t.id, 'Copy id')),
      h('dt', {}, 'Created'), h('dd', {}, dateTime(t.createdOn)),
      t.deletedOn ? [h('dt', {}, 'Deleted'), h('dd', {}, dateTime(t.deletedOn))] : '',
      h('dt', {}, 'Messages'), h('dd', {}, String(t.messageCount)),
      t.metadata && Object.keys(t.metadata).length ? [h('dt', {}, 'Metadata'), h('dd', {}, metadata(t.metadata))] : '',
      t.retentionPolicy ? [h('dt', {}, 'Retention'), h('dd', { class: 'countdown' }, retention(t))] : ''));
    const atBottom = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 40;
    replace(messages, t.messagesOmitted ? h('li', { class: 'msg system' }, `${t.messagesOmitted} older messages not shown`) : '',
      t.messages.map(messageItem));
    if (atBottom) messages.scrollTop = messages.scrollHeight;
    replace(people, h('ul', {}, t.members.map((m) => h('li', { class: m.removedOn ? 'removed' : '' },
      h('b', {}, m.displayName || shortId(m.rawId)), ' ', h('code', { title: m.rawId }, shortId(m.rawId)),
      m.removedOn ? h('span', { class: 'badge bad' }, 'removed') : h('button', { type: 'button', class: 'small secondary',
        'data-focus': `rm-${m.rawId}`, 'aria-label': `Remove ${m.displayName || m.rawId}`,
        onclick: () => attempt(() => api('POST', `threads/${enc(tid)}/participants/remove`,
          { asUser: asUser.value, rawId: m.rawId })) }, 'Remove'),
      metadata(m.metadata)))));
    const active = t.members.filter((m) => !m.removedOn);
    const chosen = asUser.value;
    asUser.replaceChildren(...active.map((m) => h('option', { value: m.rawId }, m.displayName || `user ${shortId(m.rawId)}`)));
    if (active.some((m) => m.rawId === chosen)) asUser.value = chosen;
    const outside = state.users.filter((u) => !u.deleted && !active.some((m) => m.rawId === u.rawId));
    const pick = addWho.value;
    addWho.replaceChildren(...outside.map((u) => h('option', { value: u.rawId }, u.displayName || `user ${shortId(u.rawId)}`)));
    if (pick) addWho.value = pick;
    addForm.hidden = !outside.length || Boolean(t.deletedOn);
    composer.hidden = Boolean(t.deletedOn) || !active.length;
    renderTyping();
  }

  asUser.addEventListener('change', render);
  return {
    topics: ['model'],
    async refresh() {
      [state.t, state.users] = await Promise.all([api('GET', `threads/${enc(tid)}`), api('GET', 'users')]);
      render();
    },
    tick() {
      if (!state.t) return;
      renderTyping();
      const c = head.querySelector('.countdown');
      if (c) c.textContent = retention(state.t);
    },
  };
}
