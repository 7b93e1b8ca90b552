"""Make an az dev source in which this checkout is the extension `communication`, wherever the checkout lives.

Why: core names a dev-source extension after the folder that holds its egg-info, so pointing
AZURE_EXTENSION_DEV_SOURCES at a checkout folder called `main` or `p` gives an extension `main` without a
version (`az version` says "Unknown", every `--help` names the folder). This builds
`<target>/communication/` holding links to the checkout's package and egg-info (made if missing), so that
`AZURE_EXTENSION_DEV_SOURCES=<target>` shows `communication` and its version; edits to the checkout take
effect at once, as with any dev source.

Usage: python scripts/dev_source.py [TARGET]   (default: .venv/az-extensions); prints TARGET.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAME = "communication"
PACKAGE = "azext_communication"


def egg_info() -> Path:
    """The checkout's egg-info folder, made with `setup.py egg_info` when there is none."""
    found = sorted(ROOT.glob("*.egg-info"))
    if not found:
        subprocess.run([sys.executable, "setup.py", "--quiet", "egg_info"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        found = sorted(ROOT.glob("*.egg-info"))
    return found[0]


def _link(link: Path, target: Path) -> None:
    """`link` -> `target`, replacing a link (or a stale one) that points elsewhere."""
    if link.is_symlink() and Path(os.readlink(link)) == target:
        return
    if link.is_symlink() or link.is_file():
        link.unlink()
    elif link.exists():
        raise SystemExit(f"error: {link} exists and is not a link; remove it and run this again")
    link.symlink_to(target, target_is_directory=True)


def make_dev_source(target: Path) -> Path:
    """Create or refresh `target/communication/` and return `target` (the value for AZURE_EXTENSION_DEV_SOURCES)."""
    folder = target / NAME
    folder.mkdir(parents=True, exist_ok=True)
    _link(folder / PACKAGE, ROOT / PACKAGE)
    info = egg_info()
    _link(folder / info.name, info)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("target", nargs="?", default=str(ROOT / ".venv" / "az-extensions"),
                        help="folder to use as AZURE_EXTENSION_DEV_SOURCES (default: .venv/az-extensions)")
    args = parser.parse_args(argv)
    print(make_dev_source(Path(args.target).resolve()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
