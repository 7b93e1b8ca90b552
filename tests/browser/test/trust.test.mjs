// The harness itself: Chromium reaches the emulator over HTTPS only when its NSS database trusts the emulator's CA.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { launch, trustingHome } from '../lib/chromium.mjs';
import { startEmulator } from '../lib/emulator.mjs';

let emu;
before(async () => { emu = await startEmulator(); });
after(async () => { await emu?.stop(); });

test('a browser that trusts the emulator CA gets the service answer', async () => {
  const { browser, close } = await launch({ home: trustingHome(join(emu.home, 'ca.pem')) });
  try {
    const page = await browser.newPage();
    const response = await page.goto(`${emu.endpoint}/chat/threads?api-version=2024-03-07`);
    assert.equal(response.status(), 401);
    const body = JSON.parse(await response.text());
    assert.ok(body.error.code, 'the error body has a code');
  } finally {
    await close();
  }
});

test('a browser without that trust refuses the certificate', async () => {
  const { browser, close } = await launch();
  try {
    const page = await browser.newPage();
    await assert.rejects(page.goto(`${emu.endpoint}/chat/threads?api-version=2024-03-07`), /ERR_CERT_AUTHORITY_INVALID/);
  } finally {
    await close();
  }
});
