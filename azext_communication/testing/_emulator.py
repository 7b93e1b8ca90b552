"""A local emulator for one test (or one script): started on a free port, stopped afterwards, nothing left behind.

The emulator runs in the calling process (`EmulatorServer` on background threads), so it dies with the process
whatever happens; `local_emulator` also waits for every thread it started before it returns.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

if TYPE_CHECKING:
    from azext_communication.emulator.server import EmulatorServer

IDENTITY_API = "api-version=2023-10-01"
THREAD_JOIN_SECONDS = 10.0
_HOME_LOCK = threading.Lock()  # the emulator reads its home folder from the environment while it is built


class EmulatorRequestError(RuntimeError):
    """The emulator refused a helper's request (the message carries its status and error, never a secret)."""


@dataclass(frozen=True)
class IssuedToken:
    """A Communication Services user and an access token for it."""

    user_id: str
    token: str = field(repr=False)
    expires_on: str


class LocalEmulator:
    """A running emulator: where it listens, how to trust it, and helpers to get users and tokens."""

    def __init__(self, server: EmulatorServer) -> None:
        self.server = server
        self._count = 0

    def __repr__(self) -> str:
        return f"LocalEmulator(endpoint={self.endpoint!r})"

    @property
    def endpoint(self) -> str:
        """e.g. `https://127.0.0.1:40123` (no trailing slash)."""
        return self.server.endpoint

    @property
    def connection_string(self) -> str:
        """`endpoint=...;accesskey=...`, for the identity SDK and `az communication identity`."""
        return self.server.connection_string

    @property
    def access_key(self) -> str:
        return self.server.access_key

    @property
    def ca_bundle(self) -> str:
        """Public roots plus the emulator's CA: the value for `REQUESTS_CA_BUNDLE`."""
        return self.server.ca_bundle

    @property
    def ca_cert(self) -> str:
        """The emulator's CA alone (for `connection_verify=` or an `ssl` context)."""
        return self.server.ca_cert

    def env(self) -> dict[str, str]:
        """Environment variables that point `az communication`, the SDKs and child processes at this emulator."""
        return {"REQUESTS_CA_BUNDLE": self.ca_bundle, "AZURE_COMMUNICATION_ENDPOINT": self.endpoint,
                "AZURE_COMMUNICATION_CONNECTION_STRING": self.connection_string}

    # ------------------------------------------------------------------ signed calls (as the identity SDK signs)
    def _signed(self, method: str, path: str, body: object = None) -> Any:
        from azext_communication.emulator.tokens import sign_request

        raw = b"" if body is None else json.dumps(body).encode()
        headers = sign_request(method, self.endpoint + path, raw, self.access_key)
        headers["Content-Type"] = "application/json"
        parts = urlsplit(self.endpoint)
        conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=30,
                                           context=ssl.create_default_context(cafile=self.ca_cert))
        try:
            conn.request(method, path, body=raw, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        if resp.status >= 300:
            try:
                error = json.loads(data)["error"]
                detail = f"{error['code']}: {error['message']}"
            except (ValueError, KeyError, TypeError):
                detail = data[:200].decode(errors="replace")
            raise EmulatorRequestError(f"{method} {path.split('?')[0]} answered {resp.status} ({detail})")
        return json.loads(data) if data else None

    def create_user(self) -> str:
        """A new user; returns its raw id (`8:acs:...`)."""
        return self._signed("POST", f"/identities?{IDENTITY_API}")["identity"]["id"]

    def issue_token(self, user_id: str | None = None, scopes: Sequence[str] = ("chat",),
                    expires_in_minutes: int | None = None) -> IssuedToken:
        """A token for `user_id`, or for a new user when it is None (default scope: chat)."""
        body: dict = {}
        if expires_in_minutes is not None:
            body["expiresInMinutes"] = expires_in_minutes
        if user_id is None:
            out = self._signed("POST", f"/identities?{IDENTITY_API}", {"createTokenWithScopes": list(scopes),
                                                                         **body})
            return IssuedToken(out["identity"]["id"], out["accessToken"]["token"], out["accessToken"]["expiresOn"])
        path = f"/identities/{quote(user_id, safe='')}/:issueAccessToken?{IDENTITY_API}"
        out = self._signed("POST", path, {"scopes": list(scopes), **body})
        return IssuedToken(user_id, out["token"], out["expiresOn"])

    # ------------------------------------------------------------------ event subscriptions (admin API)
    def subscribe(self, endpoint: str | Mapping[str, Any], name: str | None = None,
                  schema: str | None = None) -> dict:
        """Deliver chat events to a webhook, validated now as Event Grid does on creation; returns the subscription.

        `endpoint` is a URL (every chat event; `schema` "EventGridSchema" (default) or "CloudEventSchemaV1_0"),
        or a whole definition in the shape of an `--events-config` entry (name, endpoint, filter, ...).
        """
        if isinstance(endpoint, Mapping):
            body = dict(endpoint)
        else:
            self._count += 1
            body = {"name": name or f"sub-{self._count}", "endpoint": endpoint}
            if schema:
                body["eventDeliverySchema"] = schema
        return self._signed("POST", "/admin/eventSubscriptions", body)

    def subscriptions(self) -> list[dict]:
        """Every subscription with its delivered / failed / pending / deadLettered counts."""
        return self._signed("GET", "/admin/eventSubscriptions")["value"]

    def unsubscribe(self, name: str) -> None:
        self._signed("DELETE", f"/admin/eventSubscriptions/{quote(name, safe='')}")

    def wait_for_deliveries(self, timeout: float = 10.0) -> bool:
        """True once every event recorded so far has been delivered (or given up on) by every subscription."""
        events = self.server.events
        return events is None or events.wait_idle(timeout)

    def chat_client(self, token: str | IssuedToken, **kwargs: Any) -> Any:
        """An `azure.communication.chat.ChatClient` for this emulator that trusts its CA (no environment needed)."""
        from azure.communication.chat import ChatClient, CommunicationTokenCredential

        value = token.token if isinstance(token, IssuedToken) else token
        kwargs.setdefault("connection_verify", self.ca_bundle)
        return ChatClient(self.endpoint, CommunicationTokenCredential(value), **kwargs)

    def chat_thread_client(self, token: str | IssuedToken, thread_id: str, **kwargs: Any) -> Any:
        """A `ChatThreadClient` that trusts the emulator's CA (`ChatClient.get_chat_thread_client` does not pass
        the client's own options on, so a thread client from it needs `connection_verify` again)."""
        from azure.communication.chat import ChatThreadClient, CommunicationTokenCredential

        value = token.token if isinstance(token, IssuedToken) else token
        kwargs.setdefault("connection_verify", self.ca_bundle)
        return ChatThreadClient(self.endpoint, CommunicationTokenCredential(value), thread_id, **kwargs)

    def add_fault(self, mode: str, count: int = 1, retry_after: int = 1, stall_seconds: float = 1.0) -> None:
        """Answer the next `count` requests with a fault: `429`, `503`, `close` (drop) or `stall`."""
        self.server.add_fault(mode, count=count, retry_after=retry_after, stall_seconds=stall_seconds)


def _emulator_threads(server: EmulatorServer, before: set[int]) -> list[threading.Thread]:
    """Threads started since `before` that belong to this emulator (its own named threads and connections)."""
    tls = getattr(server, "_server", None)
    out = []
    for t in threading.enumerate():
        if t.ident in before or t is threading.current_thread():
            continue
        owner = getattr(getattr(t, "_target", None), "__self__", None)
        if t.name.startswith(("acs-emulator", "acs-events")) or (tls is not None and owner is tls):
            out.append(t)
    return out


def _build_server(home: str, retry_scale: float, include_actor: bool, typing: bool = False,
                  sequence_id: bool = True, **options: Any) -> EmulatorServer:
    if options.get("cors_origins") is None:
        options.pop("cors_origins", None)
    from azext_communication.emulator.events.subscriptions import EventSettings
    from azext_communication.emulator.server import HOME_ENV, EmulatorServer

    with _HOME_LOCK:
        old = os.environ.get(HOME_ENV)
        os.environ[HOME_ENV] = home
        try:
            return EmulatorServer(events=EventSettings(retry_scale=retry_scale, include_actor=include_actor,
                                                       typing=typing, sequence_id=sequence_id), **options)
        finally:
            if old is None:
                os.environ.pop(HOME_ENV, None)
            else:
                os.environ[HOME_ENV] = old


@contextlib.contextmanager
def local_emulator(*, home: str | os.PathLike | None = None, data_dir: str | os.PathLike | None = None,
                   access_key: str | None = None, throttle: bool = False, host: str = "127.0.0.1",
                   port: int = 0, subscriptions: Sequence[str | Mapping[str, Any]] = (),
                   event_retry_scale: float = 1.0, events_include_actor: bool = False,
                   events_typing: bool = False, events_sequence_id: bool = True,
                   retention_day_seconds: float = 86400.0,
                   cors_origins: Sequence[str] | None = None) -> Iterator[LocalEmulator]:
    """Start an emulator (free port by default) and stop it when the block ends, even on an exception or Ctrl-C.

    `home` keeps its certificates and access key (default: a temporary folder removed afterwards; pass one to
    reuse certificates across emulators). `data_dir` makes state persistent (SQLite) in that folder instead.
    `subscriptions` (URLs or `--events-config` entries) are created once it listens, each validated against its
    endpoint as Event Grid does (an endpoint that fails is an `EmulatorRequestError` and nothing keeps running);
    `event_retry_scale` compresses Event Grid's retry schedule (e.g. 0.01 in tests); `events_typing` adds the
    opt-in typing event; `events_sequence_id=False` leaves `sequenceId` out of message events.
    `retention_day_seconds` is the length of a retention-policy day (e.g. 0.02 makes a 30-day policy delete its
    thread 0.6 s after creation). `cors_origins` are the browser origins allowed to call it and open its real-time
    WebSocket (`--cors-origin`; default any port of localhost and 127.0.0.1); a bad pattern is a ValueError.
    """
    own_home = home is None and data_dir is None
    folder = tempfile.mkdtemp(prefix="acs-emulator-") if own_home else str(home or data_dir)
    before = {t.ident for t in threading.enumerate()}
    server = None
    try:
        server = _build_server(folder, event_retry_scale, events_include_actor, events_typing, events_sequence_id,
                               host=host, port=port, data_dir=data_dir, access_key=access_key, throttle=throttle,
                               retention_day_seconds=retention_day_seconds, cors_origins=cors_origins)
        server.start()
        emu = LocalEmulator(server)
        for sub in subscriptions:
            emu.subscribe(sub)
        yield emu
    finally:
        if server is not None:
            leftovers = _emulator_threads(server, before)
            server.stop()
            deadline = time.monotonic() + THREAD_JOIN_SECONDS
            for t in leftovers + _emulator_threads(server, before):
                t.join(max(0.0, deadline - time.monotonic()))
        if own_home:
            shutil.rmtree(folder, ignore_errors=True)
