// ChatClient thread operations: create (with/without participants, idempotency), list with paging, delete,
// and the ChatThreadClient's properties and topic.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { ChatThreadClient } from "@azure/communication-chat";
import { assertDate, chatUser, collect, restError, THREAD_ID } from "../lib/context.js";

test("createChatThread without participants: the creator is the only participant", async () => {
  const a = await chatUser();
  const before = Date.now();
  const result = await a.chat.createChatThread({ topic: "solo" });
  assert.equal(result.invalidParticipants, undefined);
  const thread = result.chatThread;
  assert.match(thread.id, THREAD_ID);
  assert.equal(thread.topic, "solo");
  assertDate(thread.createdOn, "createdOn");
  assert.ok(Math.abs(thread.createdOn.getTime() - before) < 60_000);
  assert.deepEqual(thread.createdBy, { kind: "communicationUser", communicationUserId: a.user.communicationUserId });
  assert.equal(thread.deletedOn, undefined);

  const client = a.chat.getChatThreadClient(thread.id);
  assert.ok(client instanceof ChatThreadClient);
  assert.equal(client.threadId, thread.id);
  const participants = await collect(client.listParticipants());
  assert.deepEqual(participants.map((p) => p.id.communicationUserId), [a.user.communicationUserId]);
});

test("createChatThread with participants: all are members and the system messages say so", async () => {
  const [a, b] = await Promise.all([chatUser(), chatUser()]);
  const shareFrom = new Date("2024-01-01T00:00:00Z");
  const result = await a.chat.createChatThread({ topic: "pair" }, {
    participants: [{ id: a.user, displayName: "Ann" }, { id: b.user, displayName: "Bob", shareHistoryTime: shareFrom }],
  });
  const tid = result.chatThread.id;
  const asB = b.chat.getChatThreadClient(tid);
  const props = await asB.getProperties();
  assert.equal(props.id, tid);
  assert.equal(props.topic, "pair");
  assertDate(props.createdOn, "createdOn");
  assert.equal(props.createdBy.communicationUserId, a.user.communicationUserId);

  const people = await collect(asB.listParticipants());
  const byId = Object.fromEntries(people.map((p) => [p.id.communicationUserId, p]));
  assert.equal(byId[a.user.communicationUserId].displayName, "Ann");
  assert.equal(byId[b.user.communicationUserId].displayName, "Bob");
  assert.equal(byId[b.user.communicationUserId].shareHistoryTime.getTime(), shareFrom.getTime());

  const messages = await collect(asB.listMessages());
  assert.deepEqual(messages.map((m) => [m.type, m.sequenceId]), [["topicUpdated", "2"], ["participantAdded", "1"]]);
  const added = messages[1].content;
  assert.equal(added.initiator.communicationUserId, a.user.communicationUserId);
  assert.deepEqual(added.participants.map((p) => p.displayName).sort(), ["Ann", "Bob"]);
  assert.equal(messages[0].content.topic, "pair");
});

test("createChatThread with the same idempotencyToken returns the same thread", async () => {
  const a = await chatUser();
  const idempotencyToken = randomUUID();
  const first = await a.chat.createChatThread({ topic: "once" }, { idempotencyToken });
  const again = await a.chat.createChatThread({ topic: "once" }, { idempotencyToken });
  const other = await a.chat.createChatThread({ topic: "once" }, { idempotencyToken: randomUUID() });
  assert.equal(again.chatThread.id, first.chatThread.id);
  assert.notEqual(other.chatThread.id, first.chatThread.id);
  const threads = await collect(a.chat.listChatThreads());
  assert.equal(threads.length, 2);
});

test("listChatThreads pages with maxPageSize, and byPage continues from a continuation token", async () => {
  const a = await chatUser();
  const created = [];
  for (let i = 0; i < 5; i += 1) created.push((await a.chat.createChatThread({ topic: `t${i}` })).chatThread.id);

  // The SDK keeps the nextLink in the settings object it was given (that is where a caller finds it).
  const pages = [];
  const tokens = [];
  const settings = {};
  for await (const page of a.chat.listChatThreads({ maxPageSize: 2 }).byPage(settings)) {
    pages.push(page);
    tokens.push(settings.continuationToken);
  }
  const token = tokens[0];
  assert.deepEqual(pages.map((p) => p.length), [2, 2, 1]);
  const ids = pages.flat().map((t) => t.id);
  assert.deepEqual([...ids].sort(), [...created].sort());
  for (const item of pages.flat()) {
    assert.match(item.topic, /^t\d$/);
    assert.equal(item.deletedOn, undefined);
  }
  assert.equal(typeof token, "string");
  assert.equal(tokens[2], undefined, "no continuation after the last page");

  const resumed = [];
  for await (const page of a.chat.listChatThreads({ maxPageSize: 2 }).byPage({ continuationToken: token })) {
    resumed.push(...page.map((t) => t.id));
  }
  assert.deepEqual(resumed, ids.slice(2));
  assert.deepEqual((await collect(a.chat.listChatThreads({ maxPageSize: 2 }))).map((t) => t.id), ids);
});

test("listChatThreads with startTime leaves out threads without newer activity", async () => {
  const a = await chatUser();
  const old = (await a.chat.createChatThread({ topic: "old" })).chatThread.id;
  await new Promise((done) => setTimeout(done, 50));
  const cut = new Date();
  await new Promise((done) => setTimeout(done, 50));
  const fresh = (await a.chat.createChatThread({ topic: "fresh" })).chatThread.id;
  await a.chat.getChatThreadClient(fresh).sendMessage({ content: "news" });
  const listed = (await collect(a.chat.listChatThreads({ startTime: cut }))).map((t) => t.id);
  assert.ok(listed.includes(fresh), "the thread with a new message is listed");
  assert.ok(!listed.includes(old), "the thread without activity since startTime is not");
  const item = (await collect(a.chat.listChatThreads())).find((t) => t.id === fresh);
  assertDate(item.lastMessageReceivedOn, "lastMessageReceivedOn");
});

test("updateTopic and updateProperties({topic}) change the topic and post topicUpdated", async () => {
  const a = await chatUser();
  const client = a.chat.getChatThreadClient((await a.chat.createChatThread({ topic: "first" })).chatThread.id);
  assert.equal(await client.updateTopic("second"), undefined);
  assert.equal((await client.getProperties()).topic, "second");
  assert.equal(await client.updateProperties({ topic: "third" }), undefined);
  assert.equal((await client.getProperties()).topic, "third");
  const topics = (await collect(client.listMessages())).filter((m) => m.type === "topicUpdated");
  assert.deepEqual(topics.map((m) => m.content.topic), ["third", "second", "first"]);
  for (const m of topics) assert.equal(m.content.initiator.communicationUserId, a.user.communicationUserId);
});

test("deleteChatThread: the thread is gone for its members and listed with deletedOn", async () => {
  const [a, b] = await Promise.all([chatUser(), chatUser()]);
  const tid = (await a.chat.createChatThread({ topic: "doomed" }, { participants: [{ id: b.user }] })).chatThread.id;
  assert.equal(await a.chat.deleteChatThread(tid), undefined);
  await restError(a.chat.getChatThreadClient(tid).getProperties(), 404);
  await restError(b.chat.getChatThreadClient(tid).sendMessage({ content: "hello?" }), 404);
  const listed = (await collect(a.chat.listChatThreads())).find((t) => t.id === tid);
  assert.ok(listed, "a deleted thread stays in the list");
  assertDate(listed.deletedOn, "deletedOn");
});
