"""`az communication emulator subscription create|list|show|delete` against a running emulator and a local
webhook: output shapes, counts, the endpoint's query kept out of output, and one-line errors with exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import pytest
from cli_harness import run
from emulator_process import CHAT_API, EmulatorApi, running_emulator
from webhook_receiver import Receiver, wait_until

pytestmark = pytest.mark.live

P = "Microsoft.Communication."



def test_cli_subscription_commands(tmp_path: Path, az_ready: None) -> None:
    with Receiver() as hook, running_emulator(env={"AZURE_COMMUNICATION_EMULATOR_HOME": str(tmp_path)}) as emu:
        env = {"AZURE_COMMUNICATION_CONNECTION_STRING": emu.connection_string, "REQUESTS_CA_BUNDLE": emu.ca_bundle}
        created = run("communication", "emulator", "subscription", "create", "--name", "cli-bot", "--endpoint",
                      hook.url + "?code=hidden", "--included-event-types", "ChatMessageReceivedInThread",
                      "--max-delivery-attempts", "5", "--event-ttl", "60", env=env)
        assert created.exit_code == 0, created
        assert created.result["name"] == "cli-bot" and created.result["endpointBaseUrl"] == hook.url
        assert created.result["filter"]["includedEventTypes"] == [P + "ChatMessageReceivedInThread"]
        assert created.result["retryPolicy"] == {"maxDeliveryAttempts": 5, "eventTimeToLiveInMinutes": 60}
        assert "hidden" not in created.stdout
        api = EmulatorApi(emu)
        _, token = api.user()
        tid = api.thread(token)
        api.bearer("POST", f"/chat/threads/{quote(tid, safe='')}/messages?{CHAT_API}", token, {"content": "x"})
        hook.wait_for(1)
        listed = run("communication", "emulator", "subscription", "list", env=env)
        assert listed.exit_code == 0 and [s["name"] for s in listed.result] == ["cli-bot"]
        assert wait_until(lambda: run("communication", "emulator", "subscription", "show", "--name", "cli-bot",
                                 env=env).result["delivered"] == 1)
        table = run("communication", "emulator", "subscription", "list", "-o", "table", env=env)
        assert "DeadLettered" in table.stdout and "cli-bot" in table.stdout
        dup = run("communication", "emulator", "subscription", "create", "--name", "cli-bot", "--endpoint", hook.url,
                  env=env)
        assert dup.exit_code == 1 and "already exists" in dup.error_lines[0] and len(dup.error_lines) == 1
        bad_type = run("communication", "emulator", "subscription", "create", "--name", "bad", "--endpoint", hook.url,
                       "--included-event-types", "ChatMessageSent", env=env)
        assert bad_type.exit_code == 2 and "unknown event type 'ChatMessageSent'" in bad_type.error_lines[0]
        for option, value, text in (("--name", "x", "3 to 64 letters"), ("--max-delivery-attempts", "31", "1 and 30"),
                                    ("--event-ttl", "0", "1 and 1440"), ("--endpoint", "ftp://x/y", "http(s) URL"),
                                    ("--event-delivery-schema", "Custom", "allowed values")):
            args = {"--name": "usage", "--endpoint": hook.url, option: value}
            bad = run("communication", "emulator", "subscription", "create",
                      *[x for k, v in args.items() for x in (k, v)], env=env)
            assert bad.exit_code == 2 and len(bad.error_lines) == 1 and text in bad.error_lines[0], bad
        with Receiver(validate=False) as refusing:
            failed = run("communication", "emulator", "subscription", "create", "--name", "refused",
                         "--endpoint", refusing.url, env={**env, "AZURE_COMMUNICATION_TIMEOUT": "60"})
        assert failed.exit_code == 1 and "endpoint validation of subscription 'refused'" in failed.error_lines[0]
        deleted = run("communication", "emulator", "subscription", "delete", "--name", "cli-bot", "--yes", env=env)
        assert deleted.exit_code == 0, deleted
        missing = run("communication", "emulator", "subscription", "show", "--name", "cli-bot", env=env)
        assert missing.exit_code == 3 and "No event subscription named 'cli-bot'" in missing.error_lines[0]
        wrong_key = run("communication", "emulator", "subscription", "list", env={
            **env, "AZURE_COMMUNICATION_CONNECTION_STRING": f"endpoint={emu.endpoint}/;accesskey=a2V5a2V5"})
        assert wrong_key.exit_code == 1 and "refused the access key" in wrong_key.error_lines[0]
        assert "a2V5a2V5" not in wrong_key.stderr
        assert json.dumps(listed.result).count("hidden") == 0
