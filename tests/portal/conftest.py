"""Fixtures for the fake portal's tests: a portal on a fixed clock and logged-in clients.

The portal serves the demo account plus two plants the demo lacks: a PV-only roof without
meter (whose metadata hides its IANA zone and its creation date) and a plant with a meter
but no battery.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from sems_fake_portal import (
    DEMO_ACCOUNT,
    DEMO_PASSWORD,
    Account,
    FakePortal,
    Station,
    demo_station,
    station_uuid,
)
from sems_fake_portal.client import LegacySession, SemsPlusSession

# 15 June 2026, 16:07 in Berlin: today is partial, the last upload is 16:00.
FIXED_NOW = datetime(2026, 6, 15, 14, 7, tzinfo=UTC)


@pytest.fixture
def fixed_now() -> datetime:
    return FIXED_NOW


@pytest.fixture
def pv_only_station() -> Station:
    return Station(
        id=station_uuid("test-pv-only"),
        name="PV only Vienna",
        timezone="Europe/Vienna",
        latitude=48.21,
        longitude=16.37,
        capacity_kwp=4.0,
        battery_kwh=0.0,
        has_meter=False,
        exposes_timezone=False,
        exposes_created=False,
    )


@pytest.fixture
def meter_only_station() -> Station:
    return Station(
        id=station_uuid("test-meter-only"),
        name="Meter no battery Hamburg",
        timezone="Europe/Berlin",
        latitude=53.55,
        longitude=9.99,
        capacity_kwp=8.0,
        battery_kwh=0.0,
        has_meter=True,
    )


@pytest.fixture
def account_under_test(pv_only_station: Station, meter_only_station: Station) -> Account:
    return Account(
        DEMO_ACCOUNT, DEMO_PASSWORD, [demo_station(), pv_only_station, meter_only_station]
    )


@pytest.fixture
def portal(
    fake_portal_factory: Callable[..., FakePortal], account_under_test: Account
) -> FakePortal:
    return fake_portal_factory(accounts=[account_under_test], now=FIXED_NOW)


@pytest.fixture
def semsplus(portal: FakePortal) -> SemsPlusSession:
    session = SemsPlusSession(portal.url, DEMO_ACCOUNT, DEMO_PASSWORD)
    assert session.login().json()["code"] == "00000"
    return session


@pytest.fixture
def legacy(portal: FakePortal) -> LegacySession:
    session = LegacySession(portal.url, DEMO_ACCOUNT, DEMO_PASSWORD)
    assert session.login().json()["code"] == 0
    return session
