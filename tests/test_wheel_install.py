"""The built wheel installs into a real `az` with `az extension add` and runs against the emulator."""

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


def _version() -> str:
    text = (ROOT / "azext_communication" / "_version.py").read_text()
    return text.split('VERSION = "', 1)[1].split('"', 1)[0]


def _az(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(AZ), *args], env=env, capture_output=True, text=True, timeout=300, cwd=env["HOME"])


@pytest.mark.slow
def test_wheel_installs_into_real_az_and_runs_chat(tmp_path: Path) -> None:
    assert AZ.exists(), f"azure-cli is not installed next to {sys.executable}; run `make test`"
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(dist), str(ROOT)], check=True, timeout=300, cwd=tmp_path)
    wheels = list(dist.glob("*.whl"))
    assert [w.name for w in wheels] == [f"communication-{_version()}-py3-none-any.whl"]

    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AZURE_EXTENSION", "AZURE_COMMUNICATION", "REQUESTS_CA", "AZURE_CONFIG"))}
    env.update(HOME=str(home), AZURE_CONFIG_DIR=str(tmp_path / "config"), AZURE_EXTENSION_DIR=str(tmp_path / "ext"),
               AZURE_CORE_COLLECT_TELEMETRY="no", AZURE_CORE_NO_COLOR="true", AZURE_CORE_ONLY_SHOW_ERRORS="true",
               AZURE_COMMUNICATION_EMULATOR_HOME=str(tmp_path / "emulator-home"))

    added = _az(env, "extension", "add", "--source", str(wheels[0]), "--yes")
    assert added.returncode == 0, added.stderr
    listed = _az(env, "extension", "list", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    [ext] = [e for e in json.loads(listed.stdout) if e["name"] == "communication"]
    assert ext["version"] == _version()
    assert Path(ext["path"]).resolve().is_relative_to((tmp_path / "ext").resolve())

    with running_emulator(env={"AZURE_COMMUNICATION_EMULATOR_HOME": env["AZURE_COMMUNICATION_EMULATOR_HOME"]}) as emu:
        env.update(REQUESTS_CA_BUNDLE=emu.ca_bundle, AZURE_COMMUNICATION_CONNECTION_STRING=emu.connection_string)
        issued = _az(env, "communication", "identity", "token", "issue", "--scope", "chat", "-o", "json")
        assert issued.returncode == 0, issued.stderr
        token = json.loads(issued.stdout)
        assert token["user_id"].startswith("8:acs:")

        env.update(AZURE_COMMUNICATION_ENDPOINT=emu.endpoint, AZURE_COMMUNICATION_ACCESS_TOKEN=token["token"])
        created = _az(env, "communication", "chat", "thread", "create", "--topic", "from the wheel", "-o", "json")
        assert created.returncode == 0, created.stderr
        thread = json.loads(created.stdout)["chatThread"]
        assert thread["topic"] == "from the wheel"

        listed = _az(env, "communication", "chat", "thread", "list", "--query", "[].id", "-o", "tsv")
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout.split() == [thread["id"]]
        assert token["token"] not in listed.stdout + listed.stderr + created.stderr
