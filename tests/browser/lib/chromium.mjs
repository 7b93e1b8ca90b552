// Debian's Chromium through playwright-core, trusting the emulator's CA the way a user's browser does: in an NSS
// database of a (temporary) home folder, added with certutil.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** A home folder whose NSS database trusts `caFile` (PEM) as a root for web sites. */
export function trustingHome(caFile) {
  const home = mkdtempSync(join(tmpdir(), 'acs-browser-home-'));
  const db = join(home, '.pki', 'nssdb');
  mkdirSync(db, { recursive: true });
  execFileSync('certutil', ['-d', `sql:${db}`, '-N', '--empty-password']);
  execFileSync('certutil', ['-d', `sql:${db}`, '-A', '-t', 'C,,', '-n', 'ACS emulator test CA', '-i', caFile]);
  return home;
}

/** Launch Chromium with the given home (see trustingHome) and extra flags; returns {browser, close()}. */
export async function launch({ home, args = [] } = {}) {
  const ownHome = !home;
  home = home || mkdtempSync(join(tmpdir(), 'acs-browser-home-'));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [...FLAGS, ...args],
    env: { ...process.env, HOME: home },
  });
  const close = async () => {
    await browser.close();
    if (ownHome) rmSync(home, { recursive: true, force: true });
  };
  return { browser, close };
}
