"""The control API under /_fake/, for when the portal runs as a separate process.

Not part of any real portal and never recorded in the request log, so a test can read
the log without seeing its own reads.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sems_fake_portal.calls import Call
from sems_fake_portal.model import Station

if TYPE_CHECKING:
    from sems_fake_portal.server import FakePortal

Reply = tuple[int, Any]


def health(portal: FakePortal, call: Call) -> Reply:
    return 200, {
        "status": "ok",
        "url": portal.url,
        "now": portal.now.isoformat(),
        "clock": "fixed" if portal.clock_is_fixed else "real",
        "accounts": len(portal.accounts),
        "stations": len(portal.stations()),
        "requests": len(portal.requests),
    }


def requests_log(portal: FakePortal, call: Call) -> Reply:
    """GET /_fake/requests[?since=SEQ][&endpoint=NAME]: the log, oldest first."""
    try:
        since = int(call.query.get("since") or 0)
    except ValueError:
        return 400, {"error": "since must be an integer sequence number"}
    endpoint = call.query.get("endpoint")
    records = [
        record.to_dict()
        for record in portal.requests
        if record.seq > since and (endpoint is None or record.endpoint == endpoint)
    ]
    return 200, {"count": len(records), "requests": records}


def get_faults(portal: FakePortal, call: Call) -> Reply:
    return 200, portal.faults.to_dict()


def set_faults(portal: FakePortal, call: Call) -> Reply:
    """POST /_fake/faults {setting: value, ...}: changes only the settings named."""
    if not isinstance(call.body, dict):
        return 400, {"error": "POST /_fake/faults takes a JSON object of settings"}
    try:
        portal.update_faults(call.body)
    except ValueError as error:
        return 400, {"error": str(error)}
    return 200, portal.faults.to_dict()


def reset(portal: FakePortal, call: Call) -> Reply:
    """POST /_fake/reset [{"sessions": true}]: clear the log and faults (and sessions)."""
    portal.reset(sessions=bool(call.body_object().get("sessions", False)))
    return 200, {"status": "reset", "faults": portal.faults.to_dict()}


def set_clock(portal: FakePortal, call: Call) -> Reply:
    """POST /_fake/clock {"now": ISO with offset | null}: pin or release the clock."""
    value = call.body_object().get("now")
    try:
        portal.now = datetime.fromisoformat(value) if value else None
    except (TypeError, ValueError) as error:
        return 400, {"error": f"now must be an ISO date-time with an offset: {error}"}
    return 200, {"now": portal.now.isoformat(), "clock": "fixed" if value else "real"}


def stations(portal: FakePortal, call: Call) -> Reply:
    """GET /_fake/stations: accounts (without passwords) and their station specs."""
    return 200, {
        "accounts": [
            {
                "account": account.account,
                "region": account.region,
                "stations": [station_json(station) for station in account.stations],
            }
            for account in portal.accounts
        ]
    }


def station_json(station: Station) -> dict[str, Any]:
    return {
        "id": station.id,
        "name": station.name,
        "timezone": station.timezone,
        "latitude": station.latitude,
        "longitude": station.longitude,
        "capacity_kwp": station.capacity_kwp,
        "battery_kwh": station.battery_kwh,
        "has_meter": station.has_meter,
        "currency": station.currency,
        "address": station.address,
        "exposes_timezone": station.exposes_timezone,
        "created": station.created.isoformat(),
        "exposes_created": station.exposes_created,
    }


ROUTES: dict[tuple[str, str], Callable[[FakePortal, Call], Reply]] = {
    ("GET", "health"): health,
    ("GET", "requests"): requests_log,
    ("GET", "faults"): get_faults,
    ("POST", "faults"): set_faults,
    ("POST", "reset"): reset,
    ("POST", "clock"): set_clock,
    ("GET", "stations"): stations,
}


def handle(portal: FakePortal, call: Call, name: str) -> Reply:
    route = ROUTES.get((call.method, name))
    if route is None:
        return 404, {"error": f"no control endpoint {call.method} /_fake/{name}"}
    return route(portal, call)
