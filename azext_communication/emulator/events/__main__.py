"""`python -m azext_communication.emulator.events '<settings JSON>'`: the delivery process (see deliverer.py)."""

import sys

from .deliverer import main

sys.exit(main())
