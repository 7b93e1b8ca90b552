"""TLS, threads and lifecycle: `EmulatorServer` builds the model and the wire app, and serves them over TLS with
one thread per connection (the request reader is `http1.RequestHandler`).

The TLS handshake runs in the per-connection thread (a slow client never blocks `accept`), Nagle is off
(see wire spec §2) and each response goes out in a single write.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import logging
import os
import socket
import socketserver
import ssl
import threading
import uuid
from collections.abc import Iterable
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import IO

from .certs import CertPaths, ensure_certificates, write_private
from .errors import EmulatorError
from .events import EventService, Outbox
from .events.observer import observer
from .events.payloads import resource_topic
from .events.subscriptions import EventSettings
from .files import open_private, private_folder
from .http1 import RequestHandler
from .inspector import PREFIX, InspectorApp, new_key, own_hosts
from .model import ChatModel
from .model.retention import DAY_SECONDS, Sweeper, check_day_seconds
from .realtime import DEFAULT_ORIGINS, CorsPolicy, RealtimeService
from .store import MemoryStore, SqliteStore, Store
from .tokens import decode_access_key
from .wire import FaultInjector, WireApp

log = logging.getLogger("azext_communication.emulator")

HOME_ENV = "AZURE_COMMUNICATION_EMULATOR_HOME"
ACCESS_KEY_FILE = "access-key"
DB_FILE = "emulator.db"
HANDSHAKE_TIMEOUT = 10.0
IDLE_TIMEOUT = 120.0  # a keep-alive connection may wait this long for its next request
REQUEST_TIMEOUT = 30.0  # from its first byte, a request (head and body) must arrive within this


def emulator_home() -> Path:
    """Per-user folder for certificates and the access key when no data folder is given."""
    env = os.environ.get(HOME_ENV)
    return Path(env).expanduser() if env else Path.home() / ".azure-communication-emulator"


def load_or_create_access_key(folder: Path) -> str:
    """The persisted default access key (base64 of 64 random bytes), created once so the connection string is
    stable across restarts."""
    path = folder / ACCESS_KEY_FILE
    private_folder(folder)
    with open_private(folder / ".lock") as fh:
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


class TLSServer(ThreadingHTTPServer):
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
        self.realtime: RealtimeService | None = app.realtime
        self.inspector: InspectorApp | None = None  # the web page at /_emulator/ (http1 routes there)
        self._conn_lock = threading.Lock()
        self._cv_prefix = base64.b64encode(os.urandom(15)).decode()
        self._cv = 0
        super().__init__(address, RequestHandler)

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
                 request_timeout: float = REQUEST_TIMEOUT, idle_timeout: float = IDLE_TIMEOUT,
                 events: EventSettings | None = None, retention_day_seconds: float = DAY_SECONDS,
                 cors_origins: Iterable[str] = DEFAULT_ORIGINS) -> None:
        if not (request_timeout > 0 and idle_timeout > 0):
            raise ValueError("timeouts must be positive")
        try:
            self.retention_day_seconds = check_day_seconds(retention_day_seconds)
        except ValueError:
            raise ValueError(f"invalid --retention-day-seconds '{retention_day_seconds}': expected seconds greater "
                             "than 0 and at most 31536000 (default 86400)") from None
        self.request_timeout = request_timeout
        self.idle_timeout = idle_timeout
        self.host = host
        self.requested_port = port
        self.data_dir = Path(data_dir).expanduser().resolve() if data_dir else None
        self.folder = self.data_dir or emulator_home()
        private_folder(self.folder)
        if access_key is not None:
            decode_access_key(access_key)  # ValueError for invalid base64
            self.access_key = access_key
        else:
            self.access_key = load_or_create_access_key(self.folder)
        self.certs: CertPaths = ensure_certificates(self.folder, [host])
        self.throttle = throttle
        self._initial_faults = list(faults or [])
        self._server: TLSServer | None = None
        self._thread: threading.Thread | None = None
        self._lock_file: IO | None = None
        self.model: ChatModel | None = None
        self.app: WireApp | None = None
        self.cors_origins = tuple(cors_origins)
        CorsPolicy(self.cors_origins)  # ValueError (one line) for a bad pattern, before anything starts
        self.realtime: RealtimeService | None = None
        self.event_settings = events or EventSettings()
        self._declared = self.event_settings.declared()  # ValueError (one line) before anything starts
        self.events: EventService | None = None
        self.inspector: InspectorApp | None = None
        self.inspector_key = new_key()  # a new one at each start: the web page's API asks for it
        self._sweeper: Sweeper | None = None
        self._stopped = False

    # ------------------------------------------------------------------ lifecycle
    def _open_store(self) -> Store:
        if self.data_dir is None:
            return MemoryStore()
        self._lock_file = open_private(self.data_dir / "emulator.lock")  # held while running
        try:
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock_file.close()
            self._lock_file = None
            raise RuntimeError(f"the data folder {self.data_dir} is in use by another emulator") from None
        try:
            return SqliteStore(self.data_dir / DB_FILE)
        except BaseException:  # e.g. a data folder of a newer schema
            self._release_lock()
            raise

    def start(self) -> EmulatorServer:
        """Bind, load state and serve on a background thread; returns self."""
        if self._server is not None:
            return self
        store = self._open_store()
        try:
            resource = str(uuid.uuid5(uuid.NAMESPACE_URL, "acs-emulator:" + self.access_key))
            self.model = ChatModel(store, resource_id=resource, retention_day_seconds=self.retention_day_seconds)
            self.events = self._event_service(store)
            self.realtime = RealtimeService(self.model, self.cors_origins)
            self.app = WireApp(self.model, self.access_key, throttle=self.throttle, events=self.events,
                               realtime=self.realtime)
            for spec in self._initial_faults:
                self.app.faults.add(FaultInjector.parse(spec))
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            # No TLS 1.3 session tickets: they follow the handshake, reaching a client just as it writes its first
            # request. WebSocket clients that read in one thread and write in another (websockets' sync client,
            # python-socketio's) then use one OpenSSL object from two threads, and the upgrade request can be lost
            # (the opening handshake times out). A full handshake on every connection costs ~1 ms locally.
            ctx.num_tickets = 0
            ctx.load_cert_chain(str(self.certs.server_cert), str(self.certs.server_key))
            self._server = TLSServer((self.host, self.requested_port), ctx, self.app,
                                      request_timeout=self.request_timeout, idle_timeout=self.idle_timeout)
            self.inspector = InspectorApp(self.model, self.inspector_key, own_hosts(self.host, self.port),
                                          faults=self.app.faults, events=self.events)
            self._server.inspector = self.inspector
        except BaseException:
            store.close()
            self._release_lock()
            raise
        self.app.server_port = self.port
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="acs-emulator", daemon=True)
        self._thread.start()
        self.events.validation_base = self.endpoint
        try:
            self.events.start(self._declared)  # validation handshakes need the endpoint: after bind
        except EmulatorError as exc:
            self.stop()
            raise RuntimeError(str(exc)) from None
        # retention: after the event service, so deletions that fell due while the emulator was down (the first
        # sweep) reach the subscriptions restored from the data folder
        self._sweeper = Sweeper(self.model.expire_due, self.model.retention, self.model.clock)
        self._sweeper.start()
        log.info("emulator listening on %s", self.endpoint)
        return self

    def _event_service(self, store: Store) -> EventService:
        """Events: the model's changes go to an outbox in the write's transaction; the service delivers them."""
        outbox = Outbox(store)
        s = self.event_settings
        self.model.observers.append(observer(outbox, typing=s.typing, sequence_id=s.sequence_id))
        return EventService(store, outbox, resource_topic(self.model.resource_id), folder=self.folder,
                            retry_scale=s.retry_scale, include_actor=s.include_actor, separate_process=True)

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
        if self.realtime is not None:
            self.realtime.stop()
        if self.inspector is not None:
            self.inspector.live.close()  # pages waiting for news get their answer now
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.close_connections()
        if self._thread is not None:
            self._thread.join(5)
        if self._sweeper is not None:
            self._sweeper.stop()
        if self.events is not None:
            self.events.stop()
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
    def inspector_url(self) -> str:
        """The web page, with its key in the fragment (which browsers never send to a server)."""
        return f"{self.endpoint}{PREFIX}/#key={self.inspector_key}"

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
