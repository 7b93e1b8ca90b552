"""`message watch` and `message wait` end to end, live against an in-process emulator.

The emulator runs in this process so that a test can see every request it answers (and on which connection),
inject faults, and move the service's clock; the watch runs through `az` in-process while sender threads post
messages with the SDK.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cli_harness import ROOT, CliResult, run
from emulator_process import in_process_emulator

SENDERS = 8
BURST = 500


@dataclass
class Seen:
    """One request the emulator answered."""

    at: float
    method: str
    path: str
    status: int
    connection: str


@dataclass
class Service:
    emu: object
    user: str
    token: str
    requests: list[Seen] = field(default_factory=list)
    on_request: list[Callable[[Seen], None]] = field(default_factory=list)

    def chat(self):
        from azure.communication.chat import ChatClient, CommunicationTokenCredential

        return ChatClient(self.emu.endpoint, CommunicationTokenCredential(self.token),
                          connection_verify=self.emu.ca_bundle)

    def identity(self):
        from azure.communication.identity import CommunicationIdentityClient

        return CommunicationIdentityClient.from_connection_string(self.emu.connection_string,
                                                                  connection_verify=self.emu.ca_bundle)

    def new_user(self) -> tuple[str, str]:
        user, token = self.identity().create_user_and_token(["chat"])
        return user.raw_id, token.token

    def thread_client(self, thread_id: str, token: str | None = None) -> object:
        from azure.communication.chat import ChatThreadClient, CommunicationTokenCredential

        return ChatThreadClient(self.emu.endpoint, CommunicationTokenCredential(token or self.token), thread_id,
                                connection_verify=self.emu.ca_bundle)

    def thread(self, topic: str = "watch") -> object:
        """A new thread's client (the owner's)."""
        return self.thread_client(self.chat().create_chat_thread(topic).chat_thread.id)

    def message_polls(self, thread_id: str) -> list[Seen]:
        from urllib.parse import quote

        part = f"/chat/threads/{quote(thread_id, safe='')}/messages"
        return [r for r in self.requests if r.method == "GET" and r.path.split("?")[0].endswith(part)]

    def az(self, *args: str, token: str | None = None) -> CliResult:
        return run("communication", "chat", "message", *args, "--endpoint", self.emu.endpoint,
                   "--access-token", token or self.token, env={"REQUESTS_CA_BUNDLE": self.emu.ca_bundle})

    def set_clock(self, offset_ms: int = 0, coarse: bool = False) -> None:
        """Move the service's clock (and, with `coarse`, give whole seconds as the real service does).

        The emulator model reads the wall clock through `records.now_ms`, which reads `records.time.time()`."""
        from azext_communication.emulator.model import records

        records.time = ShiftedTime(offset_ms / 1000, coarse) if offset_ms or coarse else time


class ShiftedTime:
    """The `time` module with a `time()` that is off by `offset` seconds (and whole seconds with `coarse`)."""

    def __init__(self, offset: float, coarse: bool) -> None:
        self.offset, self.coarse = offset, coarse

    def time(self) -> float:
        value = time.time() + self.offset
        return float(int(value)) if self.coarse else value

    def __getattr__(self, name: str) -> object:
        return getattr(time, name)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, az_ready: None) -> Iterator[Service]:
    with in_process_emulator(tmp_path_factory.mktemp("emu-home")) as emu:
        original = emu.app.handle
        svc = Service(emu, "", "")

        def observed(method, raw_target, headers, body):
            answer = original(method, raw_target, headers, body)
            seen = Seen(time.monotonic(), method, raw_target, answer[0], threading.current_thread().name)
            svc.requests.append(seen)
            for hook in list(svc.on_request):
                hook(seen)
            return answer

        emu.app.handle = observed  # every answer, seen from the emulator's side (the thread is the connection)
        svc.user, svc.token = svc.new_user()
        yield svc


@pytest.fixture(autouse=True)
def clean(service: Service) -> Iterator[None]:
    yield
    service.set_clock()
    service.on_request.clear()
    service.emu.app.faults.clear()


def first_poll_answered(service: Service, thread_id: str) -> threading.Event:
    """Set once the watch's first list request has been answered (its starting point is fixed by then)."""
    done = threading.Event()
    start = len(service.requests)

    def hook(seen: Seen) -> None:
        if seen in service.message_polls(thread_id)[:] and service.requests.index(seen) >= start:
            done.set()

    service.on_request.append(hook)
    return done


def in_background(target: Callable[[], None]) -> threading.Thread:
    errors: list[BaseException] = []

    def body() -> None:
        try:
            target()
        except BaseException as ex:  # reported by the test, not lost in the thread
            errors.append(ex)

    thread = threading.Thread(target=body, daemon=True)
    thread.errors = errors  # type: ignore[attr-defined]
    thread.start()
    return thread


def during_command(service: Service, thread_id: str, script: Callable[[], None], *args: str,
                   token: str | None = None) -> CliResult:
    """Run `az communication chat message <args>` while `script` runs in a thread, from the moment the command's
    first list request was answered; the script's own failures fail the test."""
    started = first_poll_answered(service, thread_id)

    def body() -> None:
        assert started.wait(30), "the command never polled"
        script()

    feeder = in_background(body)
    result = service.az(*args, token=token)
    feeder.join(15)
    assert not feeder.is_alive() and not feeder.errors, feeder.errors
    return result


def lines(result: CliResult) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def all_messages(thread_client) -> list:
    return sorted(thread_client.list_messages(results_per_page=200), key=lambda m: int(m.sequence_id))


# ---------------------------------------------------------------------------------------------- no loss, no repeat
def test_watch_prints_each_of_500_concurrent_messages_once_in_order(service: Service):
    service.set_clock(coarse=True)  # whole seconds, like the real service: hundreds of messages share a createdOn
    owner = service.thread("burst")
    tid = owner.thread_id
    marker = owner.send_message("marker").id
    other, _ = service.new_user()
    done = threading.Event()

    def senders() -> None:
        counts = [BURST // SENDERS + (1 if i < BURST % SENDERS else 0) for i in range(SENDERS)]

        def one(i: int) -> None:
            client = service.thread_client(tid)
            for k in range(counts[i]):
                client.send_message(f"sender {i} message {k}", sender_display_name=f"S{i}")
                if i == 0 and k == 20:
                    from azure.communication.chat import ChatParticipant, CommunicationUserIdentifier

                    client.add_participants([ChatParticipant(identifier=CommunicationUserIdentifier(other))])
                if i == 1 and k == 40:
                    client.update_topic("burst (busy)")

        workers = [in_background(lambda i=i: one(i)) for i in range(SENDERS)]
        for w in workers:
            w.join(120)
            assert not w.errors, w.errors
        done.set()

    result = during_command(service, tid, senders, "watch", "-t", tid, "--after", marker, "--interval", "0.5",
                            "--timeout", "12")
    assert done.is_set(), "the senders did not finish within the watch"
    assert result.exit_code == 0 and not result.error_lines, result
    polls = service.message_polls(tid)
    printed = lines(result)
    listed = all_messages(owner)
    marker_seq = next(int(m.sequence_id) for m in listed if m.id == marker)
    expected = [m for m in listed if int(m.sequence_id) > marker_seq]
    assert [p["id"] for p in printed] == [m.id for m in expected]
    assert sum(p["type"] == "text" for p in printed) == BURST
    assert sorted(p["type"] for p in printed if p["type"] != "text") == ["participantAdded", "topicUpdated"]
    seqs = [int(p["sequenceId"]) for p in printed]
    assert seqs == sorted(set(seqs))
    assert len({p["createdOn"] for p in printed}) < len(printed) / 10  # many shared a timestamp
    assert len({p.connection for p in polls}) == 1, "the watch should keep one connection"


@pytest.mark.parametrize("minutes", [10, -10])
def test_a_local_clock_ten_minutes_off_loses_nothing_and_shows_nothing_old(service: Service, minutes: int):
    service.set_clock(offset_ms=minutes * 60_000)  # the service's clock, seen from here: ours is off by as much
    owner = service.thread("skew")
    tid = owner.thread_id
    old = [owner.send_message(f"old {i}").id for i in range(3)]
    from datetime import datetime, timedelta, timezone

    skew = owner.get_message(old[0]).created_on - datetime.now(timezone.utc)
    assert abs(skew - timedelta(minutes=minutes)) < timedelta(seconds=30), skew  # the service's clock is off
    sent: list[str] = []

    def sender() -> None:
        for i in range(20):
            sent.append(owner.send_message(f"new {i}").id)
            time.sleep(0.05)

    result = during_command(service, tid, sender, "watch", "-t", tid, "--interval", "0.5", "--timeout", "4")
    assert result.exit_code == 0, result
    printed = [p["id"] for p in lines(result)]
    assert printed == sent and not set(old) & set(printed)


def test_edits_and_deletions_of_printed_messages_are_not_printed_again(service: Service):
    owner = service.thread("edits")
    tid = owner.thread_id
    marker = owner.send_message("marker").id
    sent: list[str] = []

    def sender() -> None:
        first = owner.send_message("first")
        sent.append(first.id)
        polls = len(service.message_polls(tid))
        wait_until(lambda: len(service.message_polls(tid)) >= polls + 2)  # printed by now
        owner.update_message(first.id, content="first, edited")
        owner.delete_message(first.id)
        sent.append(owner.send_message("second").id)

    result = during_command(service, tid, sender, "watch", "-t", tid, "--after", marker, "--interval", "0.5",
                            "--timeout", "4")
    assert result.exit_code == 0 and not result.error_lines, result
    printed = lines(result)
    assert [p["id"] for p in printed] == sent
    assert printed[0]["content"]["message"] == "first" and printed[0]["deletedOn"] is None


def wait_until(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_closed_pipe_ends_the_watch_quietly(service: Service, tmp_path: Path):
    owner = service.thread("pipe")
    owner.send_message("one")
    proc = subprocess.Popen([sys.executable, "-m", "azure.cli", "communication", "chat", "message", "watch",
                             "-t", owner.thread_id, "--start-time", "2020-01-01", "--interval", "0.5"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env(service, tmp_path),
                            cwd=str(tmp_path))
    first = proc.stdout.readline()
    proc.stdout.close()  # like `| head -n 1` exiting
    assert json.loads(first)["type"] == "participantAdded"
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline:
        owner.send_message("more")  # the next line written meets the closed pipe
        time.sleep(0.5)
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.poll() == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err and "Errno" not in err, err


# ---------------------------------------------------------------------------------------------- faults
def test_throttling_and_failures_slow_the_watch_and_lose_nothing(service: Service):
    owner = service.thread("faults")
    tid = owner.thread_id
    marker = owner.send_message("marker").id
    sent: list[str] = []
    faults = [("429", 2, 1), ("503", 3, 1), ("close", 3, 1)]

    status_of = {"429": 429, "503": 503, "close": 0}  # 0: dropped without an answer

    def sender() -> None:
        for mode, count, retry_after in faults:
            sent.append(owner.send_message(f"before {mode}").id)
            time.sleep(0.6)
            failed = sum(p.status == status_of[mode] for p in service.message_polls(tid))
            service.emu.add_fault(mode, count=count, retry_after=retry_after)
            deadline = time.monotonic() + 10
            while sum(p.status == status_of[mode] for p in service.message_polls(tid)) < failed + count:
                assert time.monotonic() < deadline, f"the watch did not meet the {mode} faults"
                time.sleep(0.05)
            sent.append(owner.send_message(f"after {mode}").id)
            time.sleep(0.6)

    result = during_command(service, tid, sender, "watch", "-t", tid, "--after", marker, "--interval", "0.5",
                            "--timeout", "12")
    assert result.exit_code == 0 and not result.error_lines, result
    assert [p["id"] for p in lines(result)] == sent
    polls = service.message_polls(tid)
    statuses = [p.status for p in polls]
    assert statuses.count(429) == 2 and statuses.count(503) == 3 and statuses.count(0) == 3
    after_429 = [b.at - a.at for a, b in zip(polls, polls[1:], strict=False) if a.status == 429]
    assert after_429 and min(after_429) >= 0.9, after_429  # Retry-After: 1 slowed the next request down


def test_an_outage_longer_than_the_sdk_retries_is_backed_off_and_survived(service: Service):
    owner = service.thread("outage")
    tid = owner.thread_id
    marker = owner.send_message("marker").id
    sent: list[str] = []

    def sender() -> None:
        service.emu.add_fault("503", count=6, retry_after=0)
        sent.append(owner.send_message("through the outage").id)

    result = during_command(service, tid, sender, "watch", "-t", tid, "--after", marker, "--interval", "0.5",
                            "--timeout", "9")
    assert result.exit_code == 0 and not result.error_lines, result
    warnings = [line for line in result.stderr.splitlines() if line.startswith("WARNING") and "preview" not in line]
    assert len(warnings) == 2, result.stderr  # one when it went away, one when it came back: not one per retry
    assert "answered 503; polling on until it is back" in warnings[0] and "is back after" in warnings[1]
    assert [p["id"] for p in lines(result)][-1:] == sent[-1:]


# ---------------------------------------------------------------------------------------------- how a watch ends
def _watch_until(service: Service, tid: str, action: Callable[[], None], token: str | None = None,
                 first: Callable[[], str] | None = None) -> tuple[CliResult, list[str]]:
    sent: list[str] = []

    def script() -> None:
        if first:
            sent.append(first())
        time.sleep(1.2)
        action()

    result = during_command(service, tid, script, "watch", "-t", tid, "--interval", "0.5", "--timeout", "20",
                            token=token)
    return result, sent


def one_error_line(result: CliResult) -> str:
    assert len(result.error_lines) == 1 and "Traceback" not in result.stderr, result
    return result.error_lines[0]


def test_a_revoked_token_ends_the_watch_with_one_line(service: Service):
    user, token = service.new_user()
    chat = service.chat()
    from azure.communication.chat import ChatParticipant, CommunicationUserIdentifier

    tid = chat.create_chat_thread("revoke", thread_participants=[
        ChatParticipant(identifier=CommunicationUserIdentifier(user))]).chat_thread.id
    owner = service.thread_client(tid)
    result, sent = _watch_until(service, tid, lambda: service.identity().revoke_tokens(
        CommunicationUserIdentifier(user)), token=token, first=lambda: owner.send_message("hello").id)
    assert result.exit_code == 1
    assert "access token was refused" in one_error_line(result)
    assert [p["id"] for p in lines(result)] == sent
    assert token not in result.stderr


def test_an_expired_token_ends_the_watch_with_one_line(service: Service):
    owner = service.thread("expiry")
    result, sent = _watch_until(service, owner.thread_id, lambda: service.set_clock(offset_ms=25 * 3600_000),
                                first=lambda: owner.send_message("hello").id)
    assert result.exit_code == 1 and "access token was refused" in one_error_line(result)
    assert [p["id"] for p in lines(result)] == sent


def test_a_deleted_thread_ends_the_watch_with_exit_3(service: Service):
    chat = service.chat()
    tid = chat.create_chat_thread("deleted").chat_thread.id
    result, _ = _watch_until(service, tid, lambda: chat.delete_chat_thread(tid))
    assert result.exit_code == 3
    line = one_error_line(result)
    assert tid in line and "not found" in line


def test_being_removed_from_the_thread_ends_the_watch(service: Service):
    from azure.communication.chat import ChatParticipant, CommunicationUserIdentifier

    user, token = service.new_user()
    chat = service.chat()
    tid = chat.create_chat_thread("removal", thread_participants=[
        ChatParticipant(identifier=CommunicationUserIdentifier(user), display_name="Bob")]).chat_thread.id
    owner = service.thread_client(tid)
    result, _ = _watch_until(service, tid, lambda: owner.remove_participant(CommunicationUserIdentifier(user)),
                             token=token)
    assert result.exit_code == 1
    line = one_error_line(result)
    assert "removed from chat thread" in line and user in line
    printed = lines(result)
    assert printed and printed[-1]["type"] == "participantRemoved"


def cli_env(service: Service, tmp_path: Path) -> dict[str, str]:
    """The environment of an `az` child process talking to the emulator."""
    env = dict(os.environ, REQUESTS_CA_BUNDLE=service.emu.ca_bundle, AZURE_COMMUNICATION_ENDPOINT=service.emu.endpoint,
               AZURE_COMMUNICATION_ACCESS_TOKEN=service.token, AZURE_CORE_COLLECT_TELEMETRY="no",
               AZURE_CONFIG_DIR=str(tmp_path / "az"), AZURE_EXTENSION_DEV_SOURCES=str(ROOT))
    env.pop("PYTHONPATH", None)
    return env


def test_ctrl_c_brings_the_prompt_back_at_once_without_a_traceback(service: Service, tmp_path: Path):
    owner = service.thread("interrupt")
    owner.send_message("already there")
    env = cli_env(service, tmp_path)
    for command in (["watch"], ["wait", "--contains", "never"]):
        before = len(service.message_polls(owner.thread_id))
        proc = subprocess.Popen([sys.executable, "-m", "azure.cli", "communication", "chat", "message", *command,
                                 "-t", owner.thread_id, "--start-time", "2020-01-01", "--interval", "30"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=str(tmp_path), text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(service.message_polls(owner.thread_id)) == before:
            time.sleep(0.05)
        time.sleep(0.5)  # answered and printed: the command now sleeps until its next poll, 30 s away
        proc.send_signal(signal.SIGINT)
        t0 = time.monotonic()
        out, err = proc.communicate(timeout=30)
        took = time.monotonic() - t0
        assert len(service.message_polls(owner.thread_id)) == before + 1, err
        assert took < 5.0, took
        assert "Traceback" not in err and "KeyboardInterrupt" not in err and "ERROR" not in err, err
        assert proc.returncode == 130, (command, proc.returncode, out, err)  # the same documented way for both
        assert ("already there" in out) == (command == ["watch"]) and (out == "") == (command != ["watch"]), out


# ---------------------------------------------------------------------------------------------- wait
def test_wait_returns_the_first_match_even_if_it_came_before_wait_started(service: Service):
    owner = service.thread("wait")
    tid = owner.thread_id
    ping = owner.send_message("ping").id
    owner.send_message("pong 1", sender_display_name="Bot")
    owner.send_message("pong 2", sender_display_name="Bot")
    before = len(service.message_polls(tid))
    result = service.az("wait", "-t", tid, "--after", ping, "--custom",
                        "senderDisplayName=='Bot' && contains(content.message, 'pong')", "--query", "content.message",
                        "-o", "tsv")
    assert result.exit_code == 0 and result.stdout == "pong 1\n", result
    assert len(service.message_polls(tid)) - before == 1


def test_wait_for_a_reply_that_comes_later(service: Service):
    owner = service.thread("wait later")
    tid = owner.thread_id
    ping = owner.send_message("ping").id
    def bot() -> None:
        time.sleep(0.8)
        owner.send_message("thinking", sender_display_name="Bot")
        owner.send_message("the answer is PONG", sender_display_name="Bot")

    result = during_command(service, tid, bot, "wait", "-t", tid, "--after", ping, "--sender", "bot", "--contains",
                            "pong", "--interval", "0.5", "--timeout", "20")
    assert result.exit_code == 0, result
    assert result.result["content"]["message"] == "the answer is PONG"
    assert set(result.result) >= {"id", "type", "sequenceId", "content", "senderDisplayName", "createdOn", "sender"}


def test_wait_without_a_condition_returns_the_next_new_message(service: Service):
    owner = service.thread("wait any")
    tid = owner.thread_id
    owner.send_message("old")  # before the command started: does not count
    sent: list[str] = []

    def someone() -> None:
        time.sleep(0.6)
        sent.append(owner.send_message("next", sender_display_name="Ann").id)
        owner.send_message("after that")

    result = during_command(service, tid, someone, "wait", "-t", tid, "--interval", "0.5", "--timeout", "20")
    assert result.exit_code == 0 and not result.error_lines, result
    assert result.result["id"] == sent[0] and result.result["content"]["message"] == "next"


def test_wait_times_out_with_one_line_and_exit_1(service: Service):
    owner = service.thread("wait timeout")
    owner.send_message("never mind")  # before the command started: does not count
    t0 = time.monotonic()
    result = service.az("wait", "-t", owner.thread_id, "--contains", "never", "--interval", "0.5", "--timeout", "1.5")
    took = time.monotonic() - t0
    assert result.exit_code == 1 and result.stdout == ""
    line = one_error_line(result)
    assert "matched within 1.5 seconds" in line
    assert 1.4 <= took < 6, took


# ---------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("args, fragment", [
    (["watch", "--interval", "0"], "--interval"),
    (["watch", "--interval", "-1"], "--interval"),
    (["watch", "--interval", "soon"], "--interval"),
    (["watch", "--timeout", "-5"], "--timeout"),
    (["watch", "--start-time", "yesterday"], "--start-time"),
    (["watch", "--after", "not-an-id"], "--after"),
    (["watch", "--after", "123", "--start-time", "2024-01-31"], "not both"),
    (["wait", "--custom", "senderDisplayName=='Bot' &&"], "--custom"),
    (["wait", "--custom", "a["], "--custom"),
    (["wait", "--interval", "0", "--contains", "x"], "--interval"),
    (["wait", "--timeout", "-1", "--contains", "x"], "--timeout"),
    (["wait", "--sender", " "], "--sender"),
])
def test_bad_input_exits_2_before_any_request(service: Service, args: list[str], fragment: str):
    before = len(service.requests)
    result = service.az(*args[:1], "-t", "19:abc@thread.v2", *args[1:])
    assert result.exit_code == 2, result
    assert fragment in one_error_line(result)
    assert len(service.requests) == before


@pytest.mark.parametrize("command", [["watch"], ["wait", "--contains", "x"]])
def test_an_unknown_thread_exits_3(service: Service, command: list[str]):
    tid = "19:00000000000000000000000000000000@thread.v2"
    result = service.az(*command, "-t", tid, "--timeout", "5")
    assert result.exit_code == 3
    line = one_error_line(result)
    assert tid in line and "not found" in line


@pytest.mark.parametrize("command", [["watch"], ["wait", "--contains", "x"]])
def test_after_a_message_that_is_not_in_the_thread_exits_3(service: Service, command: list[str]):
    owner = service.thread("after")
    result = service.az(*command, "-t", owner.thread_id, "--after", "1706691600123", "--timeout", "5")
    assert result.exit_code == 3
    line = one_error_line(result)
    assert "1706691600123" in line and "not found" in line


@pytest.mark.parametrize("command", [["watch"], ["wait", "--contains", "x"]])
def test_an_endpoint_that_refuses_connections_fails_at_once(service: Service, command: list[str]):
    t0 = time.monotonic()
    result = run("communication", "chat", "message", *command, "-t", "19:abc@thread.v2", "--endpoint",
                 "https://127.0.0.1:1", "--access-token", service.token,
                 env={"REQUESTS_CA_BUNDLE": service.emu.ca_bundle})
    assert result.exit_code == 1 and "127.0.0.1:1" in one_error_line(result)
    assert time.monotonic() - t0 < 5
