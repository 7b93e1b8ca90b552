// A retention policy firing (api-version 2025-03-15) as the SDK sees it, on an emulator whose retention "day"
// is 20 ms (--retention-day-seconds 0.02): a 30-day policy deletes the thread 0.6 s after its creation.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { HOME_ENV, startEmulator } from "../lib/emulator.js";
import { assertDate, chatUser as chatUserOn, collect, restError } from "../lib/context.js";

const DAY_MS = 20;
let emulator;

before(async () => {
  const args = ["--retention-day-seconds", String(DAY_MS / 1000)];
  emulator = await startEmulator({ home: process.env[HOME_ENV], args });
});

after(async () => {
  await emulator?.stop();
});

const chatUser = () => chatUserOn({ emulator });

/** Polls getProperties until the thread is gone (404), for at most `ms`; returns the RestError. */
async function goneWithin(client, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      await client.getProperties();
    } catch (err) {
      if (err.statusCode === 404) return err;
      throw err;
    }
    await sleep(50);
  }
  return restError(client.getProperties(), 404);
}

test("a threadCreationDate policy deletes the thread once its days have passed", async () => {
  const [a, b] = await Promise.all([chatUser(), chatUser()]);
  const created = await a.chat.createChatThread({ topic: "short-lived" }, {
    participants: [{ id: b.user }],
    retentionPolicy: { kind: "threadCreationDate", deleteThreadAfterDays: 30 },
  });
  const tid = created.chatThread.id;
  const kept = (await a.chat.createChatThread({ topic: "kept" })).chatThread.id;
  const dueAt = created.chatThread.createdOn.getTime() + 30 * DAY_MS;
  await a.chat.getChatThreadClient(tid).sendMessage({ content: "soon gone" });

  await goneWithin(b.chat.getChatThreadClient(tid), 30 * DAY_MS + 5_000);
  assert.ok(Date.now() >= dueAt - 50, "not deleted before its due time");
  await restError(a.chat.getChatThreadClient(tid).listMessages().next(), 404);
  const listed = (await collect(a.chat.listChatThreads())).find((t) => t.id === tid);
  assertDate(listed?.deletedOn, "deletedOn");
  assert.equal((await a.chat.getChatThreadClient(kept).getProperties()).topic, "kept", "no policy, no deletion");
});

test("setting the policy to none before it fires keeps the thread", async () => {
  const a = await chatUser();
  const created = await a.chat.createChatThread({ topic: "reprieve" }, {
    retentionPolicy: { kind: "threadCreationDate", deleteThreadAfterDays: 90 },
  });
  const client = a.chat.getChatThreadClient(created.chatThread.id);
  await client.updateProperties({ retentionPolicy: { kind: "none" } });
  await sleep(90 * DAY_MS + 300);
  const props = await client.getProperties();
  assert.deepEqual(props.retentionPolicy, { kind: "none" });
});
