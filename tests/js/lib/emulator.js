// Starts the repository's emulator as a child process (free port, --json handshake) and stops it again.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
export const HOME_ENV = "AZURE_COMMUNICATION_EMULATOR_HOME";
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;
const LOG_TAIL = 16_384;

/** The Python that runs the emulator: $EMULATOR_PYTHON, else the checkout's .venv. */
export function emulatorPython() {
  const python = process.env.EMULATOR_PYTHON || join(ROOT, ".venv", "bin", "python");
  if (!existsSync(python)) {
    throw new Error(`no Python at ${python}: run 'make egg-info' first or set EMULATOR_PYTHON`);
  }
  return python;
}

/**
 * Start `python -m azext_communication.emulator --port 0 --json [...args]` with `home` as its certificate folder.
 * Resolves to {endpoint, connectionString, caBundle, caPem, stop(), log()} once the JSON line arrived.
 */
export function startEmulator({ home, args = [] }) {
  const child = spawn(emulatorPython(), ["-m", "azext_communication.emulator", "--port", "0", "--json", ...args], {
    cwd: ROOT,
    env: { ...process.env, [HOME_ENV]: home, PYTHONPATH: [ROOT, process.env.PYTHONPATH].filter(Boolean).join(":") },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk) => {
    stderr = (stderr + chunk).slice(-LOG_TAIL); // request log: keep only the tail, never let the pipe fill
  });
  const exited = new Promise((done) => child.once("exit", (code, signal) => done(code ?? signal)));

  const ready = new Promise((done, fail) => {
    let stdout = "";
    const timer = setTimeout(() => fail(new Error(`emulator not ready after ${START_TIMEOUT_MS} ms:\n${stderr}`)),
      START_TIMEOUT_MS);
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      const end = stdout.indexOf("\n");
      if (end < 0) return;
      clearTimeout(timer);
      try {
        done(JSON.parse(stdout.slice(0, end)));
      } catch (err) {
        fail(new Error(`emulator printed no JSON line: ${stdout.slice(0, end)}`, { cause: err }));
      }
    });
    child.once("error", (err) => { clearTimeout(timer); fail(err); });
    exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`emulator exited (${code}) before it was ready:\n${stderr}`));
    });
  });

  async function stop() {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    return exited;
  }

  return ready.then(
    (info) => ({ ...info, caPem: join(dirname(info.caBundle), "ca.pem"), stop, log: () => stderr, pid: child.pid }),
    async (err) => { await stop(); throw err; },
  );
}
