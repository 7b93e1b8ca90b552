"""A checkout used as a dev install is the extension `communication`, with its version, wherever it lives, and
the quick start leaves the user with an `az` that has it (`make shell`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from azext_communication._version import VERSION  # noqa: E402

pytestmark = pytest.mark.slow


def _az(args: list[str], tmp_path: Path, dev_sources: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_EXTENSION", "AZURE_COMMUNICATION"))}
    env.update(AZURE_CONFIG_DIR=str(tmp_path / "az"), AZURE_EXTENSION_DEV_SOURCES=str(dev_sources),
               AZURE_EXTENSION_DIR=str(tmp_path / "no-wheels"), AZURE_CORE_COLLECT_TELEMETRY="no",
               AZURE_CORE_ONLY_SHOW_ERRORS="false", AZURE_CORE_NO_COLOR="true")
    return subprocess.run([sys.executable, "-m", "azure.cli", *args], capture_output=True, text=True, env=env,
                          timeout=120, cwd=str(tmp_path))


def test_the_dev_source_names_the_extension_communication_with_its_version(tmp_path: Path) -> None:
    made = subprocess.run([sys.executable, str(ROOT / "scripts" / "dev_source.py"), str(tmp_path / "p")],
                          capture_output=True, text=True, check=True)
    source = Path(made.stdout.strip())
    assert source == (tmp_path / "p").resolve() and (source / "communication" / "azext_communication").is_dir()
    listed = _az(["extension", "list", "-o", "json"], tmp_path, source)
    assert listed.returncode == 0, listed.stderr
    [extension] = json.loads(listed.stdout)
    assert (extension["name"], extension["version"], extension["extensionType"]) == ("communication", VERSION, "dev")
    helped = _az(["communication", "chat", "thread", "list", "--help"], tmp_path, source)
    assert helped.returncode == 0 and "This command is from the following extension: communication" in helped.stderr
    again = subprocess.run([sys.executable, str(ROOT / "scripts" / "dev_source.py"), str(source)],
                           capture_output=True, text=True)
    assert again.returncode == 0, again.stderr  # idempotent: make runs it on every egg-info


def test_pointing_at_the_checkout_itself_names_the_extension_after_its_folder(tmp_path: Path) -> None:
    """Why the script exists: core's rule, checked against core itself."""
    listed = _az(["extension", "list", "-o", "json"], tmp_path, ROOT)
    assert [e["name"] for e in json.loads(listed.stdout)] == [ROOT.name]


@pytest.mark.skipif(shutil.which("make") is None or shutil.which("bash") is None, reason="needs make and bash")
def test_make_shell_gives_an_az_that_has_the_extension(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_EXTENSION", "AZURE_COMMUNICATION"))}
    env.update(SHELL="/bin/bash", AZURE_CONFIG_DIR=str(tmp_path / "az"), AZURE_CORE_COLLECT_TELEMETRY="no",
               HOME=str(tmp_path), VENV=str(Path(sys.prefix)))
    shell = subprocess.run(["make", "-s", "--no-print-directory", "shell"], cwd=str(ROOT), env=env, text=True,
                           input="az extension list --query '[].name' -o tsv\naz communication --help >/dev/null "
                                 "&& echo HELP-OK\nexit\n", capture_output=True, timeout=300)
    assert shell.returncode == 0, shell.stderr[-2000:]
    assert "communication\n" in shell.stdout and "HELP-OK" in shell.stdout, shell.stdout + shell.stderr[-2000:]
    assert "az communication emulator start" in shell.stdout  # the next step
