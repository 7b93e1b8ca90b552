// Real-time notifications: the chat SDK 1.6.0 browser build in Chromium, on a page of its own origin, receives
// every chat event from the emulator over its socket.io 0.9 WebSocket.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { launch, trustingHome } from '../lib/chromium.mjs';
import { startEmulator } from '../lib/emulator.mjs';
import { openPage, servePage, waitForEvents } from '../lib/pagehost.mjs';

let emu; let site; let chromium;
before(async () => {
  emu = await startEmulator();
  site = await servePage();
  chromium = await launch({ home: trustingHome(join(emu.home, 'ca.pem')) });
});
after(async () => {
  await chromium?.close();
  await site?.close();
  await emu?.stop();
});

/** New users on `page`, each with a ChatClient named after its key; `live` names start real-time notifications. */
async function users(page, names, live, endpoint = emu.endpoint, connectionString = emu.connectionString) {
  const made = {};
  for (const name of names) {
    made[name] = await page.evaluate(async (cs) => window.newUser(cs), connectionString);
    await page.evaluate(async ([n, ep, token, on]) => window.startChat(n, ep, token, on),
      [name, endpoint, made[name].token, live.includes(name)]);
  }
  for (const name of live) await waitForEvents(page, 'realTimeNotificationConnected', 1, name);
  return made;
}

/** `a` creates a thread with the given participants (user objects) and returns its id. */
async function createThread(page, creator, participants, topic = 'hello') {
  return page.evaluate(async ([c, ps, t]) => {
    const { chatThread } = await window.clients[c].createChatThread({ topic: t },
      { participants: ps.map((p) => ({ id: { communicationUserId: p.id }, displayName: p.name })) });
    return chatThread.id;
  }, [creator, participants, topic]);
}

test('a message sent by one user arrives as chatMessageReceived on the other user\'s page', async () => {
  const page = await openPage(chromium.browser, site.origin);
  const { a, b } = await users(page, ['a', 'b'], ['b']);
  const threadId = await createThread(page, 'a', [{ id: b.id, name: 'Bee' }]);
  await page.evaluate(async (tid) => {
    await window.clients.a.getChatThreadClient(tid).sendMessage({ content: 'hi <b>there</b> 100%' },
      { senderDisplayName: 'Ay', metadata: { k: 'v' } });
  }, threadId);
  const [{ event: e }] = await waitForEvents(page, 'chatMessageReceived', 1, 'b');
  assert.equal(e.threadId, threadId);
  assert.equal(e.message, 'hi <b>there</b> 100%');
  assert.equal(e.senderDisplayName, 'Ay');
  assert.equal(e.sender.communicationUserId, a.id);
  assert.equal(e.recipient.communicationUserId, b.id);
  assert.equal(e.type, 'Text');
  assert.deepEqual(e.metadata, { k: 'v' });
  assert.deepEqual(e.attachments, []);
  assert.ok(/^\d+$/.test(e.id) && e.version === e.id, `id ${e.id} version ${e.version}`);
  assert.ok(Math.abs(new Date(e.createdOn).getTime() - Date.now()) < 60000);
  await page.close();
});

test('every chat event type arrives with the fields the SDK maps', async () => {
  const page = await openPage(chromium.browser, site.origin);
  const { a, b, c } = await users(page, ['a', 'b', 'c'], ['b']);
  const threadId = await createThread(page, 'a', [{ id: b.id, name: 'Bee' }], 'first topic');
  const ids = await page.evaluate(async ([tid, cId]) => {
    const t = window.clients.a.getChatThreadClient(tid);
    const { id } = await t.sendMessage({ content: 'one' }, { senderDisplayName: 'Ay' });
    await t.updateMessage(id, { content: 'one, edited', metadata: { e: '1' } });
    await t.sendTypingNotification({ senderDisplayName: 'Ay typing' });
    await t.sendReadReceipt({ chatMessageId: id });
    await t.deleteMessage(id);
    await t.updateTopic('second topic');
    await t.addParticipants({ participants: [{ id: { communicationUserId: cId }, displayName: 'Cee' }] });
    await t.removeParticipant({ communicationUserId: cId });
    await window.clients.a.deleteChatThread(tid);
    return { id };
  }, [threadId, c.id]);
  const one = async (type) => (await waitForEvents(page, type, 1, 'b'))[0].event;

  const created = await one('chatThreadCreated');
  assert.equal(created.threadId, threadId);
  assert.equal(created.createdBy.id.communicationUserId, a.id);
  assert.deepEqual(created.participants.map((p) => [p.id.communicationUserId, p.displayName]).sort(),
    [[a.id, ''], [b.id, 'Bee']].sort());
  assert.equal(created.properties.topic, 'first topic');
  assert.deepEqual(created.retentionPolicy, { kind: 'none' });

  const edited = await one('chatMessageEdited');
  assert.equal(edited.id, ids.id);
  assert.equal(edited.message, 'one, edited');
  assert.deepEqual(edited.metadata, { e: '1' });
  assert.ok(new Date(edited.editedOn).getTime() >= new Date(edited.createdOn).getTime());
  assert.ok(BigInt(edited.version) > BigInt(ids.id));

  const typing = await one('typingIndicatorReceived');
  assert.equal(typing.threadId, threadId);
  assert.equal(typing.sender.communicationUserId, a.id);
  assert.equal(typing.recipient.communicationUserId, b.id);
  assert.equal(typing.senderDisplayName, 'Ay typing');
  assert.ok(!Number.isNaN(new Date(typing.receivedOn).getTime()));

  const receipt = await one('readReceiptReceived');
  assert.equal(receipt.chatMessageId, ids.id);
  assert.equal(receipt.sender.communicationUserId, a.id);
  assert.ok(Math.abs(new Date(receipt.readOn).getTime() - Date.now()) < 60000);

  const deleted = await one('chatMessageDeleted');
  assert.equal(deleted.id, ids.id);
  assert.ok(new Date(deleted.deletedOn).getTime() >= new Date(deleted.createdOn).getTime());

  const updated = await one('chatThreadPropertiesUpdated');
  assert.equal(updated.properties.topic, 'second topic');
  assert.equal(updated.updatedBy.id.communicationUserId, a.id);
  assert.ok(!Number.isNaN(new Date(updated.updatedOn).getTime()));

  const added = await one('participantsAdded');
  assert.deepEqual(added.participantsAdded.map((p) => [p.id.communicationUserId, p.displayName]), [[c.id, 'Cee']]);
  assert.equal(added.addedBy.id.communicationUserId, a.id);

  const removed = await one('participantsRemoved');
  assert.deepEqual(removed.participantsRemoved.map((p) => p.id.communicationUserId), [c.id]);
  assert.equal(removed.removedBy.id.communicationUserId, a.id);

  const gone = await one('chatThreadDeleted');
  assert.equal(gone.threadId, threadId);
  assert.equal(gone.reason, 'deletedByUser');
  assert.equal(gone.deletedBy.id.communicationUserId, a.id);

  // each exactly once, in the order the writes were acknowledged
  const order = await page.evaluate(() => window.received.filter((r) => r.client === 'b'
    && !r.type.startsWith('realTime')).map((r) => r.type));
  assert.deepEqual(order, ['chatThreadCreated', 'chatMessageReceived', 'chatMessageEdited', 'typingIndicatorReceived',
    'readReceiptReceived', 'chatMessageDeleted', 'chatThreadPropertiesUpdated', 'participantsAdded',
    'participantsRemoved', 'chatThreadDeleted']);
  await page.close();
});

test('two users chat from two pages, each seeing both messages live', async () => {
  const pageA = await openPage(chromium.browser, site.origin);
  const pageB = await openPage(chromium.browser, site.origin);
  const { a } = await users(pageA, ['a'], ['a']);
  const { b } = await users(pageB, ['b'], ['b']);
  const threadId = await createThread(pageA, 'a', [{ id: b.id, name: 'Bee' }]);
  const send = (page, name, text) => page.evaluate(async ([n, tid, t]) => {
    await window.clients[n].getChatThreadClient(tid).sendMessage({ content: t });
  }, [name, threadId, text]);
  await send(pageA, 'a', 'hello from a');
  const [fromA] = await waitForEvents(pageB, 'chatMessageReceived', 1, 'b');
  assert.equal(fromA.event.message, 'hello from a');
  await send(pageB, 'b', 'hello from b');
  const seenByA = await waitForEvents(pageA, 'chatMessageReceived', 2, 'a');
  assert.deepEqual(seenByA.map((r) => [r.event.message, r.event.sender.communicationUserId]),
    [['hello from a', a.id], ['hello from b', b.id]]);
  const seenByB = await waitForEvents(pageB, 'chatMessageReceived', 2, 'b');
  assert.deepEqual(seenByB.map((r) => r.event.message), ['hello from a', 'hello from b']);
  await pageA.close();
  await pageB.close();
});

test('100 messages from 4 senders arrive in commit order, none lost or repeated', async () => {
  const page = await openPage(chromium.browser, site.origin);
  const made = await users(page, ['r', 's1', 's2', 's3', 's4'], ['r']);
  const senders = ['s1', 's2', 's3', 's4'];
  const threadId = await createThread(page, 'r', senders.map((s) => ({ id: made[s].id, name: s })));
  const sent = await page.evaluate(async ([tid, names]) => {
    const one = async (n) => {
      const ids = [];
      const t = window.clients[n].getChatThreadClient(tid);
      for (let i = 0; i < 25; i += 1) ids.push((await t.sendMessage({ content: `${n}-${i}` })).id);
      return ids;
    };
    return (await Promise.all(names.map(one))).flat();
  }, [threadId, senders]);
  const got = await waitForEvents(page, 'chatMessageReceived', 100, 'r', 30000);
  await new Promise((ok) => { setTimeout(ok, 500); }); // a repeat would arrive now
  const all = await page.evaluate(() => window.eventsOf('chatMessageReceived', 'r'));
  assert.equal(all.length, 100);
  const ids = got.map((r) => r.event.id);
  assert.deepEqual([...ids].sort(), [...sent].sort());
  assert.deepEqual(ids, [...ids].sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1)), 'commit (id) order');
  for (const s of senders) {
    const texts = got.map((r) => r.event.message).filter((m) => m.startsWith(`${s}-`));
    assert.deepEqual(texts, Array.from({ length: 25 }, (_, i) => `${s}-${i}`));
  }
  await page.close();
});

test('a revoked token ends the connection', async () => {
  const page = await openPage(chromium.browser, site.origin);
  const { b } = await users(page, ['b'], ['b']);
  await page.evaluate(async ([cs, id]) => window.revoke(cs, id), [emu.connectionString, b.id]);
  await waitForEvents(page, 'realTimeNotificationDisconnected', 1, 'b', 10000);
  await new Promise((ok) => { setTimeout(ok, 1500); });
  const connected = await page.evaluate(() => window.eventsOf('realTimeNotificationConnected', 'b').length);
  assert.equal(connected, 1, 'the client could not connect again with the revoked token');
  assert.match(emu.stderr(), /POST \/v4\/a 401/);
  await page.close();
});

test('an origin that is not allowed is refused: no config, no WebSocket', async () => {
  const strict = await startEmulator({ home: emu.home, args: ['--cors-origin', 'http://localhost:1'] });
  try {
    const page = await openPage(chromium.browser, site.origin);
    const outcome = await page.evaluate(async ([ep, cs]) => {
      let config = 'started';
      try {
        await window.startChat('x', ep, 'eyJhbGciOiJIUzI1NiJ9.e30.x', true);
      } catch (err) {
        config = String(err.message || err);
      }
      const socket = await new Promise((ok) => {
        const ws = new WebSocket(`${ep.replace('https:', 'wss:')}/socket.io/1/websocket/abc`);
        ws.onopen = () => ok('open');
        ws.onclose = (ev) => ok(`closed ${ev.code}`);
      });
      return { config, socket, cs: cs.length > 0 };
    }, [strict.endpoint, strict.connectionString]);
    assert.match(outcome.config, /real-time notification configuration/i);
    assert.equal(outcome.socket, 'closed 1006');
    assert.match(strict.stderr(), /origin http:\/\/127\.0\.0\.1:\d+ refused/);
    await page.close();
  } finally {
    await strict.stop();
  }
});

test('api-version 2025-03-15 fields: thread and participant metadata, retention policy, deletion by policy', async () => {
  const quick = await startEmulator({ home: emu.home, args: ['--retention-day-seconds', '0.1'] });
  try {
    const page = await openPage(chromium.browser, site.origin);
    const { b } = await users(page, ['a', 'b'], ['b'], quick.endpoint, quick.connectionString);
    const threadId = await page.evaluate(async (bId) => {
      const { chatThread } = await window.clients.a.createChatThread({ topic: 'kept 30 days' }, {
        metadata: { team: 'blue', pct: '100%' },
        retentionPolicy: { kind: 'threadCreationDate', deleteThreadAfterDays: 30 },
        participants: [{ id: { communicationUserId: bId }, displayName: 'Bee', metadata: { role: 'guest' } }],
      });
      await window.clients.a.getChatThreadClient(chatThread.id).updateProperties({ metadata: { team: 'red' } });
      return chatThread.id;
    }, b.id);
    const [{ event: created }] = await waitForEvents(page, 'chatThreadCreated', 1, 'b');
    assert.equal(created.threadId, threadId);
    assert.deepEqual(created.properties.metadata, { team: 'blue', pct: '100%' });
    assert.deepEqual(created.retentionPolicy, { kind: 'threadCreationDate', deleteThreadAfterDays: 30 });
    const bee = created.participants.find((p) => p.id.communicationUserId === b.id);
    assert.deepEqual(bee.metadata, { role: 'guest' });
    const [{ event: updated }] = await waitForEvents(page, 'chatThreadPropertiesUpdated', 1, 'b');
    assert.deepEqual(updated.properties.metadata, { team: 'red', pct: '100%' });
    assert.equal(updated.properties.topic, 'kept 30 days');
    assert.deepEqual(updated.retentionPolicy, { kind: 'threadCreationDate', deleteThreadAfterDays: 30 });
    const [{ event: gone }] = await waitForEvents(page, 'chatThreadDeleted', 1, 'b', 20000);
    assert.equal(gone.threadId, threadId);
    assert.equal(gone.reason, 'deletedByPolicy');
    assert.equal(gone.deletedBy, null);
    await page.close();
  } finally {
    await quick.stop();
  }
});
