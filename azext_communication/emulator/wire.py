"""HTTP semantics without sockets: routing, percent-decoding, api-version checks, authentication, JSON bodies
and the mapping of model exceptions to status codes.

`WireApp.handle(method, raw_target, headers, body)` returns `(status, headers, body)`; a status of 0 means
"close the connection without answering" (fault injection). The server module only moves bytes.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import parse_qsl, quote, unquote

from . import model as m
from .errors import BadRequest, EmulatorError, MethodNotAllowed, NotFound, ServiceUnavailable, TooManyRequests
from .model import Caller, ChatModel, ParticipantSpec, RateLimiter, identifier_model, parse_identifier
from .model.rules import check_display_name, check_minutes, check_scopes
from .tokens import decode_access_key, verify_hmac

log = logging.getLogger("azext_communication.emulator")

CHAT_API_VERSIONS = (
    "2020-09-21-preview2", "2020-11-01-preview3", "2021-01-27-preview4", "2021-03-01-preview5", "2021-03-07",
    "2021-04-05-preview6", "2021-09-07", "2023-11-07", "2023-11-15-preview", "2024-03-01-preview", "2024-03-07",
    "2024-03-15-preview", "2025-03-15",
)
IDENTITY_API_VERSIONS = (
    "2020-07-20-preview2", "2021-02-22-preview1", "2021-03-07", "2021-03-31-preview1", "2021-10-31-preview",
    "2021-11-01", "2022-06-01", "2022-10-01", "2023-08-01", "2023-10-01",
)
JSON_TYPE = "application/json; charset=utf-8"
MAX_BODY_BYTES = 4 * 1024 * 1024
FAULT_MODES = ("429", "503", "close", "stall")
_THREAD_ID_RE = re.compile(r"^19:\S+@thread(\.[A-Za-z0-9]+)?$")
_FRACTION_RE = re.compile(r"(\.\d{1,6})\d*")
# what a Host header may hold (reg-name / IPv4 / [IPv6] and a port); it is echoed in Location and nextLink
_HOST_RE = re.compile(r"^[A-Za-z0-9._~%!$&'()*+,;=-]*(\[[0-9A-Fa-f:.]+\])?(:[0-9]{0,5})?$")
# an echoed request id must not carry control characters into the response head
_REQUEST_ID_RE = re.compile(r"^[\x21-\x7e]{1,256}$")
# fields of each continuation token: name -> (minimum, nullable); the client sends the token back verbatim
_CURSOR_FIELDS = {"threads": {"o": (0, False), "s": (None, True)}, "messages": {"b": (1, False), "s": (None, True)},
                  "receipts": {"o": (0, False)}, "participants": {"o": (0, False)}}
_MAX_CURSOR_INT = 1 << 53

Response = tuple[int, list[tuple[str, str]], bytes]
_SUPPORTED_HEADER = {v: ", ".join(v) for v in (CHAT_API_VERSIONS, IDENTITY_API_VERSIONS)}


class LowerHeaders(dict):
    """Header dict whose keys are already lower-case (the server builds it; skips a second pass)."""

    lowercase = True


# ----------------------------------------------------------------------------------------------- formatting

def fmt_time(ms: int) -> str:
    """RFC3339 UTC; whole seconds without a fraction (like the real service), otherwise milliseconds."""
    secs, rem = divmod(ms, 1000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    return f"{base}Z" if rem == 0 else f"{base}.{rem:03d}Z"


def fmt_expires(exp_s: int) -> str:
    """Token expiry as the identity service returns it (RFC3339 with an explicit offset)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(exp_s))


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


def participant_json(raw: str, name: str | None, share_ms: int) -> dict:
    out: dict = {"communicationIdentifier": identifier_model(raw)}
    if name is not None:
        out["displayName"] = name
    out["shareHistoryTime"] = fmt_time(share_ms)
    return out


def message_json(msg: m.Message) -> dict:
    """ChatMessage as the 2024-03-07 service returns it (optional fields omitted when unset)."""
    c = msg.content
    if msg.type in ("text", "html"):
        content: dict = {"message": c.get("message", "")}
        if msg.type == "html":
            content["attachments"] = []
    elif msg.type == "topicUpdated":
        content = {"topic": c.get("topic", ""), "initiatorCommunicationIdentifier": identifier_model(c["initiator"])}
    else:
        content = {"participants": [participant_json(p["raw"], p.get("name"), p.get("share", 0))
                                    for p in c.get("participants", [])],
                   "initiatorCommunicationIdentifier": identifier_model(c["initiator"])}
    out: dict = {"id": msg.id, "type": msg.type, "sequenceId": str(msg.seq), "version": msg.version,
                 "content": content}
    if msg.sender is not None:
        out["senderDisplayName"] = msg.sender_display_name or ""
    out["createdOn"] = fmt_time(msg.created_ms)
    if msg.sender is not None:
        out["senderCommunicationIdentifier"] = identifier_model(msg.sender)
    if msg.deleted_ms is not None:
        out["deletedOn"] = fmt_time(msg.deleted_ms)
    if msg.edited_ms is not None:
        out["editedOn"] = fmt_time(msg.edited_ms)
    if msg.metadata:
        out["metadata"] = msg.metadata
    return out


def thread_json(t: m.Thread) -> dict:
    out = {"id": t.id, "topic": t.topic, "createdOn": fmt_time(t.created_ms),
           "createdByCommunicationIdentifier": identifier_model(t.created_by)}
    if t.deleted_ms is not None:
        out["deletedOn"] = fmt_time(t.deleted_ms)
    return out


def thread_item_json(t: m.Thread) -> dict:
    out: dict = {"id": t.id, "topic": t.topic}
    if t.deleted_ms is not None:
        out["deletedOn"] = fmt_time(t.deleted_ms)
    if t.last_message_ms is not None:
        out["lastMessageReceivedOn"] = fmt_time(t.last_message_ms)
    return out


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


# ----------------------------------------------------------------------------------------------- faults

@dataclass
class Fault:
    mode: str
    remaining: int
    retry_after: int = 1
    stall_seconds: float = 1.0

    def describe(self) -> dict:
        return {"mode": self.mode, "count": self.remaining, "retryAfter": self.retry_after,
                "stallSeconds": self.stall_seconds}


class FaultInjector:
    """Queue of faults applied to the next N non-admin requests (for client retry/hardening tests)."""

    def __init__(self) -> None:
        self._queue: list[Fault] = []
        self._lock = threading.Lock()

    @staticmethod
    def parse(spec: Mapping) -> Fault:
        mode = str(spec.get("mode", ""))
        if mode not in FAULT_MODES:
            raise BadRequest(f"mode must be one of {', '.join(FAULT_MODES)}.", code="ValidationError")
        count = spec.get("count", 1)
        retry_after = spec.get("retryAfter", 1)
        stall = spec.get("stallSeconds", 1.0)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise BadRequest("count must be a positive integer.", code="ValidationError")
        if isinstance(retry_after, bool) or not isinstance(retry_after, int) or retry_after < 0:
            raise BadRequest("retryAfter must be a non-negative integer.", code="ValidationError")
        if isinstance(stall, bool) or not isinstance(stall, (int, float)) or not 0 <= stall <= 600:
            raise BadRequest("stallSeconds must be between 0 and 600.", code="ValidationError")
        return Fault(mode, count, retry_after, float(stall))

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._queue.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    def pending(self) -> list[dict]:
        with self._lock:
            return [f.describe() for f in self._queue]

    def take(self) -> Fault | None:
        """Consume one unit of the first queued fault, if any."""
        if not self._queue:  # fast path without the lock
            return None
        with self._lock:
            if not self._queue:
                return None
            f = self._queue[0]
            f.remaining -= 1
            if f.remaining <= 0:
                self._queue.pop(0)
            return f


# ----------------------------------------------------------------------------------------------- the app

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


class WireApp:
    """Routes requests to the model; everything that goes wrong becomes a JSON error."""

    def __init__(self, model: ChatModel, access_key: str, throttle: bool = False,
                 server_port: int | None = None, faults: FaultInjector | None = None) -> None:
        self.model = model
        self.access_key = access_key
        self._key = decode_access_key(access_key)
        self.limiter = RateLimiter(enabled=throttle)
        self.server_port = server_port
        self.faults = faults or FaultInjector()
        self.clock_s = time.time  # for HMAC clock-skew checks

    @property
    def default_host(self) -> str:
        """Host for absolute links when a client sent no Host header (HTTP/1.0)."""
        return f"127.0.0.1:{self.server_port}" if self.server_port else "127.0.0.1"

    # ------------------------------------------------------------------ entry point
    def handle(self, method: str, raw_target: str, headers: Mapping[str, str], body: bytes) -> Response:
        """Answer one request. `headers` keys are matched case-insensitively."""
        hdrs = headers if getattr(headers, "lowercase", False) else {k.lower(): v for k, v in headers.items()}
        extra: list[tuple[str, str]] = []
        rid = hdrs.get("x-ms-client-request-id")
        if rid and _REQUEST_ID_RE.match(rid):
            extra.append(("x-ms-client-request-id", rid))
        try:
            host = hdrs.get("host")
            if host and not _HOST_RE.match(host):  # echoed into Location and nextLink: never pass it through
                raise BadRequest("The Host header is invalid.", code="InvalidHostHeader")
            req = Request(method, raw_target, hdrs, body)
            if req.segments[:1] != ["admin"]:
                fault = self.faults.take()
                if fault is not None:
                    if fault.mode == "close":
                        return 0, [], b""
                    if fault.mode == "stall":
                        time.sleep(fault.stall_seconds)
                    elif fault.mode == "429":
                        raise TooManyRequests(headers={"Retry-After": str(fault.retry_after)})
                    else:
                        raise ServiceUnavailable(headers={"Retry-After": str(fault.retry_after)})
            status, body_obj, more = self._route(req)
            self.model.store.wait_durable()  # answer only once what the answer reflects is on disk (group commit)
            extra.extend(more)
            if body_obj is None:
                return status, extra, b""
            data = json.dumps(body_obj, separators=(",", ":")).encode("utf-8")
            extra.append(("Content-Type", JSON_TYPE))
            return status, extra, data
        except EmulatorError as exc:
            refusal = exc
            try:
                self.model.store.wait_durable()  # a refusal may reflect state too (a deletion, a membership)
            except EmulatorError as storage:
                refusal = storage
            return self.error_response(refusal, extra)
        except Exception:  # never leak a stack trace to the client
            log.exception("internal error handling %s %s", method, raw_target)
            return self.error_response(EmulatorError("An internal error occurred."), extra)

    @staticmethod
    def error_response(exc: EmulatorError, extra: list[tuple[str, str]] | None = None) -> Response:
        """JSON error body `{"error": {"code", "message"}}` with the right status and headers."""
        headers = list(extra or [])
        headers.extend(exc.headers.items())
        headers.append(("Content-Type", JSON_TYPE))
        return exc.status, headers, json.dumps(exc.to_body(), separators=(",", ":")).encode("utf-8")

    # ------------------------------------------------------------------ helpers
    def _api_version(self, req: Request, supported: tuple[str, ...]) -> str:
        version = req.query.get("api-version")
        if not version:
            raise BadRequest("An API version is required, but was not specified.", code="ApiVersionUnspecified")
        if version not in supported:
            host = req.headers.get("host") or self.default_host
            raise BadRequest(f"The HTTP resource that matches the request URI 'https://{host}{req.raw_target}' "
                             f"does not support the API version '{version}'.", code="UnsupportedApiVersion")
        return version

    def _hmac(self, req: Request) -> None:
        verify_hmac(self._key, req.method, req.raw_target, req.headers, req.body, self.server_port, self.clock_s())

    def _caller(self, req: Request) -> Caller:
        auth = req.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise m.Unauthorized("Request is not authorized. A bearer access token is required.")
        return self.model.authenticate(token.strip())

    @staticmethod
    def _int_query(req: Request, name: str, default: int, minimum: int, bound: str) -> int:
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

    def _page_size(self, req: Request) -> int:
        return min(self._int_query(req, "maxPageSize", m.DEFAULT_PAGE_SIZE, 1, "be greater than 0"), m.MAX_PAGE_SIZE)

    def _skip(self, req: Request) -> int:
        return self._int_query(req, "skip", 0, 0, "not be negative")

    @staticmethod
    def _start(req: Request) -> int | None:
        raw = req.query.get("startTime")
        return None if raw is None or raw == "" else parse_time(raw, "startTime")

    @staticmethod
    def _cursor(req: Request, kind: str) -> dict | None:
        tok = req.query.get("syncState")
        return None if tok is None else _decode_cursor(kind, tok)

    def _next_link(self, req: Request, kind: str, page: m.Page, size: int, version: str) -> dict:
        out: dict = {"value": None}
        if page.cursor is not None:
            host = req.headers.get("host") or self.default_host
            out["nextLink"] = (f"https://{host}{req.raw_path}?syncState={_encode_cursor(kind, page.cursor)}"
                               f"&maxPageSize={size}&api-version={quote(version, safe='')}")
        return out

    def _paged(self, req: Request, kind: str, page: m.Page, size: int, version: str, render) -> dict:
        out = self._next_link(req, kind, page, size, version)
        out["value"] = [render(x) for x in page.items]
        return out

    @staticmethod
    def _participants(items: object) -> list[ParticipantSpec]:
        if items is None:
            return []
        if not isinstance(items, list):
            raise BadRequest("participants must be an array.", code="ValidationError")
        out = []
        for p in items:
            if not isinstance(p, dict):
                raise BadRequest("Each participant must be a JSON object.", code="ValidationError")
            raw = parse_identifier(p.get("communicationIdentifier"))
            name = check_display_name(p.get("displayName"))
            share = p.get("shareHistoryTime")
            share_ms = 0 if share is None else parse_time(share, "shareHistoryTime")
            out.append(ParticipantSpec(raw, name, max(0, share_ms)))
        return out

    @staticmethod
    def _thread_id(raw: str) -> str:
        if not _THREAD_ID_RE.match(raw):
            raise BadRequest(f"The thread id '{raw}' is not valid.", code="InvalidThreadId")
        return raw

    @staticmethod
    def _message_id(raw: str) -> str:
        if not raw.isdigit():
            raise BadRequest(f"The message id '{raw}' is not valid.", code="InvalidMessageId")
        return raw

    # ------------------------------------------------------------------ routing
    def _route(self, req: Request) -> tuple[int, object, list[tuple[str, str]]]:
        segs = req.segments
        if not segs:
            raise NotFound("Not Found")
        head = segs[0].lower()
        if head == "chat" and len(segs) >= 2 and segs[1].lower() == "threads":
            return self._chat(req, segs[2:])
        if head == "identities":
            return self._identity(req, segs[1:])
        if head == "teamsuser" and len(segs) == 2 and segs[1].lower() == ":exchangeaccesstoken":
            self._allow(req, "POST")
            version = self._api_version(req, IDENTITY_API_VERSIONS)
            self._hmac(req)
            self.limiter.hit("token.exchange")
            body = req.json()
            token, exp = self.model.exchange_teams_token(body.get("token"), body.get("appId"), body.get("userId"))
            return 200, {"token": token, "expiresOn": fmt_expires(exp)}, self._versions(IDENTITY_API_VERSIONS, version)
        if head == "admin" and len(segs) == 2 and segs[1].lower() == "faults":
            return self._admin(req)
        raise NotFound("Not Found")

    @staticmethod
    def _allow(req: Request, *methods: str) -> None:
        if req.method not in methods:
            raise MethodNotAllowed(headers={"Allow": ", ".join(methods)})

    @staticmethod
    def _versions(supported: tuple[str, ...], _version: str) -> list[tuple[str, str]]:
        return [("api-supported-versions", _SUPPORTED_HEADER[supported])]

    def _admin(self, req: Request) -> tuple[int, object, list[tuple[str, str]]]:
        self._allow(req, "GET", "POST", "DELETE")
        self._hmac(req)
        if req.method == "DELETE":
            self.faults.clear()
            return 204, None, []
        if req.method == "POST":
            self.faults.add(FaultInjector.parse(req.json()))
        return 200, {"faults": self.faults.pending()}, []

    def _identity(self, req: Request, rest: list[str]) -> tuple[int, object, list[tuple[str, str]]]:
        model = self.model
        if not rest:
            self._allow(req, "POST")
        elif len(rest) == 1:
            self._allow(req, "DELETE", "GET")
        elif len(rest) == 2 and rest[1].lower() in (":issueaccesstoken", ":revokeaccesstokens"):
            self._allow(req, "POST")
        else:
            raise NotFound("Not Found")
        version = self._api_version(req, IDENTITY_API_VERSIONS)
        self._hmac(req)
        hdrs = self._versions(IDENTITY_API_VERSIONS, version)
        if not rest:
            self.limiter.hit("identity.create")
            body = req.json(required=False)
            scopes = body.get("createTokenWithScopes")
            if scopes:
                scopes = check_scopes(scopes)
                minutes = check_minutes(body.get("expiresInMinutes"))
                ident = model.create_identity()
                token, exp = model.issue_token(ident.id, scopes, minutes)
                return 201, {"identity": {"id": ident.id},
                             "accessToken": {"token": token, "expiresOn": fmt_expires(exp)}}, hdrs
            if body.get("expiresInMinutes") is not None:
                check_minutes(body.get("expiresInMinutes"))
            ident = model.create_identity()
            return 201, {"identity": {"id": ident.id}}, hdrs
        user_id = m.validate_raw_id(rest[0])
        if len(rest) == 1:
            if req.method == "GET":
                self.limiter.hit("identity.get")
                ident = model.get_identity(user_id)
                return 200, {"id": ident.id}, hdrs
            self.limiter.hit("identity.delete")
            model.delete_identity(user_id)
            return 204, None, hdrs
        if rest[1].lower() == ":issueaccesstoken":
            self.limiter.hit("token.issue")
            body = req.json()
            token, exp = model.issue_token(user_id, body.get("scopes"), body.get("expiresInMinutes"))
            return 200, {"token": token, "expiresOn": fmt_expires(exp)}, hdrs
        self.limiter.hit("token.revoke")
        model.revoke_tokens(user_id)
        return 204, None, hdrs

    def _chat(self, req: Request, rest: list[str]) -> tuple[int, object, list[tuple[str, str]]]:
        n = len(rest)
        sub = rest[1].lower() if n >= 2 else ""
        # route table check first: unknown paths 404, wrong methods 405
        if n == 0:
            self._allow(req, "GET", "POST")
        elif n == 1:
            self._allow(req, "GET", "PATCH", "DELETE")
        elif n == 2 and sub == "messages":
            self._allow(req, "GET", "POST")
        elif n == 3 and sub == "messages":
            self._allow(req, "GET", "PATCH", "DELETE")
        elif n == 2 and sub == "typing":
            self._allow(req, "POST")
        elif n == 2 and sub == "readreceipts":
            self._allow(req, "GET", "POST")
        elif n == 2 and sub == "participants":
            self._allow(req, "GET")
        elif n == 3 and sub == "participants" and rest[2].lower() in (":add", ":remove"):
            self._allow(req, "POST")
        else:
            raise NotFound("Not Found")
        version = self._api_version(req, CHAT_API_VERSIONS)
        caller = self._caller(req)
        hdrs = self._versions(CHAT_API_VERSIONS, version)
        model, lim, method = self.model, self.limiter, req.method
        user = caller.user_id
        if n == 0:
            if method == "POST":
                lim.hit("thread.create", user=user)
                body = req.json()
                parts = self._participants(body.get("participants"))
                rid = req.headers.get("repeatability-request-id") or None
                t, invalid = model.create_thread(caller, body.get("topic"), parts, rid)
                out: dict = {"chatThread": thread_json(t)}
                if invalid:
                    out["invalidParticipants"] = invalid
                host = req.headers.get("host") or self.default_host
                hdrs.append(("Location", f"https://{host}/chat/threads/{quote(t.id, safe='')}"))
                return 201, out, hdrs
            lim.hit("thread.list", user=user)
            size = self._page_size(req)
            page = model.list_threads(caller, size, self._start(req), self._cursor(req, "threads"))
            return 200, self._paged(req, "threads", page, size, version, thread_item_json), hdrs
        tid = self._thread_id(rest[0])
        if n == 1:
            if method == "GET":
                lim.hit("thread.get", user=user)
                return 200, thread_json(model.get_thread(caller, tid)), hdrs
            if method == "PATCH":
                lim.hit("thread.update", thread=tid)
                model.update_topic(caller, tid, req.json(required=False).get("topic"))
                return 204, None, hdrs
            lim.hit("thread.delete", user=user)
            model.delete_thread(caller, tid)
            return 204, None, hdrs
        if sub == "messages":
            if n == 2 and method == "POST":
                lim.hit("message.write", thread=tid)
                body = req.json()
                msg = model.send_message(caller, tid, body.get("content"), body.get("type", "text"),
                                         body.get("senderDisplayName"), body.get("metadata"))
                host = req.headers.get("host") or self.default_host
                hdrs.append(("Location", f"https://{host}{req.raw_path.rstrip('/')}/{msg.id}"))
                return 201, {"id": msg.id}, hdrs
            if n == 2:
                lim.hit("message.list", user=user, thread=tid)
                size = self._page_size(req)
                page = model.list_messages(caller, tid, size, self._start(req), self._cursor(req, "messages"))
                return 200, self._paged(req, "messages", page, size, version, message_json), hdrs
            mid = self._message_id(rest[2])
            if method == "GET":
                lim.hit("message.get", user=user, thread=tid)
                return 200, message_json(model.get_message(caller, tid, mid)), hdrs
            lim.hit("message.write", thread=tid)
            if method == "PATCH":
                body = req.json(required=False)
                model.update_message(caller, tid, mid, body.get("content"), body.get("metadata"))
            else:
                model.delete_message(caller, tid, mid)
            return 204, None, hdrs
        if sub == "typing":
            lim.hit("typing", user=user, thread=tid)
            model.send_typing(caller, tid, req.json(required=False).get("senderDisplayName"))
            return 200, None, hdrs
        if sub == "readreceipts":
            if method == "POST":
                lim.hit("receipt.send", user=user, thread=tid)
                model.send_read_receipt(caller, tid, req.json().get("chatMessageId"))
                return 200, None, hdrs
            lim.hit("receipt.list", user=user, thread=tid)
            size = self._page_size(req)
            page = model.list_read_receipts(caller, tid, size, self._skip(req), self._cursor(req, "receipts"))
            return 200, self._paged(req, "receipts", page, size, version, lambda r: {
                "senderCommunicationIdentifier": identifier_model(r.raw_id), "chatMessageId": r.message_id,
                "readOn": fmt_time(r.read_ms)}), hdrs
        # participants
        if n == 2:
            lim.hit("participants.list", user=user, thread=tid)
            size = self._page_size(req)
            page = model.list_participants(caller, tid, size, self._skip(req), self._cursor(req, "participants"))
            return 200, self._paged(req, "participants", page, size, version, lambda p: participant_json(
                p.raw_id, p.display_name, p.share_history_ms)), hdrs
        lim.hit("participants.change", thread=tid)
        if rest[2].lower() == ":add":
            invalid = model.add_participants(caller, tid, self._participants(req.json().get("participants")))
            return 201, ({"invalidParticipants": invalid} if invalid else {}), hdrs
        model.remove_participant(caller, tid, parse_identifier(req.json()))
        return 204, None, hdrs
