"""Time how long az takes to load the command table for one command, and prove what it imports meanwhile.

Runs the command in this process through `get_default_cli().invoke`, hooking core's invoker events: from
"command table about to be created" to "command table loaded into the parser" (table, arguments, parser) is
the load time; the `azure.communication` modules present at that moment must be none (the SDK is imported
only when the command runs); after the command ran they must be there (shows the check can fail).

    load_table.py OUT.json communication chat thread list --max-items 1
"""

from __future__ import annotations

import io
import json
import os
import sys
import time

SDK_PREFIX = "azure.communication"


def _sdk_modules() -> list[str]:
    return sorted(m for m in sys.modules if m == SDK_PREFIX or m.startswith(SDK_PREFIX + "."))


def _extension_modules() -> list[str]:
    return sorted(m for m in sys.modules if m.startswith("azext_"))


def main() -> None:
    """Invoke the command once and write the timings and module snapshots as JSON."""
    out_path, *args = sys.argv[1:]
    if sys.path and sys.path[0] == os.path.dirname(os.path.abspath(__file__)):
        sys.path.pop(0)
    t_start = time.perf_counter()
    from azure.cli.core import get_default_cli
    from knack.events import EVENT_INVOKER_CMD_TBL_LOADED, EVENT_INVOKER_PRE_CMD_TBL_CREATE

    marks: dict[str, object] = {}

    def before_table(_cli: object, **_kwargs: object) -> None:
        marks["table_start"] = time.perf_counter()
        marks["sdk_before_table"] = _sdk_modules()

    def table_loaded(_cli: object, **kwargs: object) -> None:
        marks["table_end"] = time.perf_counter()
        marks["sdk_at_load"] = _sdk_modules()
        marks["extension_at_load"] = _extension_modules()
        marks["commands_loaded"] = len(kwargs.get("cmd_tbl") or {})

    cli = get_default_cli()
    cli.register_event(EVENT_INVOKER_PRE_CMD_TBL_CREATE, before_table)
    cli.register_event(EVENT_INVOKER_CMD_TBL_LOADED, table_loaded)
    try:
        rc = cli.invoke(args, out_file=io.StringIO())
    except SystemExit as exc:
        rc = exc.code if isinstance(exc.code, int) else 1
    t_end = time.perf_counter()
    result = {
        "exit": rc,
        "load_ms": (marks["table_end"] - marks["table_start"]) * 1000 if "table_end" in marks else None,
        "to_loaded_ms": (marks["table_end"] - t_start) * 1000 if "table_end" in marks else None,
        "total_ms": (t_end - t_start) * 1000,
        "sdk_before_table": marks.get("sdk_before_table"),
        "sdk_at_load": marks.get("sdk_at_load"),
        "extension_at_load": marks.get("extension_at_load"),
        "commands_loaded": marks.get("commands_loaded"),
        "sdk_after_run": _sdk_modules(),
    }
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
