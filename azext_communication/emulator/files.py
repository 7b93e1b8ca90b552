"""Private files and folders: the data folder holds the access key, the CA key and Event Grid topic keys
(in `emulator.db`), so what the emulator creates there is readable by its owner only, whatever the umask."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import IO

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def private_folder(path: str | os.PathLike) -> Path:
    """Create `path` (and missing parents) 0700; a folder that already exists keeps the mode its owner gave it."""
    folder = Path(path)
    if folder.is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=FOLDER_MODE)
        os.chmod(folder, FOLDER_MODE)  # mkdir's mode passes through the umask; chmod does not
    return folder


def create_private(path: str | os.PathLike) -> None:
    """Make sure `path` exists and is 0600 before another library (SQLite) opens it: SQLite creates its `-wal`
    and `-shm` files with the mode of the database file."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE))
    with contextlib.suppress(OSError):
        os.chmod(path, FILE_MODE)


def open_private(path: str | os.PathLike, mode: str = "a+", encoding: str | None = None) -> IO:
    """`open(path, mode)` for appending ("a", "a+"), creating the file 0600 (the umask can only narrow it)."""
    if not mode.startswith("a"):
        raise ValueError("open_private appends only")
    flags = (os.O_RDWR if "+" in mode else os.O_WRONLY) | os.O_CREAT | os.O_APPEND
    return os.fdopen(os.open(path, flags, FILE_MODE), mode, encoding=encoding)
