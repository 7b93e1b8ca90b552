"""The README's bot loop, end to end with real processes: emulator, echo bot, and `az` for every step."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from emulator_process import running_emulator

ROOT = Path(__file__).resolve().parent.parent
AZ = Path(sys.executable).parent / "az"
BOT = ROOT / "examples" / "echo_bot.py"


class Shell:
    """Runs `az` like a user's shell: its own config folder, the checkout as extension, the emulator trusted."""

    def __init__(self, tmp_path: Path, emu) -> None:
        self.cwd = tmp_path
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("AZURE_COMMUNICATION", "ECHO_BOT", "AZURE_CONFIG", "AZURE_EXTENSION"))}
        self.env.pop("PYTHONPATH", None)
        self.env.update(AZURE_CONFIG_DIR=str(tmp_path / "azure"), AZURE_EXTENSION_DEV_SOURCES=str(ROOT),
                        AZURE_CORE_COLLECT_TELEMETRY="no", AZURE_CORE_NO_COLOR="true",
                        AZURE_CORE_ONLY_SHOW_ERRORS="true", REQUESTS_CA_BUNDLE=emu.ca_bundle,
                        AZURE_COMMUNICATION_ENDPOINT=emu.endpoint,
                        AZURE_COMMUNICATION_CONNECTION_STRING=emu.connection_string)

    def az(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        out = subprocess.run([str(AZ), *args], env=self.env, capture_output=True, text=True, timeout=180,
                             cwd=self.cwd)
        if check:
            assert out.returncode == 0, f"az {' '.join(args)}: {out.stderr}"
        return out

    def json(self, *args: str) -> object:
        return json.loads(self.az(*args, "-o", "json").stdout)


@pytest.mark.slow
def test_ping_pong_through_events_and_the_bot(tmp_path: Path) -> None:
    assert AZ.exists(), f"azure-cli is not installed next to {sys.executable}; run `make test`"
    with running_emulator("--event-retry-scale", "0.01",
                          env={"AZURE_COMMUNICATION_EMULATOR_HOME": str(tmp_path / "emu")}) as emu:
        sh = Shell(tmp_path, emu)
        alice = sh.json("communication", "identity", "token", "issue", "--scope", "chat")
        bot = sh.json("communication", "identity", "token", "issue", "--scope", "chat")
        sh.env["AZURE_COMMUNICATION_ACCESS_TOKEN"] = alice["token"]

        bot_log = (tmp_path / "bot.log").open("w+")
        proc = subprocess.Popen([sys.executable, str(BOT), "--port", "0", "--json"], stdout=subprocess.PIPE,
                                stderr=bot_log, text=True,
                                env=dict(sh.env, ECHO_BOT_ACCESS_TOKEN=bot["token"], ECHO_BOT_ENDPOINT=emu.endpoint))
        try:
            ready = json.loads(proc.stdout.readline())
            assert ready["userId"] == bot["user_id"]

            thread = sh.az("communication", "chat", "thread", "create", "--topic", "bot loop", "--user",
                           bot["user_id"], "--query", "chatThread.id", "-o", "tsv").stdout.strip()
            created = sh.json("communication", "emulator", "subscription", "create", "--name", "echo-bot",
                              "--endpoint", ready["url"])
            assert created["name"] == "echo-bot"

            sent = sh.json("communication", "chat", "message", "send", "-t", thread, "--content", "ping")
            reply = sh.json("communication", "chat", "message", "wait", "-t", thread, "--after", sent["id"],
                            "--custom", "contains(content.message,'pong')", "--timeout", "60", "--interval", "0.5")
            assert reply["content"]["message"] == "pong"
            assert reply["senderDisplayName"] == "Echo Bot"
            assert reply["sender"]["rawId"] == bot["user_id"]
            assert reply["metadata"] == {"replyTo": sent["id"]}

            texts = sh.json("communication", "chat", "message", "list", "-t", thread,
                            "--query", "[?type=='text'].content.message")
            assert texts == ["pong", "ping"]  # newest first; exactly one reply

            subs = sh.json("communication", "emulator", "subscription", "show", "--name", "echo-bot")
            assert subs["deadLettered"] == 0 and subs["delivered"] >= 1
        finally:
            proc.terminate()
            assert proc.wait(15) == 0
            proc.stdout.close()
            bot_log.seek(0)
            log = bot_log.read()
            bot_log.close()
        assert "Traceback" not in log and "Request URL" not in log  # its own lines, not the SDK's HTTP log
        assert f"replied 'pong' to message {sent['id']}" in log
        assert alice["token"] not in log and bot["token"] not in log
