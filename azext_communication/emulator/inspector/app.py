"""`InspectorApp.handle(method, raw_target, headers, body) -> (status, headers, body)`: the emulator's web page at
`/_emulator/` (static files) and its API at `/_emulator/api/...` (JSON, the key in `X-Emulator-Key`).

A room of its own beside `wire/` and `events/`: it reads and drives the model, the fault queue and the event
service directly, never through the service's HTTP API, and is not subject to injected faults or rate limits.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

from ..errors import BadRequest, EmulatorError, MethodNotAllowed, NotFound
from . import actions, views
from .guard import COMMON_HEADERS, host_allowed, key_matches
from .live import Live, RequestLog

log = logging.getLogger("azext_communication.emulator")

PREFIX = "/_emulator"
STATIC = Path(__file__).resolve().parent / "static"
WAIT_SECONDS = 25.0
_STATIC_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*\.(js|css|svg|html)$")
_TYPES = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
          "svg": "image/svg+xml", "html": "text/html; charset=utf-8"}
JSON_TYPE = "application/json; charset=utf-8"

Response = tuple[int, list[tuple[str, str]], bytes]


def is_inspector_path(path: str) -> bool:
    return path == PREFIX or path.startswith((PREFIX + "/", PREFIX + "?"))


class InspectorApp:
    """The web page and its API (see the module doc)."""

    def __init__(self, model: Any, key: str, allowed_hosts: frozenset[str], faults: Any = None,
                 events: Any = None) -> None:
        self.model = model
        self.key = key
        self.allowed_hosts = allowed_hosts
        self.faults = faults
        self.events = events
        self.live = Live(lambda: events.journal_version if events is not None else 0)
        self.requests = RequestLog(self.live)
        model.observers.append(self.live.observe)  # every change of the model wakes the waiting pages
        self._static: dict[str, bytes] = {}

    # ------------------------------------------------------------------ entry point
    def handle(self, method: str, raw_target: str, headers: Mapping[str, str], body: bytes) -> Response:
        path, _, query = raw_target.partition("?")
        if not host_allowed(headers, self.allowed_hosts):  # a rebound DNS name or a foreign page: refused
            return self._json(403, {"error": {"code": "ForeignHost", "message": "This page answers only to the "
                                              "emulator's own host names (127.0.0.1, localhost, [::1], --host)."}})
        try:
            if path == PREFIX:
                return 308, [("Location", PREFIX + "/"), *COMMON_HEADERS], b""
            rest = path[len(PREFIX) + 1:]
            if rest.startswith("api/") or rest == "api":
                if not key_matches(headers, self.key):
                    return self._json(401, {"error": {"code": "InvalidKey", "message": "The page's key is missing "
                                                      "or wrong: open the URL the emulator printed at start."}})
                segs = [unquote(s) for s in rest.split("/")[1:] if s]
                result = self._api(method, segs, parse_qs(query), body)
                self.model.store.wait_durable()
                if isinstance(result, tuple):
                    return self._json(*result)
                return self._json(204, None) if result is None else self._json(200, result)
            if method not in ("GET", "HEAD"):
                raise MethodNotAllowed(headers={"Allow": "GET, HEAD"})
            return self._file("index.html" if rest == "" else rest)
        except EmulatorError as exc:
            return self._json(exc.status, exc.to_body(), list(exc.headers.items()))
        except Exception:  # never a stack trace to the page
            log.exception("web page request %s %s failed", method, path)
            return self._json(500, {"error": {"code": "InternalError", "message": "An internal error occurred."}})

    @staticmethod
    def _json(status: int, obj: object, extra: list[tuple[str, str]] | None = None) -> Response:
        data = b"" if obj is None else json.dumps(obj, separators=(",", ":")).encode("utf-8")
        headers = [*(extra or []), ("Content-Type", JSON_TYPE), ("Cache-Control", "no-store"), *COMMON_HEADERS]
        return status, headers, data

    def _file(self, name: str) -> Response:
        if name.startswith("static/"):
            name = name[len("static/"):]
        if not _STATIC_NAME.match(name) or not (STATIC / name).is_file():
            raise NotFound("Not Found")
        data = self._static.get(name)
        if data is None:
            data = self._static[name] = (STATIC / name).read_bytes()
        return 200, [("Content-Type", _TYPES[name.rsplit(".", 1)[1]]), ("Cache-Control", "no-cache"),
                     *COMMON_HEADERS], data

    # ------------------------------------------------------------------ the API
    @staticmethod
    def _body(body: bytes) -> dict:
        if not body:
            return {}
        try:
            obj = json.loads(body)
        except (ValueError, RecursionError):
            raise BadRequest("The body is not valid JSON.", code="InvalidJson") from None
        if not isinstance(obj, dict):
            raise BadRequest("The body must be a JSON object.", code="InvalidJson")
        return obj

    def _api(self, method: str, segs: list[str], query: dict[str, list[str]], raw: bytes) -> object:
        head = segs[0] if segs else ""
        route = {"wait": self._wait, "threads": self._threads, "users": self._users, "events": self._events,
                 "faults": self._faults, "requests": self._requests, "overview": self._overview}.get(head)
        if route is None:
            raise NotFound("Not Found")
        return route(method, segs[1:], query, raw)

    @staticmethod
    def _allow(method: str, *allowed: str) -> None:
        if method not in allowed:
            raise MethodNotAllowed(headers={"Allow": ", ".join(allowed)})

    def _overview(self, method: str, rest: list[str], query: dict, raw: bytes) -> object:
        self._allow(method, "GET")
        with self.model.lock:
            return {"threads": len(self.model.threads), "users": len(self.model.identities),
                    "subscriptions": len(self.events.list()) if self.events is not None else 0,
                    "versions": self.live.versions()}

    def _wait(self, method: str, rest: list[str], query: dict, raw: bytes) -> object:
        """Long poll: answers as soon as a topic's version differs from the one given (or after 25 s)."""
        self._allow(method, "GET")
        since = {}
        for k, v in query.items():
            try:
                since[k] = int(v[-1])
            except ValueError:
                raise BadRequest(f"'{k}' must be an integer version.", code="ValidationError") from None
        return self.live.wait(since, WAIT_SECONDS)

    def _threads(self, method: str, rest: list[str], query: dict, raw: bytes) -> object:
        m = self.model
        if not rest:
            self._allow(method, "GET", "POST")
            return views.threads(m) if method == "GET" else (201, actions.create_thread(m, self._body(raw)))
        tid, more = rest[0], rest[1:]
        if not more:
            self._allow(method, "GET")
            detail = views.thread_detail(m, tid, self.live.typing(tid, m.clock()))
            if detail is None:
                raise NotFound(f"Thread {tid} was not found.", code="NotFound")
            return detail
        self._allow(method, "POST")
        body = self._body(raw)
        if more == ["messages"]:
            return 201, actions.send_message(m, tid, body)
        if more == ["typing"]:
            return actions.typing(m, tid, body)
        if more == ["participants"]:
            return 201, actions.add_participant(m, tid, body)
        if more == ["participants", "remove"]:
            return actions.remove_participant(m, tid, body)
        if len(more) == 3 and more[0] == "messages":
            act = {"edit": actions.edit_message, "delete": actions.delete_message,
                   "read": actions.read_receipt}.get(more[2])
            if act is not None:
                return act(m, tid, more[1], body)
        raise NotFound("Not Found")

    def _users(self, method: str, rest: list[str], query: dict, raw: bytes) -> object:
        if not rest:
            self._allow(method, "GET", "POST")
            return views.users(self.model) if method == "GET" else (201, actions.create_user(self.model))
        self._allow(method, "POST")
        if len(rest) == 2 and rest[1] == "token":
            return actions.issue_token(self.model, rest[0], self._body(raw))
        if len(rest) == 2 and rest[1] == "revoke":
            return actions.revoke_tokens(self.model, rest[0])
        raise NotFound("Not Found")

    def _events(self, method: str, rest: list[str], query: dict, raw: bytes) -> object:
        if self.events is None:
            raise NotFound("Events are not available.")
        if not rest:
            self._allow(method, "GET")
            return {"subscriptions": self.events.list(), **self.events.recent()}
        if len(rest) == 3 and rest[0] == "deadletters" and rest[2] == "redeliver":
            self._allow(method, "POST")
            self.events.redeliver(rest[1])
            return 202, {"redelivering": rest[1]}
        raise NotFound("Not Found")

    def _faults(self, method: str, rest: list[str], query: dict, raw: bytes) -> object:
        if rest or self.faults is None:
            raise NotFound("Not Found")
        self._allow(method, "GET", "POST", "DELETE")
        if method == "POST":
            pending = actions.add_fault(self.faults, self._body(raw))
            self.live.bump("faults")
            return 201, {"faults": pending}
        if method == "DELETE":
            self.faults.clear()
            self.live.bump("faults")
        return {"faults": self.faults.pending()}

    def _requests(self, method: str, rest: list[str], query: dict, raw: bytes) -> object:
        self._allow(method, "GET")
        return {"requests": self.requests.lines()}
