"""The baseline a user would write instead of `az`: a plain script that lists with the chat SDK and prints JSON.

Same inputs as the CLI (AZURE_COMMUNICATION_ENDPOINT, AZURE_COMMUNICATION_ACCESS_TOKEN, REQUESTS_CA_BUNDLE)
and the same output shape as `az -o json` (camelCase keys, ISO datetimes, indent 2, sorted keys), so the
difference to the CLI's figures is what the CLI itself adds.

    sdk_list.py threads [--max-items N]
    sdk_list.py messages THREAD_ID [--max-items N]
"""

from __future__ import annotations

import argparse
import datetime
import enum
import itertools
import json
import os
import sys
from typing import Any

from azure.communication.chat import ChatClient, CommunicationTokenCredential

PAGE_MAX = 200  # the service's largest page for messages


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def to_plain(obj: Any) -> Any:
    """SDK models to JSON-able data, as azure-cli's `todict` does (public attributes, camelCase)."""
    if isinstance(obj, dict):
        return {k: to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, (datetime.datetime, datetime.date)):
        return obj.isoformat()
    if hasattr(obj, "__dict__"):
        return {_camel(k): to_plain(v) for k, v in vars(obj).items() if not k.startswith("_") and not callable(v)}
    return obj


def main(argv: list[str] | None = None) -> int:
    """List threads or messages and print them as JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["threads", "messages"])
    parser.add_argument("thread_id", nargs="?")
    parser.add_argument("--max-items", type=int)
    args = parser.parse_args(argv)
    client = ChatClient(os.environ["AZURE_COMMUNICATION_ENDPOINT"],
                        CommunicationTokenCredential(os.environ["AZURE_COMMUNICATION_ACCESS_TOKEN"]))
    page = min(args.max_items, PAGE_MAX) if args.max_items else PAGE_MAX
    if args.what == "threads":
        items = client.list_chat_threads(results_per_page=page)
    else:
        items = client.get_chat_thread_client(args.thread_id).list_messages(results_per_page=page)
    if args.max_items:
        items = itertools.islice(items, args.max_items)
    result = [to_plain(item) for item in items]
    sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=2, sort_keys=True, separators=(",", ": ")) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
