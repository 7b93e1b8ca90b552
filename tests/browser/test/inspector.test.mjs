// The emulator's web page in Chromium: what the SDKs do shows up, what the page does reaches the SDKs, and the page's
// API refuses a wrong key and a foreign Host header.
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { launch, trustingHome } from '../lib/chromium.mjs';
import { startEmulator } from '../lib/emulator.mjs';
import { sdk } from '../lib/sdk.mjs';

let emu;
let chromium;
let client;

before(async () => {
  emu = await startEmulator();
  client = sdk(emu);
  chromium = await launch({ home: trustingHome(join(emu.home, 'ca.pem')) });
});
after(async () => {
  await chromium?.close();
  await emu?.stop();
});

async function openPage(url = emu.inspectorUrl) {
  const page = await chromium.browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(msg.text()); });
  await page.goto(url);
  return { page, errors };
}

test('the URL the emulator prints carries a key in its fragment', () => {
  assert.match(emu.inspectorUrl, new RegExp(`^${emu.endpoint}/_emulator/#key=[A-Za-z0-9_-]{40,}$`));
});

test('a thread created with the JavaScript SDK appears on the page, and the next one without a reload', async () => {
  const ana = await client.call({ op: 'user' });
  await client.call({ op: 'thread', token: ana.token, topic: 'Launch plan', participants: [{ rawId: ana.rawId, displayName: 'Ana' }] });
  const { page, errors } = await openPage();
  try {
    await page.getByRole('link', { name: 'Launch plan' }).waitFor({ timeout: 5000 });
    assert.equal(new URL(page.url()).hash, '#/threads', 'the key left the address bar');
    const started = Date.now();
    await client.call({ op: 'thread', token: ana.token, topic: 'Second thread' });
    await page.getByRole('link', { name: 'Second thread' }).waitFor({ timeout: 5000 });
    assert.ok(Date.now() - started < 5000);
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});

test('a message sent from the page reaches the SDK', async () => {
  const bo = await client.call({ op: 'user' });
  const { threadId } = await client.call({ op: 'thread', token: bo.token, topic: 'Poke the bot',
    participants: [{ rawId: bo.rawId, displayName: 'Bo' }] });
  await client.call({ op: 'send', token: bo.token, threadId, content: 'hello from the SDK', displayName: 'Bo' });
  const { page, errors } = await openPage();
  try {
    await page.getByRole('link', { name: 'Poke the bot' }).click();
    await page.getByText('hello from the SDK').waitFor({ timeout: 5000 });
    await page.getByLabel('Chat as', { exact: true }).selectOption(bo.rawId);
    await page.getByLabel('Message', { exact: true }).fill('hello from the page');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await page.locator('.msg.mine', { hasText: 'hello from the page' }).waitFor({ timeout: 5000 });
    const { messages } = await client.call({ op: 'messages', token: bo.token, threadId });
    const fromPage = messages.find((m) => m.content === 'hello from the page');
    assert.ok(fromPage, JSON.stringify(messages));
    assert.equal(fromPage.sender, bo.rawId);
    // and one sent with the SDK now shows up live
    await client.call({ op: 'send', token: bo.token, threadId, content: 'live from the SDK', displayName: 'Bo' });
    await page.getByText('live from the SDK').waitFor({ timeout: 3000 });
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});

test('a wrong key gets the key form, not the data', async () => {
  const { page } = await openPage(`${emu.endpoint}/_emulator/#key=not-the-key`);
  try {
    await page.getByRole('heading', { name: 'Key needed' }).waitFor({ timeout: 5000 });
    assert.equal(await page.getByRole('link', { name: 'Launch plan' }).count(), 0);
    const status = await page.evaluate(async () => (await fetch('api/threads', { headers: { 'X-Emulator-Key': 'wrong' } })).status);
    assert.equal(status, 401);
    const key = new URL(emu.inspectorUrl).hash.slice('#key='.length);
    await page.getByLabel('Key', { exact: true }).fill(key);
    await page.getByRole('button', { name: 'Open' }).click();
    await page.getByRole('link', { name: 'Launch plan' }).waitFor({ timeout: 5000 });
  } finally {
    await page.close();
  }
});

test('a request whose Host header is not the emulator is refused (DNS rebinding)', async () => {
  const ca = readFileSync(join(emu.home, 'ca.pem'));
  const key = new URL(emu.inspectorUrl).hash.slice('#key='.length);
  const status = (host) => new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port: emu.port, path: '/_emulator/api/threads', ca, servername: '127.0.0.1',
      headers: { Host: host, 'X-Emulator-Key': key } }, (res) => { res.resume(); ok(res.statusCode); });
    req.on('error', fail);
    req.end();
  });
  assert.equal(await status(`attacker.example:${emu.port}`), 403);
  assert.equal(await status(`localhost:${emu.port}`), 200);
});

/** Controls without a label or a name, and whether the page is wider than the window. */
async function audit(page) {
  return page.evaluate(() => ({
    unlabelled: [...document.querySelectorAll('input, select, textarea')]
      .filter((el) => !el.labels?.length && !el.getAttribute('aria-label') && el.offsetParent !== null)
      .map((el) => el.outerHTML.slice(0, 80)),
    nameless: [...document.querySelectorAll('button, a')].filter((el) => !(el.getAttribute('aria-label') || el.textContent.trim()))
      .map((el) => el.outerHTML.slice(0, 80)),
    clickableDivs: document.querySelectorAll('div[onclick], span[onclick], [role="button"]:not(button)').length,
    overflow: document.documentElement.scrollWidth - window.innerWidth,
  }));
}

test('usable with the keyboard alone: open Users, create a user, issue a token', async () => {
  const { page, errors } = await openPage();
  try {
    await page.getByRole('link', { name: 'Threads' }).waitFor();
    const focused = () => page.evaluate(() => document.activeElement?.textContent?.trim() || document.activeElement?.id);
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'Threads');
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'Users');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Users' }).waitFor();
    for (let i = 0; i < 4; i += 1) await page.keyboard.press('Tab');
    assert.equal(await focused(), 'Create user');
    await page.keyboard.press('Enter');
    await page.getByText(/^Created /).waitFor({ timeout: 5000 });
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'Issue token');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.activeElement?.id === 'token', null, { timeout: 5000 });
    assert.match(await page.inputValue('#token'), /^[\w-]+\.[\w-]+\.[\w-]+$/);
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'Copy token');
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});

test('every view has labelled controls, real buttons and fits 1280x800 and 390x844', async () => {
  for (const viewport of [{ width: 1280, height: 800 }, { width: 390, height: 844 }]) {
    const page = await chromium.browser.newPage({ viewport });
    try {
      await page.goto(emu.inspectorUrl);
      await page.getByRole('link', { name: 'Launch plan' }).waitFor({ timeout: 5000 });
      const views = [['threads', 'Threads'], ['users', 'Users'], ['events', 'Events'], ['faults', 'Faults'], ['requests', 'Requests']];
      const found = {};
      for (const [hash, title] of views) {
        await page.evaluate((h) => { location.hash = `#/${h}`; }, hash);
        await page.getByRole('heading', { name: title, exact: true }).waitFor();
        found[hash] = await audit(page);
      }
      await page.getByRole('link', { name: 'Threads' }).click();
      await page.getByRole('link', { name: 'Poke the bot' }).click();
      await page.getByText('hello from the page').waitFor();
      found.thread = await audit(page);
      for (const [view, a] of Object.entries(found)) {
        assert.deepEqual(a, { unlabelled: [], nameless: [], clickableDivs: 0, overflow: 0 }, `${view} at ${viewport.width}`);
      }
    } finally {
      await page.close();
    }
  }
});

test('a fault injected from the page fails the next SDK request, and the Requests view shows it', async () => {
  const { page, errors } = await openPage();
  try {
    await page.getByRole('link', { name: 'Faults' }).click();
    await page.getByLabel('Fault', { exact: true }).selectOption('503');
    await page.getByLabel('Requests', { exact: true }).fill('1');
    await page.getByLabel('Retry-After (s)').fill('0');
    await page.getByRole('button', { name: 'Inject' }).click();
    await page.getByRole('cell', { name: '503' }).waitFor({ timeout: 5000 });
    const made = await client.call({ op: 'user' });  // the SDK's retry policy gets through on its second try
    assert.match(made.rawId, /^8:acs:/);
    await page.getByText('No fault pending').waitFor({ timeout: 5000 });
    await page.getByRole('link', { name: 'Requests' }).click();
    const rows = page.locator('tr', { hasText: '/identities' });
    await rows.filter({ hasText: '503' }).first().waitFor({ timeout: 5000 });
    await rows.filter({ hasText: '201' }).first().waitFor({ timeout: 5000 });
    assert.equal(await page.locator('tr', { hasText: '/_emulator' }).count(), 0, 'the page\'s own requests are not listed');
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});

test('metadata and a retention policy show up, and a thread started on the page has them for the SDK', async () => {
  const cy = await client.call({ op: 'user' });
  await client.call({ op: 'thread', token: cy.token, topic: 'Kept a month', metadata: { ticket: '42' },
    retentionPolicy: { kind: 'threadCreationDate', deleteThreadAfterDays: 30 },
    participants: [{ rawId: cy.rawId, displayName: 'Cy', metadata: { role: 'owner' } }] });
  const { page, errors } = await openPage();
  try {
    const row = page.locator('tr', { hasText: 'Kept a month' });
    await row.waitFor({ timeout: 5000 });
    assert.match(await row.innerText(), /ticket=42/);
    assert.match(await row.innerText(), /deleted in (29|30) d/);
    await page.getByLabel('Topic', { exact: true }).fill('Started on the page');
    await page.getByLabel('Created by').selectOption(cy.rawId);
    await page.getByLabel('Delete after (days)').fill('60');
    await page.getByLabel('Metadata', { exact: true }).fill('source=page\nteam=blue');
    await page.getByRole('button', { name: 'Create thread' }).click();
    await page.getByRole('heading', { name: 'Started on the page' }).waitFor({ timeout: 5000 });
    await page.getByText('source=page').waitFor();
    assert.match(await page.locator('.facts').innerText(), /deleted in (59|60) d/);
    const threadId = decodeURIComponent(new URL(page.url()).hash.slice('#/thread/'.length));
    const props = await client.call({ op: 'props', token: cy.token, threadId });
    assert.deepEqual(props.metadata, { source: 'page', team: 'blue' });
    assert.deepEqual(props.retentionPolicy, { kind: 'threadCreationDate', deleteThreadAfterDays: 60 });
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});
