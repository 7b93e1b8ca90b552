"""`python -m azext_communication.emulator`."""

from .cli import main

raise SystemExit(main())
