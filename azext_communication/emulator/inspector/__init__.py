"""The emulator's own web page (`/_emulator/`): threads, messages, people, events and faults, live, and a way to
chat as any user. `app.InspectorApp` answers its requests; `views` and `actions` read and drive the model;
`guard` checks the host and the key; `live` wakes waiting pages. Static files are under `static/`.
"""

from __future__ import annotations

from .app import PREFIX, InspectorApp, is_inspector_path
from .guard import new_key, own_hosts

__all__ = ["PREFIX", "InspectorApp", "is_inspector_path", "new_key", "own_hosts"]
