"""pytest fixtures, registered through the `pytest11` entry point.

`fake_portal` is a running portal with the demo account and the real clock;
`fake_portal_factory(**FakePortal kwargs)` starts portals with other accounts, clock or
options, and stops them all after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sems_fake_portal.server import FakePortal


@pytest.fixture
def fake_portal() -> Iterator[FakePortal]:
    with FakePortal() as portal:
        yield portal


@pytest.fixture
def fake_portal_factory() -> Iterator[Callable[..., FakePortal]]:
    started: list[FakePortal] = []

    def start(**kwargs: Any) -> FakePortal:
        portal = FakePortal(**kwargs).start()
        started.append(portal)
        return portal

    yield start
    for portal in started:
        portal.stop()
