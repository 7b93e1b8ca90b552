"""What a new user meets in the first hour, against the live emulator: output a shell line can use, and
failures that are quick and clear."""

from __future__ import annotations

from typing import Any

import pytest
from cli_harness import chat_user, run

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def env(emulator: Any) -> dict[str, str]:
    """Variables of a user with a chat token on the session emulator."""
    return chat_user(emulator)[0]


def _new_user(env: dict[str, str]) -> str:
    created = run("communication", "identity", "user", "create", env=env)
    assert created.exit_code == 0, created
    return created.result["rawId"]


def test_thread_create_tsv_is_just_the_thread_id(env: dict[str, str]) -> None:
    result = run("communication", "chat", "thread", "create", "--topic", "tsv", "-o", "tsv", env=env)
    assert result.exit_code == 0, result
    thread_id = result.stdout.strip()
    assert thread_id.startswith("19:") and thread_id.endswith("@thread.v2") and "\t" not in result.stdout
    shown = run("communication", "chat", "thread", "show", "-t", thread_id, env=env)
    assert shown.exit_code == 0 and shown.result["topic"] == "tsv", shown


def test_thread_create_keeps_its_json_shape_and_query(env: dict[str, str]) -> None:
    result = run("communication", "chat", "thread", "create", "--topic", "json", env=env)
    assert set(result.result) == {"chatThread", "errors"} and result.result["errors"] == []
    queried = run("communication", "chat", "thread", "create", "--topic", "q", "--query", "chatThread.topic",
                  "-o", "tsv", env=env)
    assert queried.stdout.strip() == "q", queried
    table = run("communication", "chat", "thread", "create", "--topic", "table", "-o", "table", env=env)
    assert table.stdout.splitlines()[0].split() == ["Id", "Topic", "CreatedOn"], table


def test_participant_add_prints_the_added_users_in_tsv_and_table(env: dict[str, str]) -> None:
    thread = run("communication", "chat", "thread", "create", "--topic", "add", "-o", "tsv", env=env).stdout.strip()
    first, second = _new_user(env), _new_user(env)
    tsv = run("communication", "chat", "participant", "add", "-t", thread, "--user", first, second, "-o", "tsv",
              env=env)
    assert tsv.exit_code == 0 and tsv.stdout.split() == [first, second], tsv
    third = _new_user(env)
    table = run("communication", "chat", "participant", "add", "-t", thread, "--user", third, "--display-name",
                "Carol", "-o", "table", env=env)
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["User", "DisplayName", "ShareHistoryTime", "Metadata"], table
    assert "Carol" in lines[2] and lines[2].split()[-1] == "all" and third[-8:] in lines[2]
    fourth = _new_user(env)
    as_json = run("communication", "chat", "participant", "add", "-t", thread, "--user", fourth, env=env)
    assert as_json.exit_code == 0 and as_json.result == [] and as_json.stdout.strip() == "[]", as_json
    listed = run("communication", "chat", "participant", "list", "-t", thread, "--query", "[].identifier.rawId",
                 env=env)
    assert {first, second, third, fourth} <= set(listed.result)


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def attempts():
    """Counts what reaches the transport (each retry is one more send)."""
    from unittest import mock

    from azure.core.pipeline.transport import RequestsTransport

    original = RequestsTransport.send
    calls: list[str] = []

    def spy(self, request, **kwargs):
        calls.append(request.method)
        return original(self, request, **kwargs)

    with mock.patch.object(RequestsTransport, "send", spy):
        yield calls


@pytest.mark.parametrize("kind", ["untrusted certificate", "refused connection"])
def test_permanent_connection_failures_are_not_retried_by_chat_or_identity(env, emulator, attempts, kind):
    """azure-core retried these 3 times with back-off for GETs (about 5 s) but never for POSTs: now every
    command gives up at once, with the same one line."""
    if kind == "untrusted certificate":
        target, variables = emulator.endpoint.rstrip("/"), {"REQUESTS_CA_BUNDLE": None, "CURL_CA_BUNDLE": None}
        expected = "TLS verification failed for"
    else:
        target, variables = f"https://127.0.0.1:{_closed_port()}", {}
        expected = "connection refused"
    key = env["AZURE_COMMUNICATION_CONNECTION_STRING"].split("accesskey=", 1)[1]
    commands = {
        "chat GET": ["communication", "chat", "thread", "list", "--endpoint", target],
        "chat POST": ["communication", "chat", "thread", "create", "--topic", "t", "--endpoint", target],
        "identity POST": ["communication", "identity", "user", "create", "--connection-string",
                          f"endpoint={target}/;accesskey={key}"],
    }
    for name, args in commands.items():
        attempts.clear()
        result = run(*args, env={**env, **variables})
        assert result.exit_code == 1 and len(result.error_lines) == 1, (name, result)
        assert expected in result.error_lines[0], (name, result)
        assert len(attempts) == 1, f"{name}: {len(attempts)} attempts"


def test_failures_that_may_heal_are_still_retried():
    from azure.core.exceptions import ServiceRequestError, ServiceResponseError
    from azure.core.pipeline.transport import HttpRequest

    from azext_communication._retry import retry_policy

    policy = retry_policy()

    class Request:
        http_request = HttpRequest("GET", "https://127.0.0.1/chat/threads")

    def retried(error: Exception) -> bool:
        return policy.increment(policy.configure_retries({}), response=Request(), error=error)

    assert retried(ServiceRequestError("Connection aborted.", error=ConnectionResetError(104, "reset")))
    assert retried(ServiceResponseError("Read timed out."))
    assert not retried(ServiceRequestError("x", error=ConnectionRefusedError(111, "Connection refused")))
    assert not retried(ServiceRequestError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"))


def test_connecting_is_bounded_even_without_a_timeout_setting(tmp_path):
    """azure-core waits 300 s to connect to a host that drops packets, and retries GETs three times."""
    from types import SimpleNamespace
    from unittest import mock

    from azext_communication._client_factory import CONNECT_TIMEOUT, _client_options

    cli_ctx = SimpleNamespace(config=SimpleNamespace(config_path=str(tmp_path / "config")), data={},
                              register_event=lambda *a, **k: None)
    with mock.patch.dict("os.environ", {"AZURE_COMMUNICATION_TIMEOUT": ""}), \
            mock.patch("azext_communication._client_factory.skip_arm_transforms"):
        options = _client_options(cli_ctx, "chat", "https://x", {})
        assert options["connection_timeout"] == CONNECT_TIMEOUT <= 10 and "read_timeout" not in options
    with mock.patch.dict("os.environ", {"AZURE_COMMUNICATION_TIMEOUT": "30"}), \
            mock.patch("azext_communication._client_factory.skip_arm_transforms"):
        options = _client_options(cli_ctx, "chat", "https://x", {})
        assert options["connection_timeout"] == options["read_timeout"] == 30


def test_token_output_warns_about_the_secret_only_when_az_is_told_to(env: dict[str, str]) -> None:
    """As the README says: core 2.91 prints the secrets warning only with clients.show_secrets_warning on."""
    quiet = run("communication", "identity", "token", "issue", "--scope", "chat", env=env)
    assert quiet.exit_code == 0 and "secrets" not in quiet.stderr, quiet
    told = run("communication", "identity", "token", "issue", "--scope", "chat",
               env={**env, "AZURE_CLIENTS_SHOW_SECRETS_WARNING": "true"})
    assert told.exit_code == 0 and "the following secrets: token" in told.stderr, told
    assert told.result["token"] not in told.stderr


@pytest.mark.parametrize(("port", "code", "message"), [
    ("99999", 2, "ERROR: --port '99999' is not a port: expected an integer from 0 to 65535 (0 picks a free port)."),
    ("-1", 2, "ERROR: --port '-1' is not a port: expected an integer from 0 to 65535 (0 picks a free port)."),
    ("in use", 1, "ERROR: Could not start the emulator: 127.0.0.1:{port} is already in use (another emulator? "
                  "'az communication emulator status' says; --port 0 picks a free port)"),
])
def test_emulator_start_failures_are_one_line(tmp_path, port: str, code: int, message: str) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        if port == "in use":
            port = str(taken.getsockname()[1])
        result = run("communication", "emulator", "start", "--port", port,
                     env={"AZURE_COMMUNICATION_EMULATOR_HOME": str(tmp_path)})
    assert result.exit_code == code, result
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [message.format(port=port)], result.stderr
    assert "Traceback" not in result.stderr and "stopping" not in result.stderr


@pytest.mark.parametrize("bad", ["0", "-2", "40000000"])
def test_emulator_start_says_a_bad_retention_day_length_in_one_line(tmp_path, bad: str) -> None:
    result = run("communication", "emulator", "start", "--port", "0", "--retention-day-seconds", bad,
                 env={"AZURE_COMMUNICATION_EMULATOR_HOME": str(tmp_path)})
    lines = [line for line in result.stderr.splitlines() if line.strip() and "is in preview" not in line]
    assert result.exit_code == 2 and len(lines) == 1, result
    assert lines[0].startswith("ERROR: Invalid --retention-day-seconds") and "greater than 0" in lines[0]


def test_emulator_status_says_whether_one_runs_for_this_home_and_where(tmp_path) -> None:
    from emulator_process import start_emulator

    home = {"AZURE_COMMUNICATION_EMULATOR_HOME": str(tmp_path)}
    idle = run("communication", "emulator", "status", env=home)
    assert idle.exit_code == 0 and idle.result == {"home": str(tmp_path), "running": False, "emulators": []}, idle
    assert f"No emulator is running for {tmp_path}" in idle.stderr
    emu = start_emulator(env=home)
    try:
        status = run("communication", "emulator", "status", env=home)
        assert status.exit_code == 0 and status.result["running"] is True, status
        [found] = status.result["emulators"]
        assert found["endpoint"].rstrip("/") == emu.endpoint.rstrip("/") and found["pid"] == emu.process.pid
        assert found["exports"][0] == f"export AZURE_COMMUNICATION_ENDPOINT={found['endpoint']}"
        assert found["inspectorUrl"].startswith(f"{found['endpoint'].rstrip('/')}/_emulator/#key=")  # the web page
        record = tmp_path / "running" / f"{emu.process.pid}.json"
        assert record.stat().st_mode & 0o777 == 0o600  # it holds the page's key and the access key
        table = run("communication", "emulator", "status", "-o", "table", env=home)
        assert table.stdout.split()[:4] == ["Endpoint", "Pid", "Data", "StartedOn"], table
        assert emu.access_key not in table.stdout and found["inspectorUrl"] not in table.stdout
    finally:
        emu.stop()
    after = run("communication", "emulator", "status", env=home)
    assert after.result["running"] is False, after
