"""`make demo` (scripts/demo.sh) run for real, in a folder of its own: it completes and shows what a user types."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from cli_harness import ROOT

pytestmark = pytest.mark.live


def test_the_demo_shows_the_emulator_lines_thread_variables_and_clean_quotes(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "REQUESTS_CA_BUNDLE", "COLUMNS"))}
    env["DEMO_DIR"] = str(tmp_path / "demo")
    if not (ROOT / ".venv" / "bin" / "az").exists():
        pytest.fail("the demo needs the checkout's .venv (make egg-info)")
    done = subprocess.run(["bash", "scripts/demo.sh"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    out = done.stdout
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Done: every step succeeded" in out
    # the emulator's own lines, not a placeholder (its access key hidden)
    printed = out.split("The emulator printed:", 1)[1].split("\n\n", 1)[0]
    assert "emulator is running on https://127.0.0.1:" in printed and "export REQUESTS_CA_BUNDLE=" in printed
    assert "accesskey=<redacted>" in printed and "printed by the emulator>" not in out
    assert "/_emulator/#key=<redacted>" in printed  # the web page's address, its key hidden too
    assert not re.search(r"#key=(?!<redacted>)", out)
    key = (tmp_path / "demo" / "emulator-home" / "access-key").read_text().strip()
    assert key and key not in out
    # every command shown as typed: the thread as $THREAD, JMESPath in plain double quotes
    commands = [line[2:] for line in out.splitlines() if line.startswith("$ az ")]
    threaded = [c for c in commands if " -t " in c]
    assert len(threaded) >= 15 and all(' -t "$THREAD"' in c for c in threaded), threaded
    assert not any("19:" in c or "BOT_THREAD" in c for c in commands)
    assert not any("'\"'\"'" in c for c in commands), "shell-escaped quotes in a shown command"
    wait = next(c for c in commands if " message wait " in c)
    assert "--custom \"contains(content.message, 'pong')\"" in wait
    assert re.search(r'--query "\{from: senderDisplayName, content: content\.message', wait)
