"""Run a program in this process and count the HTTP requests it sends (`requests` adapter sends).

The chat SDK's transport is azure-core's RequestsTransport, so every request, retries and page follow-ups
included, passes through `requests.adapters.HTTPAdapter.send`. The count goes to a JSON file so that the
program's own stdout/stderr stay untouched.

    count_requests.py OUT.json -m azure.cli communication chat message list -t T --max-items 50
    count_requests.py OUT.json path/to/script.py args...
"""

from __future__ import annotations

import json
import os
import runpy
import sys
from urllib.parse import urlsplit


def main() -> None:
    """Patch the adapter, run the target as `__main__`, then write what was sent."""
    out_path, target, *rest = sys.argv[1:]
    if sys.path and sys.path[0] == os.path.dirname(os.path.abspath(__file__)):
        sys.path.pop(0)  # the target must not see the bench folder's modules
    import requests.adapters

    sent: list[str] = []
    original = requests.adapters.HTTPAdapter.send

    def counting_send(self, request, *args, **kwargs):
        parts = urlsplit(request.url)
        sent.append(f"{request.method} {parts.netloc}{parts.path}?{parts.query}")
        return original(self, request, *args, **kwargs)

    requests.adapters.HTTPAdapter.send = counting_send
    code: object = 0
    try:
        if target == "-m":
            module, *rest = rest
            sys.argv = [module, *rest]
            runpy.run_module(module, run_name="__main__", alter_sys=True)
        else:
            sys.argv = [target, *rest]
            sys.path.insert(0, os.path.dirname(os.path.abspath(target)))
            runpy.run_path(target, run_name="__main__")
    except SystemExit as exc:
        code = exc.code
    finally:
        with open(out_path, "w", encoding="utf-8") as f:
            json.dump({"requests": len(sent), "sent": sent, "exit": code if isinstance(code, int) else 1}, f)
    sys.exit(code)


if __name__ == "__main__":
    main()
