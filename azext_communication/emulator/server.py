"""TLS, threads and lifecycle: a threaded HTTP/1.1 keep-alive server that hands each request to `WireApp`.

The TLS handshake runs in the per-connection thread (a slow client never blocks `accept`), Nagle is off
(see wire spec §2) and each response goes out in a single write.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import io
import json
import logging
import os
import re
import socket
import socketserver
import ssl
import threading
import time
import uuid
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO

from .certs import CertPaths, ensure_certificates, write_private
from .errors import BadRequest, EmulatorError, NotSupported, PayloadTooLarge
from .model import ChatModel
from .store import MemoryStore, SqliteStore, Store
from .tokens import decode_access_key
from .wire import JSON_TYPE, MAX_BODY_BYTES, FaultInjector, LowerHeaders, WireApp

log = logging.getLogger("azext_communication.emulator")

HOME_ENV = "AZURE_COMMUNICATION_EMULATOR_HOME"
ACCESS_KEY_FILE = "access-key"
DB_FILE = "emulator.db"
HANDSHAKE_TIMEOUT = 10.0
IDLE_TIMEOUT = 120.0  # a keep-alive connection may wait this long for its next request
REQUEST_TIMEOUT = 30.0  # from its first byte, a request (head and body) must arrive within this
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


def emulator_home() -> Path:
    """Per-user folder for certificates and the access key when no data folder is given."""
    env = os.environ.get(HOME_ENV)
    return Path(env).expanduser() if env else Path.home() / ".azure-communication-emulator"


def load_or_create_access_key(folder: Path) -> str:
    """The persisted default access key (base64 of 64 random bytes), created once so the connection string is
    stable across restarts."""
    path = folder / ACCESS_KEY_FILE
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            with contextlib.suppress(OSError, ValueError):
                key = path.read_text().strip()
                decode_access_key(key)
                return key
            key = base64.b64encode(os.urandom(64)).decode("ascii")
            write_private(path, (key + "\n").encode())
            return key
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


class RequestTimeoutError(TimeoutError):
    """A client started a request and did not finish sending it in time (answered 408)."""


class _ClientIO(io.RawIOBase):
    """The connection's socket under the handler's buffered reader and writer, with the timeouts that keep a slow
    or stalled client (slowloris, a Content-Length larger than the body) from holding a thread for ever.

    Between requests each read may wait `idle` seconds; once the first byte of a request has arrived, the whole
    request must arrive before one deadline (a client trickling a byte at a time never resets it); a write may
    block `write` seconds. The socket timeout is only changed when it differs, which keeps the hot path cheap.
    """

    def __init__(self, sock: socket.socket, idle: float, request: float, write: float) -> None:
        super().__init__()
        self._sock = sock
        self.idle, self.request, self.write_timeout = idle, request, write
        self.deadline: float | None = None  # None: waiting for the next request
        self._timeout: float | None = None
        self.received = 0

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        """Bytes received so far; the buffered reader's tell() is then what the handler consumed."""
        return self.received

    def _use(self, timeout: float) -> None:
        if timeout != self._timeout:
            self._sock.settimeout(timeout)
            self._timeout = timeout

    def next_request(self, consumed: int) -> None:
        """The previous request is complete: the next one gets its own deadline from its first byte, which may
        already be in the buffer (`consumed` < `received`: a pipelined request, or the start of one)."""
        self.deadline = time.monotonic() + self.request if consumed < self.received else None

    def readinto(self, buf: memoryview) -> int:
        deadline = self.deadline
        if deadline is None:
            self._use(self.idle)
        else:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RequestTimeoutError("the request was not received in time")
            self._sock.settimeout(left)
            self._timeout = left
        try:
            n = self._sock.recv_into(buf)
        except TimeoutError:
            if deadline is not None:
                raise RequestTimeoutError("the request was not received in time") from None
            raise
        self.received += n
        if deadline is None and n:
            self.deadline = time.monotonic() + self.request
        return n

    def send(self, data: bytes) -> None:
        self._use(self.write_timeout)
        self._sock.sendall(data)


class _Writer(io.RawIOBase):
    """`wfile` for http.server (interim 100-continue answers) and `_write`: one sendall per write."""

    def __init__(self, client: _ClientIO) -> None:
        super().__init__()
        self._client = client

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:
        self._client.send(data)
        return len(data)


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


class _Handler(BaseHTTPRequestHandler):
    """Moves bytes between the socket and `WireApp.handle`; every answer, even for garbage, is JSON."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "ACSEmulator/1.0"
    sys_version = ""
    server: _TLSServer

    def setup(self) -> None:
        """Buffered reader and unbuffered writer over `_ClientIO` (timeouts) instead of plain socket files."""
        self.connection = self.request
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, True)
        srv = self.server
        self.client_io = _ClientIO(self.connection, srv.idle_timeout, srv.request_timeout, WRITE_TIMEOUT)
        self.rfile = io.BufferedReader(self.client_io)
        self.wfile = _Writer(self.client_io)

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

    def _dispatch(self) -> None:
        raw_headers = self.headers._headers
        hdrs = LowerHeaders((k.lower(), v) for k, v in raw_headers)
        try:
            self._check_framing(raw_headers, hdrs)
            body = self._read_body(hdrs)
        except EmulatorError as exc:
            if exc.headers.pop("x-drained", None) is None:
                self.close_connection = True  # the rest of the body is still on the wire
            self._write(*WireApp.error_response(exc))
            return
        try:
            status, headers, payload = self.server.app.handle(self.command, self.path, hdrs, body)
        except Exception:  # WireApp.handle already catches everything; this is the last line of defence
            log.exception("unhandled error for %s %s", self.command, self.path)
            status, headers, payload = WireApp.error_response(EmulatorError("An internal error occurred."))
        if status == 0:  # fault injection: drop the connection without an answer
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._write(status, headers, payload)

    # every method goes through the app, which answers 404/405 itself
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch  # noqa: N815


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple, ssl_context: ssl.SSLContext, app: WireApp,
                 request_timeout: float = REQUEST_TIMEOUT, idle_timeout: float = IDLE_TIMEOUT) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.ssl_context = ssl_context
        self.app = app
        self.request_timeout = request_timeout
        self.idle_timeout = idle_timeout
        self.connections: set = set()
        self._conn_lock = threading.Lock()
        self._cv_prefix = base64.b64encode(os.urandom(15)).decode()
        self._cv = 0
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # skip HTTPServer's getfqdn(), which may wait for a reverse DNS lookup
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    def next_cv(self) -> str:
        self._cv += 1
        return f"{self._cv_prefix}.{self._cv}"

    def finish_request(self, request: socket.socket, client_address: tuple) -> None:
        request.settimeout(min(HANDSHAKE_TIMEOUT, self.request_timeout))
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError) as exc:
            log.debug("TLS handshake with %s failed: %r", client_address, exc)
            return
        with self._conn_lock:
            self.connections.add(tls)
        try:
            self.RequestHandlerClass(tls, client_address, self)
        except Exception:
            log.exception("connection handler failed")
        finally:
            with self._conn_lock:
                self.connections.discard(tls)
            with contextlib.suppress(OSError):
                tls.close()

    def handle_error(self, request: object, client_address: tuple) -> None:
        log.exception("error on connection from %s", client_address)

    def close_connections(self) -> None:
        with self._conn_lock:
            conns = list(self.connections)
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)


class EmulatorServer:
    """An emulator instance for in-process use (tests, benchmarks) and for the command line.

    State is in memory unless `data_dir` is given (SQLite there, together with the certificates and access key).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, data_dir: str | os.PathLike | None = None,
                 access_key: str | None = None, throttle: bool = False, faults: list[dict] | None = None,
                 request_timeout: float = REQUEST_TIMEOUT, idle_timeout: float = IDLE_TIMEOUT) -> None:
        if not (request_timeout > 0 and idle_timeout > 0):
            raise ValueError("timeouts must be positive")
        self.request_timeout = request_timeout
        self.idle_timeout = idle_timeout
        self.host = host
        self.requested_port = port
        self.data_dir = Path(data_dir).expanduser().resolve() if data_dir else None
        self.folder = self.data_dir or emulator_home()
        self.folder.mkdir(parents=True, exist_ok=True)
        if access_key is not None:
            decode_access_key(access_key)  # ValueError for invalid base64
            self.access_key = access_key
        else:
            self.access_key = load_or_create_access_key(self.folder)
        self.certs: CertPaths = ensure_certificates(self.folder, [host])
        self.throttle = throttle
        self._initial_faults = list(faults or [])
        self._server: _TLSServer | None = None
        self._thread: threading.Thread | None = None
        self._lock_file: IO | None = None
        self.model: ChatModel | None = None
        self.app: WireApp | None = None
        self._stopped = False

    # ------------------------------------------------------------------ lifecycle
    def _open_store(self) -> Store:
        if self.data_dir is None:
            return MemoryStore()
        self._lock_file = open(self.data_dir / "emulator.lock", "a+")  # noqa: SIM115 - held while running
        try:
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock_file.close()
            self._lock_file = None
            raise RuntimeError(f"the data folder {self.data_dir} is in use by another emulator") from None
        return SqliteStore(self.data_dir / DB_FILE)

    def start(self) -> EmulatorServer:
        """Bind, load state and serve on a background thread; returns self."""
        if self._server is not None:
            return self
        store = self._open_store()
        try:
            resource = str(uuid.uuid5(uuid.NAMESPACE_URL, "acs-emulator:" + self.access_key))
            self.model = ChatModel(store, resource_id=resource)
            self.app = WireApp(self.model, self.access_key, throttle=self.throttle)
            for spec in self._initial_faults:
                self.app.faults.add(FaultInjector.parse(spec))
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(str(self.certs.server_cert), str(self.certs.server_key))
            self._server = _TLSServer((self.host, self.requested_port), ctx, self.app,
                                      request_timeout=self.request_timeout, idle_timeout=self.idle_timeout)
        except BaseException:
            store.close()
            self._release_lock()
            raise
        self.app.server_port = self.port
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="acs-emulator", daemon=True)
        self._thread.start()
        log.info("emulator listening on %s", self.endpoint)
        return self

    def _release_lock(self) -> None:
        if self._lock_file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

    def stop(self) -> None:
        """Stop serving, drop open connections and close the database cleanly (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.close_connections()
        if self._thread is not None:
            self._thread.join(5)
        if self.model is not None:
            self.model.close()
        self._release_lock()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ properties
    @property
    def port(self) -> int:
        if self._server is None:
            return self.requested_port
        return self._server.server_address[1]

    @property
    def advertised_host(self) -> str:
        host = self.host
        if host in ("", "0.0.0.0", "::"):
            return "127.0.0.1"
        return f"[{host}]" if ":" in host else host

    @property
    def endpoint(self) -> str:
        """e.g. https://127.0.0.1:8443 (no trailing slash)."""
        return f"https://{self.advertised_host}:{self.port}"

    @property
    def connection_string(self) -> str:
        return f"endpoint={self.endpoint}/;accesskey={self.access_key}"

    @property
    def ca_bundle(self) -> str:
        """certifi roots + the emulator CA: the value for REQUESTS_CA_BUNDLE."""
        return str(self.certs.bundle)

    @property
    def ca_cert(self) -> str:
        """The emulator CA alone (for connection_verify=...)."""
        return str(self.certs.ca_cert)

    def add_fault(self, mode: str, count: int = 1, retry_after: int = 1, stall_seconds: float = 1.0) -> None:
        """In-process equivalent of POST /admin/faults."""
        if self.app is None:
            raise RuntimeError("the emulator is not started")
        self.app.faults.add(FaultInjector.parse({"mode": mode, "count": count, "retryAfter": retry_after,
                                                 "stallSeconds": stall_seconds}))
