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

/** Two users on one page: `a` only calls the REST API, `b` listens. Returns {page, a, b, threadId}. */
async function twoUsers() {
  const page = await openPage(chromium.browser, site.origin);
  const [a, b] = await page.evaluate(async (cs) => [await window.newUser(cs), await window.newUser(cs)],
    emu.connectionString);
  await page.evaluate(async ([endpoint, ta, tb]) => {
    await window.startChat('a', endpoint, ta, false);
    await window.startChat('b', endpoint, tb, true);
  }, [emu.endpoint, a.token, b.token]);
  await waitForEvents(page, 'realTimeNotificationConnected', 1, 'b');
  return { page, a, b };
}

test('a message sent by one user arrives as chatMessageReceived on the other user\'s page', async () => {
  const { page, a, b } = await twoUsers();
  const threadId = await page.evaluate(async ([bId]) => {
    const { chatThread } = await window.clients.a.createChatThread({ topic: 'hello' },
      { participants: [{ id: { communicationUserId: bId }, displayName: 'Bee' }] });
    const thread = window.clients.a.getChatThreadClient(chatThread.id);
    await thread.sendMessage({ content: 'hi <b>there</b> 100%' }, { senderDisplayName: 'Ay', metadata: { k: 'v' } });
    return chatThread.id;
  }, [b.id]);
  const [got] = await waitForEvents(page, 'chatMessageReceived', 1, 'b');
  const e = got.event;
  assert.equal(e.threadId, threadId);
  assert.equal(e.message, 'hi <b>there</b> 100%');
  assert.equal(e.senderDisplayName, 'Ay');
  assert.equal(e.sender.communicationUserId, a.id);
  assert.equal(e.recipient.communicationUserId, b.id);
  assert.equal(e.type, 'Text');
  assert.deepEqual(e.metadata, { k: 'v' });
  assert.ok(/^\d+$/.test(e.id) && e.version === e.id, `id ${e.id} version ${e.version}`);
  assert.ok(Math.abs(new Date(e.createdOn).getTime() - Date.now()) < 60000);
  await page.close();
});
