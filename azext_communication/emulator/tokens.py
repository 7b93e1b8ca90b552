"""User access tokens (JWT-shaped, HMAC-signed by the emulator) and the identity HMAC-SHA256 request signature.

Both halves mirror what the official SDKs do on the client side (wire spec §3a/§3b), so that unmodified
clients are accepted and anything tampered with is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from email.utils import formatdate, parsedate_to_datetime
from urllib.parse import urlsplit

from .errors import Unauthorized

EMPTY_SHA256 = base64.b64encode(hashlib.sha256(b"").digest()).decode("ascii")
CLOCK_SKEW_SECONDS = 15 * 60
HMAC_SCHEME = "HMAC-SHA256"

# Characters whose position could yield '-' or '_' in base64url; escaping them in the JSON keeps the payload
# decodable by the SDK's non-strict standard-alphabet parser (spec §3b).
_JSON_ESCAPES = {">": "\\u003e", "?": "\\u003f", "~": "\\u007e", "\x7f": "\\u007f"}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def content_sha256(body: bytes) -> str:
    """Base64 SHA-256 of the raw body, as the SDK puts in `x-ms-content-sha256`."""
    if not body:
        return EMPTY_SHA256
    return base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def string_to_sign(method: str, path_and_query: str, date: str, host: str, content_hash: str) -> str:
    """The SDK's string-to-sign: verb, raw path+query, then `date;host;hash`."""
    return f"{method.upper()}\n{path_and_query}\n{date};{host};{content_hash}"


def compute_signature(key: bytes, message: str) -> str:
    """Base64 HMAC-SHA256 of `message` with the decoded access key."""
    # surrogatepass: a received value may hold a lone surrogate (never from a real client); it must not raise
    data = message.encode("utf-8", "surrogatepass")
    return base64.b64encode(hmac.new(key, data, hashlib.sha256).digest()).decode("ascii")


def decode_access_key(access_key: str) -> bytes:
    """Decode a base64 access key; raises ValueError for anything the SDK itself could not decode."""
    try:
        key = base64.b64decode(access_key, validate=True)
    except Exception as exc:  # binascii.Error and friends
        raise ValueError("the access key must be valid base64") from exc
    if not key:
        raise ValueError("the access key must not be empty")
    return key


def sign_request(method: str, url: str, body: bytes, access_key: str, date: str | None = None,
                 host: str | None = None) -> dict[str, str]:
    """Headers an SDK would add for this request (used by tests and by admin tooling).

    `url` is absolute (https://host:port/path?query); `host` overrides the signed host.
    """
    parts = urlsplit(url)
    target = parts.path + ("?" + parts.query if parts.query else "")
    date = date or formatdate(usegmt=True)
    content_hash = content_sha256(body)
    signed_host = host if host is not None else parts.netloc
    sig = compute_signature(decode_access_key(access_key),
                            string_to_sign(method, target, date, signed_host, content_hash))
    return {
        "x-ms-date": date,
        "x-ms-content-sha256": content_hash,
        "Authorization": f"{HMAC_SCHEME} SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={sig}",
    }


def _host_candidates(host: str, server_port: int | None) -> list[str]:
    """Host values the client may have signed: as received, without port, and with the default/server port."""
    cands = [host]
    if host.endswith("]") or ":" not in host:  # no port in the Host header
        cands.append(f"{host}:443")
        if server_port:
            cands.append(f"{host}:{server_port}")
    else:
        cands.append(host.rsplit(":", 1)[0])
    return cands


def verify_hmac(key: bytes, method: str, raw_target: str, headers: Mapping[str, str], body: bytes,
                server_port: int | None = None, now: float | None = None,
                skew: int = CLOCK_SKEW_SECONDS) -> None:
    """Verify an identity request exactly as the SDK signed it; raise Unauthorized otherwise.

    `headers` must be keyed in lower case. The raw request target is used untouched (no decode/re-encode).
    """
    auth = headers.get("authorization", "")
    scheme, _, params = auth.partition(" ")
    if scheme != HMAC_SCHEME:
        raise Unauthorized("Denied by the resource provider. Missing or unsupported Authorization scheme.")
    fields = {}
    for part in params.split("&"):
        name, _, value = part.partition("=")
        fields[name.strip()] = value.strip()
    signature = fields.get("Signature", "")
    signed_headers = [h.strip().lower() for h in fields.get("SignedHeaders", "").split(";") if h.strip()]
    if not signature or not signed_headers:
        raise Unauthorized("Denied by the resource provider. Malformed HMAC Authorization header.")
    date = headers.get("x-ms-date") or headers.get("date")
    if not date:
        raise Unauthorized("Denied by the resource provider. Missing x-ms-date header.")
    try:
        sent = parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError, IndexError):
        raise Unauthorized("Denied by the resource provider. Invalid x-ms-date header.") from None
    now = time.time() if now is None else now
    if abs(now - sent) > skew:
        raise Unauthorized("Denied by the resource provider. The request date is outside the allowed clock skew.")
    claimed_hash = headers.get("x-ms-content-sha256", "")
    if not hmac.compare_digest(claimed_hash.encode("utf-8", "surrogatepass"), content_sha256(body).encode()):
        raise Unauthorized("Denied by the resource provider. The content hash does not match the body.")
    host = headers.get("host", "")
    hosts = _host_candidates(host, server_port) if "host" in signed_headers else [host]
    target = raw_target
    ok = False
    for cand in hosts:
        values = []
        for name in signed_headers:
            values.append(cand if name == "host" else headers.get(name, ""))
        message = f"{method.upper()}\n{target}\n" + ";".join(values)
        expected = compute_signature(key, message)
        if hmac.compare_digest(expected.encode(), signature.encode("utf-8", "surrogatepass")):
            ok = True  # keep comparing nothing else; constant-time per candidate
            break
    if not ok:
        raise Unauthorized("Denied by the resource provider. The HMAC signature does not match.")


class TokenCodec:
    """Issue and verify the emulator's user access tokens: header.payload.signature, HS256 with a server secret."""

    _HEADER = _b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "emulator"}, separators=(",", ":")).encode())

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def encode(self, claims: dict) -> str:
        """Sign `claims`; the payload segment never contains '-' or '_' so the SDK's parser accepts it."""
        text = json.dumps(claims, separators=(",", ":"), ensure_ascii=True)
        for ch, esc in _JSON_ESCAPES.items():
            text = text.replace(ch, esc)
        payload = _b64url(text.encode("ascii"))
        signing_input = f"{self._HEADER}.{payload}"
        sig = _b64url(hmac.new(self._secret, signing_input.encode("ascii"), hashlib.sha256).digest())
        return f"{signing_input}.{sig}"

    def decode(self, token: str) -> dict:
        """Return the claims of a token this emulator signed; Unauthorized for anything else.

        Expiry and revocation are checked by the model, which owns identity state.
        """
        parts = token.split(".")
        if len(parts) != 3:
            raise Unauthorized("Request is not authorized. The access token is malformed.")
        signing_input = f"{parts[0]}.{parts[1]}"
        expected = _b64url(hmac.new(self._secret, signing_input.encode("ascii", "replace"), hashlib.sha256).digest())
        if not hmac.compare_digest(expected.encode(), parts[2].encode("ascii", "replace")):
            raise Unauthorized("Request is not authorized. The access token signature is invalid.")
        try:
            claims = json.loads(_b64url_decode(parts[1]))
        except (ValueError, UnicodeDecodeError):
            raise Unauthorized("Request is not authorized. The access token is malformed.") from None
        if not isinstance(claims, dict) or not isinstance(claims.get("exp"), int):
            raise Unauthorized("Request is not authorized. The access token is malformed.")
        return claims
