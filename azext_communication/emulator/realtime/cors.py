"""Which browser origins may call the emulator (`--cors-origin`), and the CORS headers of answers and preflights.

A pattern is `*` (any origin) or `SCHEME://HOST[:PORT]` with `*` for any port. An origin that matches no
pattern gets no CORS headers (the browser then blocks the answer) and its WebSocket upgrades are refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

DEFAULT_ORIGINS = ("http://localhost:*", "https://localhost:*", "http://127.0.0.1:*", "https://127.0.0.1:*")
ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
# read by the SDKs on failures (spec section 10) and by the chat client on create (Location)
EXPOSE_HEADERS = ("ms-cv, www-authenticate, x-trouter-skypetoken-deprecated, retry-after, location, "
                  "x-ms-client-request-id")
MAX_AGE = "600"
_PATTERN_RE = re.compile(r"^(https?)://(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\*|[0-9]{1,5}))?$")
_HEADER_LIST_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+(\s*,\s*[!#$%&'*+.^_`|~0-9A-Za-z-]+)*$")
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def _split(origin: str) -> tuple[str, str, str] | None:
    m = _PATTERN_RE.match(origin.strip().lower())
    if m is None:
        return None
    scheme, host, port = m.groups()
    return scheme, host, port or _DEFAULT_PORTS[scheme]


def check_origin_pattern(value: str) -> str:
    """A valid `--cors-origin` value, else ValueError with one line naming it."""
    text = str(value).strip()
    if text == "*":
        return text
    parts = _split(text)
    if parts is None or (parts[2] != "*" and not 0 < int(parts[2]) <= 65535):
        raise ValueError(f"invalid origin '{value}': expected SCHEME://HOST[:PORT] with http or https, ':*' for "
                         "any port, no path (e.g. http://localhost:*), or * for any origin")
    return text


class CorsPolicy:
    """The allowed origins, and the headers that tell a browser so."""

    def __init__(self, patterns: Iterable[str] = DEFAULT_ORIGINS) -> None:
        self.patterns = tuple(check_origin_pattern(p) for p in patterns)
        self._any = "*" in self.patterns
        self._parsed = [_split(p) for p in self.patterns if p != "*"]
        self._cache: dict[str, bool] = {}

    def allows(self, origin: str | None) -> bool:
        """True for an origin that matches a pattern (the literal `null` origin only with `*`)."""
        if not origin:
            return False
        known = self._cache.get(origin)
        if known is not None:
            return known
        parts = _split(origin)
        ok = self._any or (parts is not None and parts[2] != "*" and any(
            s == parts[0] and h == parts[1] and p in ("*", parts[2]) for s, h, p in self._parsed))
        if len(self._cache) < 1024:
            self._cache[origin] = ok
        return ok

    def response_headers(self, origin: str | None) -> list[tuple[str, str]]:
        """Headers for an actual answer to `origin` (none when it is not allowed or absent)."""
        if not self.allows(origin):
            return []
        return [("Access-Control-Allow-Origin", origin), ("Vary", "Origin"),
                ("Access-Control-Expose-Headers", EXPOSE_HEADERS)]

    def preflight(self, headers: Mapping[str, str]) -> tuple[int, list[tuple[str, str]]]:
        """The answer to an `OPTIONS` preflight: 204 with the allowance, or 403 without CORS headers."""
        origin = headers.get("origin")
        if not self.allows(origin):
            return 403, []
        out = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin"),
               ("Access-Control-Allow-Methods", ALLOW_METHODS), ("Access-Control-Max-Age", MAX_AGE)]
        requested = (headers.get("access-control-request-headers") or "").strip()
        if requested and _HEADER_LIST_RE.match(requested):
            out.append(("Access-Control-Allow-Headers", requested))
        return 204, out


def is_preflight(method: str, headers: Mapping[str, str]) -> bool:
    """An `OPTIONS` request a browser sends before a cross-origin call."""
    return method.upper() == "OPTIONS" and "origin" in headers and "access-control-request-method" in headers
