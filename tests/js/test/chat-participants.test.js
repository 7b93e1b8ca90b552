// Participants, typing notifications and read receipts through ChatThreadClient.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { assertDate, chatUser, collect, restError } from "../lib/context.js";

test("addParticipants: new members can read the thread and a participantAdded message appears", async () => {
  const [a, b, c] = await Promise.all([chatUser(), chatUser(), chatUser()]);
  const client = a.chat.getChatThreadClient((await a.chat.createChatThread({ topic: "grow" })).chatThread.id);
  const result = await client.addParticipants({
    participants: [{ id: b.user, displayName: "Bob" }, { id: c.user, shareHistoryTime: new Date(0) }],
  });
  assert.equal(result.invalidParticipants, undefined);
  const people = await collect(client.listParticipants());
  assert.deepEqual(people.map((p) => p.id.communicationUserId).sort(),
    [a.user, b.user, c.user].map((u) => u.communicationUserId).sort());
  const bob = people.find((p) => p.id.communicationUserId === b.user.communicationUserId);
  assert.equal(bob.displayName, "Bob");
  assert.equal(bob.id.kind, "communicationUser");
  assertDate(bob.shareHistoryTime, "shareHistoryTime");
  assert.equal(people.find((p) => p.id.communicationUserId === c.user.communicationUserId).displayName, undefined);

  const [added] = await collect(b.chat.getChatThreadClient(client.threadId).listMessages({ maxPageSize: 1 }));
  assert.equal(added.type, "participantAdded");
  assert.equal(added.sequenceId, "3");
  assert.equal(added.content.initiator.communicationUserId, a.user.communicationUserId);
  assert.deepEqual(added.content.participants.map((p) => p.id.communicationUserId).sort(),
    [b.user, c.user].map((u) => u.communicationUserId).sort());
});

test("unknown users come back as invalidParticipants (ChatError with the raw id as target)", async () => {
  const a = await chatUser();
  const ghost = { communicationUserId: `8:acs:${randomUUID()}_${randomUUID()}` };
  const created = await a.chat.createChatThread({ topic: "ghosts" }, { participants: [{ id: ghost }] });
  assert.equal(created.invalidParticipants.length, 1);
  assert.equal(created.invalidParticipants[0].target, ghost.communicationUserId);
  assert.equal(created.invalidParticipants[0].code, "403");
  assert.equal(typeof created.invalidParticipants[0].message, "string");
  const client = a.chat.getChatThreadClient(created.chatThread.id);
  const added = await client.addParticipants({ participants: [{ id: ghost }] });
  assert.deepEqual(added.invalidParticipants.map((e) => e.target), [ghost.communicationUserId]);
  assert.equal((await collect(client.listParticipants())).length, 1);
});

test("listParticipants pages with maxPageSize and skip", async () => {
  const users = await Promise.all([0, 1, 2, 3, 4].map(() => chatUser()));
  const [a] = users;
  const tid = (await a.chat.createChatThread({ topic: "crowd" }, {
    participants: users.map((u, i) => ({ id: u.user, displayName: `u${i}` })),
  })).chatThread.id;
  const client = a.chat.getChatThreadClient(tid);
  const pages = [];
  for await (const page of client.listParticipants({ maxPageSize: 2 }).byPage()) pages.push(page);
  assert.deepEqual(pages.map((p) => p.length), [2, 2, 1]);
  const names = pages.flat().map((p) => p.displayName);
  assert.deepEqual([...names].sort(), ["u0", "u1", "u2", "u3", "u4"]);
  const skipped = await collect(client.listParticipants({ skip: 3 }));
  assert.deepEqual(skipped.map((p) => p.displayName), names.slice(3));
});

test("removeParticipant: the member loses access and a participantRemoved message appears", async () => {
  const [a, b] = await Promise.all([chatUser(), chatUser()]);
  const tid = (await a.chat.createChatThread({ topic: "shrink" }, { participants: [{ id: b.user }] })).chatThread.id;
  const client = a.chat.getChatThreadClient(tid);
  assert.equal(await client.removeParticipant(b.user), undefined);
  const people = await collect(client.listParticipants());
  assert.deepEqual(people.map((p) => p.id.communicationUserId), [a.user.communicationUserId]);
  const [removed] = await collect(client.listMessages({ maxPageSize: 1 }));
  assert.equal(removed.type, "participantRemoved");
  assert.deepEqual(removed.content.participants.map((p) => p.id.communicationUserId), [b.user.communicationUserId]);
  assert.equal(removed.content.initiator.communicationUserId, a.user.communicationUserId);
  await restError(b.chat.getChatThreadClient(tid).sendMessage({ content: "let me in" }), 403);
});

test("removeParticipant of oneself leaves the thread", async () => {
  const [a, b] = await Promise.all([chatUser(), chatUser()]);
  const tid = (await a.chat.createChatThread({ topic: "leave" }, { participants: [{ id: b.user }] })).chatThread.id;
  await b.chat.getChatThreadClient(tid).removeParticipant(b.user);
  await restError(b.chat.getChatThreadClient(tid).getProperties(), 403);
  const people = await collect(a.chat.getChatThreadClient(tid).listParticipants());
  assert.deepEqual(people.map((p) => p.id.communicationUserId), [a.user.communicationUserId]);
});

test("sendTypingNotification is sent, then held back by the SDK for a few seconds", async () => {
  const [a, b] = await Promise.all([chatUser(), chatUser()]);
  const tid = (await a.chat.createChatThread({ topic: "typing" }, { participants: [{ id: b.user }] })).chatThread.id;
  const client = b.chat.getChatThreadClient(tid);
  assert.equal(await client.sendTypingNotification({ senderDisplayName: "Bob" }), true);
  assert.equal(await client.sendTypingNotification(), false);
  assert.equal(await a.chat.getChatThreadClient(tid).sendTypingNotification(), true);
  const outsider = await chatUser();
  await restError(outsider.chat.getChatThreadClient(tid).sendTypingNotification(), 403);
});

test("sendReadReceipt and listReadReceipts: one receipt per reader, its latest message", async () => {
  const [a, b] = await Promise.all([chatUser(), chatUser()]);
  const tid = (await a.chat.createChatThread({ topic: "read" }, { participants: [{ id: b.user }] })).chatThread.id;
  const asA = a.chat.getChatThreadClient(tid);
  const asB = b.chat.getChatThreadClient(tid);
  const first = await asA.sendMessage({ content: "one" });
  const second = await asA.sendMessage({ content: "two" });
  assert.equal(await asB.sendReadReceipt({ chatMessageId: first.id }), undefined);
  await asB.sendReadReceipt({ chatMessageId: second.id });
  await asA.sendReadReceipt({ chatMessageId: first.id });

  const receipts = await collect(asA.listReadReceipts());
  const bySender = Object.fromEntries(receipts.map((r) => [r.sender.communicationUserId, r]));
  assert.equal(receipts.length, 2);
  assert.equal(bySender[b.user.communicationUserId].chatMessageId, second.id);
  assert.equal(bySender[a.user.communicationUserId].chatMessageId, first.id);
  assert.equal(bySender[b.user.communicationUserId].sender.kind, "communicationUser");
  for (const r of receipts) assertDate(r.readOn, "readOn");
  const paged = [];
  for await (const page of asA.listReadReceipts({ maxPageSize: 1 }).byPage()) paged.push(page.length);
  assert.deepEqual(paged, [1, 1]);
  await restError(asB.sendReadReceipt({ chatMessageId: "1" }), 404);
});
