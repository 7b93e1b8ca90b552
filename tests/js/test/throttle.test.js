// 429 under --throttle (thread updates: 5 per 10 s per thread): surfaced as a RestError with Retry-After when
// retries are off, and honoured by the SDK's default retry policy otherwise.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { HOME_ENV, startEmulator } from "../lib/emulator.js";
import { chatUser, restError } from "../lib/context.js";

const UPDATES_PER_WINDOW = 5;
let emulator;

before(async () => {
  // Same home as the run's emulator: the certificates are reused, so NODE_EXTRA_CA_CERTS still holds their CA.
  emulator = await startEmulator({ home: process.env[HOME_ENV], args: ["--throttle"] });
});

after(async () => {
  await emulator?.stop();
});

/** A user's ChatClient on the throttled emulator; `statuses` receives every attempt's status and Retry-After. */
async function throttledChat(clientOptions = {}, statuses = []) {
  const recorder = {
    name: "attemptRecorder",
    async sendRequest(request, next) {
      const response = await next(request);
      statuses.push([response.status, response.headers.get("retry-after")]);
      return response;
    },
  };
  const client = { ...clientOptions, additionalPolicies: [{ policy: recorder, position: "perRetry" }] };
  return (await chatUser({ emulator, client })).chat;
}

test("without retries the SDK surfaces 429 as a RestError carrying Retry-After", async () => {
  const chat = await throttledChat({ retryOptions: { maxRetries: 0 } });
  const client = chat.getChatThreadClient((await chat.createChatThread({ topic: "busy" })).chatThread.id);
  for (let i = 0; i < UPDATES_PER_WINDOW; i += 1) await client.updateTopic(`topic ${i}`);
  const error = await restError(client.updateTopic("one too many"), 429);
  const retryAfter = Number(error.response.headers.get("retry-after"));
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 10, `Retry-After ${retryAfter}`);
  assert.equal((await client.getProperties()).topic, `topic ${UPDATES_PER_WINDOW - 1}`);
});

test("with the default retry policy the SDK waits Retry-After and the call succeeds", async () => {
  const statuses = [];
  const chat = await throttledChat({}, statuses);
  const client = chat.getChatThreadClient((await chat.createChatThread({ topic: "patient" })).chatThread.id);
  for (let i = 0; i < UPDATES_PER_WINDOW; i += 1) await client.updateTopic(`topic ${i}`);
  statuses.length = 0;
  const started = Date.now();
  await client.updateTopic("after the wait");
  const waited = Date.now() - started;
  assert.equal(statuses[0][0], 429);
  const retryAfter = Number(statuses[0][1]);
  assert.ok(retryAfter >= 1, `Retry-After ${statuses[0][1]}`);
  assert.deepEqual(statuses.at(-1), [204, undefined]);
  assert.ok(waited >= retryAfter * 1000 - 100, `retried after ${waited} ms, Retry-After was ${retryAfter} s`);
  assert.equal((await client.getProperties()).topic, "after the wait");
});
