// Real-time notifications across an emulator restart with --data-dir: the SDK's socket drops, its old sid is
// unknown to the new process, and it allocates again and keeps receiving pushes.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { launch, trustingHome } from '../lib/chromium.mjs';
import { startEmulator } from '../lib/emulator.mjs';
import { openPage, servePage, waitForEvents } from '../lib/pagehost.mjs';

let dataDir; let emu; let site; let chromium;
before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'acs-rt-data-'));
  emu = await startEmulator({ args: ['--data-dir', dataDir] });
  site = await servePage();
  chromium = await launch({ home: trustingHome(join(dataDir, 'ca.pem')) });
});
after(async () => {
  await chromium?.close();
  await site?.close();
  await emu?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

test('the client reconnects after an emulator restart and receives the next message', async () => {
  const page = await openPage(chromium.browser, site.origin);
  const [a, b] = await page.evaluate(async (cs) => [await window.newUser(cs), await window.newUser(cs)],
    emu.connectionString);
  await page.evaluate(async ([ep, ta, tb]) => {
    await window.startChat('a', ep, ta, false);
    await window.startChat('b', ep, tb, true);
  }, [emu.endpoint, a.token, b.token]);
  await waitForEvents(page, 'realTimeNotificationConnected', 1, 'b');
  const threadId = await page.evaluate(async (bId) => {
    const { chatThread } = await window.clients.a.createChatThread({ topic: 'restart' },
      { participants: [{ id: { communicationUserId: bId } }] });
    return chatThread.id;
  }, b.id);
  const { port } = emu;
  await emu.stop();
  await waitForEvents(page, 'realTimeNotificationDisconnected', 1, 'b');
  emu = await startEmulator({ args: ['--data-dir', dataDir], port });
  await waitForEvents(page, 'realTimeNotificationConnected', 2, 'b', 40000);
  await page.evaluate(async (tid) => {
    await window.clients.a.getChatThreadClient(tid).sendMessage({ content: 'after the restart' });
  }, threadId);
  const [got] = await waitForEvents(page, 'chatMessageReceived', 1, 'b');
  assert.equal(got.event.message, 'after the restart');
  assert.equal(got.event.threadId, threadId);
  await page.close();
});
