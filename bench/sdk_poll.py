"""The baseline for `message watch` when idle: the polling loop a user would write with the chat SDK.

One ChatThreadClient, `list_messages(results_per_page=200, start_time=<newest createdOn seen>)` every INTERVAL
seconds, printing new messages as JSON lines; the same inputs as the CLI (AZURE_COMMUNICATION_ENDPOINT,
AZURE_COMMUNICATION_ACCESS_TOKEN, REQUESTS_CA_BUNDLE). Runs until interrupted.

    sdk_poll.py THREAD_ID [INTERVAL]
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time

from azure.communication.chat import ChatThreadClient, CommunicationTokenCredential


def main() -> None:
    thread_id = sys.argv[1]
    interval = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
    client = ChatThreadClient(os.environ["AZURE_COMMUNICATION_ENDPOINT"],
                              CommunicationTokenCredential(os.environ["AZURE_COMMUNICATION_ACCESS_TOKEN"]), thread_id)
    newest = next(iter(client.list_messages(results_per_page=1)), None)
    last_seq = int(newest.sequence_id) if newest else 0
    since = newest.created_on if newest else None
    next_poll = time.monotonic()
    while True:
        new = [m for m in client.list_messages(results_per_page=200, start_time=since) if int(m.sequence_id) > last_seq]
        for m in sorted(new, key=lambda m: int(m.sequence_id)):
            print(json.dumps({"id": m.id, "sequenceId": m.sequence_id}), flush=True)
            last_seq, since = int(m.sequence_id), m.created_on
        next_poll += interval
        time.sleep(max(0.0, next_poll - time.monotonic()))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
