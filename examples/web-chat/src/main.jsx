// The whole browser side: ask the local server (server.mjs) for a chat session, then render the UI Library's
// ChatComposite on it. The adapter starts the chat SDK's real-time notifications, so messages from others appear
// as they are sent.
import { AzureCommunicationTokenCredential } from '@azure/communication-common';
import { ChatComposite, createAzureCommunicationChatAdapter } from '@azure/communication-react';
import { createRoot } from 'react-dom/client';

async function main() {
  const root = createRoot(document.getElementById('app'));
  const name = new URLSearchParams(location.search).get('name') || 'Guest';
  const answer = await fetch(`/api/session?name=${encodeURIComponent(name)}`);
  if (!answer.ok) {
    root.render(<p role="alert">Could not start a chat session: {await answer.text()}</p>);
    return;
  }
  const { endpoint, userId, token, threadId, displayName } = await answer.json();
  const adapter = await createAzureCommunicationChatAdapter({
    endpoint,
    userId: { communicationUserId: userId },
    displayName,
    credential: new AzureCommunicationTokenCredential(token),
    threadId,
  });
  window.chatAdapter = adapter; // for the browser's console (and the tests)
  root.render(<ChatComposite adapter={adapter} options={{ topic: true }} />);
}

main().catch((err) => {
  document.getElementById('app').textContent = `Could not start the chat: ${err.message}`;
});
