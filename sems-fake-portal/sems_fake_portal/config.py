"""Build a portal from a JSON description (for the CLI and for tests run as processes).

{"now": "2026-06-15T12:00:00+00:00",
 "accounts": [{"account": "a@example.com", "password": "secret", "region": "eu",
               "stations": [{"id": "...", "name": "Roof", "timezone": "Europe/Vienna",
                             "capacity_kwp": 8, "battery_kwh": 0, "has_meter": true}],
               "fleet": 20}],
 "options": {"max_window_days": 7, "points_key": "statisticsList"},
 "faults": {"rate_limit_calls": 2}}
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sems_fake_portal.faults import Faults
from sems_fake_portal.model import Account, Station, make_fleet, station_uuid
from sems_fake_portal.server import FakePortal, PortalOptions

_STATION_FIELDS = {item.name for item in dataclasses.fields(Station)}
_OPTION_FIELDS = {item.name for item in dataclasses.fields(PortalOptions)}


def station_from_json(value: Mapping[str, Any]) -> Station:
    unknown = sorted(set(value) - _STATION_FIELDS)
    if unknown:
        raise ValueError(f"unknown station field(s) {unknown}; known: {sorted(_STATION_FIELDS)}")
    fields = dict(value)
    if "name" not in fields:
        raise ValueError("a station needs a name")
    fields.setdefault("id", station_uuid(str(fields["name"])))
    if isinstance(fields.get("created"), str):
        fields["created"] = date.fromisoformat(fields["created"])
    return Station(**fields)


def account_from_json(value: Mapping[str, Any]) -> Account:
    try:
        name, password = str(value["account"]), str(value["password"])
    except KeyError as error:
        raise ValueError(f"an account needs {error.args[0]!r}") from error
    stations = [station_from_json(station) for station in value.get("stations", [])]
    fleet = value.get("fleet", 0)
    if fleet:
        stations += make_fleet(int(fleet), prefix=name.split("@", 1)[0])
    return Account(name, password, stations, region=str(value.get("region", "eu")))


def portal_from_json(
    value: Mapping[str, Any],
    *,
    accounts: Sequence[Account] | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> FakePortal:
    """A portal as `value` describes it; `accounts` replaces the described ones."""
    if accounts is None:
        accounts = [account_from_json(account) for account in value.get("accounts", [])] or None
    options = dict(value.get("options", {}))
    unknown = sorted(set(options) - _OPTION_FIELDS)
    if unknown:
        raise ValueError(f"unknown option(s) {unknown}; known: {sorted(_OPTION_FIELDS)}")
    faults = Faults()
    faults.update(value.get("faults", {}))
    now = value.get("now")
    return FakePortal(
        accounts,
        now=datetime.fromisoformat(now) if now else None,
        options=PortalOptions(**options),
        faults=faults,
        host=host,
        port=port,
    )
