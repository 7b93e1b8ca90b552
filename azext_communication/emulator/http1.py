"""The HTTP/1.1 request reader: request line, header section and body (Content-Length or chunked), strictly, with
the limits of the README's "Hostile clients"; each request goes to `WireApp.handle` and each answer out in one
write. Keep-alive, pipelining, HTTP/1.0 and `Expect: 100-continue` are supported.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import socket
import ssl
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING

from .connection import ClientIO, ClientWriter, RequestTimeoutError
from .errors import BadRequest, EmulatorError, NotSupported, PayloadTooLarge
from .inspector import is_inspector_path
from .wire import JSON_TYPE, MAX_BODY_BYTES, LowerHeaders, WireApp

if TYPE_CHECKING:
    from .server import TLSServer

log = logging.getLogger("azext_communication.emulator")

WRITE_TIMEOUT = 30.0  # a client that stops reading its answer is dropped after this
MAX_HEADER_BYTES = 64 * 1024  # request line excluded; http.client already caps one line at 64 KiB, 100 headers
DRAIN_LIMIT = 64 * 1024 * 1024
_CHUNK_SIZE_RE = re.compile(rb"^[0-9A-Fa-f]{1,8}$")
_TOKEN_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # a field name (RFC 9110 §5.1)
_REASONS = {code: v[0] for code, v in BaseHTTPRequestHandler.responses.items()}
_ERROR_CODES = {400: "BadRequest", 408: "RequestTimeout", 413: "RequestEntityTooLarge", 414: "UriTooLong",
                431: "RequestHeaderFieldsTooLarge", 500: "InternalServerError", 501: "NotImplemented",
                505: "HttpVersionNotSupported"}


_date_cache: tuple[int, str] = (0, "")


def _http_date() -> str:
    """The Date header, formatted once per second."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True))
    return _date_cache[1]


class _Headers:
    """A request's header fields in arrival order (names as sent); `get` matches names case-insensitively.

    Stands in for the `email.message.Message` that http.server builds: the handler reads the raw list."""

    __slots__ = ("_headers",)

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self._headers = fields

    def get(self, name: str, default: str | None = None) -> str | None:
        name = name.lower()
        for key, value in self._headers:
            if key.lower() == name:
                return value
        return default

    def items(self) -> list[tuple[str, str]]:
        return list(self._headers)


class RequestHandler(BaseHTTPRequestHandler):
    """Moves bytes between the socket and `WireApp.handle`; every answer, even for garbage, is JSON."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "ACSEmulator/1.0"
    sys_version = ""
    server: TLSServer

    def setup(self) -> None:
        """Buffered reader and unbuffered writer over `ClientIO` (timeouts) instead of plain socket files."""
        self.connection = self.request
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, True)
        srv = self.server
        self.client_io = ClientIO(self.connection, srv.idle_timeout, srv.request_timeout, WRITE_TIMEOUT)
        self.rfile = io.BufferedReader(self.client_io)
        self.wfile = ClientWriter(self.client_io)

    def parse_request(self) -> bool:
        """Request line and header section, strictly: what http.server does, without its email-based header
        parser (a third of the emulator's CPU per request) and without its leniency. A header line without a
        colon or with a name that is not a token, and folded lines (obs-fold), are 400 rather than guessed at;
        one line over 64 KiB, more than 100 fields or more than MAX_HEADER_BYTES in total are 431."""
        self.command = None
        self.request_version = version = self.default_request_version
        self.close_connection = True
        requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        self.requestline = requestline
        words = requestline.split()
        if not words:
            return False
        if len(words) >= 3:
            version = words[-1]
            try:
                if not version.startswith("HTTP/"):
                    raise ValueError
                major, minor = version.split("/", 1)[1].split(".")
                if not (major.isascii() and major.isdigit() and minor.isascii() and minor.isdigit()) or (
                        len(major) > 10 or len(minor) > 10):
                    raise ValueError
                number = int(major), int(minor)
            except ValueError:
                self.send_error(400, f"Bad request version ({version!r})")
                return False
            if number >= (1, 1):
                self.close_connection = False
            if number >= (2, 0):
                self.send_error(505, f"Invalid HTTP version ({major}.{minor})")
                return False
            self.request_version = version
        if not 2 <= len(words) <= 3:
            self.send_error(400, f"Bad request syntax ({requestline!r})")
            return False
        command, path = words[:2]
        if len(words) == 2:
            self.close_connection = True
            if command != "GET":
                self.send_error(400, f"Bad HTTP/0.9 request type ({command!r})")
                return False
        self.command, self.path = command, path
        if self.path.startswith("//"):  # as http.server (gh-87389): never an absolute URI without a scheme
            self.path = "/" + self.path.lstrip("/")
        fields: list[tuple[str, str]] = []
        total = 0
        while True:
            line = self.rfile.readline(65537)
            if len(line) > 65536:
                self.send_error(431, "Line too long", "header line longer than 65536 bytes")
                return False
            total += len(line)
            if total > MAX_HEADER_BYTES:
                self.send_error(431, "Too many headers", f"header section larger than {MAX_HEADER_BYTES} bytes")
                return False
            if line in (b"\r\n", b"\n", b""):
                break
            if len(fields) >= 100:
                self.send_error(431, "Too many headers", "got more than 100 headers")
                return False
            if line[:1] in (b" ", b"\t"):
                self.send_error(400, "Folded header lines (obs-fold) are not accepted.")
                return False
            name, sep, value = line.decode("iso-8859-1").partition(":")
            if not sep or not _TOKEN_RE.match(name):
                self.send_error(400, "Malformed header line.")
                return False
            fields.append((name, value.strip(" \t\r\n")))
        self.headers = _Headers(fields)  # type: ignore[assignment]
        connection = {t.strip().lower() for t in (self.headers.get("Connection") or "").split(",")}
        if "close" in connection:
            self.close_connection = True
        elif "keep-alive" in connection:
            self.close_connection = False
        if (self.headers.get("Expect") or "").lower() == "100-continue" and self.request_version >= "HTTP/1.1":
            return self.handle_expect_100()
        return True

    def _write(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        reason = _REASONS.get(status, "")
        out = [f"HTTP/1.1 {status} {reason}", f"Server: {self.server_version}",
               f"Date: {_http_date()}", f"MS-CV: {self.server.next_cv()}"]
        out.extend(f"{k}: {v}" for k, v in headers)
        out.append(f"Content-Length: {len(body)}")
        if self.close_connection:
            out.append("Connection: close")
        data = ("\r\n".join(out) + "\r\n\r\n").encode("latin-1", "replace")
        if body and getattr(self, "command", None) != "HEAD":
            data += body
        self.wfile.write(data)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """JSON instead of http.server's HTML page (malformed request lines, bad headers, 501...)."""
        self.log_error("code %d, message %s", code, message)
        self.close_connection = True
        self.answered = True
        text = message or _REASONS.get(code, "")
        if code == 431 and explain:  # http.server says "Too many headers" for every header-section limit
            text = f"{text}: {explain}"
        err = {"error": {"code": _ERROR_CODES.get(code, "BadRequest"), "message": text}}
        with contextlib.suppress(OSError):
            self._write(code, [("Content-Type", JSON_TYPE)], json.dumps(err).encode())

    def handle_one_request(self) -> None:
        self.client_io.next_request(self.rfile.tell())
        try:
            self.raw_requestline = self.rfile.readline(65537)
            for _ in range(8):  # RFC 9112 §2.2: ignore empty lines before a request line (http.server drops them)
                if self.raw_requestline not in (b"\r\n", b"\n"):
                    break
                self.raw_requestline = self.rfile.readline(65537)
            if len(self.raw_requestline) > 65536:
                self.requestline = self.request_version = self.command = ""
                self.send_error(414, "Request-URI Too Long")
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            self.answered = False
            if not self.parse_request():
                if not self.answered:  # http.server gives up silently on a blank or whitespace-only line
                    self.send_error(400, "Bad request syntax: the request line is empty.")
                return
            self._dispatch()
        except RequestTimeoutError:
            self.send_error(408, "The request was not received in time.")
        except (TimeoutError, ssl.SSLError, ConnectionError) as exc:
            log.debug("connection ended: %r", exc)
            self.close_connection = True

    def _read_chunked(self) -> bytes:
        chunks, total = [], 0
        while True:
            size_text = self.rfile.readline(1024).split(b";", 1)[0].strip()
            if not _CHUNK_SIZE_RE.match(size_text):  # int(x, 16) alone would take "-5", "0x5", "1_0"
                raise BadRequest("Malformed chunked body.")
            size = int(size_text, 16)
            if size == 0:
                for _ in range(100):  # trailer fields, then the empty line
                    if self.rfile.readline(1024) in (b"\r\n", b"\n", b""):
                        return b"".join(chunks)
                raise BadRequest("Malformed chunked body.")
            total += size
            if total > MAX_BODY_BYTES:
                raise PayloadTooLarge()
            chunk = self.rfile.read(size)
            if len(chunk) != size:
                raise ConnectionError("client closed the connection mid-body")
            chunks.append(chunk)
            if self.rfile.readline(16) not in (b"\r\n", b"\n"):
                raise BadRequest("Malformed chunked body.")

    def _read_body(self, hdrs: LowerHeaders) -> bytes:
        te = hdrs.get("transfer-encoding")
        if te is not None:
            if te.strip().lower() != "chunked":
                raise NotSupported(f"Transfer-Encoding '{te}' is not supported.")
            return self._read_chunked()
        length = hdrs.get("content-length")
        if not length:
            return b""
        length = length.strip()
        if not length.isascii() or not length.isdigit():  # int() would take "+5", " 5", "5_0", "٥"
            raise BadRequest("Invalid Content-Length header.")
        n = int(length)
        if n > MAX_BODY_BYTES:
            if n <= DRAIN_LIMIT:  # read and drop it, so the client sees the 413 instead of a broken pipe
                left = n
                while left > 0:
                    chunk = self.rfile.read(min(left, 1 << 16))
                    if not chunk:
                        break
                    left -= len(chunk)
                raise PayloadTooLarge(headers={"x-drained": "1"})
            raise PayloadTooLarge()
        body = self.rfile.read(n)
        if len(body) != n:
            raise ConnectionError("client closed the connection mid-body")
        return body

    @staticmethod
    def _check_framing(raw_headers: list[tuple[str, str]], hdrs: LowerHeaders) -> None:
        """Refuse requests whose length or host is ambiguous (RFC 9112 §6.3, RFC 9110 §7.2): a proxy and this
        server could read them differently. Only runs when a header name repeats, or both lengths are given."""
        if "transfer-encoding" in hdrs and "content-length" in hdrs:
            raise BadRequest("A request must not carry both Transfer-Encoding and Content-Length.")
        if len(hdrs) == len(raw_headers):
            return
        seen: dict[str, set[str]] = {}
        for k, v in raw_headers:
            seen.setdefault(k.lower(), set()).add(v.strip())
        if len(seen.get("content-length", ())) > 1:
            raise BadRequest("Conflicting Content-Length headers.")
        if sum(1 for k, _ in raw_headers if k.lower() == "host") > 1:
            raise BadRequest("More than one Host header.")
        if sum(1 for k, _ in raw_headers if k.lower() == "transfer-encoding") > 1:
            raise BadRequest("More than one Transfer-Encoding header.")

    def _log_request(self, status: object, started: float, page: bool = False) -> None:
        """One info line per request, so a user sees what their script did: method, path (no query), status, ms;
        also kept in the web page's ring of recent requests. The page's own requests are debug lines only."""
        ms = (time.perf_counter() - started) * 1000
        if page:
            log.debug("%s %s %s %.1f ms", self.command, self.path.partition("?")[0], status, ms)
            return
        if log.isEnabledFor(logging.INFO):
            log.info("%s %s %s %.1f ms", self.command, self.path.partition("?")[0], status, ms)
        inspector = self.server.inspector
        if inspector is not None:
            inspector.requests.add(self.command, self.path, status, ms)

    def _dispatch(self) -> None:
        started = time.perf_counter()
        raw_headers = self.headers._headers
        hdrs = LowerHeaders((k.lower(), v) for k, v in raw_headers)
        if (hdrs.get("upgrade") or "").lower() == "websocket" and self.server.realtime is not None:
            self._upgrade(raw_headers, started)
            return
        try:
            self._check_framing(raw_headers, hdrs)
            body = self._read_body(hdrs)
        except EmulatorError as exc:
            if exc.headers.pop("x-drained", None) is None:
                self.close_connection = True  # the rest of the body is still on the wire
            answer = WireApp.error_response(exc)
            self._write(*answer)
            self._log_request(answer[0], started)
            return
        inspector = self.server.inspector
        page = inspector is not None and is_inspector_path(self.path)
        try:
            app = inspector if page else self.server.app
            status, headers, payload = app.handle(self.command, self.path, hdrs, body)
        except Exception:  # WireApp.handle already catches everything; this is the last line of defence
            log.exception("unhandled error for %s %s", self.command, self.path)
            status, headers, payload = WireApp.error_response(EmulatorError("An internal error occurred."))
        if status == 0:  # fault injection: drop the connection without an answer
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            self._log_request("dropped (fault)", started)
            return
        self._write(status, headers, payload)
        self._log_request(status, started, page)

    def _upgrade(self, raw_headers: list[tuple[str, str]], started: float) -> None:
        """Hand the connection to the real-time WebSocket (it returns when the socket ends), or refuse it."""
        self.close_connection = True
        leftover = self.client_io.received - self.rfile.tell()
        extra = self.rfile.read(leftover) if leftover > 0 else b""
        answer = self.server.realtime.upgrade(self.connection, self.path, raw_headers, extra)
        if answer is not None:
            self._write(*answer)
        if self.path.startswith("/socket.io/1/websocket/"):  # the sid opens a socket: it is not logged
            self.path = "/socket.io/1/websocket/<sid>"
        self._log_request(answer[0] if answer else "101 (socket closed)", started)

    # every method goes through the app, which answers 404/405 itself
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch  # noqa: N815
