"""Tab completion of thread and message ids, through az's own completion path (argcomplete), against the live
emulator; a failing lookup completes nothing and prints nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_harness import CONFIG_DIR, ROOT, chat_user, run

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def chat(emulator: Any) -> dict[str, Any]:
    """A user with two threads; the second has two text messages, one deleted message and system messages."""
    env, _ = chat_user(emulator)

    def az(*args: str) -> Any:
        result = run("communication", "chat", *args, env=env)
        assert result.exit_code == 0, result
        return result.result

    threads = [az("thread", "create", "--topic", topic)["chatThread"]["id"] for topic in ("one", "two")]
    kept = [az("message", "send", "-t", threads[1], "--content", text)["id"] for text in ("a", "b")]
    gone = az("message", "send", "-t", threads[1], "--content", "c")["id"]
    az("message", "delete", "-t", threads[1], "--message-id", gone, "--yes")
    return {"env": env, "threads": threads, "messages": kept, "deleted": gone}


def complete(line: str, env: dict[str, str], tmp_path: Path) -> tuple[list[str], str]:
    """What a real `az` offers for `line` (bash asking argcomplete), and what it wrote to stderr."""
    out = tmp_path / "completions"
    full = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_COMMUNICATION")}
    full.update(env)
    full.update(AZURE_CONFIG_DIR=str(CONFIG_DIR), AZURE_EXTENSION_DEV_SOURCES=str(ROOT),
                AZURE_CORE_COLLECT_TELEMETRY="no", _ARGCOMPLETE="1", _ARGCOMPLETE_SHELL="bash",
                COMP_LINE=line, COMP_POINT=str(len(line)), _ARGCOMPLETE_IFS="\n",
                _ARGCOMPLETE_STDOUT_FILENAME=str(out))
    done = subprocess.run([sys.executable, "-m", "azure.cli"], env=full, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return [w.strip() for w in out.read_text().split("\n") if w.strip()], done.stderr


def _only_core_lines(stderr: str) -> bool:
    """argparse's own 'expected one argument' line is all (bash discards stderr while completing anyway)."""
    return all(line.startswith("ERROR: argument ") for line in stderr.splitlines() if line.strip())


def test_thread_ids_complete_from_the_service(chat: dict[str, Any], tmp_path: Path) -> None:
    words, stderr = complete("az communication chat thread show -t ", chat["env"], tmp_path)
    assert set(chat["threads"]) <= set(words) and all(w.startswith("19:") for w in words)
    assert _only_core_lines(stderr), stderr


def test_message_ids_complete_for_the_thread_given(chat: dict[str, Any], tmp_path: Path) -> None:
    thread = chat["threads"][1]
    words, stderr = complete(f"az communication chat message get -t {thread} --message-id ", chat["env"], tmp_path)
    assert words == chat["messages"][::-1], words  # newest first; no deleted nor system message
    prefix = chat["messages"][0][:-1]
    words, _ = complete(f"az communication chat message delete -t {thread} --message-id {prefix}", chat["env"],
                        tmp_path)
    assert chat["messages"][0] in words and all(w.startswith(prefix) for w in words)


@pytest.mark.parametrize("breakage", ["refused endpoint", "expired token", "no token", "unknown thread"])
def test_a_failing_lookup_completes_nothing_and_prints_nothing(chat: dict[str, Any], tmp_path: Path,
                                                               breakage: str) -> None:
    import base64
    import json

    env = dict(chat["env"])
    line = f"az communication chat message get -t {chat['threads'][1]} --message-id "
    if breakage == "refused endpoint":
        env["AZURE_COMMUNICATION_ENDPOINT"] = "https://127.0.0.1:9"
    elif breakage == "expired token":
        payload = base64.urlsafe_b64encode(json.dumps({"exp": 1000}).encode()).decode().rstrip("=")
        env["AZURE_COMMUNICATION_ACCESS_TOKEN"] = f"eyJhbGciOiJIUzI1NiJ9.{payload}.c2ln"
    elif breakage == "no token":
        env["AZURE_COMMUNICATION_ACCESS_TOKEN"] = ""
    else:
        line = "az communication chat message get -t 19:nothere@thread.v2 --message-id "
    words, stderr = complete(line, env, tmp_path)
    assert words == [], words
    assert _only_core_lines(stderr) and "Traceback" not in stderr, stderr
