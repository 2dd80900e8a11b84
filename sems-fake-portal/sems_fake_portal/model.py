"""Accounts and stations the fake portal knows, and the demo account.

Station ids are UUIDs derived from names, so the same fleet always has the same ids and a
test can name a station before the portal starts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

# Fixed namespace: every id the fake portal makes is uuid5(NAMESPACE, some name).
NAMESPACE = uuid.UUID("5e3a1f0c-6b2d-4c7e-9a51-0d4f6e8b2c17")

DEMO_ACCOUNT = "demo@example.com"
DEMO_PASSWORD = "demo-password"  # published with the demo, protects nothing


def station_uuid(name: str) -> str:
    """Deterministic station id for a name."""
    return str(uuid.uuid5(NAMESPACE, f"station:{name}"))


@dataclass(frozen=True)
class Station:
    """One plant. Frozen so it can key the data caches."""

    id: str
    name: str
    timezone: str = "Europe/Berlin"
    latitude: float = 52.52
    longitude: float = 13.405
    capacity_kwp: float = 6.0
    battery_kwh: float = 0.0
    has_meter: bool = True
    currency: str = "EUR"
    address: str = ""
    # When False the portal's station metadata carries no IANA zone (only the legacy
    # offset), which is what forces a client to ask its user for the zone.
    exposes_timezone: bool = True
    created: date = date(2019, 4, 1)
    # When False the station metadata names no creation or turn-on date.
    exposes_created: bool = True

    def __post_init__(self) -> None:
        try:
            uuid.UUID(self.id)
        except ValueError as error:
            raise ValueError(f"station id {self.id!r} is not a UUID") from error
        ZoneInfo(self.timezone)  # raises ZoneInfoNotFoundError for an unknown zone
        if not -90 <= self.latitude <= 90 or not -180 <= self.longitude <= 180:
            raise ValueError(f"station {self.name!r}: latitude/longitude out of range")
        if self.capacity_kwp <= 0 or self.battery_kwh < 0:
            raise ValueError(f"station {self.name!r}: capacity must be > 0, battery >= 0")

    @property
    def has_battery(self) -> bool:
        return self.battery_kwh > 0

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass
class Account:
    """A portal login and the stations it can see."""

    account: str
    password: str = field(repr=False)
    stations: list[Station] = field(default_factory=list)
    region: str = "eu"

    @property
    def uid(self) -> str:
        return str(uuid.uuid5(NAMESPACE, f"user:{self.account}"))


def demo_station() -> Station:
    """The demo plant: a 6 kWp roof in Berlin with a 10 kWh battery and a meter."""
    return Station(
        id=station_uuid("demo"),
        name="Demo Home Berlin",
        timezone="Europe/Berlin",
        latitude=52.52,
        longitude=13.405,
        capacity_kwp=6.2,
        battery_kwh=10.0,
        has_meter=True,
        currency="EUR",
        address="Musterstrasse 1, 10115 Berlin, Germany",
    )


DEMO_STATION_ID = demo_station().id

# Places the fleet cycles through: zone, latitude, longitude, currency, town.
_FLEET_PLACES = (
    ("Europe/Berlin", 52.52, 13.40, "EUR", "Berlin, Germany"),
    ("Europe/Amsterdam", 52.37, 4.90, "EUR", "Amsterdam, Netherlands"),
    ("Europe/Vienna", 48.21, 16.37, "EUR", "Vienna, Austria"),
    ("Europe/Madrid", 40.42, -3.70, "EUR", "Madrid, Spain"),
    ("Europe/London", 51.51, -0.13, "GBP", "London, United Kingdom"),
    ("Europe/Warsaw", 52.23, 21.01, "PLN", "Warsaw, Poland"),
    ("Australia/Sydney", -33.87, 151.21, "AUD", "Sydney, Australia"),
)


def make_fleet(count: int, *, prefix: str = "fleet") -> list[Station]:
    """`count` varied, deterministic stations.

    Every third has no battery, every fifth no meter, every seventh hides its IANA zone,
    so a fleet test meets each kind of plant.
    """
    if count < 0:
        raise ValueError("count must be >= 0")
    stations = []
    for index in range(count):
        zone, lat, lon, currency, town = _FLEET_PLACES[index % len(_FLEET_PLACES)]
        # Spread plants around the town so no two share exact weather.
        lat += ((index * 37) % 100 - 50) / 200
        lon += ((index * 53) % 100 - 50) / 200
        stations.append(
            Station(
                id=station_uuid(f"{prefix}-{index}"),
                name=f"{prefix.capitalize()} plant {index + 1}",
                timezone=zone,
                latitude=round(lat, 4),
                longitude=round(lon, 4),
                capacity_kwp=round(3.0 + (index * 7 % 25) * 0.5, 1),
                battery_kwh=0.0 if index % 3 == 2 else float(5 + (index % 4) * 2.5),
                has_meter=index % 5 != 4,
                currency=currency,
                address=f"Solarweg {index + 1}, {town}",
                exposes_timezone=index % 7 != 6,
            )
        )
    return stations


def demo_account(extra_stations: int = 0) -> Account:
    """The demo login with the demo plant, plus `extra_stations` fleet plants."""
    return Account(
        account=DEMO_ACCOUNT,
        password=DEMO_PASSWORD,
        stations=[demo_station(), *make_fleet(extra_stations, prefix="demo-fleet")],
    )
