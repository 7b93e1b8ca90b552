"""Packaging for the `communication` Azure CLI extension (distribution name matches the public one)."""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(r'VERSION = "([^"]+)"', (HERE / "azext_communication" / "_version.py").read_text()).group(1)

# Every package the extension, the emulator and the pytest fixture import at run time (knack and azure-cli-core
# come from the az installation itself; the fixture and the emulator need no az). `az extension add` installs these
# into the extension folder, which core appends to sys.path: where az ships one of them (cryptography, certifi),
# az's own copy is the one imported, so the ranges admit every version az 2.60 and later ship (cryptography 42 is
# the first with `not_valid_before_utc`, used by emulator/certs.py).
DEPENDENCIES = [
    "azure-communication-chat~=1.3.0",
    "azure-communication-identity~=1.5.0",
    "azure-core>=1.29.5",
    "certifi>=2023.7.22",
    "cryptography>=42.0.0",
    "wsproto==1.3.2",  # the emulator's real-time WebSocket (sans-IO, under its own HTTP/1.1 server)
]

CLASSIFIERS = [
    "Development Status :: 5 - Production/Stable",
    "Intended Audience :: Developers",
    "Intended Audience :: System Administrators",
    "Programming Language :: Python :: 3",
    "Programming Language :: Python :: 3.10",
    "Programming Language :: Python :: 3.11",
    "Programming Language :: Python :: 3.12",
]

setup(
    name="communication",
    version=VERSION,
    description="Azure Communication Services chat and identity commands, with a local emulator.",
    long_description=(HERE / "README.md").read_text(encoding="utf-8") + "\n\n" + (HERE / "HISTORY.rst").read_text(),
    long_description_content_type="text/markdown",
    license="MIT",
    author="azext-communication maintainers",
    classifiers=CLASSIFIERS,
    python_requires=">=3.10",
    packages=find_packages(include=["azext_communication", "azext_communication.*"]),
    install_requires=DEPENDENCIES,
    # the emulator's web page is plain files (no build step): HTML, CSS, JavaScript modules and an icon
    package_data={"azext_communication": ["azext_metadata.json", "emulator/inspector/static/*"]},
    # The test helpers' pytest plugin (fixtures acs_emulator, acs_emulator_factory): active wherever the wheel is
    # pip-installed next to pytest; it starts nothing unless a test asks for a fixture.
    entry_points={"pytest11": ["azext_communication.testing = azext_communication.testing"]},
)
