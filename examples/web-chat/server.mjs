// The development server of the web chat example: bundles src/main.jsx with esbuild (rebuilt on every change),
// serves it on http://127.0.0.1:$PORT, and hands each visitor a chat session: a new user and token from
// `az communication identity token issue`, added to one shared thread with `az communication chat participant add`.
// The connection string stays here, never in the browser.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const AZ = process.env.AZ || 'az';
const TOPIC = process.env.CHAT_TOPIC || 'Web chat';
const connectionString = process.env.AZURE_COMMUNICATION_CONNECTION_STRING;
const endpoint = process.env.AZURE_COMMUNICATION_ENDPOINT || /endpoint=([^;]+)/i.exec(connectionString || '')?.[1];

if (!connectionString || !endpoint) {
  console.error('error: set AZURE_COMMUNICATION_CONNECTION_STRING (and REQUESTS_CA_BUNDLE): paste the export lines '
    + "that 'az communication emulator start' prints");
  process.exit(1);
}

/** `az <args> -o json` with extra environment; resolves the parsed output, rejects with az's error line. */
function az(args, env = {}) {
  return new Promise((resolve, reject) => {
    execFile(AZ, [...args, '--only-show-errors', '-o', 'json'], { env: { ...process.env, ...env } },
      (err, stdout, stderr) => {
        if (err) {
          const line = stderr.split('\n').find((l) => l.startsWith('ERROR')) || err.message.split('\n')[0];
          reject(new Error(`az ${args.slice(0, 4).join(' ')}: ${line}`));
        } else {
          resolve(stdout.trim() ? JSON.parse(stdout) : null);
        }
      });
  });
}

const newUser = () => az(['communication', 'identity', 'token', 'issue', '--scope', 'chat']);

let owner; // the user who created the shared thread and adds every visitor to it
function sharedThread() {
  owner ??= (async () => {
    const { token } = await newUser();
    const created = await az(['communication', 'chat', 'thread', 'create', '--topic', TOPIC],
      { AZURE_COMMUNICATION_ACCESS_TOKEN: token });
    return { token, threadId: created.chatThread.id };
  })().catch((err) => { owner = undefined; throw err; });
  return owner;
}

async function session(name) {
  const displayName = (name || 'Guest').trim().slice(0, 256) || 'Guest';
  const [{ token: ownerToken, threadId }, user] = await Promise.all([sharedThread(), newUser()]);
  await az(['communication', 'chat', 'participant', 'add', '-t', threadId, '--user', user.user_id,
    '--display-name', displayName], { AZURE_COMMUNICATION_ACCESS_TOKEN: ownerToken });
  console.log(`${displayName} joined as ${user.user_id}`);
  return { endpoint, threadId, displayName, userId: user.user_id, token: user.token };
}

const outdir = mkdtempSync(join(tmpdir(), 'web-chat-'));
const { context } = await import('esbuild'); // after the settings check, so that it comes first
const builder = await context({
  entryPoints: [join(HERE, 'src', 'main.jsx')], bundle: true, format: 'esm', platform: 'browser', target: 'es2020',
  jsx: 'automatic', sourcemap: true, outdir, logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"development"' },
});
await builder.rebuild();
await builder.watch();

const TYPES = { '.js': 'text/javascript', '.map': 'application/json', '.css': 'text/css' };
const server = createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  try {
    if (url.pathname === '/api/session') {
      const body = JSON.stringify(await session(url.searchParams.get('name')));
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body);
    } else if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(readFileSync(join(HERE, 'index.html')));
    } else {
      const file = basename(url.pathname); // only the bundle's own files, flat in outdir
      const type = TYPES[file.slice(file.lastIndexOf('.'))];
      if (!type) throw Object.assign(new Error('not found'), { code: 'ENOENT' });
      const data = readFileSync(join(outdir, file));
      res.writeHead(200, { 'content-type': type }).end(data);
    }
  } catch (err) {
    const status = err.code === 'ENOENT' ? 404 : 502;
    if (status === 502) console.error(`error: ${err.message}`);
    res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 404 ? 'not found' : err.message);
  }
});

const port = Number(process.env.PORT ?? 3000);
server.listen(port, process.env.HOST || '127.0.0.1', () => {
  const { address, port: bound } = server.address();
  console.log(`Web chat on http://${address}:${bound}/ (chat endpoint ${endpoint}); open it in two tabs, ?name=You`);
});

async function stop() {
  server.close();
  await builder.dispose();
  rmSync(outdir, { recursive: true, force: true });
  process.exit(0);
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
