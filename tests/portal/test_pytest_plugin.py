"""The fixtures the package registers with pytest (entry point `pytest11`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import requests

from sems_fake_portal import DEMO_STATION_ID, FakePortal, make_fleet
from sems_fake_portal.model import Account


def test_fake_portal_fixture_runs_the_demo_on_the_real_clock(fake_portal: FakePortal) -> None:
    health = requests.get(fake_portal.url + "/_fake/health", timeout=5).json()
    assert health["clock"] == "real" and health["stations"] == 1
    assert fake_portal.stations()[0].id == DEMO_STATION_ID


def test_factory_starts_portals_with_other_settings(
    fake_portal_factory: Callable[..., FakePortal],
) -> None:
    fleet = fake_portal_factory(accounts=[Account("a@example.com", "pw", make_fleet(3))])
    pinned = fake_portal_factory(now=datetime(2025, 1, 1, tzinfo=UTC))
    assert fleet.url != pinned.url
    assert len(fleet.stations()) == 3
    assert requests.get(pinned.url + "/_fake/health", timeout=5).json()["clock"] == "fixed"
