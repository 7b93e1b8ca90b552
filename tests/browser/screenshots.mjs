// Screenshots of the emulator's web page for the README (docs/images/), made from a scripted session:
// `make screenshots`. Two sizes: a laptop (1280x800) and a phone (390x844).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, trustingHome } from './lib/chromium.mjs';
import { ROOT, startEmulator } from './lib/emulator.mjs';
import { sdk } from './lib/sdk.mjs';

const OUT = join(ROOT, 'docs', 'images');
const SIZES = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };

// the bot's webhook takes every event but edits, which it answers with a 500 (so the page has dead letters to show)
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    if (body.includes('ChatMessageEdited')) res.writeHead(500).end('edits are not supported yet');
    else res.writeHead(200).end();
  });
});
await new Promise((ok) => { receiver.listen(0, '127.0.0.1', ok); });
const folder = mkdtempSync(join(tmpdir(), 'acs-shots-'));
const config = join(folder, 'events.json');
writeFileSync(config, JSON.stringify({ subscriptions: [{ name: 'echo-bot', skipValidation: true,
  endpoint: `http://127.0.0.1:${receiver.address().port}/api/events`, retryPolicy: { maxDeliveryAttempts: 1 } }] }));
const emu = await startEmulator({ args: ['--events-config', config, '--event-retry-scale', '0.01'] });
const chromium = await launch({ home: trustingHome(join(emu.home, 'ca.pem')) });
try {
  const client = sdk(emu);
  const [ana, bot, cy] = [await client.call({ op: 'user' }), await client.call({ op: 'user' }), await client.call({ op: 'user' })];
  const people = [{ rawId: ana.rawId, displayName: 'Ana', metadata: { role: 'customer' } },
    { rawId: bot.rawId, displayName: 'Echo bot', metadata: { role: 'bot' } }];
  const { threadId } = await client.call({ op: 'thread', token: ana.token, topic: 'Order #1234: delivery date', participants: people,
    metadata: { ticket: '1234', queue: 'delivery' }, retentionPolicy: { kind: 'threadCreationDate', deleteThreadAfterDays: 30 } });
  await client.call({ op: 'thread', token: cy.token, topic: 'Team stand-up', participants: [{ rawId: cy.rawId, displayName: 'Cy' }] });
  const say = (who, name, content) => client.call({ op: 'send', token: who.token, threadId, content, displayName: name });
  await say(ana, 'Ana', 'Hi! When will order #1234 arrive?');
  const reply = await say(bot, 'Echo bot', 'Let me check… it ships on Monday.');
  await client.call({ op: 'edit', token: bot.token, threadId, messageId: reply.id, content: 'It ships on Monday, arriving Wednesday.' });
  await say(ana, 'Ana', 'Great, thanks!');
  await client.call({ op: 'read', token: bot.token, threadId, messageId: reply.id });
  mkdirSync(OUT, { recursive: true });
  for (const [size, viewport] of Object.entries(SIZES)) {
    const page = await chromium.browser.newPage({ viewport, deviceScaleFactor: 1 });
    await page.goto(emu.inspectorUrl);
    await page.getByRole('link', { name: /Order #1234/ }).waitFor();
    await page.screenshot({ path: join(OUT, `inspector-threads-${size}.png`) });
    await page.getByRole('link', { name: /Order #1234/ }).click();
    await page.getByText('Great, thanks!').waitFor();
    await client.call({ op: 'typing', token: bot.token, threadId, displayName: 'Echo bot' });
    await page.getByText('Echo bot is typing…').waitFor();
    await page.getByLabel('Message', { exact: true }).fill('Can I change the address?');
    await page.screenshot({ path: join(OUT, `inspector-thread-${size}.png`), fullPage: size === 'phone' });
    await page.getByRole('link', { name: 'Events' }).click();
    await page.locator('tr.dead-letter').first().waitFor();
    await page.screenshot({ path: join(OUT, `inspector-events-${size}.png`) });
    await page.close();
  }
  process.stdout.write(`screenshots in ${OUT}\n`);
} finally {
  await chromium.close();
  await emu.stop();
  receiver.close();
  rmSync(folder, { recursive: true, force: true });
}
