// Calls lib/sdk-cli.mjs in a child Node process that trusts the emulator's CA (NODE_EXTRA_CA_CERTS).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = join(dirname(fileURLToPath(import.meta.url)), 'sdk-cli.mjs');

/** An SDK client bound to an emulator (from startEmulator): sdk(emu).call({op: 'user'}) etc. */
export function sdk(emu) {
  const env = { ...process.env, NODE_EXTRA_CA_CERTS: join(emu.home, 'ca.pem') };
  const call = (req) => new Promise((ok, fail) => {
    execFile(process.execPath, [CLI, JSON.stringify({ endpoint: emu.endpoint, connectionString: emu.connectionString, ...req })],
      { env, timeout: 30000 }, (err, stdout, stderr) => {
        if (err) fail(new Error(`SDK ${req.op} failed: ${stderr || err.message}`));
        else ok(JSON.parse(stdout));
      });
  });
  return { call };
}
