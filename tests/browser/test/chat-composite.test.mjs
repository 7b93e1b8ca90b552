// The UI Library's ChatComposite in Chromium, in the example app examples/web-chat (its own source, bundled by
// esbuild at start): user A in the browser sees user B's message, sent with `az communication chat message send`,
// appear without a reload, and B reads A's answer typed into the composite. WEB_CHAT_SCREENSHOT=<file.png> saves
// a screenshot of A's page (docs/images/web-chat.png in the README is one).
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { az } from '../lib/az.mjs';
import { launch, trustingHome } from '../lib/chromium.mjs';
import { ROOT, startEmulator } from '../lib/emulator.mjs';
import { startWebChat } from '../lib/webchat.mjs';

let emu; let app; let chromium;
before(async () => {
  emu = await startEmulator();
  app = await startWebChat(emu);
  chromium = await launch({ home: trustingHome(join(emu.home, 'ca.pem')) });
});
after(async () => {
  await chromium?.close();
  await app?.stop();
  await emu?.stop();
});

/** A session of the example's server for `name` (what the page fetches): {endpoint, threadId, userId, token}. */
async function session(name) {
  const answer = await fetch(`${app.origin}/api/session?name=${encodeURIComponent(name)}`);
  assert.equal(answer.status, 200, await answer.clone().text());
  return answer.json();
}

test('A sees B\'s message from az appear in the ChatComposite, and B reads A\'s answer', async () => {
  const page = await chromium.browser.newPage({ viewport: { width: 1000, height: 640 } });
  const offsite = [];
  await page.route((url) => !['127.0.0.1', 'localhost'].includes(url.hostname), (route) => {
    offsite.push(route.request().url());
    return route.abort();
  });
  const problems = [];
  page.on('pageerror', (err) => problems.push(err.message));
  await page.goto(`${app.origin}/?name=${encodeURIComponent('Ada (browser)')}`);
  const sendBox = page.getByRole('textbox', { name: /message/i });
  await sendBox.waitFor({ timeout: 60000 });
  const marker = await page.evaluate(() => { window.notReloaded = Math.random(); return window.notReloaded; });

  const bob = await session('Bob (az)');
  const asBob = { AZURE_COMMUNICATION_ENDPOINT: emu.endpoint, AZURE_COMMUNICATION_ACCESS_TOKEN: bob.token,
    REQUESTS_CA_BUNDLE: emu.caBundle };
  const text = 'Hello from the command line: az communication chat message send';
  const sent = await az(['communication', 'chat', 'message', 'send', '-t', bob.threadId, '--content', text,
    '--display-name', 'Bob (az)', '-o', 'json'], asBob);
  assert.equal(sent.code, 0, sent.stderr);
  assert.match(sent.json.id, /^\d+$/);

  await page.getByText(text, { exact: true }).waitFor({ timeout: 20000 });
  assert.equal(await page.evaluate(() => window.notReloaded), marker, 'the page was not reloaded');
  assert.ok(await page.getByText('Bob (az)').first().isVisible(), 'the sender\'s display name is shown');

  const answer = 'Hi Bob, from the ChatComposite in the browser';
  await sendBox.fill(answer);
  await sendBox.press('Enter');
  let listed;
  for (let i = 0; i < 40; i += 1) {
    listed = await az(['communication', 'chat', 'message', 'list', '-t', bob.threadId, '-o', 'json'], asBob);
    assert.equal(listed.code, 0, listed.stderr);
    if (listed.json.some((m) => m.content?.message === answer)) break;
    await new Promise((ok) => setTimeout(ok, 250));
  }
  const fromAda = listed.json.find((m) => m.content?.message === answer);
  assert.ok(fromAda, `Bob reads Ada's answer: ${JSON.stringify(listed.json.map((m) => m.content))}`);
  assert.equal(fromAda.senderDisplayName, 'Ada (browser)');
  await page.getByText(answer, { exact: true }).waitFor();
  assert.deepEqual(offsite, [], 'the page asked for nothing beyond this machine');
  assert.deepEqual(problems, []);

  if (process.env.WEB_CHAT_SCREENSHOT) {
    await page.waitForTimeout(500); // let the send status settle
    const file = resolve(ROOT, process.env.WEB_CHAT_SCREENSHOT);
    mkdirSync(dirname(file), { recursive: true });
    await page.screenshot({ path: file });
  }
  await page.close();
});
