"""A local HTTPS stand-in for an Event Grid topic: checks `aeg-sas-key`, records what was published.

Like the real publish endpoint it answers 200 for an accepted array of events, 401 for a missing or wrong key,
400 for a body that is not a JSON array, 404 for another path.
"""

from __future__ import annotations

import json
import ssl
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


@dataclass
class Published:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    events: list[dict]


class TopicReceiver:
    """`with TopicReceiver(cert_folder, key="k") as topic: ... topic.endpoint ... topic.published`."""

    def __init__(self, cert_folder: str | Path, key: str) -> None:
        from azext_communication.emulator.certs import ensure_certificates

        self.key = key
        self.published: list[Published] = []
        self.refused: list[int] = []
        self.cond = threading.Condition()
        certs = ensure_certificates(Path(cert_folder), ["127.0.0.1"])
        self.ca_bundle = str(certs.bundle)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _answer(self, status: int, message: str = "") -> None:
                body = json.dumps({"error": {"code": str(status), "message": message}}).encode() if message else b""
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                if status != 200:
                    with outer.cond:
                        outer.refused.append(status)
                        outer.cond.notify_all()

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                parts = urlsplit(self.path)
                if parts.path != "/api/events":
                    return self._answer(404, "Not found")
                if self.headers.get("aeg-sas-key") != outer.key:
                    return self._answer(401, "The request authorization key is not authorized for this topic.")
                try:
                    events = json.loads(body)
                except ValueError:
                    events = None
                if not isinstance(events, list):
                    return self._answer(400, "The request body must be a JSON array of events.")
                with outer.cond:
                    outer.published.append(Published(parts.path, parse_qs(parts.query),
                                                      {k.lower(): v for k, v in self.headers.items()}, events))
                    outer.cond.notify_all()
                return self._answer(200)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(certs.server_cert), str(certs.server_key))
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1})

    @property
    def endpoint(self) -> str:
        """What Azure shows as the topic endpoint: https://<host>/api/events."""
        return f"https://127.0.0.1:{self.server.server_address[1]}/api/events"

    def wait(self, count: int, timeout: float = 15.0, refused: bool = False) -> list:
        """Block until `count` publications (or refusals) arrived; returns them."""
        with self.cond:
            self.cond.wait_for(lambda: len(self.refused if refused else self.published) >= count, timeout)
            return list(self.refused if refused else self.published)

    def __enter__(self) -> TopicReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
