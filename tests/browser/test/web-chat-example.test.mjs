// The example app examples/web-chat stays what chat-composite.test.mjs runs: exact pins, a lockfile whose every
// package this folder's lockfile holds at the same version (the test links these node_modules into a copy of the
// example), and a clear one-line error when it is started without the emulator's settings.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { EXAMPLE } from '../lib/webchat.mjs';

const HERE = join(dirname(fileURLToPath(import.meta.url)), '..');
const json = (file) => JSON.parse(readFileSync(file, 'utf8'));

test('the example pins exact versions and its lockfile matches the one the tests install', () => {
  const pkg = json(join(EXAMPLE, 'package.json'));
  const deps = { ...pkg.dependencies, ...pkg.devDependencies };
  for (const [name, version] of Object.entries(deps)) {
    assert.match(version, /^\d+\.\d+\.\d+$/, `${name} is pinned exactly`);
  }
  assert.equal(pkg.scripts.dev, 'node server.mjs');
  const mine = json(join(EXAMPLE, 'package-lock.json')).packages;
  const tests = json(join(HERE, 'package-lock.json')).packages;
  assert.deepEqual(mine[''].dependencies, pkg.dependencies, 'the lockfile is the package.json\'s');
  const differ = Object.entries(mine).filter(([path, p]) => path && tests[path]?.version !== p.version)
    .map(([path, p]) => `${path}@${p.version} (tests: ${tests[path]?.version ?? 'absent'})`);
  assert.deepEqual(differ, []);
  for (const name of Object.keys(deps)) assert.ok(mine[`node_modules/${name}`], `${name} is locked`);
});

test('started without the emulator settings, the example says what to paste in one line and exits 1', async () => {
  const env = { ...process.env };
  delete env.AZURE_COMMUNICATION_CONNECTION_STRING;
  delete env.AZURE_COMMUNICATION_ENDPOINT;
  const run = promisify(execFile)(process.execPath, [join(EXAMPLE, 'server.mjs')], { env, cwd: HERE });
  const err = await run.then(() => assert.fail('it started'), (e) => e);
  assert.equal(err.code, 1);
  const lines = err.stderr.trim().split('\n');
  assert.equal(lines.length, 1, err.stderr);
  assert.match(lines[0], /^error: set AZURE_COMMUNICATION_CONNECTION_STRING .*az communication emulator start/);
});
