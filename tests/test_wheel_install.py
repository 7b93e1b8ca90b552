"""The built wheel installs into a real `az` with `az extension add` and runs against the emulator; alone in a
fresh venv (no azure-cli), its pytest fixture and its emulator run with only the dependencies it declares."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
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


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(dist), str(ROOT)], check=True, timeout=300, cwd=dist)
    wheels = list(dist.glob("*.whl"))
    assert [w.name for w in wheels] == [f"communication-{_version()}-py3-none-any.whl"]
    return wheels[0]


@pytest.mark.slow
def test_wheel_installs_into_real_az_and_runs_chat(tmp_path: Path, wheel: Path) -> None:
    assert AZ.exists(), f"azure-cli is not installed next to {sys.executable}; run `make test`"
    wheels = [wheel]

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
    # Its dependencies went into the extension folder (cryptography among them), and core's own still win.
    assert (Path(ext["path"]) / "cryptography").is_dir()
    probe = subprocess.run([sys.executable, "-c", CORE_WINS], env=env, capture_output=True, text=True, timeout=300,
                           cwd=env["HOME"])
    assert probe.returncode == 0, probe.stderr
    loaded = json.loads(probe.stdout)
    assert loaded["extension"] and loaded["in_path"], loaded
    for name in ("cryptography", "certifi", "azure.core"):
        assert not Path(loaded[name]).resolve().is_relative_to(Path(ext["path"]).resolve()), (name, loaded)

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


# Loads the installed extension the way `az` does, then tells where the shared packages come from.
CORE_WINS = """
import json, os, sys
from azure.cli.core import get_default_cli
cli = get_default_cli()
cli.invoke(["communication", "emulator", "status", "-o", "none"])
import azext_communication.emulator.certs, certifi, cryptography, azure.core
ext = os.path.join(os.environ["AZURE_EXTENSION_DIR"], "communication")
print(json.dumps({"extension": azext_communication.emulator.certs.__file__.startswith(ext),
                  "in_path": ext in sys.path, "cryptography": cryptography.__file__, "certifi": certifi.__file__,
                  "azure.core": azure.core.__file__}))
"""

USER_TEST = textwrap.dedent("""
    def test_a_user_thread(acs_emulator):
        alice = acs_emulator.issue_token()
        thread = acs_emulator.chat_client(alice).create_chat_thread("from a fresh venv").chat_thread
        threads = [t.id for t in acs_emulator.chat_client(alice).list_chat_threads()]
        assert threads == [thread.id]
""")


@pytest.mark.slow
def test_wheel_alone_in_a_fresh_venv_runs_the_fixture_and_the_emulator(tmp_path: Path, wheel: Path) -> None:
    """`pip install communication-*.whl pytest` is all a user's test environment needs (no azure-cli)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "AZURE_", "REQUESTS_CA", "VIRTUAL"))}
    env.update(HOME=str(tmp_path / "home"), AZURE_COMMUNICATION_EMULATOR_HOME=str(tmp_path / "emulator-home"))
    pytest_pin = next(line for line in (ROOT / "requirements-dev.txt").read_text().splitlines()
                      if line.startswith("pytest=="))
    installed = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                                str(wheel), pytest_pin], env=env, capture_output=True, text=True, timeout=600,
                               cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr[-3000:]
    no_cli = subprocess.run([str(python), "-c", "import azure.cli.core"], env=env, capture_output=True, cwd=tmp_path)
    assert no_cli.returncode != 0, "azure-cli got into the fresh venv"

    project = tmp_path / "user-project"
    project.mkdir()
    (project / "test_user.py").write_text(USER_TEST)
    ran = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user.py"], env=env,
                         capture_output=True, text=True, timeout=300, cwd=project)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    assert "1 passed" in ran.stdout, ran.stdout

    emu = subprocess.Popen([str(python), "-m", "azext_communication.emulator", "--port", "0", "--json"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        line = emu.stdout.readline()
        assert line, emu.stderr.read() if emu.poll() is not None else "no ready line"
        ready = json.loads(line)
        assert ready["endpoint"].startswith("https://127.0.0.1:")
    finally:
        emu.send_signal(signal.SIGTERM)
        code = emu.wait(30)
        err = emu.stderr.read()
    assert code == 0, err
    assert "Traceback" not in err, err
