"""Shared HTTP helpers of the wire layer: the parsed request, query parameters, api-version and method checks.

Nothing here knows a service: the chat, identity and admin handlers build on it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from urllib.parse import parse_qsl, unquote

from ..errors import BadRequest, MethodNotAllowed
from ..model import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

JSON_TYPE = "application/json; charset=utf-8"
MAX_BODY_BYTES = 4 * 1024 * 1024
_FRACTION_RE = re.compile(r"(\.\d{1,6})\d*")

Response = tuple[int, list[tuple[str, str]], bytes]
# what a handler returns: status, JSON-able body (None: no body), extra headers
Result = tuple[int, object, list[tuple[str, str]]]


class LowerHeaders(dict):
    """Header dict whose keys are already lower-case (the server builds it; skips a second pass)."""

    lowercase = True


def _parse_query(query: str) -> dict[str, str]:
    """Query parameters (first value wins); fast path for the common plain `name=value&...` form."""
    if not query:
        return {}
    if "%" in query or "+" in query:
        pairs = parse_qsl(query, keep_blank_values=True)
    else:
        pairs = [(k, v) for k, _, v in (p.partition("=") for p in query.split("&") if p)]
    out: dict[str, str] = {}
    for k, v in pairs:
        out.setdefault(k, v)
    return out


class Request:
    """One parsed request: decoded path segments, query, lower-cased headers, raw body."""

    __slots__ = ("body", "headers", "method", "path", "query", "raw_path", "raw_target", "segments")

    def __init__(self, method: str, raw_target: str, headers: Mapping[str, str], body: bytes) -> None:
        self.method = method.upper()
        self.raw_target = raw_target
        target = raw_target
        if target.startswith(("http://", "https://")):  # absolute-form request target
            rest = target.split("://", 1)[1]
            target = "/" + rest.split("/", 1)[1] if "/" in rest else "/"
            self.raw_target = target
        path, _, query = target.partition("?")
        self.raw_path = path
        self.path = path
        self.segments = [unquote(s) if "%" in s else s for s in path.split("/")[1:]]
        while self.segments and self.segments[-1] == "":
            self.segments.pop()
        self.query = _parse_query(query)
        self.headers = headers
        self.body = body

    def json(self, required: bool = True) -> dict:
        """The body as a JSON object ({} when empty and not required)."""
        if not self.body or not self.body.strip():
            if required:
                raise BadRequest("A JSON request body is required.", code="ValidationError")
            return {}
        try:
            data = json.loads(self.body)
        except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: absurdly deep nesting
            raise BadRequest("The request body is not valid JSON.", code="InvalidJson") from None
        if not isinstance(data, dict):
            raise BadRequest("The request body must be a JSON object.", code="ValidationError")
        if b"\\u" in self.body and _has_lone_surrogate(self.body):
            raise BadRequest("The request body is not valid JSON: it escapes a lone UTF-16 surrogate.",
                             code="InvalidJson")
        return data


def _has_lone_surrogate(body: bytes) -> bool:
    """True when a `\\uD800`-style escape in the body decodes to half a surrogate pair: such text is not Unicode,
    cannot be encoded as UTF-8 later (sizes, storage, responses), and the real service refuses it."""
    try:
        json.dumps(json.loads(body), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def allow(req: Request, *methods: str) -> None:
    """405 with an Allow header unless the request uses one of `methods`."""
    if req.method not in methods:
        raise MethodNotAllowed(headers={"Allow": ", ".join(methods)})


class ApiVersions:
    """The api-versions one service accepts, and its `api-supported-versions` response header."""

    def __init__(self, *versions: str) -> None:
        self.versions = versions
        self.header = ("api-supported-versions", ", ".join(versions))

    def check(self, req: Request, host: str) -> str:
        """The request's api-version; 400 when it is missing or not one of this service's."""
        version = req.query.get("api-version")
        if not version:
            raise BadRequest("An API version is required, but was not specified.", code="ApiVersionUnspecified")
        if version not in self.versions:
            raise BadRequest(f"The HTTP resource that matches the request URI 'https://{host}{req.raw_target}' "
                             f"does not support the API version '{version}'.", code="UnsupportedApiVersion")
        return version


def int_query(req: Request, name: str, default: int, minimum: int, bound: str) -> int:
    """An integer query parameter (absent or empty -> default); anything else is a 400 ValidationError."""
    raw = req.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        n = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer.", code="ValidationError") from None
    if n < minimum:
        raise BadRequest(f"{name} must {bound}.", code="ValidationError")
    return n


def page_size(req: Request) -> int:
    return min(int_query(req, "maxPageSize", DEFAULT_PAGE_SIZE, 1, "be greater than 0"), MAX_PAGE_SIZE)


def skip(req: Request) -> int:
    return int_query(req, "skip", 0, 0, "not be negative")


def parse_time(value: object, name: str) -> int:
    """ISO 8601 to epoch ms; naive values are UTC. BadRequest when unparsable."""
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"The {name} value is not a valid date-time.", code="ValidationError")
    text = value.strip()
    # an unencoded '+' of an offset arrives as a space; a date and time may be separated by a space
    text = text.replace(" ", "+") if "T" in text else text.replace(" ", "T", 1)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    text = _FRACTION_RE.sub(lambda mo: mo.group(1), text, count=1)
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"The {name} value '{value}' is not a valid date-time.", code="ValidationError") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(dt.timestamp() * 1000)


def start_time(req: Request) -> int | None:
    raw = req.query.get("startTime")
    return None if raw is None or raw == "" else parse_time(raw, "startTime")
