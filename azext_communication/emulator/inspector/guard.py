"""Who may use the web page: requests addressed to one of the emulator's own names (DNS rebinding defence) and,
for the API, carrying the key made at start; plus the security headers of every answer.

Why a key although the emulator listens on loopback: any local process, and any web page the developer opens
(through a rebound DNS name), could otherwise read the tokens and drive the chat. The key travels in the URL
fragment (never sent to a server, never in a log) and then in the `X-Emulator-Key` header, which a cross-site
page cannot set without a CORS preflight that the emulator never grants.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable, Mapping

KEY_HEADER = "x-emulator-key"
LOCAL_NAMES = ("127.0.0.1", "localhost", "[::1]")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
COMMON_HEADERS = [("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"),
                  ("X-Frame-Options", "DENY"), ("Cross-Origin-Resource-Policy", "same-origin"),
                  ("Content-Security-Policy", CSP)]


def new_key() -> str:
    """A fresh key for one run of the emulator (32 random bytes, URL-safe)."""
    return secrets.token_urlsafe(32)


def own_hosts(host: str, port: int, extra: Iterable[str] = ()) -> frozenset[str]:
    """The Host header values the page answers: the loopback names and the --host, each with the port (and
    without it when the port is the default 443)."""
    names = set(LOCAL_NAMES)
    for name in (host, *extra):
        if name and name not in ("0.0.0.0", "::"):
            names.add(f"[{name}]" if ":" in name and not name.startswith("[") else name)
    out = {f"{n.lower()}:{port}" for n in names}
    if port == 443:
        out |= {n.lower() for n in names}
    return frozenset(out)


def host_allowed(headers: Mapping[str, str], allowed: frozenset[str]) -> bool:
    host = headers.get("host")
    return bool(host) and host.strip().lower() in allowed


def key_matches(headers: Mapping[str, str], key: str) -> bool:
    given = headers.get(KEY_HEADER) or ""
    return hmac.compare_digest(given.encode("utf-8", "replace"), key.encode("utf-8"))
