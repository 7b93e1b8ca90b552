// api-version 2025-03-15 (the SDK's default): thread metadata, retention policy and participant metadata
// (wire spec 12.2, 12.6/12.7 decisions), as @azure/communication-chat 1.6.0 sends and reads them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ChatClient } from "@azure/communication-chat";
import { AzureCommunicationTokenCredential } from "@azure/communication-common";
import { chatUser, collect, endpoint, restError } from "../lib/context.js";

const days = (n) => ({ kind: "threadCreationDate", deleteThreadAfterDays: n });
const THIRTY_DAYS = days(30);
const NONE = { kind: "none" };

test("createChatThread with metadata and a retention policy returns and keeps both", async () => {
  const [a, b] = await Promise.all([chatUser(), chatUser()]);
  const result = await a.chat.createChatThread({ topic: "kept" }, {
    metadata: { ticket: "42", team: "blue" },
    retentionPolicy: THIRTY_DAYS,
    participants: [{ id: a.user, displayName: "Ann", metadata: { role: "owner" } }, { id: b.user, displayName: "Bob" }],
  });
  assert.deepEqual(result.chatThread.metadata, { ticket: "42", team: "blue" });
  assert.deepEqual(result.chatThread.retentionPolicy, THIRTY_DAYS);

  const props = await b.chat.getChatThreadClient(result.chatThread.id).getProperties();
  assert.deepEqual(props.metadata, { ticket: "42", team: "blue" });
  assert.deepEqual(props.retentionPolicy, THIRTY_DAYS);
  assert.equal(props.topic, "kept");

  const listed = (await collect(a.chat.listChatThreads())).find((t) => t.id === result.chatThread.id);
  assert.equal(listed.topic, "kept");
  assert.equal("metadata" in listed || "retentionPolicy" in listed, false, "list items are unchanged at 2025-03-15");
});

test("without them: retentionPolicy is none and metadata absent; an empty map stays an empty map", async () => {
  const a = await chatUser();
  const plain = (await a.chat.createChatThread({ topic: "plain" })).chatThread;
  assert.deepEqual(plain.retentionPolicy, NONE);
  assert.equal(plain.metadata, undefined);
  const props = await a.chat.getChatThreadClient(plain.id).getProperties();
  assert.deepEqual(props.retentionPolicy, NONE);
  assert.equal("metadata" in props && props.metadata !== undefined, false);

  const empty = (await a.chat.createChatThread({ topic: "empty" }, { metadata: {}, retentionPolicy: NONE })).chatThread;
  assert.deepEqual(empty.metadata, {});
  assert.deepEqual((await a.chat.getChatThreadClient(empty.id).getProperties()).metadata, {});
});

test("participant metadata: listed where given, absent elsewhere, not copied into participantAdded", async () => {
  const [a, b, c] = await Promise.all([chatUser(), chatUser(), chatUser()]);
  const tid = (await a.chat.createChatThread({ topic: "people" }, {
    participants: [{ id: a.user, metadata: { role: "owner" } }, { id: b.user, displayName: "Bob" }],
  })).chatThread.id;
  const client = a.chat.getChatThreadClient(tid);
  await client.addParticipants({ participants: [{ id: c.user, displayName: "Cy", metadata: { userType: "C2" } }] });

  const byId = Object.fromEntries((await collect(client.listParticipants())).map((p) => [p.id.communicationUserId, p]));
  assert.deepEqual(byId[a.user.communicationUserId].metadata, { role: "owner" });
  assert.equal(byId[b.user.communicationUserId].metadata, undefined);
  assert.deepEqual(byId[c.user.communicationUserId].metadata, { userType: "C2" });

  await client.addParticipants({ participants: [{ id: c.user, displayName: "Cy", metadata: { userType: "other" } }] });
  const again = (await collect(client.listParticipants()))
    .find((p) => p.id.communicationUserId === c.user.communicationUserId);
  assert.deepEqual(again.metadata, { userType: "C2" }, "re-adding a participant changes nothing");

  const added = (await collect(client.listMessages())).filter((m) => m.type === "participantAdded");
  assert.equal(added.length, 2);
  for (const m of added) for (const p of m.content.participants) assert.equal(p.metadata, undefined);
});

test("updateProperties merges metadata key-wise and replaces or removes the retention policy", async () => {
  const a = await chatUser();
  const tid = (await a.chat.createChatThread({ topic: "props" }, { metadata: { K1: "v1", K2: "v2" } })).chatThread.id;
  const client = a.chat.getChatThreadClient(tid);

  await client.updateProperties({ metadata: { K3: "v3", K1: "new" } });
  let props = await client.getProperties();
  assert.deepEqual(props.metadata, { K1: "new", K2: "v2", K3: "v3" });
  assert.deepEqual(props.retentionPolicy, NONE);
  assert.equal(props.topic, "props");

  await client.updateProperties({ retentionPolicy: days(40) });
  assert.deepEqual((await client.getProperties()).retentionPolicy, days(40));
  await client.updateProperties({ retentionPolicy: NONE });
  assert.deepEqual((await client.getProperties()).retentionPolicy, NONE);
  await client.updateProperties({ retentionPolicy: days(90) });
  await client.updateProperties({ retentionPolicy: null });
  props = await client.getProperties();
  assert.deepEqual(props.retentionPolicy, NONE);
  assert.deepEqual(props.metadata, { K1: "new", K2: "v2", K3: "v3" }, "a policy change leaves metadata alone");

  await client.updateProperties({ metadata: { K2: "" } });
  assert.deepEqual((await client.getProperties()).metadata, { K1: "new", K3: "v3" }, "an empty value removes its key");
  await client.updateProperties({ metadata: { K3: null } });
  assert.deepEqual((await client.getProperties()).metadata, { K1: "new" }, "so does null");

  await client.updateProperties({ topic: "all three", metadata: { K4: "v4" }, retentionPolicy: THIRTY_DAYS });
  props = await client.getProperties();
  assert.equal(props.topic, "all three");
  assert.deepEqual(props.metadata, { K1: "new", K4: "v4" });
  assert.deepEqual(props.retentionPolicy, THIRTY_DAYS);

  await client.updateProperties({});
  assert.deepEqual(await client.getProperties(), props, "updateProperties({}) changes nothing");
  await client.updateProperties({ metadata: null });
  assert.deepEqual((await client.getProperties()).metadata, {}, "metadata: null clears the map");

  const types = (await collect(client.listMessages())).map((m) => m.type);
  assert.deepEqual(types, ["topicUpdated", "topicUpdated", "participantAdded"],
    "no system message for metadata or policy");
});

test("invalid retention policies and oversized metadata are a 400 RestError; nothing changes", async () => {
  const a = await chatUser();
  const tid = (await a.chat.createChatThread({ topic: "strict" }, { metadata: { k: "v" } })).chatThread.id;
  const client = a.chat.getChatThreadClient(tid);
  for (const n of [29, 91]) {
    await restError(client.updateProperties({ retentionPolicy: days(n) }), 400);
    await restError(a.chat.createChatThread({ topic: "x" }, { retentionPolicy: days(n) }), 400);
  }
  await restError(client.updateProperties({ retentionPolicy: { kind: "forever" } }), 400);
  await restError(client.updateProperties({ metadata: { big: "x".repeat(1100) } }), 400);
  await restError(client.updateProperties({ topic: "not applied", metadata: { big: "x".repeat(1100) } }), 400);
  const props = await client.getProperties();
  assert.deepEqual(props.metadata, { k: "v" });
  assert.deepEqual(props.retentionPolicy, NONE);
  assert.equal(props.topic, "strict");
  const outsider = await chatUser();
  await restError(outsider.chat.getChatThreadClient(tid).updateProperties({ metadata: { k: "theirs" } }), 403);
});

test("a client pinned to api-version 2024-03-07 sees no 2025 fields (the state is kept)", async () => {
  const a = await chatUser();
  const tid = (await a.chat.createChatThread({ topic: "versions" }, {
    metadata: { k: "v" }, retentionPolicy: THIRTY_DAYS, participants: [{ id: a.user, metadata: { role: "owner" } }],
  })).chatThread.id;
  // `apiVersion` is not in the typings but the SDK forwards it to its generated client (wire spec 12.1).
  const old = new ChatClient(endpoint(), new AzureCommunicationTokenCredential(a.token), { apiVersion: "2024-03-07" });
  const oldProps = await old.getChatThreadClient(tid).getProperties();
  assert.equal(oldProps.metadata, undefined);
  assert.equal(oldProps.retentionPolicy, undefined);
  const [member] = await collect(old.getChatThreadClient(tid).listParticipants());
  assert.equal(member.metadata, undefined);
  const now = await a.chat.getChatThreadClient(tid).getProperties();
  assert.deepEqual(now.metadata, { k: "v" });
  assert.deepEqual(now.retentionPolicy, THIRTY_DAYS);
});
