"""A local webhook on 127.0.0.1 that records what Event Grid-style deliveries it gets, for event tests.

It answers the validation handshakes of both schemas (unless told not to) and, for notifications, whatever
`answer(request)` returns: a status, or (status, body), or it sleeps first when `delay` is set.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def wait_until(cond: Callable[[], object], timeout: float = 10.0) -> bool:
    """Poll `cond` until it is true or `timeout` seconds passed; returns its last value as a bool."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return bool(cond())


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    def json(self) -> object:
        return json.loads(self.body)

    @property
    def events(self) -> list[dict]:
        """The events of a notification (Event Grid: the array; CloudEvents: the one object)."""
        body = self.json()
        return body if isinstance(body, list) else [body]


class Receiver:
    """`with Receiver() as hook: ... hook.url ... hook.notifications()`."""

    def __init__(self, validate: bool = True, answer: Callable[[Received], object] | None = None,
                 delay: float = 0.0, path: str = "/api/events", tls: tuple[str, str] | None = None) -> None:
        self.validate = validate
        self.answer = answer
        self.delay = delay
        self.path = path
        self.requests: list[Received] = []
        self.lock = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_OPTIONS(self) -> None:
                outer._record(self, b"")
                if outer.validate:
                    origin = self.headers.get("WebHook-Request-Origin", "")
                    self._reply(200, headers={"WebHook-Allowed-Origin": origin, "Allow": "POST, OPTIONS"})
                else:
                    self._reply(405)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                rec = outer._record(self, body)
                if self.headers.get("aeg-event-type") == "SubscriptionValidation":
                    if outer.validate:
                        code = json.loads(body)[0]["data"]["validationCode"]
                        self._reply(200, json.dumps({"validationResponse": code}).encode(),
                                    {"Content-Type": "application/json"})
                    else:
                        self._reply(200, b"{}")
                    return
                if outer.delay:
                    time.sleep(outer.delay)
                result = outer.answer(rec) if outer.answer else 200
                status, text = result if isinstance(result, tuple) else (result, "")
                self._reply(int(status), text.encode())

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a client that gave up (timeout tests) is expected

        self.server = Server(("127.0.0.1", 0), Handler)
        self.scheme = "http"
        if tls is not None:  # (certificate file, key file): an https webhook
            import ssl

            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def _record(self, handler: BaseHTTPRequestHandler, body: bytes) -> Received:
        rec = Received(handler.command, handler.path, {k.lower(): v for k, v in handler.headers.items()}, body)
        with self.lock:
            self.requests.append(rec)
            self.lock.notify_all()
        return rec

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server.server_address[1]}{self.path}"

    def notifications(self) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.headers.get("aeg-event-type") == "Notification"]

    def events(self) -> list[dict]:
        return [e for r in self.notifications() for e in r.events]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait until `count` notifications arrived; returns them (fewer on timeout)."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                got = [r for r in self.requests if r.headers.get("aeg-event-type") == "Notification"]
                left = deadline - time.monotonic()
                if len(got) >= count or left <= 0:
                    return got
                self.lock.wait(left)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
