// The test page's script (bundled by esbuild for the browser): the chat SDK's real-time notifications, with every
// event it raises kept in `window.received` for the tests to read.
import { ChatClient } from '@azure/communication-chat';
import { AzureCommunicationTokenCredential } from '@azure/communication-common';
import { CommunicationIdentityClient } from '@azure/communication-identity';

export const EVENTS = ['chatMessageReceived', 'chatMessageEdited', 'chatMessageDeleted', 'typingIndicatorReceived',
  'readReceiptReceived', 'chatThreadCreated', 'chatThreadPropertiesUpdated', 'chatThreadDeleted',
  'participantsAdded', 'participantsRemoved', 'realTimeNotificationConnected', 'realTimeNotificationDisconnected'];

window.received = [];
window.clients = {};

/** A new user with a chat token (the identity API signed with the connection string's key). */
window.newUser = async (connectionString, minutes = 60) => {
  const identity = new CommunicationIdentityClient(connectionString);
  const { user, token } = await identity.createUserAndToken(['chat'], { tokenExpiresInMinutes: minutes });
  return { id: user.communicationUserId, token };
};

/** Revoke a user's tokens (ends their real-time connections). */
window.revoke = async (connectionString, id) => {
  await new CommunicationIdentityClient(connectionString).revokeTokens({ communicationUserId: id });
};

/** A ChatClient for `token` under `name`; with `live`, real-time notifications started and every event recorded. */
window.startChat = async (name, endpoint, token, live = true) => {
  const client = new ChatClient(endpoint, new AzureCommunicationTokenCredential(token));
  window.clients[name] = client;
  if (live) {
    await client.startRealtimeNotifications(); // resolves before the socket connects; `on` needs it first
    for (const type of EVENTS) {
      client.on(type, (event) => {
        const copy = JSON.parse(JSON.stringify(event ?? null));
        window.received.push({ client: name, type, at: performance.now(), event: copy });
      });
    }
  }
  return true;
};

/** Events of `type` (and client `name`, when given) recorded so far. */
window.eventsOf = (type, name) => window.received.filter((r) => r.type === type && (!name || r.client === name));
