// One JavaScript SDK call against the emulator, in its own Node process so that NODE_EXTRA_CA_CERTS (read by Node at
// start only) can name the emulator's CA: `node sdk-cli.mjs '<request JSON>'` prints one JSON line.
import { ChatClient } from '@azure/communication-chat';
import { AzureCommunicationTokenCredential } from '@azure/communication-common';
import { CommunicationIdentityClient } from '@azure/communication-identity';

const req = JSON.parse(process.argv[2]);

async function run() {
  if (req.op === 'user') {
    const identity = new CommunicationIdentityClient(req.connectionString);
    const { user, token } = await identity.createUserAndToken(['chat']);
    return { rawId: user.communicationUserId, token };
  }
  const chat = new ChatClient(req.endpoint, new AzureCommunicationTokenCredential(req.token));
  if (req.op === 'thread') {
    const result = await chat.createChatThread({ topic: req.topic }, {
      participants: (req.participants || []).map((p) => ({ id: { communicationUserId: p.rawId }, displayName: p.displayName,
        metadata: p.metadata })),
      metadata: req.metadata,
      retentionPolicy: req.retentionPolicy,
    });
    return { threadId: result.chatThread.id };
  }
  const thread = chat.getChatThreadClient(req.threadId);
  if (req.op === 'send') {
    const sent = await thread.sendMessage({ content: req.content }, { senderDisplayName: req.displayName });
    return { id: sent.id };
  }
  if (req.op === 'edit') {
    await thread.updateMessage(req.messageId, { content: req.content });
    return {};
  }
  if (req.op === 'read') {
    await thread.sendReadReceipt({ chatMessageId: req.messageId });
    return {};
  }
  if (req.op === 'typing') {
    await thread.sendTypingNotification({ senderDisplayName: req.displayName });
    return {};
  }
  if (req.op === 'props') {
    const p = await thread.getProperties();
    return { topic: p.topic, metadata: p.metadata, retentionPolicy: p.retentionPolicy };
  }
  if (req.op === 'messages') {
    const out = [];
    for await (const m of thread.listMessages()) {
      if (m.type === 'text') out.push({ id: m.id, content: m.content?.message, sender: m.sender?.communicationUserId });
    }
    return { messages: out };
  }
  throw new Error(`unknown op ${req.op}`);
}

run().then((out) => { process.stdout.write(`${JSON.stringify(out)}\n`); }, (err) => {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
});
