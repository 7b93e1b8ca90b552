"""Property-based fuzz of the emulator's wire layer (`WireApp.handle`, no sockets): thousands of malformed requests.

Invariants for every case: no 5xx and nothing logged as an internal error, an answer within a second, every body
JSON, every error the `{"error": {"code", "message"}}` shape, no control characters in response headers; and the
emulator still serves a normal flow afterwards. Hypothesis runs derandomized with a bounded number of examples,
so a run is deterministic; each test prints how many cases it tried (`pytest -s` shows them).
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from azext_communication.emulator.model import ChatModel
from azext_communication.emulator.tokens import sign_request
from azext_communication.emulator.wire import WireApp

KEY = base64.b64encode(b"fuzz-key" * 4).decode()
HOST = "127.0.0.1:8443"
CHAT = "api-version=2024-03-07"
IDV = "api-version=2023-10-01"
FUZZ = settings(derandomize=True, database=None, deadline=None, max_examples=800, print_blob=False,
                suppress_health_check=list(HealthCheck))
MIN_CASES = 750  # hypothesis stops early only if it exhausts a strategy; these strategies are not exhaustible
CASES: dict[str, int] = {}


class Target:
    """One in-memory emulator with two users, a shared thread and a message, plus the invariant checks."""

    def __init__(self) -> None:
        self.app = WireApp(ChatModel(), KEY, server_port=8443)
        self.errors: list[logging.LogRecord] = []
        self.seeding = False
        self.reseed()

    def reseed(self) -> None:
        """Fresh users, thread and message: a fuzz case may legitimately delete or revoke what the next one needs."""
        self.seeding = True
        self.user, self.token = self._user()
        self.user2, self.token2 = self._user()
        status, _, body = self.call("POST", f"/chat/threads?{CHAT}", self.bearer(), json.dumps(
            {"topic": "fuzz", "participants": [{"communicationIdentifier": {"rawId": self.user2}}]}).encode())
        assert status == 201
        self.tid = body["chatThread"]["id"]
        self.tp = "/chat/threads/" + quote(self.tid, safe="")
        status, _, body = self.call("POST", f"{self.tp}/messages?{CHAT}", self.bearer(), b'{"content":"seed"}')
        assert status == 201
        self.mid = body["id"]
        self.seeding = False

    def intact(self) -> bool:
        model = self.app.model
        thread = model.threads[self.tid]
        try:
            for token in (self.token, self.token2):
                model.authenticate(token)
        except Exception:
            return False
        return (thread.deleted_ms is None and thread.is_member(self.user) and thread.is_member(self.user2)
                and thread.by_id[self.mid].deleted_ms is None)

    def _user(self) -> tuple[str, str]:
        raw = b'{"createTokenWithScopes":["chat"]}'
        status, _, body = self.call("POST", f"/identities?{IDV}", self.signed("POST", f"/identities?{IDV}", raw), raw)
        assert status == 201
        return body["identity"]["id"], body["accessToken"]["token"]

    def bearer(self, token: str | None = None) -> dict[str, str]:
        return {"Host": HOST, "Authorization": f"Bearer {token or self.token}", "Content-Type": "application/json"}

    @staticmethod
    def signed(method: str, target: str, body: bytes) -> dict[str, str]:
        headers = sign_request(method, f"https://{HOST}{target}", body, KEY)
        headers["Host"] = HOST
        return headers

    def call(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, dict, object]:
        """One request through `WireApp.handle`, checked against every invariant."""
        before = len(self.errors)
        t0 = time.monotonic()
        status, hdrs, raw = self.app.handle(method, target, headers, body)
        elapsed = time.monotonic() - t0
        self.app.faults.clear()  # a fuzzed POST /admin/faults may queue a (legitimate) fault for the next case
        if not self.seeding and not self.intact():
            self.reseed()
        assert elapsed < 1.0, f"{method} {target!r} took {elapsed:.2f}s"
        assert len(self.errors) == before, f"internal error logged for {method} {target!r}"
        assert 200 <= status < 500, (status, raw[:300])
        for k, v in hdrs:
            assert not any(ord(c) < 0x20 or ord(c) == 0x7F for c in k + v), (k, v)
        hd = {k.lower(): v for k, v in hdrs}
        data = None
        if raw:
            assert hd.get("content-type") == "application/json; charset=utf-8"
            data = json.loads(raw)
            assert b"Traceback" not in raw
        if status >= 400:
            assert isinstance(data, dict) and set(data) == {"error"}, raw[:300]
            err = data["error"]
            assert isinstance(err.get("code"), str) and err["code"]
            assert isinstance(err.get("message"), str) and err["message"]
        return status, hd, data

    def healthy(self) -> None:
        """A normal flow still works after the fuzz (state not corrupted by what came before)."""
        self.reseed()
        status, _, body = self.call("POST", f"{self.tp}/messages?{CHAT}", self.bearer(), b'{"content":"after"}')
        assert status == 201
        mid = body["id"]
        status, _, body = self.call("GET", f"{self.tp}/messages?maxPageSize=5&{CHAT}", self.bearer(), b"")
        assert status == 200 and [m["id"] for m in body["value"][:2]] == [mid, self.mid]
        status, _, body = self.call("GET", f"{self.tp}/messages/{self.mid}?{CHAT}", self.bearer(self.token2), b"")
        assert status == 200 and body["content"]["message"] == "seed"
        status, _, body = self.call("GET", f"/chat/threads?maxPageSize=200&{CHAT}", self.bearer(self.token2), b"")
        assert status == 200 and self.tid in [t["id"] for t in body["value"]]
        raw = b'{"scopes":["chat"]}'
        target = f"/identities/{quote(self.user2, safe='')}/:issueAccessToken?{IDV}"
        status, _, body = self.call("POST", target, self.signed("POST", target, raw), raw)
        assert status == 200 and body["token"]


class _Collect(logging.Handler):
    def __init__(self, sink: list) -> None:
        super().__init__(logging.ERROR)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record)


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    tgt = Target()
    logger = logging.getLogger("azext_communication.emulator")
    handler = _Collect(tgt.errors)
    logger.addHandler(handler)
    try:
        yield tgt
        tgt.healthy()
        assert tgt.errors == []
    finally:
        logger.removeHandler(handler)
        print("\nwire fuzz cases tried:", json.dumps(CASES), "total", sum(CASES.values()))


def _count(name: str) -> None:
    CASES[name] = CASES.get(name, 0) + 1


def _finish(name: str, target: Target) -> None:
    print(f"\nwire fuzz [{name}]: {CASES.get(name, 0)} cases")
    assert CASES.get(name, 0) >= MIN_CASES
    target.healthy()


# ----------------------------------------------------------------------------------------------- strategies

# (method, route, auth) for every operation; {tp} thread path, {mid} message id, {uid} encoded user id
ROUTES = [
    ("POST", "/identities", "hmac"), ("GET", "/identities/{uid}", "hmac"), ("DELETE", "/identities/{other}", "hmac"),
    ("POST", "/identities/{uid}/:issueAccessToken", "hmac"),
    ("POST", "/identities/{other}/:revokeAccessTokens", "hmac"),
    ("POST", "/teamsUser/:exchangeAccessToken", "hmac"), ("POST", "/admin/faults", "hmac"),
    ("POST", "/chat/threads", "bearer"), ("GET", "/chat/threads", "bearer"), ("GET", "{tp}", "bearer"),
    ("PATCH", "{tp}", "bearer"), ("POST", "{tp}/messages", "bearer"), ("GET", "{tp}/messages", "bearer"),
    ("GET", "{tp}/messages/{mid}", "bearer"), ("PATCH", "{tp}/messages/{mid}", "bearer"),
    ("POST", "{tp}/typing", "bearer"), ("POST", "{tp}/readReceipts", "bearer"), ("GET", "{tp}/readReceipts", "bearer"),
    ("POST", "{tp}/participants/:add", "bearer"), ("GET", "{tp}/participants", "bearer"),
    ("POST", "{tp}/participants/:remove", "bearer"),
]
IDENT = {"rawId": "8:acs:r_u", "communicationUser": {"id": "8:acs:r_u"}}
TEMPLATES = {  # a well-formed body per route, whose fields the fuzz replaces with anything
    "/identities": {"createTokenWithScopes": ["chat"], "expiresInMinutes": 60},
    "/identities/{uid}/:issueAccessToken": {"scopes": ["chat"], "expiresInMinutes": 120},
    "/teamsUser/:exchangeAccessToken": {"token": "a.b.c", "appId": "app", "userId": "oid"},
    "/admin/faults": {"mode": "stall", "count": 1, "stallSeconds": 0},
    "/chat/threads": {"topic": "t", "participants": [{"communicationIdentifier": IDENT, "displayName": "n",
                                                      "shareHistoryTime": "2024-01-01T00:00:00.000Z"}]},
    "{tp}": {"topic": "new"},
    "{tp}/messages": {"content": "hi", "type": "text", "senderDisplayName": "me", "metadata": {"k": "v"}},
    "{tp}/messages/{mid}": {"content": "edit", "metadata": {"k": None}},
    "{tp}/typing": {"senderDisplayName": "me"},
    "{tp}/readReceipts": {"chatMessageId": "1"},
    "{tp}/participants/:add": {"participants": [{"communicationIdentifier": IDENT}]},
    "{tp}/participants/:remove": IDENT,
}

# text with the awkward parts: controls, lone surrogates, astral characters, percent signs, very long runs
awkward_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3),
    st.sampled_from(["", " ", "\x00", "%", "%zz", "19:a@thread.v2", "8:acs:x_y", "-1", "0", "1e400", "NaN",
                     "9" * 5000, "a" * 70000, "\U0001F600" * 3, "\r\nX-Injected: 1", "../..", "null"]),
)
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True), awkward_text,
)
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.dictionaries(awkward_text, inner, max_size=5)), max_leaves=10)


def _dump(value: object) -> bytes:
    return json.dumps(value).encode("utf-8", "surrogatepass")


@st.composite
def mutated_template(draw: st.DrawFn, route: str) -> bytes:
    """The route's well-formed body with some fields dropped, replaced or added."""
    body = json.loads(json.dumps(TEMPLATES.get(route, {})))
    for key in list(body):
        action = draw(st.sampled_from(["keep", "keep", "drop", "replace"]))
        if action == "drop":
            del body[key]
        elif action == "replace":
            body[key] = draw(json_values)
    if draw(st.booleans()):
        body[draw(awkward_text)] = draw(json_values)
    return _dump(body)


def raw_bodies(route: str) -> st.SearchStrategy[bytes]:
    return st.one_of(
        mutated_template(route),
        mutated_template(route),
        json_values.map(_dump),
        st.binary(max_size=200),
        st.text(max_size=100).map(lambda s: s.encode("utf-8", "surrogatepass")),
        st.integers(min_value=1, max_value=200_000).map(lambda n: b"[" * n),            # deep nesting
        st.integers(min_value=1, max_value=50_000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
        st.sampled_from([b"{", b"}", b"null", b"[]", b'"x"', b"1", b"\xff\xfe", b'{"a":1,"a":2}', b"{}" * 3,
                         b'{"content":"' + b"x" * 4_000_000 + b'"}', b" " * 1000, b"\x00" * 10]),
    )


def _fill(target: Target, route: str) -> str:
    return (route.replace("{tp}", target.tp).replace("{mid}", target.mid)
            .replace("{uid}", quote(target.user2, safe="")).replace("{other}", quote("8:acs:r_u", safe="")))


def _send(target: Target, method: str, path: str, auth: str, body: bytes, query: str = IDV) -> None:
    full = f"{path}?{query}"
    headers = target.signed(method, full, body) if auth == "hmac" else target.bearer()
    target.call(method, full, headers, body)


# ----------------------------------------------------------------------------------------------- the tests

def test_fuzz_bodies(target: Target) -> None:
    """Bad JSON, wrong types, missing and extra fields, deep nesting and huge bodies on every route."""

    @FUZZ
    @given(data=st.data())
    def case(data: st.DataObject) -> None:
        method, route, auth = data.draw(st.sampled_from(ROUTES))
        body = data.draw(raw_bodies(route))
        _count("bodies")
        _send(target, method, _fill(target, route), auth, body, IDV if auth == "hmac" else CHAT)

    case()
    _finish("bodies", target)


segment = st.one_of(
    st.sampled_from(["chat", "threads", "identities", "messages", "participants", ":add", ":remove", "typing",
                     "readReceipts", ":issueAccessToken", "teamsUser", "admin", "faults", "", ".", "..", "%",
                     "%2", "%zz", "%C0%AF", "%FF%FE", "%00", "%2F", "19%3Ax%40thread.v2", "8%3Aacs%3Ar_u", "123",
                     "\u00e9", "a" * 3000]),
    st.text(max_size=12).map(lambda s: quote(s, safe="")),
    st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=12),
)
query_value = st.one_of(
    awkward_text.map(lambda s: quote(s.encode("utf-8", "surrogatepass"), safe="")),
    st.text(alphabet="0123456789-+%:.TZaz &=", max_size=30),
    st.sampled_from(["2024-03-07", "2023-10-01", "2000-01-01", "0", "-1", "201", "99999999999999999999",
                     "0001-01-01T00:00:00-05:00", "9999-12-31T23:59:59%2B14:00", "2024-13-45T99:99:99Z"]),
)


@st.composite
def sync_states(draw: st.DrawFn, kinds: tuple[str, ...] = ("threads", "messages", "receipts", "participants")) -> str:
    """Continuation tokens: the emulator's own format with hostile field values, or junk."""
    kind = draw(st.sampled_from([*kinds, "other"]))
    fields = draw(st.dictionaries(st.sampled_from(["o", "b", "s", "k", "x"]), json_values, max_size=3))
    raw = json.dumps({"k": kind, **fields}).encode("utf-8", "surrogatepass")
    return draw(st.sampled_from([base64.urlsafe_b64encode(raw).decode().rstrip("="), quote(raw, safe=""), "!!"]))


@st.composite
def queries(draw: st.DrawFn) -> str:
    pairs = draw(st.lists(st.tuples(
        st.sampled_from(["api-version", "maxPageSize", "skip", "startTime", "syncState", "x", "", "api-version"]),
        st.one_of(query_value, sync_states())), max_size=5))
    parts = [f"{k}={v}" if draw(st.booleans()) else k or "=" for k, v in pairs]
    if draw(st.booleans()):
        parts.append(draw(st.sampled_from([CHAT, IDV])))
    return "&".join(parts)


PAGED = {"/chat/threads": "threads", "{tp}/messages": "messages", "{tp}/readReceipts": "receipts",
         "{tp}/participants": "participants"}


@st.composite
def paging_queries(draw: st.DrawFn, kind: str) -> str:
    """A listing's own parameters with hostile values, and a supported api-version, so they reach the model."""
    params = {"maxPageSize": query_value, "skip": query_value, "startTime": query_value,
              "syncState": sync_states((kind,))}
    chosen = draw(st.lists(st.sampled_from(sorted(params)), min_size=1, max_size=3, unique=True))
    return "&".join([f"{name}={draw(params[name])}" for name in chosen] + [CHAT])


def test_fuzz_targets(target: Target) -> None:
    """Unknown routes, bad percent-encoding, odd segments and hostile query strings (paging, dates, tokens)."""

    @FUZZ
    @given(data=st.data())
    def case(data: st.DataObject) -> None:
        branch = data.draw(st.integers(0, 2))
        body = data.draw(st.sampled_from([b"", b"{}", b'{"content":"x"}']))
        if branch == 0:  # a listing with hostile paging parameters
            route = data.draw(st.sampled_from(sorted(PAGED)))
            method, auth, full = "GET", "bearer", f"{_fill(target, route)}?{data.draw(paging_queries(PAGED[route]))}"
        else:
            if branch == 1:  # a known route, maybe with extra segments
                method, route, auth = data.draw(st.sampled_from(ROUTES))
                path = _fill(target, route)
                if data.draw(st.booleans()):
                    path += "/" + "/".join(data.draw(st.lists(segment, min_size=1, max_size=3)))
            else:  # anything
                method = data.draw(st.sampled_from(["GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS"]))
                auth = data.draw(st.sampled_from(["hmac", "bearer"]))
                path = "/" + "/".join(data.draw(st.lists(segment, max_size=5)))
            path = data.draw(st.sampled_from(["", "", "", "https://h", "http://127.0.0.1:1", "*"])) + path
            query = data.draw(queries())
            full = f"{path}?{query}" if query or data.draw(st.booleans()) else path
        _count("targets")
        headers = target.signed(method, full, body) if auth == "hmac" else target.bearer()
        target.call(method, full, headers, body)

    case()
    _finish("targets", target)


header_value = st.one_of(awkward_text, st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=60))


@st.composite
def bearer_tokens(draw: st.DrawFn, good: str) -> str:
    """Near-misses of a valid token and junk."""
    head, payload, sig = good.split(".")
    choice = draw(st.integers(0, 6))
    if choice == 0:
        return draw(header_value)
    if choice == 1:  # one segment replaced
        parts = [head, payload, sig]
        parts[draw(st.integers(0, 2))] = draw(st.text(max_size=30))
        return ".".join(parts)
    if choice == 2:  # claims of our own making, unsigned
        claims = draw(st.dictionaries(st.sampled_from(["exp", "skypeid", "acsScope", "gen", "iat"]), json_values))
        raw = base64.urlsafe_b64encode(json.dumps(claims).encode("utf-8", "surrogatepass")).decode().rstrip("=")
        return f"{head}.{raw}.{sig}"
    if choice == 3:
        return ".".join(draw(st.lists(st.sampled_from([head, payload, sig, "", "x"]), max_size=6)))
    if choice == 4:
        return good[: draw(st.integers(0, len(good)))]
    if choice == 5:
        return good + draw(st.text(max_size=5))
    return good


@st.composite
def header_sets(draw: st.DrawFn, target: Target, auth: str, method: str, full: str, body: bytes) -> dict:
    headers = target.signed(method, full, body) if auth == "hmac" else target.bearer()
    for name in list(headers):
        action = draw(st.sampled_from(["keep", "keep", "keep", "drop", "replace", "case"]))
        if action == "drop":
            del headers[name]
        elif action == "replace":
            headers[name] = draw(header_value)
        elif action == "case":  # the same header twice under different spellings
            headers[name.upper()] = draw(st.one_of(header_value, st.just(headers[name])))
    if auth == "bearer" and draw(st.booleans()):
        scheme = draw(st.sampled_from(["Bearer", "bearer", "BEARER", "Basic", "HMAC-SHA256", "", "Bearer  "]))
        headers["Authorization"] = f"{scheme} {draw(bearer_tokens(target.token))}"
    extra = draw(st.dictionaries(st.sampled_from(["Host", "x-ms-client-request-id", "Content-Type",
                                                  "repeatability-request-id", "x-ms-date", "x-ms-content-sha256",
                                                  "Authorization", "Accept", "X-Whatever"]), header_value,
                                 max_size=3))
    headers.update(extra)
    return headers


def test_fuzz_headers(target: Target) -> None:
    """Missing, duplicated (case variants) and garbage headers: auth schemes, tokens, dates, hashes, Host."""

    @FUZZ
    @given(data=st.data())
    def case(data: st.DataObject) -> None:
        method, route, auth = data.draw(st.sampled_from(ROUTES))
        full = f"{_fill(target, route)}?{IDV if auth == 'hmac' else CHAT}"
        body = _dump(TEMPLATES[route]) if route in TEMPLATES else b""
        headers = data.draw(header_sets(target, auth, method, full, body))
        _count("headers")
        target.call(method, full, headers, body)

    case()
    _finish("headers", target)


def test_regressions_found_by_the_fuzz(target: Target) -> None:
    """Inputs that used to answer 500 (an internal error) and now get a JSON 400."""
    tp, bearer = target.tp, target.bearer()

    def sync(kind: str, **fields: object) -> str:
        raw = json.dumps({"k": kind, **fields}).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    cases = [
        ("POST", f"{tp}/messages?{CHAT}", b"[" * 100_000, "InvalidJson"),                  # RecursionError
        ("POST", f"{tp}/messages?{CHAT}", b'{"content":"\\ud800"}', "InvalidJson"),       # UnicodeEncodeError
        ("POST", f"{tp}/messages?{CHAT}", b'{"content":"a","metadata":{"k":"\\udfff"}}', "InvalidJson"),
        ("PATCH", f"{tp}?{CHAT}", b'{"topic":"\\ud83d"}', "InvalidJson"),                 # stored, then echoed
        ("GET", f"/chat/threads?syncState={sync('threads', o='abc')}&{CHAT}", b"", "InvalidContinuationToken"),
        ("GET", f"/chat/threads?syncState={sync('threads', o=0, s='x')}&{CHAT}", b"", "InvalidContinuationToken"),
        ("GET", f"{tp}/messages?syncState={sync('messages', b=1e400)}&{CHAT}", b"", "InvalidContinuationToken"),
        ("GET", f"{tp}/messages?syncState={sync('messages', b=[1])}&{CHAT}", b"", "InvalidContinuationToken"),
        ("GET", f"{tp}/participants?syncState={sync('participants', o=-5)}&{CHAT}", b"", "InvalidContinuationToken"),
        ("GET", f"{tp}/readReceipts?syncState={sync('receipts', o=True)}&{CHAT}", b"", "InvalidContinuationToken"),
    ]
    for method, path, body, code in cases:
        status, _, data = target.call(method, path, bearer, body)
        assert (status, data["error"]["code"]) == (400, code), (path, body[:40], data)
    ok = b'{"content":"\\ud83d\\ude00 pair is fine"}'
    assert target.call("POST", f"{tp}/messages?{CHAT}", bearer, ok)[0] == 201
    status, _, data = target.call("GET", f"/chat/threads?{CHAT}", {**bearer, "Host": "h\rLocation: x"}, b"")
    assert (status, data["error"]["code"]) == (400, "InvalidHostHeader")
    status, hdrs, _ = target.call("GET", f"/chat/threads?{CHAT}", {**bearer, "x-ms-client-request-id": "a\r\nb"}, b"")
    assert status == 200 and "x-ms-client-request-id" not in hdrs
    target_path = f"/identities?{IDV}"
    for name, value in (("x-ms-content-sha256", "\ud800"), ("Authorization", None)):
        headers = target.signed("POST", target_path, b"")
        headers[name] = value if value is not None else headers["Authorization"] + "\udfff"
        status, _, data = target.call("POST", target_path, headers, b"")  # used to raise UnicodeEncodeError
        assert (status, data["error"]["code"]) == (401, "Unauthorized")
    target.healthy()
