"""A short soak (12 s, 8 client processes, mixed operations) of an emulator process: no errors, no lost
acknowledged message, RSS growth bounded by what was stored. `scripts/soak.py --seconds 60 --clients 8` is the
full-length run whose figures are in docs/reliability.md."""

from __future__ import annotations

import importlib.util
import sys

from emulator_process import ROOT

SECONDS = 12.0
CLIENTS = 8


def _soak_module():
    spec = importlib.util.spec_from_file_location("soak", ROOT / "scripts" / "soak.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["soak"] = module
    spec.loader.exec_module(module)
    return module


def test_short_soak_no_errors_no_lost_writes_bounded_memory() -> None:
    lines: list[str] = []
    figures = _soak_module().soak(SECONDS, CLIENTS, log=lines.append)
    print("\n" + "\n".join(lines))
    assert figures["errors"] == 0, figures["error_samples"]
    assert figures["lost_writes"] == 0
    assert figures["emulator_alive"] and not figures["traceback_in_log"]
    assert figures["requests"] > 200 * SECONDS  # it was a load, not a trickle (about 1,700/s here)
    assert all(n > 0 for n in figures["operations"].values()), figures["operations"]
    # memory grows with what is stored (about 1.2 KiB per message here), not with the number of requests
    growth_mb = figures["rss_peak_mb"] - figures["rss_before_mb"]
    assert growth_mb < 16 + 4 * figures["acknowledged_messages"] / 1024, figures
