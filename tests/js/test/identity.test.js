// @azure/communication-identity against the emulator: every operation and what the SDK hands back.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { ChatClient } from "@azure/communication-chat";
import { AzureCommunicationTokenCredential } from "@azure/communication-common";
import { CommunicationIdentityClient } from "@azure/communication-identity";
import { AzureKeyCredential } from "@azure/core-auth";
import {
  ACS_USER, assertDate, chatClientWithToken, connectionString, endpoint, identityClient, restError,
} from "../lib/context.js";

const MINUTE = 60_000;

/** Asserts that `date` lies `minutes` from now (a minute of slack each way for the round trip and rounding). */
function expiresIn(date, minutes) {
  assertDate(date, "expiresOn");
  const delta = date.getTime() - (Date.now() + minutes * MINUTE);
  assert.ok(Math.abs(delta) < MINUTE, `expiresOn ${date.toISOString()} is not ${minutes} minutes from now`);
}

function claims(token) {
  const parts = token.split(".");
  assert.equal(parts.length, 3, "the access token is not JWT-shaped");
  return JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
}

function jwt(payload) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "RS256", typ: "JWT" })}.${part(payload)}.c2lnbmF0dXJl`;
}

test("createUser returns a new communication user each time", async () => {
  const client = identityClient();
  const first = await client.createUser();
  const second = await client.createUser();
  assert.match(first.communicationUserId, ACS_USER);
  assert.match(second.communicationUserId, ACS_USER);
  assert.notEqual(first.communicationUserId, second.communicationUserId);
  assert.deepEqual(Object.keys(first), ["communicationUserId"]);
});

test("createUserAndToken: user, token and expiry (default 24 h, or tokenExpiresInMinutes)", async () => {
  const client = identityClient();
  const created = await client.createUserAndToken(["chat", "voip"]);
  assert.match(created.user.communicationUserId, ACS_USER);
  assert.equal(typeof created.token, "string");
  expiresIn(created.expiresOn, 24 * 60);
  assert.equal(claims(created.token).exp * 1000, created.expiresOn.getTime());

  const short = await client.createUserAndToken(["chat"], { tokenExpiresInMinutes: 60 });
  expiresIn(short.expiresOn, 60);
});

test("getToken honours scopes and tokenExpiresInMinutes, and the token opens chat", async () => {
  const client = identityClient();
  const user = await client.createUser();
  const token = await client.getToken(user, ["chat"], { tokenExpiresInMinutes: 90 });
  expiresIn(token.expiresOn, 90);
  const thread = await chatClientWithToken(token.token).createChatThread({ topic: "scoped" });
  assert.equal(thread.chatThread.createdBy.communicationUserId, user.communicationUserId);

  const voip = await client.getToken(user, ["voip"]);
  expiresIn(voip.expiresOn, 24 * 60);
  await restError(chatClientWithToken(voip.token).createChatThread({ topic: "no chat scope" }), 403);
  const join = await client.getToken(user, ["chat.join"]);
  await restError(chatClientWithToken(join.token).createChatThread({ topic: "join only" }), 403);
});

test("token options out of range are a 400 RestError", async () => {
  const client = identityClient();
  const user = await client.createUser();
  const tooShort = await restError(client.getToken(user, ["chat"], { tokenExpiresInMinutes: 59 }), 400);
  assert.match(tooShort.message, /60 and 1440/);
  await restError(client.getToken(user, ["chat"], { tokenExpiresInMinutes: 1441 }), 400);
  await restError(client.getToken(user, []), 400);
  await restError(client.createUserAndToken(["chat"], { tokenExpiresInMinutes: 10 }), 400);
});

test("revokeTokens invalidates earlier tokens only", async () => {
  const client = identityClient();
  const { user, token } = await client.createUserAndToken(["chat"]);
  await chatClientWithToken(token).createChatThread({ topic: "before" });
  assert.equal(await client.revokeTokens(user), undefined);
  await restError(chatClientWithToken(token).createChatThread({ topic: "after" }), 401);
  const fresh = await client.getToken(user, ["chat"]);
  const thread = await chatClientWithToken(fresh.token).createChatThread({ topic: "fresh" });
  assert.equal(thread.chatThread.topic, "fresh");
});

test("deleteUser ends the user: its tokens are refused and it cannot be used again", async () => {
  const client = identityClient();
  const { user, token } = await client.createUserAndToken(["chat"]);
  assert.equal(await client.deleteUser(user), undefined);
  await restError(chatClientWithToken(token).createChatThread({ topic: "gone" }), 401);
  await restError(client.getToken(user, ["chat"]), 404);
  await restError(client.revokeTokens(user), 404);
  await restError(client.deleteUser({ communicationUserId: `8:acs:${randomUUID()}_${randomUUID()}` }), 404);
});

test("getTokenForTeamsUser refuses an expired or mismatched Teams token, and exchanges a matching one", async () => {
  const client = identityClient();
  const oid = randomUUID();
  const appId = randomUUID();
  const now = Math.floor(Date.now() / 1000);
  const expired = jwt({ oid, appid: appId, exp: now - 60 });
  await restError(client.getTokenForTeamsUser({ teamsUserAadToken: expired, clientId: appId, userObjectId: oid }), 401);
  const valid = jwt({ oid, appid: appId, exp: now + 3600 });
  const otherUser = { teamsUserAadToken: valid, clientId: appId, userObjectId: randomUUID() };
  await restError(client.getTokenForTeamsUser(otherUser), 400);
  await restError(client.getTokenForTeamsUser({ teamsUserAadToken: valid, clientId: randomUUID(), userObjectId: oid }),
    400);
  await restError(client.getTokenForTeamsUser({ teamsUserAadToken: "", clientId: appId, userObjectId: oid }), 400);

  const exchanged = await client.getTokenForTeamsUser({ teamsUserAadToken: valid, clientId: appId, userObjectId: oid });
  expiresIn(exchanged.expiresOn, 60);
  assert.equal(claims(exchanged.token).skypeid, `orgid:${oid}`);
});

test("a wrong access key is a 401 RestError", async () => {
  const wrongKey = Buffer.from("not the emulator's key").toString("base64");
  const forged = connectionString().replace(/accesskey=[^;]+/i, `accesskey=${wrongKey}`);
  await restError(new CommunicationIdentityClient(forged).createUser(), 401);
});

test("the endpoint + AzureKeyCredential constructor signs requests the same way", async () => {
  const key = /accesskey=([^;]+)/i.exec(connectionString())[1];
  const client = new CommunicationIdentityClient(endpoint(), new AzureKeyCredential(key));
  const user = await client.createUser();
  assert.match(user.communicationUserId, ACS_USER);
  await client.deleteUser(user);
});

test("a refreshing AzureCommunicationTokenCredential reads the token's expiry and calls its refresher", async () => {
  const identity = identityClient();
  const user = await identity.createUser();
  let refreshed = 0;
  const credential = new AzureCommunicationTokenCredential({
    tokenRefresher: async () => {
      refreshed += 1;
      return (await identity.getToken(user, ["chat"])).token;
    },
    refreshProactively: true,
  });
  try {
    const result = await new ChatClient(endpoint(), credential).createChatThread({ topic: "refreshed" });
    assert.equal(result.chatThread.createdBy.communicationUserId, user.communicationUserId);
    assert.equal(refreshed, 1, "a 24-hour token is fetched once and not refreshed again");
    const { token, expiresOnTimestamp } = await credential.getToken();
    assert.equal(expiresOnTimestamp, claims(token).exp * 1000);
  } finally {
    credential.dispose();
  }
});
