"""`azext_communication.testing`: the emulator fixture and context manager users put their own code under test with."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from azext_communication.testing import EmulatorRequestError, LocalEmulator, local_emulator

ROOT = Path(__file__).resolve().parent.parent


def _accepts(endpoint: str) -> bool:
    host, port = endpoint.removeprefix("https://").rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except OSError:
        return False


def _emulator_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("acs-emulator") or "process_request" in t.name]


def test_fixture_yields_a_working_emulator(acs_emulator: LocalEmulator) -> None:
    assert acs_emulator.endpoint.startswith("https://127.0.0.1:")
    assert acs_emulator.connection_string == f"endpoint={acs_emulator.endpoint}/;accesskey={acs_emulator.access_key}"
    assert "BEGIN CERTIFICATE" in Path(acs_emulator.ca_bundle).read_text()
    assert Path(acs_emulator.ca_cert).read_text() in Path(acs_emulator.ca_bundle).read_text()
    assert acs_emulator.env() == {"REQUESTS_CA_BUNDLE": acs_emulator.ca_bundle,
                                  "AZURE_COMMUNICATION_ENDPOINT": acs_emulator.endpoint,
                                  "AZURE_COMMUNICATION_CONNECTION_STRING": acs_emulator.connection_string}

    alice = acs_emulator.issue_token()
    assert alice.user_id.startswith("8:acs:") and alice.token.count(".") == 2
    assert alice.token not in repr(alice) and acs_emulator.access_key not in repr(acs_emulator)
    thread = acs_emulator.chat_client(alice).create_chat_thread("fixture").chat_thread.id
    client = acs_emulator.chat_thread_client(alice, thread)
    client.send_message("hello")
    assert [m.content.message for m in client.list_messages() if m.type == "text"] == ["hello"]


def test_tokens_for_existing_users_scopes_and_refusals(acs_emulator: LocalEmulator) -> None:
    user = acs_emulator.create_user()
    issued = acs_emulator.issue_token(user, scopes=["chat", "voip"], expires_in_minutes=60)
    assert issued.user_id == user
    first = acs_emulator.issue_token(user)
    thread = acs_emulator.chat_client(first).create_chat_thread("mine").chat_thread.id
    assert acs_emulator.chat_thread_client(issued, thread).get_properties().topic == "mine"

    with pytest.raises(EmulatorRequestError) as err:
        acs_emulator.issue_token(user, expires_in_minutes=5)  # the service allows 60..1440
    assert "400" in str(err.value) and acs_emulator.access_key not in str(err.value)


def test_every_test_gets_its_own_emulator(acs_emulator: LocalEmulator, acs_emulator_factory) -> None:
    other = acs_emulator_factory(access_key="c2VjcmV0LWtleS1mb3ItdGVzdHM=")
    assert other.endpoint != acs_emulator.endpoint
    assert other.access_key == "c2VjcmV0LWtleS1mb3ItdGVzdHM="
    token = acs_emulator.issue_token()
    acs_emulator.chat_client(token).create_chat_thread("only here")
    from azure.core.exceptions import HttpResponseError

    with pytest.raises(HttpResponseError) as err:  # a token of one emulator means nothing to another
        list(other.chat_client(token).list_chat_threads())
    assert err.value.status_code == 401
    stranger = other.issue_token()
    assert list(other.chat_client(stranger).list_chat_threads()) == []


@pytest.mark.acs_emulator(access_key="bWFya2VyLWtleQ==")
def test_marker_passes_options(acs_emulator: LocalEmulator) -> None:
    assert acs_emulator.access_key == "bWFya2VyLWtleQ=="
    assert acs_emulator.issue_token().user_id.startswith("8:acs:")


def test_context_manager_stops_everything_and_cleans_up(tmp_path: Path) -> None:
    before = set(_emulator_threads())
    with local_emulator() as emu:
        endpoint, home = emu.endpoint, Path(emu.server.folder)
        emu.chat_client(emu.issue_token()).create_chat_thread("t")
        assert _accepts(endpoint) and home.is_dir()
    assert not _accepts(endpoint)
    assert not home.exists()  # its own temporary home is removed
    assert set(_emulator_threads()) <= before

    with pytest.raises(ZeroDivisionError), local_emulator(home=tmp_path) as emu:
        endpoint = emu.endpoint
        emu.issue_token()
        1 / 0  # noqa: B018 - a failing block still stops the emulator
    assert not _accepts(endpoint)
    assert (tmp_path / "ca-bundle.pem").is_file()  # a given home is kept (certificates reused)
    assert set(_emulator_threads()) <= before


def test_persistent_state_with_a_data_dir(tmp_path: Path) -> None:
    with local_emulator(data_dir=tmp_path) as emu:
        token = emu.issue_token()
        thread = emu.chat_client(token).create_chat_thread("kept").chat_thread.id
    with local_emulator(data_dir=tmp_path) as emu:
        assert emu.chat_thread_client(token, thread).get_properties().topic == "kept"


def _run(code: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, *args], input=code, capture_output=True, text=True, timeout=120,
                          cwd=tmp_path, env=env)


def test_ctrl_c_outside_pytest_stops_the_emulator(tmp_path: Path) -> None:
    script = textwrap.dedent("""
        import json, os, signal, socket, sys, threading, time
        from azext_communication.testing import local_emulator
        port = None
        try:
            with local_emulator() as emu:
                port = emu.server.port
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(30)
        except KeyboardInterrupt:
            s = socket.socket(); refused = s.connect_ex(("127.0.0.1", port)) != 0; s.close()
            print(json.dumps({"refused": refused, "threads": [t.name for t in threading.enumerate()],
                              "cli": "azure.cli.core" in sys.modules}))
    """)
    out = _run(script, tmp_path, "-")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report == {"refused": True, "threads": ["MainThread"], "cli": False}


@pytest.mark.parametrize("how", ["failure", "ctrl-c"])
def test_pytest_plugin_tears_down_on_failure_and_ctrl_c(tmp_path: Path, how: str) -> None:
    (tmp_path / "conftest.py").write_text(textwrap.dedent("""
        import json, socket, threading
        seen = {}
        def pytest_unconfigure(config):
            s = socket.socket(); refused = s.connect_ex(("127.0.0.1", seen["port"])) != 0; s.close()
            names = [t.name for t in threading.enumerate() if t.name != "MainThread"]
            with open("report.json", "w") as f:
                json.dump({"refused": refused, "threads": names}, f)
    """))
    interrupt = "os.kill(os.getpid(), signal.SIGINT); time.sleep(30)"
    body = "assert False, 'the test fails'" if how == "failure" else interrupt
    (tmp_path / "test_user.py").write_text(textwrap.dedent(f"""
        import os, signal, time
        from conftest import seen
        def test_bot(acs_emulator):
            seen["port"] = acs_emulator.server.port
            token = acs_emulator.issue_token()
            acs_emulator.chat_client(token).create_chat_thread("user test")
            {body}
    """))
    out = _run("", tmp_path, "-m", "pytest", "-q", "-p", "azext_communication.testing", "-p", "no:cacheprovider",
               "test_user.py")
    assert out.returncode == (1 if how == "failure" else 2), out.stdout + out.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report == {"refused": True, "threads": []}


def test_importing_the_helpers_needs_no_azure_cli(tmp_path: Path) -> None:
    out = _run("import sys, azext_communication.testing, azext_communication.emulator.server\n"
               "print(sorted(m for m in sys.modules if m.startswith(('azure.cli', 'knack'))))", tmp_path, "-")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_core_still_finds_the_command_loader() -> None:
    import azext_communication

    loader = azext_communication.COMMAND_LOADER_CLS
    assert loader.__name__ == "CommunicationCommandsLoader"
    with pytest.raises(AttributeError):
        _ = azext_communication.NO_SUCH_NAME
    assert loader.__module__ == "azext_communication"  # what core's command index records for the extension


# ------------------------------------------------------------------------------------- event subscriptions
def _children() -> list[int]:
    import psutil

    return [p.pid for p in psutil.Process().children(recursive=True)]


def test_subscriptions_deliver_chat_events(tmp_path: Path) -> None:
    from webhook_receiver import Receiver

    before = _children()
    with Receiver() as grid, Receiver() as cloud, local_emulator(
            home=tmp_path, event_retry_scale=0.01,
            subscriptions=[grid.url, {"name": "cloud-only-messages", "endpoint": cloud.url,
                                      "eventDeliverySchema": "CloudEventSchemaV1_0",
                                      "filter": {"includedEventTypes": ["ChatMessageReceivedInThread"]}}]) as emu:
        alice = emu.issue_token()
        thread = emu.chat_client(alice).create_chat_thread("events").chat_thread.id
        emu.chat_thread_client(alice, thread).send_message("hello")
        assert emu.wait_for_deliveries(15)
        types = [e["eventType"] for e in grid.events()]
        assert "Microsoft.Communication.ChatThreadCreated" in types
        assert "Microsoft.Communication.ChatMessageReceivedInThread" in types
        [ce] = cloud.events()
        assert ce["type"] == "Microsoft.Communication.ChatMessageReceivedInThread" and ce["specversion"] == "1.0"
        assert ce["data"]["messageBody"] == "hello" and ce["data"]["threadId"] == thread
        subs = {s["name"]: s for s in emu.subscriptions()}
        assert subs["sub-1"]["delivered"] == len(grid.events()) and subs["cloud-only-messages"]["delivered"] == 1
        assert all(s["deadLettered"] == 0 and s["pending"] == 0 for s in subs.values())

        emu.unsubscribe("sub-1")
        assert [s["name"] for s in emu.subscriptions()] == ["cloud-only-messages"]
        assert _children()  # the emulator delivers from a child process while it runs
    assert _children() == before  # ... which is gone with it


def test_an_unreachable_subscription_is_one_error_and_nothing_keeps_running(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/api/events"
    before_threads, before_children = set(_emulator_threads()), _children()
    with pytest.raises(EmulatorRequestError) as err, local_emulator(home=tmp_path, event_retry_scale=0.01,
                                                                    subscriptions=[dead]):
        pytest.fail("the block must not run")
    message = str(err.value)
    assert "\n" not in message and "EndpointValidationFailed" in message and "sub-1" in message, message
    assert set(_emulator_threads()) <= before_threads and _children() == before_children

    with local_emulator(home=tmp_path) as emu, pytest.raises(EmulatorRequestError, match="InvalidSubscription"):
        emu.subscribe({"name": "x", "endpoint": "ftp://nowhere"})


def test_factory_takes_subscriptions(acs_emulator_factory) -> None:
    from webhook_receiver import Receiver

    with Receiver() as hook:
        emu = acs_emulator_factory(subscriptions=[hook.url], event_retry_scale=0.01)
        alice = emu.issue_token()
        emu.chat_client(alice).create_chat_thread("factory")
        assert emu.wait_for_deliveries(15)
        assert [e["eventType"] for e in hook.events()] == ["Microsoft.Communication.ChatThreadCreated"]
