"""How wide a table may be and how its columns are made to fit: the terminal's width when it is narrower than
TABLE_WIDTH (stdout a terminal, or COLUMNS set), else TABLE_WIDTH; flexible columns are shortened first and, when
that is not enough, the less important columns are left out.

Why its own file: the transformers in `_format` say what a table shows; this says how it fits, for all of them.
"""

from __future__ import annotations

import os
import sys
from typing import Any

TABLE_WIDTH = 120
COLUMN_GAP = 2  # tabulate's "simple" format, which core uses for -o table, puts 2 spaces between columns
HEADER_PADDING = 2  # and makes every column at least 2 wider than its header
CONTENT_WIDTH = 60  # at most, when the other columns leave room for it
MIN_FLEXIBLE_WIDTH = 12
ELLIPSIS = "\u2026"  # one column, where '...' would take three


def shorten(text: Any, width: int = CONTENT_WIDTH) -> str:
    """`text` on one line, cut to `width` characters with '...' when longer."""
    text = " ".join(str(text if text is not None else "").split())
    if len(text) <= width:
        return text
    return text[: max(width - 1, 0)] + ELLIPSIS


def _columns_setting() -> int | None:
    """COLUMNS, when set to a positive number."""
    value = os.environ.get("COLUMNS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def terminal_width(out: Any = None) -> int | None:
    """The width of the terminal: COLUMNS when set, else the size of `out` (stdout) when it is a terminal, else
    None (not a terminal: a file or a pipe)."""
    columns = _columns_setting()
    if columns is not None:
        return columns
    out = sys.stdout if out is None else out
    try:
        if out.isatty():
            return os.get_terminal_size(out.fileno()).columns
    except (AttributeError, OSError, ValueError):  # a stream without a file descriptor, or not a terminal
        pass
    return None


def table_width() -> int:
    """The width every table must fit in: the terminal's when it is narrower than TABLE_WIDTH, else TABLE_WIDTH."""
    columns = terminal_width()
    return TABLE_WIDTH if columns is None else min(columns, TABLE_WIDTH)


def _cell(value: Any) -> str:
    return str(value if value is not None else "")


def _column_width(rows: list[dict[str, Any]], key: str) -> int:
    return max([len(key) + HEADER_PADDING] + [len(_cell(row.get(key))) for row in rows])


def fit(rows: list[dict[str, Any]], flexible: str, width: int | None = None, most: int = CONTENT_WIDTH,
        optional: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Shorten column `flexible` so that the table, as core prints it, is at most `width` columns wide (default:
    `table_width()`); while even the shortest `flexible` would not fit, leave out the `optional` columns, in that
    order."""
    if not rows:
        return rows
    width = table_width() if width is None else width
    keys = list(rows[0])
    least = max(MIN_FLEXIBLE_WIDTH, len(flexible) + HEADER_PADDING)

    def room(columns: list[str]) -> int:
        used = sum(_column_width(rows, key) for key in columns if key != flexible)
        return width - used - COLUMN_GAP * (len(columns) - 1)

    for key in optional:
        if room(keys) >= least:
            break
        if key in keys and key != flexible:
            keys.remove(key)
    if len(keys) < len(rows[0]):
        rows = [{key: row.get(key) for key in keys} for row in rows]
    space = max(min(room(keys), most), least)
    for row in rows:
        row[flexible] = shorten(row.get(flexible), space)
    return rows


def fit_columns(rows: list[dict[str, Any]], flexible: tuple[str, ...], width: int | None = None,
                most: int = CONTENT_WIDTH, optional: tuple[str, ...] = (),
                least: int = MIN_FLEXIBLE_WIDTH) -> list[dict[str, Any]]:
    """`fit` for several flexible columns, sharing the room the others leave (what one needs less than its share
    goes to the others); while they would get less than `least` each (or what they need), the `optional` columns
    (flexible ones too, but not the last) are left out, in that order."""
    if not rows:
        return rows
    width, keys = table_width() if width is None else width, list(rows[0])
    needs = {key: max([len(key) + HEADER_PADDING] + [len(shorten(row.get(key), sys.maxsize)) for row in rows])
             for key in flexible}

    def room(columns: list[str]) -> int:
        used = sum(_column_width(rows, key) for key in columns if key not in flexible)
        return width - used - COLUMN_GAP * (len(columns) - 1)

    for key in optional:
        flex = [k for k in flexible if k in keys]
        if room(keys) >= sum(min(needs[k], max(least, MIN_FLEXIBLE_WIDTH)) for k in flex):
            break
        if key in keys and (key not in flexible or len(flex) > 1):
            keys.remove(key)
    rows = [{key: row.get(key) for key in keys} for row in rows] if len(keys) < len(rows[0]) else rows
    space, flex = room(keys), sorted((k for k in flexible if k in keys), key=lambda k: needs[k])
    for n, key in enumerate(flex):
        size = max(min(needs[key], space // (len(flex) - n), most), MIN_FLEXIBLE_WIDTH, len(key) + HEADER_PADDING)
        for row in rows:
            row[key] = shorten(row.get(key), size)
        space -= min(size, needs[key])  # the width the column takes: what it needs when that is less
    return rows
