"""Help texts (YAML, read by knack). Every group and command has a summary and every command an example."""
# ruff: noqa: E501  (examples are one command line each, as azure-cli help files have them)

from __future__ import annotations

from knack.help_files import helps

THREAD = "19:a1b2c3d4e5f60718293a4b5c6d7e8f90@thread.v2"
USER = "8:acs:11111111-2222-3333-4444-555555555555_00000000-0000-0000-0000-000000000001"
USER2 = "8:acs:11111111-2222-3333-4444-555555555555_00000000-0000-0000-0000-000000000002"
AUTH_NOTE = (
    "Endpoint and token come from --endpoint/--access-token, else AZURE_COMMUNICATION_ENDPOINT/"
    "AZURE_COMMUNICATION_ACCESS_TOKEN, else `az config` communication.endpoint/communication.access_token."
)
SECRET_NOTE = (
    "Prefer the variables (or --option @file) for tokens and connection strings: a value typed on the command line "
    "is visible in the process list, the shell history and `--debug` output."
)
API_2025_NOTE = (
    "Speaks chat api-version 2025-03-15 (thread and participant metadata, retention policy); an endpoint that "
    "refuses that version makes the command fail with one line saying so (exit code 1)."
)
NETWORK_NOTE = (
    "Throttling (429) and unavailability (5xx) are retried with back-off, honouring Retry-After. "
    "AZURE_COMMUNICATION_TIMEOUT (seconds; or `az config` communication.timeout) bounds the wait for a "
    "connection and for each response (default: 10 s to connect, 300 s for a response)."
)

helps["communication"] = f"""
type: group
short-summary: Azure Communication Services data plane (chat, identity) and a local emulator.
long-summary: >
    {SECRET_NOTE} {NETWORK_NOTE}
"""

helps["communication chat"] = f"""
type: group
short-summary: Chat threads, participants, messages, read receipts and typing notifications.
long-summary: >
    {AUTH_NOTE} {SECRET_NOTE} {NETWORK_NOTE} Datetimes are ISO 8601; a value without a time zone means UTC.
"""

helps["communication chat thread"] = """
type: group
short-summary: Create, list, show, update and delete chat threads.
"""

helps["communication chat thread create"] = f"""
type: command
short-summary: Create a chat thread; the caller becomes its first participant.
long-summary: >
    Users given with --participant/--user are added at creation. If the service refuses any of them, the
    thread still exists but the command fails, naming each refused user with the service's code and message.
    --metadata sets the thread's metadata (at most 1 KB); K= (an empty value) is refused here, as thread update
    reads it as "remove K". --retention-days deletes the thread that many days (30 to 90) after its creation.
    {API_2025_NOTE}
examples:
  - name: Create a thread.
    text: az communication chat thread create --topic "Release planning"
  - name: Create a thread with two more participants, safe to retry.
    text: az communication chat thread create --topic "Release planning" --participant {USER} {USER2} --idempotency-token 0f8fad5b-d9cb-469f-a165-70867728950e
  - name: Create a thread and keep its id.
    text: az communication chat thread create --topic "Release planning" --query chatThread.id -o tsv
  - name: Create a thread with metadata that is deleted 30 days after its creation.
    text: az communication chat thread create --topic "Support case 42" --metadata ticket=42 queue=billing --retention-days 30
"""

helps["communication chat thread list"] = """
type: command
short-summary: List the threads the user is or was a participant of, most recent activity first.
examples:
  - name: List all threads.
    text: az communication chat thread list -o table
  - name: List at most 20 threads active since a given time (UTC).
    text: az communication chat thread list --start-time 2024-01-31T09:00:00Z --max-items 20
"""

helps["communication chat thread show"] = f"""
type: command
short-summary: Show the properties of a chat thread, its metadata and its retention policy.
long-summary: >
    The JSON has metadata only when the thread has some, and always a retentionPolicy ({{"kind": "none"}} when
    the thread is kept until deleted). {API_2025_NOTE}
examples:
  - name: Show a thread.
    text: az communication chat thread show -t {THREAD}
  - name: Show one metadata value.
    text: az communication chat thread show -t {THREAD} --query metadata.ticket -o tsv
"""

helps["communication chat thread update"] = f"""
type: command
short-summary: Change the topic, the metadata or the retention policy of a chat thread.
long-summary: >
    Give at least one of --topic, --metadata, --retention-days. Metadata is merged key by key: keys not named
    keep their values, key= (an empty value) removes the key. --retention-days N deletes the thread N days (30 to
    90) after its creation, not after this update; none removes the policy. A new topic adds a topicUpdated
    message, metadata and retention changes add none. {API_2025_NOTE}
examples:
  - name: Set one metadata key and remove another.
    text: az communication chat thread update -t {THREAD} --metadata status=resolved queue=
  - name: Delete the thread 90 days after its creation.
    text: az communication chat thread update -t {THREAD} --retention-days 90
  - name: Keep the thread until it is deleted, and rename it.
    text: az communication chat thread update -t {THREAD} --retention-days none --topic "Release planning (archive)"
"""

helps["communication chat thread update-topic"] = f"""
type: command
short-summary: Change the topic of a chat thread.
examples:
  - name: Rename a thread.
    text: az communication chat thread update-topic --thread {THREAD} --topic "Release planning (v2)"
"""

helps["communication chat thread delete"] = f"""
type: command
short-summary: Delete a chat thread for all participants.
long-summary: >
    A thread that does not exist, or is already deleted, is not found (exit code 3), so deleting a thread
    twice fails the second time.
examples:
  - name: Delete a thread without a confirmation prompt.
    text: az communication chat thread delete -t {THREAD} --yes
"""

helps["communication chat participant"] = """
type: group
short-summary: Add, list and remove the participants of a chat thread.
"""

helps["communication chat participant add"] = f"""
type: command
short-summary: Add one or more users to a chat thread.
long-summary: >
    Prints [] when every user was added. If the service refuses any user, the command fails and names each
    refused user with the service's code and message. --metadata is given to each added user (at most 1 KB);
    there is no command to change it afterwards. A user who is already a participant is left unchanged (the
    service keeps its display name, share-history time and metadata): -o table shows the participants as the
    thread holds them and a warning names each one whose values differ from those asked for. {API_2025_NOTE}
examples:
  - name: Add two users who see the history since the start of 2024 (UTC).
    text: az communication chat participant add -t {THREAD} --user {USER} {USER2} --display-name "Guest" --start-time 2024-01-01T00:00:00Z
  - name: Add a user with participant metadata.
    text: az communication chat participant add -t {THREAD} --user {USER} --metadata role=agent tier=2
"""

helps["communication chat participant list"] = f"""
type: command
short-summary: List the participants of a chat thread.
long-summary: >
    Each participant has metadata in the JSON when it has some. {API_2025_NOTE}
examples:
  - name: List participants as a table.
    text: az communication chat participant list -t {THREAD} -o table
  - name: List the raw ids of the first 10 participants.
    text: az communication chat participant list -t {THREAD} --max-items 10 --query "[].identifier.rawId"
"""

helps["communication chat participant remove"] = f"""
type: command
short-summary: Remove a user from a chat thread.
long-summary: >
    A user who is not, or no longer, in the thread is not found (exit code 3), so removing a user twice fails
    the second time. A caller who has left the thread is refused (exit code 1).
examples:
  - name: Remove a user without a confirmation prompt.
    text: az communication chat participant remove -t {THREAD} --user {USER} --yes
"""

helps["communication chat message"] = """
type: group
short-summary: Send, list, get, update and delete chat messages.
"""

helps["communication chat message send"] = f"""
type: command
short-summary: Send a message to a chat thread.
examples:
  - name: Send a text message.
    text: az communication chat message send -t {THREAD} --content "Hello"
  - name: Send an HTML message with a display name and metadata.
    text: az communication chat message send -t {THREAD} --content "<b>Ship it</b>" --message-type html --display-name "Release bot" --metadata priority=high team=core
"""

helps["communication chat message list"] = f"""
type: command
short-summary: List the messages of a chat thread, newest first, system messages included.
examples:
  - name: List all messages as a table.
    text: az communication chat message list -t {THREAD} -o table
  - name: List the 50 newest messages created since a given time (UTC) and print their text.
    text: az communication chat message list -t {THREAD} --start-time 2024-01-31T09:00:00Z --max-items 50 --query "[].content.message"
"""

helps["communication chat message get"] = f"""
type: command
short-summary: Get one message of a chat thread.
examples:
  - name: Get a message.
    text: az communication chat message get -t {THREAD} --message-id 1702467535738
"""

helps["communication chat message update"] = f"""
type: command
short-summary: Update the content and/or the metadata of a message sent by the caller.
examples:
  - name: Change the text of a message.
    text: az communication chat message update -t {THREAD} --message-id 1702467535738 --content "Hello again"
  - name: Set metadata on a message.
    text: az communication chat message update -t {THREAD} --message-id 1702467535738 --metadata status=done
"""

helps["communication chat message delete"] = f"""
type: command
short-summary: Delete a message sent by the caller (it remains listed with deletedOn set).
long-summary: >
    The service keeps a deleted message, so deleting it again succeeds (exit code 0) and changes nothing. An
    unknown message, or any message of a deleted thread, is not found (exit code 3).
examples:
  - name: Delete a message without a confirmation prompt.
    text: az communication chat message delete -t {THREAD} --message-id 1702467535738 --yes
"""

helps["communication chat message watch"] = f"""
type: command
short-summary: Print each new message of a chat thread as it arrives, oldest first, until Ctrl-C or --timeout.
long-summary: >
    The thread is polled every --interval seconds on one kept-alive connection; each message is printed once, in
    sequenceId order, none missed and none repeated. Output follows --output, one message at a time, each flushed as
    it is printed: json/jsonc print JSON Lines (one compact object per line, the shape of a `message list` item),
    tsv one line per message, table one readable line (time, sender, text; system messages in words), yaml one
    document per message, none nothing. --query applies to each message; a message for which it yields null prints
    nothing. Messages edited or deleted after they were printed are not printed again; a message deleted before it
    was seen is printed once, with deletedOn set and empty content. Throttling slows the polling down, service
    errors and dropped connections are retried with back-off, however long the outage, polling at least every 10 s
    so that a service that is back is seen at once (one warning on stderr when it goes away and one when it is back;
    nothing lost); an expired or revoked token, a deleted thread (exit 3) or removal from the thread ends the watch
    with a one-line error. --timeout ends it with exit 0; Ctrl-C ends it (as it ends `message wait`) with exit 130,
    without a traceback.
examples:
  - name: Follow a thread in a terminal, one line per message.
    text: az communication chat message watch -t {THREAD} -o table
  - name: Print the text of every message since 9:00 UTC, then keep following.
    text: az communication chat message watch -t {THREAD} --start-time 2024-01-31T09:00:00Z --query content.message -o tsv
  - name: Follow for 10 minutes as JSON Lines, one object per line, polling every second.
    text: az communication chat message watch -t {THREAD} --interval 1 --timeout 600
  - name: Print sender and text of each new message, tab-separated, one line each (for a `while read` loop).
    text: az communication chat message watch -t {THREAD} --query "[senderDisplayName, content.message]" -o tsv
"""

helps["communication chat message wait"] = f"""
type: command
short-summary: Wait for the next new message of a chat thread (or the first that matches a condition), and print it.
long-summary: >
    Conditions: --custom (a JMESPath expression, truthy on the message's JSON), --sender, --contains; all given must
    hold; without any, the next new message (system messages included) is the result. Messages count from --after, --start-time or, by default, from the service's newest
    message when the command starts: in scripts, pass the id of the message you sent with --after, so that a reply
    that comes before `wait` starts is not missed. The result has the shape of a `message list` item, so
    `--query content.message -o tsv` prints the text. No match within --timeout seconds (default 300): one line on
    stderr, exit 1. A malformed --custom is refused before any request (exit 2); an unknown thread, or an --after
    message the thread does not have, exits 3. Outages are waited out as `message watch` does. Ctrl-C ends it
    (as it ends `message watch`) with exit 130, without a traceback.
examples:
  - name: Wait up to a minute for the bot's answer to the message you sent (its id from `message send`), and print its text.
    text: az communication chat message wait -t {THREAD} --after 1702467535738 --custom "senderDisplayName=='Bot' && contains(content.message, 'pong')" --timeout 60 --query content.message -o tsv
  - name: Wait for the next new message, whoever sends it.
    text: az communication chat message wait -t {THREAD} --timeout 60
  - name: Wait for any message from a given sender that mentions the build.
    text: az communication chat message wait -t {THREAD} --sender "Release bot" --contains build
  - name: Wait for someone to join the thread.
    text: az communication chat message wait -t {THREAD} --custom "type=='participantAdded'"
  - name: Wait for a message from a user id, polling every half second.
    text: az communication chat message wait -t {THREAD} --sender {USER} --interval 0.5
"""

helps["communication chat message receipt"] = """
type: group
short-summary: Send and list read receipts.
"""

helps["communication chat message receipt send"] = f"""
type: command
short-summary: Mark a message as read by the caller.
examples:
  - name: Send a read receipt.
    text: az communication chat message receipt send -t {THREAD} --message-id 1702467535738
"""

helps["communication chat message receipt list"] = f"""
type: command
short-summary: List the latest read receipt of each participant of a chat thread.
examples:
  - name: List read receipts as a table.
    text: az communication chat message receipt list -t {THREAD} -o table
"""

helps["communication chat typing"] = """
type: group
short-summary: Typing notifications.
"""

helps["communication chat typing send"] = f"""
type: command
short-summary: Tell the other participants of a chat thread that the caller is typing.
examples:
  - name: Send a typing notification.
    text: az communication chat typing send -t {THREAD} --display-name "Ann"
"""

for _group in ("communication identity", "communication user-identity"):
    helps[_group] = f"""
type: group
short-summary: Communication Services users and their access tokens.
long-summary: >
    The connection string comes from --connection-string, else AZURE_COMMUNICATION_CONNECTION_STRING,
    else `az config` communication.connection_string. {SECRET_NOTE} {NETWORK_NOTE}
"""
    helps[f"{_group} user"] = """
type: group
short-summary: Create and delete Communication Services users.
"""
    helps[f"{_group} user create"] = f"""
type: command
short-summary: Create a Communication Services user.
examples:
  - name: Create a user and print its raw id.
    text: az {_group} user create --query rawId -o tsv
"""
    helps[f"{_group} user delete"] = f"""
type: command
short-summary: Delete a user and revoke all of its tokens.
long-summary: A user that does not exist, or is already deleted, is not found (exit code 3).
examples:
  - name: Delete a user without a confirmation prompt.
    text: az {_group} user delete --user {USER} --yes
"""
    helps[f"{_group} token"] = """
type: group
short-summary: Issue and revoke user access tokens.
"""
    helps[f"{_group} token issue"] = f"""
type: command
short-summary: Issue an access token for a user, or for a new user when --user is omitted.
long-summary: The output holds a secret (the token); -o table shows only its beginning.
examples:
  - name: Create a user and a chat token for it.
    text: az {_group} token issue --scope chat
  - name: Issue a one-hour chat and voip token for an existing user.
    text: az {_group} token issue --scope chat voip --user {USER} --expires-in-minutes 60
  - name: Print only the token (e.g. to set AZURE_COMMUNICATION_ACCESS_TOKEN).
    text: az {_group} token issue --scope chat --query token -o tsv
"""
    helps[f"{_group} token revoke"] = f"""
type: command
short-summary: Revoke every access token issued to a user so far.
examples:
  - name: Revoke the tokens of a user without a confirmation prompt.
    text: az {_group} token revoke --user {USER} --yes
"""
    helps[f"{_group} token get-for-teams-user"] = f"""
type: command
short-summary: Exchange a Microsoft Entra ID token of a Teams user for a Communication Services access token.
examples:
  - name: Exchange a Teams user's token.
    text: az {_group} token get-for-teams-user --aad-token "$AAD_TOKEN" --client 00000000-0000-0000-0000-0000000000aa --aad-user 00000000-0000-0000-0000-0000000000bb
  - name: Read the Entra ID token from a file, so that it stays out of the process list and --debug output.
    text: az {_group} token get-for-teams-user --aad-token @aad-token.txt --client 00000000-0000-0000-0000-0000000000aa --aad-user 00000000-0000-0000-0000-0000000000bb
"""

from azext_communication import _help_emulator  # noqa: E402,F401  (registers the emulator's help texts)
