"""Single source of the extension version (setup.py and the User-Agent read it)."""

VERSION = "1.2.0"
