// The real page of the real-time benchmark: the chat SDK's browser build in Chromium (tests/browser's harness),
// live as one user; prints `ready` once connected, then on stdin `stop` prints one JSON line of
// [[messageId, epoch ms received], ...] for every chatMessageReceived.
//   node bench/realtime_page.mjs ENDPOINT CA_FILE TOKEN
import { createInterface } from 'node:readline';
import { launch, trustingHome } from '../tests/browser/lib/chromium.mjs';
import { openPage, servePage, waitForEvents } from '../tests/browser/lib/pagehost.mjs';

const [endpoint, caFile, token] = process.argv.slice(2);
const site = await servePage();
const chromium = await launch({ home: trustingHome(caFile) });
try {
  const page = await openPage(chromium.browser, site.origin);
  await page.evaluate(async ([ep, t]) => window.startChat('p', ep, t, true), [endpoint, token]);
  await waitForEvents(page, 'realTimeNotificationConnected', 1, 'p', 30000);
  process.stdout.write('ready\n');
  await new Promise((ok) => { createInterface({ input: process.stdin }).on('line', (l) => l === 'stop' && ok()); });
  const got = await page.evaluate(() => window.eventsOf('chatMessageReceived', 'p')
    .map((r) => [r.event.id, performance.timeOrigin + r.at]));
  process.stdout.write(`${JSON.stringify(got)}\n`);
} finally {
  await chromium.close();
  await site.close();
}
