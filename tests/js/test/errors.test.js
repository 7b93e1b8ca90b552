// Errors as the chat SDK surfaces them: RestError 401 (bad, forged-expired, revoked, deleted-user token),
// 403 (not a participant), 404 (unknown thread or message).
import assert from "node:assert/strict";
import { test } from "node:test";
import { chatClientWithToken, chatUser, identityClient, restError } from "../lib/context.js";

function unsignedToken(claims) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "HS256", typ: "JWT" })}.${part(claims)}.${Buffer.from("forged").toString("base64url")}`;
}

test("401 for a token the emulator did not issue, including one that claims to have expired", async () => {
  const a = await chatUser();
  const tid = (await a.chat.createChatThread({ topic: "guarded" })).chatThread.id;
  // The credential parses the token's payload locally, so every token here is JWT-shaped.
  const stranger = unsignedToken({ exp: Math.floor(Date.now() / 1000) + 3600 });
  const garbage = await restError(chatClientWithToken(stranger).createChatThread({ topic: "x" }), 401);
  assert.equal(garbage.code, "Unauthorized");
  const skypeid = a.user.communicationUserId.slice(2);
  const expired = unsignedToken({ skypeid, exp: Math.floor(Date.now() / 1000) - 3600, acsScope: "chat" });
  await restError(chatClientWithToken(expired).getChatThreadClient(tid).getProperties(), 401);
  const tampered = `${a.token.slice(0, a.token.lastIndexOf(".") + 1)}AAAA`;
  await restError(chatClientWithToken(tampered).getChatThreadClient(tid).getProperties(), 401);
});

test("401 once the token is revoked or its user deleted", async () => {
  const [a, b] = await Promise.all([chatUser(), chatUser()]);
  const tid = (await a.chat.createChatThread({ topic: "t" }, { participants: [{ id: b.user }] })).chatThread.id;
  await identityClient().revokeTokens(a.user);
  const revoked = await restError(a.chat.getChatThreadClient(tid).sendMessage({ content: "x" }), 401);
  assert.match(revoked.message, /revoked/);
  await identityClient().deleteUser(b.user);
  await restError(b.chat.getChatThreadClient(tid).listMessages().next(), 401);
  await restError(b.chat.listChatThreads().next(), 401);
});

test("403 for a user who is not a participant, on every thread operation", async () => {
  const [a, outsider] = await Promise.all([chatUser(), chatUser()]);
  const tid = (await a.chat.createChatThread({ topic: "private" })).chatThread.id;
  const { id } = await a.chat.getChatThreadClient(tid).sendMessage({ content: "secret" });
  const client = outsider.chat.getChatThreadClient(tid);
  const forbidden = await restError(client.getProperties(), 403);
  assert.equal(forbidden.code, "Forbidden");
  await restError(client.getMessage(id), 403);
  await restError(client.listMessages().next(), 403);
  await restError(client.listParticipants().next(), 403);
  await restError(client.listReadReceipts().next(), 403);
  await restError(client.sendMessage({ content: "intruder" }), 403);
  await restError(client.updateTopic("mine now"), 403);
  await restError(client.addParticipants({ participants: [{ id: outsider.user }] }), 403);
  await restError(client.sendReadReceipt({ chatMessageId: id }), 403);
  await restError(outsider.chat.deleteChatThread(tid), 403);
});

test("403 when editing or deleting someone else's message", async () => {
  const [a, b] = await Promise.all([chatUser(), chatUser()]);
  const tid = (await a.chat.createChatThread({ topic: "t" }, { participants: [{ id: b.user }] })).chatThread.id;
  const { id } = await a.chat.getChatThreadClient(tid).sendMessage({ content: "mine" });
  await restError(b.chat.getChatThreadClient(tid).updateMessage(id, { content: "yours" }), 403);
  await restError(b.chat.getChatThreadClient(tid).deleteMessage(id), 403);
});

test("404 for an unknown thread and an unknown message", async () => {
  const a = await chatUser();
  const unknown = a.chat.getChatThreadClient("19:0000000000000000000000000000000000000000000@thread.v2");
  const missing = await restError(unknown.getProperties(), 404);
  assert.equal(missing.code, "NotFound");
  await restError(unknown.sendMessage({ content: "anyone?" }), 404);
  await restError(unknown.listMessages().next(), 404);
  const client = a.chat.getChatThreadClient((await a.chat.createChatThread({ topic: "t" })).chatThread.id);
  await restError(client.getMessage("999999999"), 404);
});
