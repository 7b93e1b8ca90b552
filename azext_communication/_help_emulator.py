"""Help texts of `az communication emulator ...` (YAML, read by knack): the local emulator and its events."""
# ruff: noqa: E501  (examples are one command line each, as azure-cli help files have them)

from __future__ import annotations

from knack.help_files import helps

helps["communication emulator"] = """
type: group
short-summary: A local emulator of the Communication Services chat and identity data planes.
"""

helps["communication emulator start"] = """
type: command
short-summary: Run the emulator in the foreground until interrupted.
long-summary: >
    When ready it prints the lines to paste into the shell that runs az or the scripts (`export
    AZURE_COMMUNICATION_ENDPOINT=...`, `AZURE_COMMUNICATION_CONNECTION_STRING=...` and `REQUESTS_CA_BUNDLE=...`,
    which makes every client trust its certificate; TLS verification stays on) and the next step, issuing a chat
    token, and the address of its web page, https://<host>:<port>/_emulator/#key=... (the key is new at each
    start and travels in the URL fragment, never in a log): threads, messages, users, event deliveries and dead
    letters, faults and recent requests, live; chat as any user from the browser. The browser must trust the
    emulator's CA (ca.pem in its folder; 'az communication emulator trust' adds it to Chromium, Chrome and
    Firefox). Then it logs each request (method, path, status, milliseconds) until Ctrl+C (--log-level WARNING
    leaves the request log out). A port in use or out of range is one line; 'az communication emulator status'
    says which emulators run and where. Browser apps on the JavaScript chat SDK get real-time notifications
    (startRealtimeNotifications) from the same HTTPS origin; --cors-origin says which page origins may call it
    (default: any port of localhost and 127.0.0.1).
examples:
  - name: Start on the default address (https://127.0.0.1:8443).
    text: az communication emulator start
  - name: Start on a free port and print one JSON line for scripts.
    text: az communication emulator start --port 0 --json
  - name: Keep all state in a folder, with rate limits enforced.
    text: az communication emulator start --data-dir ./chat-data --throttle
  - name: Answer the next two requests with 429 (Retry-After 1 s), to see the client retry.
    text: az communication emulator start --port 0 --fault 429:2:1
  - name: Deliver the chat events (Event Grid schema) to a local Azure Functions host.
    text: az communication emulator start --event-webhook "http://localhost:7071/runtime/webhooks/EventGrid?functionName=OnChat"
  - name: Subscriptions from a file, persisted with the data, retries 100 times faster (for tests).
    text: az communication emulator start --data-dir ./chat-data --events-config events.json --event-retry-scale 0.01
  - name: Let a web app served from http://localhost:3000 (and any port of 127.0.0.1) call it and receive real-time notifications.
    text: az communication emulator start --cors-origin http://localhost:3000 "http://127.0.0.1:*"
  - name: Run without the request log, giving slow clients 60 seconds to send a request.
    text: az communication emulator start --log-level WARNING --request-timeout 60
  - name: Make a retention-policy day last 1 second, so a 30-day policy deletes its thread after 30 seconds.
    text: az communication emulator start --port 0 --retention-day-seconds 1
"""

helps["communication emulator status"] = """
type: command
short-summary: Say whether an emulator is running for this emulator home folder, and where.
long-summary: >
    The home folder is $AZURE_COMMUNICATION_EMULATOR_HOME, else ~/.azure-communication-emulator. Every emulator
    started from it (with or without --data-dir) is listed while it runs, with its endpoint, process id, data
    folder, connection string, CA bundle, the URL of its web page (inspectorUrl, with its key) and the export
    lines that point az and SDK scripts at it. Nothing
    running: "running" is false and a warning says so (exit 0 either way).
examples:
  - name: Is one running, and where?
    text: az communication emulator status -o table
  - name: The lines that point a shell at the running emulator (bash, to paste or to eval "$(...)").
    text: az communication emulator status --query "emulators[0].exports[]" -o tsv
  - name: The address of the running emulator's web page (with its key), to open in a browser.
    text: az communication emulator status --query "emulators[0].inspectorUrl" -o tsv
"""

helps["communication emulator trust"] = """
type: command
short-summary: Make the browsers of this user trust the emulator's certificate (Chromium, Chrome and Firefox on Linux).
long-summary: >
    Browsers do not read REQUESTS_CA_BUNDLE: a web app (the JavaScript SDK, the UI Library) that calls the
    emulator needs its CA in the browser's own store. This adds the CA of the emulator home folder (or of
    --data-dir) with NSS's certutil to ~/.pki/nssdb (Chromium and Chrome) and to every Firefox profile's
    cert9.db, replacing older emulator CAs, and says what it did. The CA is name-constrained to localhost,
    127.0.0.0/8, ::1 and the --host the emulator was started with, so trusting it cannot vouch for any other
    site. Without certutil it changes nothing and prints the commands to run. Start the emulator once first (it
    makes the CA). macOS and Windows: see the README (security add-trusted-cert / certutil -addstore -user Root).
examples:
  - name: Trust the emulator in Chromium, Chrome and Firefox (restart the browser afterwards).
    text: az communication emulator trust
  - name: Trust the CA of an emulator that keeps its data in a folder.
    text: az communication emulator trust --data-dir ./chat-data
  - name: Remove the emulator's CA from those browsers again.
    text: az communication emulator trust --remove
"""

helps["communication emulator subscription"] = """
type: group
short-summary: Event subscriptions of a running emulator, which delivers the Event Grid chat events to webhooks.
long-summary: >
    The commands talk to the emulator named by --connection-string (or AZURE_COMMUNICATION_CONNECTION_STRING),
    signed with its access key. Each subscription shows its delivery counts: delivered, failed (attempts that
    failed), pending and deadLettered (appended to deadletter/<NAME>.jsonl in the emulator's folder).
"""

helps["communication emulator subscription create"] = """
type: command
short-summary: Subscribe a webhook (validated as Event Grid does) or an Event Grid topic to the chat events.
long-summary: >
    Event Grid schema endpoints must answer the SubscriptionValidationEvent with
    {"validationResponse": "<validationCode>"} (HTTP 200); CloudEvents endpoints must answer the OPTIONS request
    with WebHook-Allowed-Origin. An EventGridTopic endpoint has no handshake: each event is published to it
    (POST ...?api-version=2018-01-01 with aeg-sas-key, a JSON array). The subscription receives the events of
    chat writes made after it was created.
examples:
  - name: Deliver every chat event to a local Azure Functions host.
    text: az communication emulator subscription create --name bot --endpoint "http://localhost:7071/runtime/webhooks/EventGrid?functionName=OnChat"
  - name: Only new messages of one thread, as CloudEvents, without the handshake.
    text: az communication emulator subscription create --name thread-watch --endpoint http://localhost:8080/events --event-delivery-schema CloudEventSchemaV1_0 --included-event-types ChatMessageReceivedInThread --subject-begins-with "thread/19:abc@thread.v2/" --skip-validation
  - name: Publish every chat event to an Event Grid topic (or a local Event Grid simulator), key read from a file.
    text: az communication emulator subscription create --name to-topic --endpoint-type EventGridTopic --endpoint https://chat-events.westus2-1.eventgrid.azure.net/api/events --topic-key @topic-key.txt
"""

helps["communication emulator subscription list"] = """
type: command
short-summary: List the event subscriptions with their delivered, failed, pending and dead-lettered counts.
examples:
  - name: See how deliveries are going.
    text: az communication emulator subscription list -o table
"""

helps["communication emulator subscription show"] = """
type: command
short-summary: Show one event subscription and its delivery counts.
examples:
  - name: Show the subscription named bot.
    text: az communication emulator subscription show --name bot
"""

helps["communication emulator subscription delete"] = """
type: command
short-summary: Delete an event subscription; its pending events are dropped.
examples:
  - name: Delete the subscription named bot without a prompt.
    text: az communication emulator subscription delete --name bot --yes
"""
