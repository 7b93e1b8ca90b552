// Users: create one, issue a chat token (with a copy button), revoke its tokens.
import { api, enc } from './api.js';
import { attempt, copyButton, dateTime, h, replace, table } from './dom.js';

export function mount(root) {
  const list = h('div', { id: 'users-list' });
  const issued = h('div', { class: 'issued', 'aria-live': 'polite' });
  const create = h('button', { type: 'button', onclick: () => attempt(async () => {
    const made = await api('POST', 'users');
    issued.replaceChildren(h('p', {}, 'Created ', h('code', {}, made.rawId)));
  }) }, 'Create user');
  root.append(h('h2', { class: 'view-title' }, 'Users'), h('div', { class: 'toolbar' }, create), issued, list);
  let rows = [];

  function showToken(u, made) {
    const field = h('input', { id: 'token', readonly: true, value: made.token, class: 'token' });
    issued.replaceChildren(h('div', { class: 'card' },
      h('label', { for: 'token' }, `Chat token for ${u.displayName || u.rawId} (expires `,
        dateTime(made.expiresOn), ')'),
      h('div', { class: 'row' }, field, copyButton(() => made.token, 'Copy token'))));
    field.focus();
    field.select();
  }

  function render() {
    replace(list, table('Users', ['User', 'Created', 'Threads', 'Revocations', 'State', 'Actions'],
      rows.map((u) => h('tr', { class: u.deleted ? 'deleted' : '' },
        h('td', {}, u.displayName ? h('b', {}, u.displayName, ' ') : '', h('code', { class: 'raw' }, u.rawId)),
        h('td', {}, dateTime(u.createdOn)),
        h('td', { class: 'num' }, u.threads),
        h('td', { class: 'num' }, u.revocations),
        h('td', {}, u.deleted ? h('span', { class: 'badge bad' }, 'deleted') : h('span', { class: 'badge' }, u.kind)),
        h('td', { class: 'actions' }, u.deleted ? '' : [
          h('button', { type: 'button', class: 'small', 'data-focus': `tok-${u.rawId}`,
            'aria-label': `Issue a chat token for ${u.displayName || u.rawId}`,
            onclick: () => attempt(async () => showToken(u, await api('POST', `users/${enc(u.rawId)}/token`, {}))) },
          'Issue token'),
          h('button', { type: 'button', class: 'small secondary', 'data-focus': `rev-${u.rawId}`,
            'aria-label': `Revoke the tokens of ${u.displayName || u.rawId}`,
            onclick: () => attempt(async () => {
              await api('POST', `users/${enc(u.rawId)}/revoke`, {});
              issued.replaceChildren(h('p', {}, 'Every token of ', h('code', {}, u.rawId), ' issued so far is revoked.'));
            }) }, 'Revoke tokens')]))),
    'No users yet: create one here, or with an SDK or az communication identity user create.'));
  }

  return {
    topics: ['model', 'requests'],
    async refresh() {
      rows = await api('GET', 'users');
      render();
    },
  };
}
