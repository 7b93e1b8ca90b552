// ChatThreadClient message operations: send (text/html, display name, metadata), get, list with paging and
// startTime, update, delete, as the SDK returns them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { assertDate, chatUser, collect, restError } from "../lib/context.js";

async function threadOf(user, topic = "messages") {
  return user.chat.getChatThreadClient((await user.chat.createChatThread({ topic })).chatThread.id);
}

test("sendMessage (text, html, senderDisplayName, metadata) and getMessage", async () => {
  const a = await chatUser();
  const client = await threadOf(a);
  const sent = await client.sendMessage({ content: "hello" }, { senderDisplayName: "Ann", metadata: { tag: "x" } });
  assert.deepEqual(Object.keys(sent), ["id"]);
  assert.match(sent.id, /^\d+$/);
  const html = await client.sendMessage({ content: "<b>bold</b>" }, { type: "html" });

  const text = await client.getMessage(sent.id);
  assert.equal(text.id, sent.id);
  assert.equal(text.type, "text");
  assert.equal(text.sequenceId, "3");
  assert.equal(typeof text.version, "string");
  assert.equal(text.content.message, "hello");
  assert.deepEqual(text.content.attachments, [], "2025-03-15 lists (no) attachments on text messages too");
  assert.equal(text.senderDisplayName, "Ann");
  assert.deepEqual(text.metadata, { tag: "x" });
  assertDate(text.createdOn, "createdOn");
  assert.deepEqual(text.sender, { kind: "communicationUser", communicationUserId: a.user.communicationUserId });
  assert.equal(text.editedOn, undefined);
  assert.equal(text.deletedOn, undefined);

  const rich = await client.getMessage(html.id);
  assert.equal(rich.type, "html");
  assert.equal(rich.sequenceId, "4");
  assert.equal(rich.content.message, "<b>bold</b>");
  assert.deepEqual(rich.content.attachments, []);
  assert.equal(rich.metadata, undefined);
  await restError(client.getMessage("1"), 404);
});

test("listMessages pages newest first with contiguous sequence ids, and byPage resumes from a token", async () => {
  const a = await chatUser();
  const client = await threadOf(a);
  const sent = [];
  for (let i = 0; i < 7; i += 1) sent.push((await client.sendMessage({ content: `m${i}` })).id);

  const pages = [];
  const settings = {};
  const tokens = [];
  for await (const page of client.listMessages({ maxPageSize: 3 }).byPage(settings)) {
    pages.push(page);
    tokens.push(settings.continuationToken);
  }
  assert.deepEqual(pages.map((p) => p.length), [3, 3, 3]);
  const all = pages.flat();
  assert.deepEqual(all.map((m) => Number(m.sequenceId)), [9, 8, 7, 6, 5, 4, 3, 2, 1]);
  assert.deepEqual(all.filter((m) => m.type === "text").map((m) => m.id), [...sent].reverse());
  assert.deepEqual(all.slice(-2).map((m) => m.type), ["topicUpdated", "participantAdded"]);
  for (const m of all) assertDate(m.createdOn, `createdOn of ${m.id}`);
  assert.equal(tokens.at(-1), undefined);

  const resumed = [];
  for await (const page of client.listMessages({ maxPageSize: 3 }).byPage({ continuationToken: tokens[0] })) {
    resumed.push(...page.map((m) => m.id));
  }
  assert.deepEqual(resumed, all.slice(3).map((m) => m.id));
});

test("listMessages with startTime returns only later messages", async () => {
  const a = await chatUser();
  const client = await threadOf(a);
  await client.sendMessage({ content: "early" });
  await new Promise((done) => setTimeout(done, 50));
  const cut = new Date();
  await new Promise((done) => setTimeout(done, 50));
  await client.sendMessage({ content: "late" });
  const listed = await collect(client.listMessages({ startTime: cut }));
  assert.deepEqual(listed.map((m) => m.content.message), ["late"]);
  assert.ok(listed[0].createdOn >= cut);
});

test("updateMessage changes content, merges metadata and sets editedOn", async () => {
  const a = await chatUser();
  const client = await threadOf(a);
  const { id } = await client.sendMessage({ content: "draft" }, { metadata: { keep: "1", drop: "2" } });
  const before = await client.getMessage(id);
  assert.equal(await client.updateMessage(id, { content: "final", metadata: { keep: "1", drop: "", extra: "3" } }),
    undefined);
  const after = await client.getMessage(id);
  assert.equal(after.content.message, "final");
  assertDate(after.editedOn, "editedOn");
  assert.equal(after.sequenceId, before.sequenceId);
  assert.notEqual(after.version, before.version);
  assert.deepEqual(after.metadata, { keep: "1", extra: "3" }, "metadata merges; an empty value removes its key");
  await restError(client.updateMessage("1", { content: "nothing there" }), 404);
});

test("deleteMessage leaves a deleted message with deletedOn", async () => {
  const a = await chatUser();
  const client = await threadOf(a);
  const { id } = await client.sendMessage({ content: "oops" });
  const kept = await client.sendMessage({ content: "fine" });
  assert.equal(await client.deleteMessage(id), undefined);
  const gone = await client.getMessage(id);
  assertDate(gone.deletedOn, "deletedOn");
  const listed = await collect(client.listMessages());
  assert.deepEqual(listed.filter((m) => m.type === "text").map((m) => [m.id, m.deletedOn instanceof Date]),
    [[kept.id, false], [id, true]]);
  await restError(client.deleteMessage("1"), 404);
});
