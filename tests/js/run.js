// Runs the JavaScript SDK conformance tests: one emulator for the run, its CA trusted by every test process
// through NODE_EXTRA_CA_CERTS (read by node at start-up, so it is set before `node --test` is spawned).
// Usage: node run.js [test files...]   (default: every test/*.test.js)
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { HOME_ENV, startEmulator } from "./lib/emulator.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const TEST_DIR = join(HERE, "test");
const files = process.argv.length > 2
  ? process.argv.slice(2).map((f) => resolve(f))
  : readdirSync(TEST_DIR).filter((f) => f.endsWith(".test.js")).sort().map((f) => join(TEST_DIR, f));

const home = mkdtempSync(join(tmpdir(), "azext-communication-js-"));
let emulator;
let code = 1;
try {
  emulator = await startEmulator({ home });
  // Test files run 3 at a time (they mostly wait on the emulator); a test hanging for a minute fails.
  const runner = ["--test", "--test-reporter=spec", "--test-concurrency=3", "--test-timeout=60000"];
  const child = spawn(process.execPath, [...runner, ...files], {
    cwd: HERE,
    stdio: "inherit",
    env: {
      ...process.env,
      NODE_EXTRA_CA_CERTS: emulator.caPem,
      [HOME_ENV]: home,
      ACS_EMULATOR_ENDPOINT: emulator.endpoint,
      ACS_EMULATOR_CONNECTION_STRING: emulator.connectionString,
    },
  });
  const stopChild = (sig) => child.kill(sig);
  process.on("SIGINT", stopChild);
  process.on("SIGTERM", stopChild);
  code = await new Promise((done) => child.once("exit", (c, s) => done(c ?? (s ? 1 : 0))));
} catch (err) {
  console.error(`JavaScript SDK tests could not run: ${err.message}`);
  code = 1;
} finally {
  if (emulator) await emulator.stop();
  rmSync(home, { recursive: true, force: true });
}
process.exit(code);
