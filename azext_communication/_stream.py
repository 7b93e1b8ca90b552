"""Write a stream of results one at a time, in the global `--output` format, flushed as each is written.

Why: core formats a command's result once, at the end; a watch has no end. Each message goes out on its own:
json/jsonc as JSON Lines (one compact object per line), tsv as core's tsv line (tabs and line breaks inside values
become spaces; a list is one row), table as one readable line,
yaml/yamlc as one document, none as nothing. `--query` applies to each item; an item for which it yields null
is not written (as `az` prints nothing for a null result). Every write is flushed, so `... | while read -r line`
sees each line at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import IO, Any

JSON_FORMATS = ("json", "jsonc")
YAML_FORMATS = ("yaml", "yamlc")


def take_query(cli_ctx: Any) -> Any:
    """The compiled `--query` of the running command, taken over from core (or None).

    knack keeps the expression only inside the result filter it registers; the filter is removed here, since the
    streaming command returns nothing for core to filter, and the expression is applied to each item instead.
    """
    from knack.events import EVENT_INVOKER_FILTER_RESULT

    handlers = getattr(cli_ctx, "_event_handlers", {}).get(EVENT_INVOKER_FILTER_RESULT, [])
    for handler in list(handlers):
        for cell in getattr(handler, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if hasattr(value, "search") and hasattr(value, "expression"):
                handlers.remove(handler)
                return value
    return None


def _one_line(value: Any) -> Any:
    """Tabs and line breaks inside values become spaces, so that a message stays one tsv line."""
    if isinstance(value, str):
        return " ".join(value.replace("\t", " ").splitlines()) if ("\t" in value or "\n" in value
                                                                    or "\r" in value) else value
    if isinstance(value, dict):
        return {k: _one_line(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_one_line(v) for v in value]
    return value


def _tsv(item: Any) -> str:
    """core's tsv for one item; a list (e.g. `--query "[a, b]"`) is one row, not one row per element."""
    from knack.output import format_tsv
    from knack.util import CommandResultItem

    item = _one_line(item)
    return format_tsv(CommandResultItem([item] if isinstance(item, list) else item)).rstrip("\n")


def _yaml(item: Any) -> str:
    import yaml

    return "---\n" + yaml.safe_dump(item, default_flow_style=False, allow_unicode=True, sort_keys=False).rstrip("\n")


def _json(item: Any) -> str:
    return json.dumps(item, ensure_ascii=False, separators=(",", ":"))


def _plain_line(item: Any) -> str:
    """A --query result as one table line: scalars as they are, lists and objects by their values."""
    if isinstance(item, dict):
        return "  ".join(_plain_line(v) for v in item.values())
    if isinstance(item, list):
        return "  ".join(_plain_line(v) for v in item)
    if item is None:
        return ""
    if isinstance(item, bool):
        return str(item).lower()
    return " ".join(str(item).split())


class StreamWriter:
    """Writes items (plain JSON-shaped data) to `out` as they come.

    `table_line` renders one item for `-o table` when no `--query` is given; with a query, the table line is the
    query result's values separated by two spaces.
    """

    def __init__(self, out: IO[str], output: str, query: Any = None,
                 table_line: Callable[[Any], str] | None = None) -> None:
        self.out = out
        self.output = output or "json"
        self.query = query
        self.table_line = table_line
        self.written = 0

    def render(self, item: Any) -> str | None:
        """The text written for `item`, or None when nothing is."""
        if self.query is not None:
            from collections import OrderedDict

            from jmespath import Options

            item = self.query.search(item, Options(OrderedDict))
            if item is None:
                return None
        if self.output == "none":
            return None
        if self.output in JSON_FORMATS:
            return _json(item)
        if self.output in YAML_FORMATS:
            return _yaml(item)
        if self.output == "tsv":
            return _tsv(item)
        if self.output == "table":
            if self.query is None and self.table_line is not None:
                return self.table_line(item)
            return _plain_line(item)
        return _json(item)

    def write(self, item: Any) -> None:
        """Write one item and flush it out."""
        text = self.render(item)
        if text is None:
            return
        self.out.write(text + "\n")
        self.out.flush()
        self.written += 1
