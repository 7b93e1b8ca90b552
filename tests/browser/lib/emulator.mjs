// Starts the emulator as a child process (port 0, a temporary home) and stops it: the browser tests' backend.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const PYTHON = process.env.PYTHON || join(ROOT, '.venv', 'bin', 'python');

/**
 * Start `python -m azext_communication.emulator --port 0 --json` and wait for its one JSON line.
 * Returns {endpoint, connectionString, caBundle, home, args, stderr(), stop()}. `home` may be passed to restart
 * an emulator on the same certificates and key; extra `args` go to the emulator as given.
 */
export async function startEmulator({ args = [], home, env = {}, port = 0 } = {}) {
  const ownHome = !home;
  home = home || mkdtempSync(join(tmpdir(), 'acs-emu-home-'));
  const argv = ['-m', 'azext_communication.emulator', '--port', String(port), '--json', ...args];
  const child = spawn(PYTHON, argv, {
    cwd: ROOT,
    env: { ...process.env, AZURE_COMMUNICATION_EMULATOR_HOME: home, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (chunk) => { err = (err + chunk).slice(-20000); });
  const line = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`emulator did not start in 30 s: ${err}`)), 30000);
    createInterface({ input: child.stdout }).once('line', (l) => { clearTimeout(timer); ok(l); });
    child.once('exit', (code) => { clearTimeout(timer); fail(new Error(`emulator exited ${code}: ${err}`)); });
  });
  const info = JSON.parse(line);
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((ok) => child.once('exit', ok));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
      await exited;
      clearTimeout(timer);
    }
    if (ownHome) rmSync(home, { recursive: true, force: true });
  };
  return { ...info, home, port: Number(new URL(info.endpoint).port), child, stderr: () => err, stop };
}
