"""The web page's API in-process (`InspectorApp.handle`): the key, the Host check, the security headers, the static
files, and the actions (chat as a user, users and tokens, faults) over a real `ChatModel`."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from azext_communication.emulator.inspector import InspectorApp, own_hosts
from azext_communication.emulator.inspector.guard import host_allowed
from azext_communication.emulator.model import Caller, ChatModel, ParticipantSpec
from azext_communication.emulator.wire import FaultInjector

KEY = "k3y-for-tests_0123456789abcdefghijklmnopqrstuv"
HOST = "127.0.0.1:8443"


@pytest.fixture
def app() -> InspectorApp:
    return InspectorApp(ChatModel(), KEY, own_hosts("127.0.0.1", 8443), faults=FaultInjector())


def call(app: InspectorApp, method: str, path: str, body: object = None, *, key: str | None = KEY,
         host: str | None = HOST) -> tuple[int, dict, object]:
    headers = {}
    if host is not None:
        headers["host"] = host
    if key is not None:
        headers["x-emulator-key"] = key
    raw = b"" if body is None else json.dumps(body).encode()
    status, hdrs, data = app.handle(method, path, headers, raw)
    out = {k.lower(): v for k, v in hdrs}
    parsed = json.loads(data) if data and "json" in out.get("content-type", "") else data
    return status, out, parsed


def test_the_api_needs_the_key(app: InspectorApp) -> None:
    assert call(app, "GET", "/_emulator/api/threads", key=None)[0] == 401
    status, _, body = call(app, "GET", "/_emulator/api/threads", key="wrong")
    assert status == 401 and body["error"]["code"] == "InvalidKey"
    assert call(app, "GET", "/_emulator/api/threads", key=KEY[:-1])[0] == 401
    assert call(app, "GET", "/_emulator/api/threads")[:1] == (200,)


def test_the_key_in_the_query_string_does_not_count(app: InspectorApp) -> None:
    assert call(app, "GET", f"/_emulator/api/threads?key={KEY}", key=None)[0] == 401


def test_the_page_itself_loads_without_the_key(app: InspectorApp) -> None:
    status, headers, body = call(app, "GET", "/_emulator/", key=None)
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b'<script type="module" src="static/main.js">' in body
    assert b"<script>" not in body and b"http://" not in body and b"https://" not in body  # nothing inline or remote
    status, headers, body = call(app, "GET", "/_emulator/static/main.js", key=None)
    assert status == 200 and headers["content-type"].startswith("text/javascript")
    assert call(app, "GET", "/_emulator", key=None)[:2][0] == 308


@pytest.mark.parametrize("host", ["attacker.example:8443", "127.0.0.1:9999", "localhost", "127.0.0.1.nip.io:8443", "",
                                  None])
def test_a_foreign_host_is_refused_for_the_page_and_the_api(app: InspectorApp, host: str | None) -> None:
    for path in ("/_emulator/", "/_emulator/api/threads", "/_emulator/static/main.js"):
        status, _, body = call(app, "GET", path, host=host)
        assert status == 403, (path, host)
        assert body["error"]["code"] == "ForeignHost"


@pytest.mark.parametrize("host", ["127.0.0.1:8443", "localhost:8443", "LOCALHOST:8443", "[::1]:8443"])
def test_the_emulators_own_names_are_accepted(app: InspectorApp, host: str) -> None:
    assert call(app, "GET", "/_emulator/api/threads", host=host)[0] == 200


def test_the_own_names_follow_the_host_option_and_the_default_port() -> None:
    assert host_allowed({"host": "chat.test:9000"}, own_hosts("chat.test", 9000))
    assert host_allowed({"host": "[fd00::5]:9000"}, own_hosts("fd00::5", 9000))
    assert not host_allowed({"host": "0.0.0.0:9000"}, own_hosts("0.0.0.0", 9000))
    assert host_allowed({"host": "localhost"}, own_hosts("127.0.0.1", 443))
    assert not host_allowed({"host": "localhost"}, own_hosts("127.0.0.1", 8443))


def test_security_headers(app: InspectorApp) -> None:
    for path, key in (("/_emulator/", None), ("/_emulator/static/app.css", None), ("/_emulator/api/users", KEY),
                      ("/_emulator/api/users", "wrong")):
        _, headers, _ = call(app, "GET", path, key=key)
        csp = headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
    assert call(app, "GET", "/_emulator/api/users")[1]["cache-control"] == "no-store"


@pytest.mark.parametrize("path", ["/_emulator/static/../app.py", "/_emulator/static/%2e%2e/app.py",
                                  "/_emulator/app.py", "/_emulator/static/nope.js", "/_emulator/static/.hidden.js",
                                  "/_emulator/static/README.md"])
def test_only_the_shipped_static_files_are_served(app: InspectorApp, path: str) -> None:
    assert call(app, "GET", path, key=None)[0] == 404


def test_bad_input_is_a_clear_error(app: InspectorApp) -> None:
    status, _, body = app.handle("POST", "/_emulator/api/users/x/token", {"host": HOST, "x-emulator-key": KEY},
                                 b"{not json")[0], None, None
    assert status == 400
    status, _, body = call(app, "POST", "/_emulator/api/threads", {"asUser": "8:acs:nobody", "topic": "t"})
    assert status in (400, 404) and body["error"]["message"]
    assert call(app, "DELETE", "/_emulator/api/threads")[0] == 405
    assert call(app, "GET", "/_emulator/api/nothing")[0] == 404
    assert call(app, "POST", "/_emulator/", key=None)[0] == 405


def _user(app: InspectorApp) -> str:
    status, _, body = call(app, "POST", "/_emulator/api/users")
    assert status == 201
    return body["rawId"]


def test_chat_as_users_from_the_page(app: InspectorApp) -> None:
    ana, bo, cy = _user(app), _user(app), _user(app)
    status, _, made = call(app, "POST", "/_emulator/api/threads",
                           {"asUser": ana, "topic": "Bot test", "displayName": "Ana",
                            "participants": [{"rawId": bo, "displayName": "Bo"}]})
    assert status == 201
    tid = quote(made["id"], safe="")
    base = f"/_emulator/api/threads/{tid}"
    status, _, sent = call(app, "POST", f"{base}/messages", {"asUser": bo, "content": "ping"})
    assert status == 201
    mid = sent["id"]
    assert call(app, "POST", f"{base}/messages/{mid}/edit", {"asUser": bo, "content": "ping!"})[0] == 204
    assert call(app, "POST", f"{base}/messages/{mid}/edit", {"asUser": ana, "content": "not mine"})[0] == 403
    assert call(app, "POST", f"{base}/messages/{mid}/read", {"asUser": ana})[0] == 204
    assert call(app, "POST", f"{base}/typing", {"asUser": ana})[0] == 204
    assert call(app, "POST", f"{base}/messages", {"asUser": cy, "content": "not a member"})[0] == 403
    assert call(app, "POST", f"{base}/participants", {"asUser": ana, "rawId": cy, "displayName": "Cy"})[0] == 201
    status, _, detail = call(app, "GET", base)
    assert status == 200
    texts = [m["content"] for m in detail["messages"]]
    assert texts[:2] == ["Ana added Bo", "Ana set the topic to “Bot test”"]
    assert "ping!" in texts and "Ana added Cy" in texts
    edited = next(m for m in detail["messages"] if m["id"] == mid)
    assert edited["editedOn"] and edited["senderDisplayName"] == "Bo"
    assert detail["readReceipts"] == [{"rawId": ana, "displayName": "Ana", "messageId": mid,
                                       "readOn": detail["readReceipts"][0]["readOn"]}]
    assert [t["rawId"] for t in detail["typing"]] == [ana]
    assert call(app, "POST", f"{base}/messages/{mid}/delete", {"asUser": bo})[0] == 204
    detail = call(app, "GET", base)[2]
    assert next(m for m in detail["messages"] if m["id"] == mid)["deletedOn"]
    assert detail["messageCount"] == 0
    assert call(app, "POST", f"{base}/participants/remove", {"asUser": ana, "rawId": cy})[0] == 204
    assert call(app, "GET", base)[2]["messages"][-1]["content"] == "Ana removed Cy"


def test_users_tokens_and_revocation(app: InspectorApp) -> None:
    raw = _user(app)
    status, _, issued = call(app, "POST", f"/_emulator/api/users/{quote(raw, safe='')}/token", {})
    assert status == 200 and issued["expiresOn"] > 0
    assert app.model.authenticate(issued["token"]).user_id == raw
    assert call(app, "POST", f"/_emulator/api/users/{quote(raw, safe='')}/revoke")[0] == 204
    with pytest.raises(Exception, match="revoked"):
        app.model.authenticate(issued["token"])
    users = call(app, "GET", "/_emulator/api/users")[2]
    assert users[0]["rawId"] == raw and users[0]["revocations"] == 1
    assert call(app, "POST", "/_emulator/api/users/8%3Aacs%3Anobody/token", {})[0] in (400, 404)


def test_threads_view_lists_every_thread_with_counts(app: InspectorApp) -> None:
    m = app.model
    a = Caller(m.create_identity().id, frozenset({"chat"}))
    t1, _ = m.create_thread(a, "first", [ParticipantSpec(a.user_id, "Ana")])
    t2, _ = m.create_thread(a, "second", [])
    m.send_message(a, t1.id, "one")
    m.send_message(a, t1.id, "two")
    m.delete_thread(a, t2.id)
    rows = {r["topic"]: r for r in call(app, "GET", "/_emulator/api/threads")[2]}
    assert rows["first"]["messageCount"] == 2 and rows["first"]["deletedOn"] is None
    assert rows["first"]["participants"] == [{"rawId": a.user_id, "displayName": "Ana"}]
    assert rows["second"]["deletedOn"] is not None
    assert call(app, "GET", f"/_emulator/api/threads/{quote('19:none@thread.v2', safe='')}")[0] == 404


def test_faults_from_the_page_go_to_the_wire_queue(app: InspectorApp) -> None:
    status, _, body = call(app, "POST", "/_emulator/api/faults", {"mode": "503", "count": 2, "retryAfter": 3})
    assert status == 201 and body["faults"] == [{"mode": "503", "count": 2, "retryAfter": 3, "stallSeconds": 1.0}]
    assert app.faults.take().mode == "503"
    assert call(app, "GET", "/_emulator/api/faults")[2]["faults"][0]["count"] == 1
    assert call(app, "POST", "/_emulator/api/faults", {"mode": "teapot"})[0] == 400
    assert call(app, "DELETE", "/_emulator/api/faults")[2] == {"faults": []}


def test_wait_answers_at_once_when_a_version_moved_and_on_a_change(app: InspectorApp) -> None:
    import threading
    import time

    versions = call(app, "GET", "/_emulator/api/wait")[2]
    assert set(versions) == {"model", "requests", "events", "faults"}
    since = "&".join(f"{k}={v}" for k, v in versions.items())
    timer = threading.Timer(0.3, lambda: app.model.create_identity() and app.live.bump("requests"))
    timer.start()
    started = time.monotonic()
    after = call(app, "GET", f"/_emulator/api/wait?{since}")[2]
    assert 0.2 < time.monotonic() - started < 1.5
    assert after["requests"] == versions["requests"] + 1
    assert call(app, "GET", "/_emulator/api/wait?model=x")[0] == 400


def test_thread_metadata_retention_and_participant_metadata_are_shown(app: InspectorApp) -> None:
    m = app.model
    a = Caller(m.create_identity().id, frozenset({"chat"}))
    b = m.create_identity().id
    t, _ = m.create_thread(a, "kept 30 days", [ParticipantSpec(b, "Bo", metadata={"role": "bot"})],
                           props={"metadata": {"customer": "contoso"},
                                  "retentionPolicy": {"kind": "threadCreationDate", "deleteThreadAfterDays": 30}})
    row = call(app, "GET", "/_emulator/api/threads")[2][0]
    assert row["metadata"] == {"customer": "contoso"}
    assert row["retentionPolicy"] == {"kind": "threadCreationDate", "deleteThreadAfterDays": 30}
    assert row["retentionDeleteOn"] == t.created_ms + 30 * 86_400_000
    detail = call(app, "GET", f"/_emulator/api/threads/{quote(t.id, safe='')}")[2]
    assert next(p for p in detail["members"] if p["rawId"] == b)["metadata"] == {"role": "bot"}
    plain, _ = m.create_thread(a, "no policy", [])
    row = next(r for r in call(app, "GET", "/_emulator/api/threads")[2] if r["id"] == plain.id)
    assert row["metadata"] is None and row["retentionDeleteOn"] is None
    assert row["retentionPolicy"] in (None, {"kind": "none"})


def test_a_thread_deleted_by_its_policy_shows_as_deleted(tmp_path) -> None:
    clock = [1_000_000]
    model = ChatModel(clock=lambda: clock[0], retention_day_seconds=0.001)
    app = InspectorApp(model, KEY, own_hosts("127.0.0.1", 8443))
    a = Caller(model.create_identity().id, frozenset({"chat"}))
    t, _ = model.create_thread(a, "short-lived", [], props={
        "retentionPolicy": {"kind": "threadCreationDate", "deleteThreadAfterDays": 30}})
    assert call(app, "GET", "/_emulator/api/threads")[2][0]["retentionDeleteOn"] == 1_000_000 + 30
    clock[0] += 31
    model.expire_due()
    row = call(app, "GET", "/_emulator/api/threads")[2][0]
    assert row["deletedOn"] is not None and row["retentionDeleteOn"] is None
    detail = call(app, "GET", f"/_emulator/api/threads/{quote(t.id, safe='')}")[2]
    assert detail["deletedOn"] is not None


def test_a_thread_started_from_the_page_can_carry_metadata_and_a_policy(app: InspectorApp) -> None:
    ana, bo = _user(app), _user(app)
    status, _, made = call(app, "POST", "/_emulator/api/threads", {
        "asUser": ana, "topic": "kept", "metadata": {"ticket": "7"},
        "retentionPolicy": {"kind": "threadCreationDate", "deleteThreadAfterDays": 45},
        "participants": [{"rawId": bo, "displayName": "Bo", "metadata": {"role": "bot"}}]})
    assert status == 201
    detail = call(app, "GET", f"/_emulator/api/threads/{quote(made['id'], safe='')}")[2]
    assert detail["metadata"] == {"ticket": "7"} and detail["retentionPolicy"]["deleteThreadAfterDays"] == 45
    assert next(m for m in detail["members"] if m["rawId"] == bo)["metadata"] == {"role": "bot"}
    status, _, body = call(app, "POST", "/_emulator/api/threads", {
        "asUser": ana, "topic": "bad", "retentionPolicy": {"kind": "threadCreationDate", "deleteThreadAfterDays": 5}})
    assert status == 400 and "30" in body["error"]["message"]


def test_a_page_waits_only_for_the_topics_it_names(app: InspectorApp) -> None:
    import threading
    import time

    versions = call(app, "GET", "/_emulator/api/wait")[2]
    timer = threading.Timer(0.2, lambda: app.requests.add("GET", "/chat/threads", 200, 1.0))
    timer.start()
    wake_model = threading.Timer(0.6, lambda: app.model.create_identity() and app.live.bump("model"))
    wake_model.start()
    started = time.monotonic()
    after = call(app, "GET", f"/_emulator/api/wait?model={versions['model']}")[2]
    assert time.monotonic() - started >= 0.5  # the request line at 0.2 s did not wake it
    assert after["requests"] == versions["requests"] + 1 and after["model"] > versions["model"]
