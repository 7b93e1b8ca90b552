"""`WireApp.handle(method, raw_target, headers, body) -> (status, headers, body)`: the top-level route to the
chat, identity and admin handlers, authentication, fault injection, and the mapping of model exceptions to JSON
errors. A status of 0 means "close the connection without answering" (fault injection). The server module only
moves bytes.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Mapping

from ..errors import BadRequest, EmulatorError, NotFound, ServiceUnavailable, TooManyRequests, Unauthorized
from ..events import admin as events_admin
from ..events.service import EventService
from ..model import Caller, ChatModel, RateLimiter
from ..realtime import RealtimeService
from ..realtime.cors import is_preflight
from ..tokens import decode_access_key, verify_hmac
from .chat import handle_chat
from .faults import FaultInjector, handle_admin
from .http import JSON_TYPE, Request, Response, Result
from .identity import handle_identity, handle_teams_exchange

log = logging.getLogger("azext_communication.emulator")

# what a Host header may hold (reg-name / IPv4 / [IPv6] and a port); it is echoed in Location and nextLink
_HOST_RE = re.compile(r"^[A-Za-z0-9._~%!$&'()*+,;=-]*(\[[0-9A-Fa-f:.]+\])?(:[0-9]{0,5})?$")
# an echoed request id must not carry control characters into the response head
_REQUEST_ID_RE = re.compile(r"^[\x21-\x7e]{1,256}$")


class WireApp:
    """Routes requests to the model; everything that goes wrong becomes a JSON error."""

    def __init__(self, model: ChatModel, access_key: str, throttle: bool = False,
                 server_port: int | None = None, faults: FaultInjector | None = None,
                 events: EventService | None = None, realtime: RealtimeService | None = None) -> None:
        self.model = model
        self.events = events
        self.realtime = realtime
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

    def host(self, req: Request) -> str:
        """The host the client addressed (echoed into Location, nextLink and error texts)."""
        return req.headers.get("host") or self.default_host

    def origin(self, req: Request) -> str:
        """`https://host:port` as the client addressed it, always with a port (the socket.io client needs one)."""
        host = self.host(req)
        if not re.search(r":[0-9]+$", host):
            host = f"{host}:{self.server_port or 443}"
        return f"https://{host}"

    # ------------------------------------------------------------------ entry point
    def handle(self, method: str, raw_target: str, headers: Mapping[str, str], body: bytes) -> Response:
        """Answer one request. `headers` keys are matched case-insensitively."""
        hdrs = headers if getattr(headers, "lowercase", False) else {k.lower(): v for k, v in headers.items()}
        extra: list[tuple[str, str]] = []
        rid = hdrs.get("x-ms-client-request-id")
        if rid and _REQUEST_ID_RE.match(rid):
            extra.append(("x-ms-client-request-id", rid))
        if self.realtime is not None and "origin" in hdrs:  # browsers: CORS (spec section 10)
            if is_preflight(method, hdrs):
                status, allowed = self.realtime.cors.preflight(hdrs)
                return status, extra + allowed, b""
            extra.extend(self.realtime.cors.response_headers(hdrs.get("origin")))
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
            if isinstance(body_obj, bytes):  # text (the socket.io handshake); the handler set its Content-Type
                return status, extra, body_obj
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

    # ------------------------------------------------------------------ authentication (used by the handlers)
    def check_hmac(self, req: Request) -> None:
        """The identity and admin APIs are signed with the access key."""
        verify_hmac(self._key, req.method, req.raw_target, req.headers, req.body, self.server_port, self.clock_s())

    def caller(self, req: Request) -> Caller:
        """The chat caller behind the request's bearer token."""
        auth = req.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Request is not authorized. A bearer access token is required.")
        return self.model.authenticate(token.strip())

    # ------------------------------------------------------------------ routing
    def _route(self, req: Request) -> Result:
        segs = req.segments
        if segs and segs[0].lower() == "chat" and len(segs) >= 2 and segs[1].lower() == "threads":
            return handle_chat(self, req, segs[2:])
        if self.realtime is not None:
            answer = self.realtime.route(req, self.origin(req), self.caller)
            if answer is not None:
                return answer
        if not segs:
            raise NotFound("Not Found")
        head = segs[0].lower()
        if head == "identities":
            return handle_identity(self, req, segs[1:])
        if head == "teamsuser" and len(segs) == 2 and segs[1].lower() == ":exchangeaccesstoken":
            return handle_teams_exchange(self, req)
        if head == "admin" and len(segs) == 2 and segs[1].lower() == "faults":
            return handle_admin(self, req)
        if head == "admin" and len(segs) >= 2 and segs[1].lower() == events_admin.SEGMENT and self.events:
            self.check_hmac(req)
            status, body = events_admin.route(self.events, req.method, segs[2:], req.json)
            return status, body, []
        raise NotFound("Not Found")
