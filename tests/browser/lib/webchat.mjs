// Runs the example app examples/web-chat as a user would (`npm run dev` = `node server.mjs`), from a temporary
// copy of its own source whose node_modules are this folder's (the same versions: see the example's test).
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ROOT } from './emulator.mjs';

export const EXAMPLE = join(ROOT, 'examples', 'web-chat');
const MODULES = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules');

/**
 * Start the example's server against `emu` (from startEmulator) on a free port, with the checkout's az (the
 * extension as a dev source) first on PATH. Returns {origin, output(), stop()}.
 */
export async function startWebChat(emu) {
  const copy = mkdtempSync(join(tmpdir(), 'web-chat-example-'));
  for (const name of ['package.json', 'server.mjs', 'index.html', 'src']) {
    cpSync(join(EXAMPLE, name), join(copy, name), { recursive: true });
  }
  symlinkSync(MODULES, join(copy, 'node_modules'), 'dir');
  const env = {
    ...process.env,
    PATH: `${join(ROOT, '.venv', 'bin')}:${process.env.PATH}`,
    AZURE_CONFIG_DIR: mkdtempSync(join(tmpdir(), 'acs-az-config-')),
    AZURE_EXTENSION_DEV_SOURCES: join(ROOT, '.venv', 'az-extensions'),
    AZURE_EXTENSION_DIR: join(ROOT, '.venv', 'az-cliextensions'),
    AZURE_CORE_COLLECT_TELEMETRY: 'no',
    AZURE_COMMUNICATION_ENDPOINT: emu.endpoint,
    AZURE_COMMUNICATION_CONNECTION_STRING: emu.connectionString,
    REQUESTS_CA_BUNDLE: emu.caBundle,
    PORT: '0',
  };
  const child = spawn(process.execPath, ['server.mjs'], { cwd: copy, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr.on('data', (chunk) => { out += chunk; });
  const lines = createInterface({ input: child.stdout });
  const origin = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`web chat did not start in 60 s: ${out}`)), 60000);
    lines.on('line', (line) => {
      out += `${line}\n`;
      const m = /Web chat on (http:\/\/[^/]+)\//.exec(line);
      if (m) { clearTimeout(timer); ok(m[1]); }
    });
    child.once('exit', (code) => { clearTimeout(timer); fail(new Error(`web chat exited ${code}: ${out}`)); });
  });
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((ok) => child.once('exit', ok));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(copy, { recursive: true, force: true });
    rmSync(env.AZURE_CONFIG_DIR, { recursive: true, force: true });
  };
  return { origin, output: () => out, stop };
}
