"""Recorded playback with vcrpy: one cassette per scenario test under tests/recordings/.

- playback (default): `record_mode='none'`, so any request not in the cassette fails the test; endpoint,
  connection string and tokens are placeholders.
- record (`AZEXT_COMMUNICATION_RECORD=1`): the scenario runs against a freshly started emulator and its
  cassette is rewritten, scrubbed.
- live: the same scenario against the emulator; requests go through vcrpy in pass-through mode into a
  throw-away cassette, so request counts and headers can be asserted in every mode.

Scrubbing (applied when recording, and to requests during playback so they still match): secret and volatile
headers are dropped, the emulator's host:port becomes a fixed placeholder host, user ids `8:acs:<res>_<user>`
become stable placeholders by order of first appearance (ids already in placeholder form are left alone), and
tokens become a placeholder that still parses client-side but is no secret and does not look like a JWT.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import vcr
from cli_harness import CliResult, run

RECORDINGS = Path(__file__).resolve().parent / "recordings"
PLACEHOLDER_HOST = "emulator.communication.test"
PLACEHOLDER_ENDPOINT = f"https://{PLACEHOLDER_HOST}"
# Payload `{ "exp": 4102444800 }` (2100-01-01): parses like an ACS token, starts with "eyA" rather than "eyJ".
PLACEHOLDER_TOKEN = "scrubbed." + base64.b64encode(b'{ "exp": 4102444800 }').decode("ascii").rstrip("=") + ".scrubbed"
PLACEHOLDER_KEY = base64.b64encode(b"scrubbed").decode("ascii")
PLAYBACK_CONNECTION_STRING = f"endpoint={PLACEHOLDER_ENDPOINT}/;accesskey={PLACEHOLDER_KEY}"
ZERO_RESOURCE = "00000000-0000-0000-0000-000000000000"

DROP_REQUEST_HEADERS = {"authorization", "x-ms-client-request-id", "repeatability-request-id", "user-agent",
                        "x-ms-content-sha256", "x-ms-date"}
DROP_RESPONSE_HEADERS = {"x-ms-client-request-id", "date", "ms-cv", "x-processing-time", "x-azure-ref",
                         "set-cookie"}

USER_ID = re.compile(r"(8(?::|%3[Aa])(?:acs|dod-acs|gcch-acs|spool)(?::|%3[Aa]))([0-9A-Za-z-]+_[0-9A-Za-z-]+)")
JWT_LIKE = re.compile(r"eyJ[A-Za-z0-9_\-+/=]*\.[A-Za-z0-9_\-+/=]+\.[A-Za-z0-9_\-+/=]*")
ACCESS_KEY = re.compile(r"(?i)(accesskey=)[A-Za-z0-9+/=]+")
FORBIDDEN = (re.compile(r"eyJ[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}"), re.compile(r"accesskey=[A-Za-z0-9+/]{20,}"))


def placeholder_user(n: int) -> str:
    """The n-th (1-based) placeholder user id of a cassette."""
    return f"8:acs:{ZERO_RESOURCE}_00000000-0000-0000-0000-{n:012d}"


class Scrubber:
    """Rewrites requests and responses of one cassette; also notes every User-Agent it saw."""

    def __init__(self, live_netloc: str | None) -> None:
        self.live_netloc = live_netloc
        self.user_ids: dict[str, str] = {}
        self.user_agents: list[str] = []

    # -- text ------------------------------------------------------------------------------------
    def _user(self, match: re.Match) -> str:
        prefix, ident = match.group(1), match.group(2)
        if ident.startswith(ZERO_RESOURCE + "_"):
            return match.group(0)
        if ident not in self.user_ids:
            self.user_ids[ident] = placeholder_user(len(self.user_ids) + 1).split(":", 2)[2]
        return prefix + self.user_ids[ident]

    def text(self, value: str) -> str:
        if self.live_netloc:
            value = value.replace(self.live_netloc, PLACEHOLDER_HOST)
        value = JWT_LIKE.sub(PLACEHOLDER_TOKEN, value)
        value = ACCESS_KEY.sub(lambda m: m.group(1) + PLACEHOLDER_KEY, value)
        return USER_ID.sub(self._user, value)

    def _json_tokens(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: (PLACEHOLDER_TOKEN if k == "token" and isinstance(v, str) else self._json_tokens(v))
                    for k, v in value.items()}
        if isinstance(value, list):
            return [self._json_tokens(v) for v in value]
        return value

    def body(self, body: Any) -> Any:
        if not body:
            return body
        raw = body if isinstance(body, str) else bytes(body).decode("utf-8", errors="surrogateescape")
        with contextlib.suppress(ValueError):
            raw = json.dumps(self._json_tokens(json.loads(raw)))
        scrubbed = self.text(raw)
        return scrubbed if isinstance(body, str) else scrubbed.encode("utf-8", errors="surrogateescape")

    # -- vcr hooks -------------------------------------------------------------------------------
    def request(self, request: Any) -> Any:
        for name in list(request.headers):
            if name.lower() == "user-agent":
                self.user_agents.append(request.headers[name])
            if name.lower() in DROP_REQUEST_HEADERS:
                del request.headers[name]
        request.uri = self.text(request.uri)
        request.body = self.body(request.body)
        return request

    def response(self, response: dict) -> dict:
        headers = response.get("headers", {})
        for name in list(headers):
            if name.lower() in DROP_RESPONSE_HEADERS:
                del headers[name]
            elif name.lower() in ("location", "operation-location"):
                headers[name] = [self.text(v) for v in headers[name]]
        body = response.get("body", {}).get("string")
        if body:
            new_body = self.body(body)
            response["body"]["string"] = new_body
            for name in list(headers):
                if name.lower() == "content-length":
                    headers[name] = [str(len(new_body if isinstance(new_body, bytes) else new_body.encode()))]
        return response


def json_body(r1: Any, r2: Any) -> None:
    """Bodies match when equal as JSON (key order and spacing ignored), else byte for byte."""

    def parse(body: Any) -> Any:
        if not body:
            return None
        text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else str(body)
        try:
            return json.loads(text)
        except ValueError:
            return text

    assert parse(r1.body) == parse(r2.body), f"request bodies differ: {r1.body!r} != {r2.body!r}"


@dataclass
class Target:
    """A scenario's place to run: `az(...)` runs a command; requests made so far can be inspected."""

    mode: str
    endpoint: str
    connection_string: str
    ca_bundle: str | None
    cassette: Any = None
    scrubber: Scrubber | None = None
    _played: list[int] = field(default_factory=list)

    @property
    def live(self) -> bool:
        return self.mode in ("live", "record")

    def base_env(self) -> dict[str, str | None]:
        """Trust the emulator's CA only where a real connection is made."""
        return {"REQUESTS_CA_BUNDLE": self.ca_bundle} if self.live else {"REQUESTS_CA_BUNDLE": None}

    def az(self, *args: str, env: dict[str, str | None] | None = None) -> CliResult:
        return run(*args, env={**self.base_env(), **(env or {})})

    def chat(self, *args: str, token: str, env: dict[str, str | None] | None = None) -> CliResult:
        """`az communication chat ...` with the endpoint and token as options."""
        return self.az("communication", "chat", *args, "--endpoint", self.endpoint, "--access-token", token,
                       env=env)

    def identity(self, *args: str, group: str = "identity", env: dict[str, str | None] | None = None) -> CliResult:
        """`az communication identity ...` with the connection string as option."""
        return self.az("communication", group, *args, "--connection-string", self.connection_string, env=env)

    def request_log(self) -> list[Any]:
        """Every (scrubbed) request made so far, in order."""
        if self.mode == "playback":
            played = sorted(i for i, n in self.cassette.play_counts.items() if n)
            return [self.cassette.requests[i] for i in played]
        return list(self.cassette.requests)


@contextlib.contextmanager
def open_target(mode: str, name: str, emulator: Any, tmp_path: Path) -> Iterator[Target]:
    """Open the cassette for `name` in `mode` ('playback' | 'record' | 'live')."""
    if mode == "playback":
        path = RECORDINGS / f"{name}.yaml"
        if not path.exists():
            raise AssertionError(f"no recording {path.name}: record it with AZEXT_COMMUNICATION_RECORD=1")
        tgt = Target(mode, PLACEHOLDER_ENDPOINT, PLAYBACK_CONNECTION_STRING, None)
        record_mode = "none"
        live_netloc = None
    else:
        path = (RECORDINGS if mode == "record" else tmp_path) / f"{name}.yaml"
        if path.exists():
            path.unlink()
        tgt = Target(mode, emulator.endpoint.rstrip("/"), emulator.connection_string, emulator.ca_bundle)
        record_mode = "all"
        live_netloc = emulator.endpoint.split("//", 1)[1].rstrip("/")
    scrubber = Scrubber(live_netloc)
    recorder = vcr.VCR(
        record_mode=record_mode,
        match_on=["method", "path", "query", "json_body"],
        before_record_request=scrubber.request,
        before_record_response=scrubber.response,
        decode_compressed_response=True,
    )
    recorder.register_matcher("json_body", json_body)
    RECORDINGS.mkdir(exist_ok=True)
    with recorder.use_cassette(str(path)) as cassette:
        tgt.cassette = cassette
        tgt.scrubber = scrubber
        yield tgt
    if mode == "playback":
        unplayed = len(cassette) - len([n for n in cassette.play_counts.values() if n])
        assert unplayed == 0, f"{unplayed} recorded request(s) of {path.name} were not made"
