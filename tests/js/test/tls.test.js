// The emulator is reached over verified TLS: its CA comes in through NODE_EXTRA_CA_CERTS, and without it the
// SDK's request fails certificate verification.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { promisify } from "node:util";
import { connectionString } from "../lib/context.js";

const run = promisify(execFile);
const SCRIPT = `
import { CommunicationIdentityClient } from "@azure/communication-identity";
try {
  const user = await new CommunicationIdentityClient(process.env.ACS_EMULATOR_CONNECTION_STRING,
    { retryOptions: { maxRetries: 0 } }).createUser();
  console.log("created " + user.communicationUserId.slice(0, 6));
} catch (err) {
  console.log("failed " + (err.code ?? err.cause?.code ?? err.message));
}`;

async function createUserIn(env) {
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", SCRIPT],
    { cwd: new URL("..", import.meta.url), env: { ...env, ACS_EMULATOR_CONNECTION_STRING: connectionString() } });
  return stdout.trim();
}

test("TLS verification stays on: trusted through the emulator's CA only", async () => {
  assert.notEqual(process.env.NODE_TLS_REJECT_UNAUTHORIZED, "0");
  assert.match(process.env.NODE_EXTRA_CA_CERTS ?? "", /ca\.pem$/);
  assert.equal(await createUserIn(process.env), "created 8:acs:");
  const { NODE_EXTRA_CA_CERTS: _, ...untrusting } = process.env;
  assert.match(await createUserIn(untrusting), /^failed (SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)/);
});
