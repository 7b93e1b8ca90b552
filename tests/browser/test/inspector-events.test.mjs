// The web page's Events view in Chromium: a webhook that answers 500, on a subscription of one attempt, shows a
// dead letter with Event Grid's reason; once the webhook is fixed, Redeliver gets the event through.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { launch, trustingHome } from '../lib/chromium.mjs';
import { startEmulator } from '../lib/emulator.mjs';
import { sdk } from '../lib/sdk.mjs';

let emu;
let chromium;
let receiver;
let answer = 500;
const received = [];
const folder = mkdtempSync(join(tmpdir(), 'acs-events-config-'));

before(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      received.push({ status: answer, body });
      res.writeHead(answer, { 'Content-Type': 'text/plain' }).end(answer === 500 ? 'the bot crashed' : 'ok');
    });
  });
  await new Promise((ok) => { receiver.listen(0, '127.0.0.1', ok); });
  const config = join(folder, 'events.json');
  writeFileSync(config, JSON.stringify({ subscriptions: [{ name: 'failing-bot',
    endpoint: `http://127.0.0.1:${receiver.address().port}/api/events`, skipValidation: true,
    retryPolicy: { maxDeliveryAttempts: 1 } }] }));
  emu = await startEmulator({ args: ['--events-config', config, '--event-retry-scale', '0.01'] });
  chromium = await launch({ home: trustingHome(join(emu.home, 'ca.pem')) });
});
after(async () => {
  await chromium?.close();
  await emu?.stop();
  receiver?.close();
  rmSync(folder, { recursive: true, force: true });
});

test('a failing webhook shows a dead letter with its reason, and Redeliver sends it again', async () => {
  const client = sdk(emu);
  const ana = await client.call({ op: 'user' });
  const page = await chromium.browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));
  try {
    await page.goto(emu.inspectorUrl);
    await page.getByRole('link', { name: 'Events' }).click();
    await page.getByRole('cell', { name: 'failing-bot' }).first().waitFor({ timeout: 5000 });
    await client.call({ op: 'thread', token: ana.token, topic: 'Webhook test' });
    const row = page.locator('tr.dead-letter', { hasText: 'ChatThreadCreated' });
    await row.waitFor({ timeout: 10000 });  // live: no reload
    const text = await row.innerText();
    assert.match(text, /MaxDeliveryAttemptsExceeded/);
    assert.match(text, /500/);
    assert.match(text, /the bot crashed/);
    assert.ok(received.length >= 1 && received.every((r) => r.status === 500));
    answer = 200;
    await row.getByRole('button', { name: /Redeliver/ }).click();
    await row.getByText('sent again').waitFor({ timeout: 5000 });
    await page.locator('tr', { hasText: 'ChatThreadCreated' }).filter({ hasText: '200' }).first().waitFor({ timeout: 10000 });
    const delivered = received.filter((r) => r.status === 200);
    assert.equal(delivered.length, 1);
    assert.equal(JSON.parse(delivered[0].body)[0].eventType, 'Microsoft.Communication.ChatThreadCreated');
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});
