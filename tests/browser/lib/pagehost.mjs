// The test page: page/chat-app.mjs bundled with esbuild into a temporary folder and served, with a blank
// index.html, from a local HTTP server on 127.0.0.1 (a page origin the emulator allows by default).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const HERE = dirname(fileURLToPath(import.meta.url));
const INDEX = '<!doctype html><meta charset="utf-8"><title>chat test</title><script type="module" src="/chat-app.js"></script>';

/** Bundle the page script and serve it; returns {origin, close()}. */
export async function servePage() {
  const out = mkdtempSync(join(tmpdir(), 'acs-page-'));
  await build({
    entryPoints: [resolve(HERE, '..', 'page', 'chat-app.mjs')], bundle: true, format: 'esm', platform: 'browser',
    target: 'chrome120', outfile: join(out, 'chat-app.js'), logLevel: 'error',
  });
  const script = readFileSync(join(out, 'chat-app.js'));
  const server = createServer((req, res) => {
    if (req.url === '/chat-app.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    } else if (req.url === '/' || req.url.startsWith('/?')) {
      res.writeHead(200, { 'content-type': 'text/html' }).end(INDEX);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const origin = `http://127.0.0.1:${server.address().port}`;
  const close = async () => {
    await new Promise((ok) => server.close(ok));
    rmSync(out, { recursive: true, force: true });
  };
  return { origin, close };
}

/** Open the page in `browser` and wait until its script has loaded. */
export async function openPage(browser, origin) {
  const page = await browser.newPage();
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => typeof window.startChat === 'function');
  return page;
}

/** Wait until `count` events of `type` (for `client`) were recorded in the page; returns them. */
export async function waitForEvents(page, type, count, client, timeout = 15000) {
  await page.waitForFunction(([t, n, c]) => window.eventsOf(t, c).length >= n, [type, count, client], { timeout });
  return page.evaluate(([t, c]) => window.eventsOf(t, c), [type, client]);
}
