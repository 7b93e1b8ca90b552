"""The test environments install what the wheel declares: a run-time dependency missing from a requirements file
would only show on a fresh machine (the old-az venv of `make test-compat` once lacked wsproto)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Packages every azure-cli brings itself (azure-cli-core depends on them).
FROM_AZ = {"azure-core", "certifi", "cryptography"}


def _names(path: Path) -> set[str]:
    """Distribution names listed in a requirements file (comments and options left out)."""
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[<>=~!\[ ]", line, maxsplit=1)[0].lower())
    return names


def _declared() -> set[str]:
    """The names in setup.py's install_requires."""
    block = re.search(r"DEPENDENCIES = \[(.*?)\]", (ROOT / "setup.py").read_text(), re.S).group(1)
    return {re.split(r"[<>=~!]", item, maxsplit=1)[0].lower() for item in re.findall(r'"([^"]+)"', block)}


def test_the_declared_dependencies_are_known() -> None:
    assert {"azure-communication-chat", "azure-communication-identity", "wsproto"} <= _declared()


def test_every_test_environment_installs_the_declared_dependencies() -> None:
    for name in ("requirements-dev.txt", "requirements-compat.txt"):
        missing = _declared() - FROM_AZ - _names(ROOT / name)
        assert not missing, f"{name} lacks {sorted(missing)}"
