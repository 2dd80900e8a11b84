"""Fixtures shared by every test area."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def sems_sample() -> Callable[[str], Any]:
    """Load a real SEMS payload from tests/fixtures/sems-samples (see its README)."""

    def load(name: str) -> Any:
        return json.loads((FIXTURES / "sems-samples" / name).read_text(encoding="utf-8"))

    return load
