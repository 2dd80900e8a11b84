"""What `tap-sems --about` claims, each shown to work: the description, and every capability
not proven elsewhere (state, batch and catalog selection are in test_sync.py and
test_batch.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from typing import Any


def about() -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tap_sems.tap", "--about", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_about_says_it_is_the_goodwe_sems_tap() -> None:
    description = about()["description"]
    # The package's description, which the Meltano plugin definition carries too.
    assert description == metadata.metadata("tap-sems")["Summary"]
    for words in ("GoodWe SEMS portal", "SEMS+", "legacy", "power curve", "daily energy"):
        assert words in description
