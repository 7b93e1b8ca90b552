// The harness itself: Chromium reaches the emulator over HTTPS only when its NSS database trusts the emulator's CA.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { az } from '../lib/az.mjs';
import { launch, trustingHome } from '../lib/chromium.mjs';
import { PYTHON, ROOT, startEmulator } from '../lib/emulator.mjs';

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

test('`az communication emulator trust` is what makes a browser trust the emulator', async () => {
  const home = mkdtempSync(join(tmpdir(), 'acs-browser-home-'));
  const trusted = await az(['communication', 'emulator', 'trust'],
    { HOME: home, AZURE_COMMUNICATION_EMULATOR_HOME: emu.home });
  assert.equal(trusted.code, 0, trusted.stderr);
  assert.match(trusted.stdout, /Chromium\/Chrome: added 'ACS Emulator Local CA [0-9a-f]+' as a trusted CA/);
  const { browser, close } = await launch({ home });
  try {
    const response = await (await browser.newPage()).goto(`${emu.endpoint}/chat/threads?api-version=2024-03-07`);
    assert.equal(response.status(), 401);
  } finally {
    await close();
    rmSync(home, { recursive: true, force: true });
  }
});

/** An HTTPS server on 127.0.0.1 whose certificate names `names`, signed with the emulator CA's own key. */
async function serveSignedFor(names) {
  const script = 'import sys; from pathlib import Path; from tests.cert_tools import leaf_under; '
    + 'c, k = leaf_under(Path(sys.argv[1]), sys.argv[2:]); sys.stdout.write((c + k).decode())';
  const pem = execFileSync(PYTHON, ['-c', script, emu.home, ...names], { cwd: ROOT }).toString();
  const server = createServer({ cert: pem, key: pem }, (_req, res) => res.end('served'));
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return { port: server.address().port, close: () => new Promise((ok) => server.close(ok)) };
}

test('the trusted CA vouches for no other site: a certificate for example.com signed by it is refused', async () => {
  const foreign = await serveSignedFor(['example.com']);
  const own = await serveSignedFor(['localhost']);
  const { browser, close } = await launch({
    home: trustingHome(join(emu.home, 'ca.pem')),
    args: ['--host-resolver-rules=MAP example.com 127.0.0.1'],
  });
  try {
    const page = await browser.newPage();
    const control = await page.goto(`https://localhost:${own.port}/`);
    assert.equal(await control.text(), 'served');
    const refused = await page.goto(`https://example.com:${foreign.port}/`).then(() => 'loaded', (e) => e.message);
    assert.match(refused, /net::ERR_CERT_INVALID/); // Chromium's word for a name-constraint violation
  } finally {
    await close();
    await foreign.close();
    await own.close();
  }
});
