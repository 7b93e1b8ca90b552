// The real `az` of the checkout's virtualenv with this checkout as the extension `communication` (a dev source,
// as `make shell` sets it up), in a throwaway az config folder.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './emulator.mjs';

const run = promisify(execFile);
export const AZ = join(ROOT, '.venv', 'bin', 'az');
const CONFIG_DIR = mkdtempSync(join(tmpdir(), 'acs-az-config-'));

/** Run `az <args>` with extra environment `env`; resolves {code, stdout, stderr, json} (never rejects on exit). */
export async function az(args, env = {}) {
  const fullEnv = {
    ...process.env,
    AZURE_CONFIG_DIR: CONFIG_DIR,
    AZURE_EXTENSION_DEV_SOURCES: join(ROOT, '.venv', 'az-extensions'),
    AZURE_EXTENSION_DIR: join(ROOT, '.venv', 'az-cliextensions'),
    AZURE_CORE_COLLECT_TELEMETRY: 'no',
    AZURE_CORE_NO_COLOR: 'true',
    ...env,
  };
  try {
    const { stdout, stderr } = await run(AZ, args, { env: fullEnv, cwd: ROOT, timeout: 120000 });
    let json;
    try { json = stdout.trim() ? JSON.parse(stdout) : undefined; } catch { json = undefined; }
    return { code: 0, stdout, stderr, json };
  } catch (err) {
    if (typeof err.code !== 'number') throw err;
    return { code: err.code, stdout: err.stdout, stderr: err.stderr, json: undefined };
  }
}
