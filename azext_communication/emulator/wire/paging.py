"""Paged listings on the wire: opaque continuation tokens (`syncState`) and absolute `nextLink`s (wire spec §8)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from urllib.parse import quote

from ..errors import BadRequest
from ..model import Page
from .http import Request

# fields of each continuation token: name -> (minimum, nullable); the client sends the token back verbatim
_CURSOR_FIELDS = {"threads": {"o": (0, False), "s": (None, True)}, "messages": {"b": (1, False), "s": (None, True)},
                  "receipts": {"o": (0, False)}, "participants": {"o": (0, False)}}
_MAX_CURSOR_INT = 1 << 53


def _encode_cursor(kind: str, cursor: dict) -> str:
    data = json.dumps({"k": kind, **cursor}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _decode_cursor(kind: str, token: str) -> dict:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict) or data.get("k") != kind:
        raise BadRequest("The continuation token (syncState) is invalid.", code="InvalidContinuationToken")
    # the token comes back from the client: every field must have the type and range the model expects
    for name, (minimum, nullable) in _CURSOR_FIELDS[kind].items():
        value = data.get(name)
        if value is None and nullable:
            continue
        if (isinstance(value, bool) or not isinstance(value, int) or abs(value) > _MAX_CURSOR_INT
                or (minimum is not None and value < minimum)):
            raise BadRequest("The continuation token (syncState) is invalid.", code="InvalidContinuationToken")
    return data


def cursor(req: Request, kind: str) -> dict | None:
    """The model cursor carried by the request's `syncState`, if any (400 when tampered with)."""
    tok = req.query.get("syncState")
    return None if tok is None else _decode_cursor(kind, tok)


def paged(req: Request, host: str, kind: str, page: Page, size: int, version: str, render: Callable) -> dict:
    """`{"value": [...], "nextLink"?: ...}` for one page; the link keeps the page size and api-version."""
    out: dict = {"value": None}
    if page.cursor is not None:
        out["nextLink"] = (f"https://{host}{req.raw_path}?syncState={_encode_cursor(kind, page.cursor)}"
                           f"&maxPageSize={size}&api-version={quote(version, safe='')}")
    out["value"] = [render(x) for x in page.items]
    return out
