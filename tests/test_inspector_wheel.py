"""The web page ships in the wheel as it is (no build step): every file under inspector/static/."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "azext_communication" / "emulator" / "inspector" / "static"


def test_the_wheel_contains_the_pages_static_files(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path), str(ROOT)], check=True, cwd=tmp_path, timeout=300)
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = sorted(p.name for p in STATIC.iterdir() if p.is_file())
    assert {"index.html", "main.js", "app.css"} <= set(shipped)
    for name in shipped:
        assert f"azext_communication/emulator/inspector/static/{name}" in names, name
    assert "azext_communication/emulator/inspector/app.py" in names
