"""SEMS+ endpoints: login, the session checks, and the data calls.

Shapes follow the captures in `tests/fixtures/sems-samples/` (login, statistics, S0327,
station flow) and the public clients named in the README for the station detail.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sems_fake_portal import malform, payloads, protocol
from sems_fake_portal.calls import (
    Answer,
    Call,
    PortalError,
    Session,
    days_between,
    is_number,
    json_header,
    positive_int,
    semsplus_failure,
    semsplus_parameter_error,
    wall_range,
)
from sems_fake_portal.model import Station
from sems_fake_portal.simulation import SUPPORTED_SCALES, DayEnergy, sample

if TYPE_CHECKING:
    from sems_fake_portal.server import FakePortal

_EXPIRED_TEXT = "The authorization has expired, please log in again."


def login(portal: FakePortal, call: Call) -> Answer:
    faults = portal.faults
    if faults.login_parameter_error:
        portal.count("login_parameter_error")
        raise semsplus_failure(protocol.PARAMETER_ERROR, "parameter error.", "parameter_error")
    if not json_header(call.headers.get("token")):
        portal.count("missing_token_header")
        raise semsplus_failure(protocol.SYSTEM_ERROR, "system error: token header missing")
    body = call.body_object()
    name, pwd = body.get("account"), body.get("pwd")
    if not isinstance(name, str) or not isinstance(pwd, str) or not name or not pwd:
        raise semsplus_failure(protocol.PARAMETER_ERROR, "parameter error.", "parameter_error")
    account = portal.find_account(name)
    if (
        faults.login_wrong_password
        or account is None
        or not secrets.compare_digest(pwd, protocol.semsplus_password_hash(account.password))
    ):
        portal.count("wrong_password")
        raise semsplus_failure(
            protocol.SEMSPLUS_WRONG_PASSWORD, "user name or password error", "password_error"
        )
    portal.count("logins")
    if faults.login_without_token:
        portal.count("login_without_token")
        data = {"agreement": True, "api": portal.semsplus_api(account.region)}
        return Answer(protocol.semsplus_ok(data, "成功"), protocol.SEMSPLUS_OK)
    session = portal.new_session(account, "semsplus")
    return Answer(protocol.semsplus_ok(dict(session.login_data), "成功"), protocol.SEMSPLUS_OK)


def authenticate(portal: FakePortal, call: Call, region: str | None) -> Session:
    """Check the token header, the region and the signature of a data call."""
    if region is None:  # a data call on the login host, not on the regional gateway
        portal.count("wrong_region")
        raise semsplus_failure(protocol.SEMSPLUS_SESSION_LOST, "account_login_abnormal")
    raw = call.headers.get("token")
    if raw is None:
        portal.count("missing_token_header")
        raise semsplus_failure(protocol.SYSTEM_ERROR, "system error: token header missing")
    header = json_header(raw)
    session = portal.session_for(header.get("token") if header else None, "semsplus")
    if session is None:
        portal.count("session_rejected")
        raise semsplus_failure(protocol.SEMSPLUS_SESSION_LOST, "account_login_abnormal")
    if region != session.account.region:
        portal.count("wrong_region")
        raise semsplus_failure(protocol.SEMSPLUS_SESSION_LOST, "account_login_abnormal")
    if portal.options.require_signature and not _signature_ok(portal, call, session):
        portal.count("signature_rejected")
        raise semsplus_failure(protocol.SEMSPLUS_UNAUTHORIZED, "signature verification failed")
    if portal.expire_if_due(session):
        portal.count("token_expired")
        code = portal.faults.expiry_code
        if code == protocol.AUTH_EXPIRED:
            raise semsplus_failure(code, _EXPIRED_TEXT, "auth_expired")
        raise semsplus_failure(code, "account_login_abnormal")
    return session


def _signature_ok(portal: FakePortal, call: Call, session: Session) -> bool:
    return protocol.signature_accepted(
        call.headers.get("x-signature", ""),
        session.account.uid,
        session.token,
        now=time.time(),
        max_age_seconds=portal.options.signature_max_age_seconds,
    )


def owned_station(session: Session, station_id: Any) -> Station:
    if not isinstance(station_id, str) or not station_id:
        raise semsplus_parameter_error("stationId is missing")
    for station in session.account.stations:
        if station.id == station_id:
            return station
    raise semsplus_failure(
        protocol.SEMSPLUS_NO_PERMISSION, f"no permission for station {station_id}"
    )


def _require_object(call: Call) -> dict[str, Any]:
    if not isinstance(call.body, dict):
        raise semsplus_parameter_error("the request body must be a JSON object")
    return call.body


def power_curve(portal: FakePortal, call: Call, session: Session) -> Answer:
    """statisticsAndPreV2: points of several days, markers and extra items included."""
    body = _require_object(call)
    station = owned_station(session, body.get("stationId"))
    scale = body.get("timeScale", 5)
    if isinstance(scale, str) and scale.isdigit():
        scale = int(scale)
    if isinstance(scale, bool) or scale not in SUPPORTED_SCALES:
        raise semsplus_parameter_error(f"timeScale must be one of {SUPPORTED_SCALES}")
    time_zone = body.get("timeZone")
    if time_zone is not None and not is_number(time_zone):
        raise semsplus_parameter_error("timeZone must be a number of hours")
    start, end = wall_range(body)
    days = days_between(start.date(), end.date())
    limit = portal.options.max_window_days
    if len(days) > limit:
        raise semsplus_parameter_error(f"the window is {len(days)} days; at most {limit} allowed")
    items = body.get("items") or list(payloads.SEMSPLUS_POWER_ITEMS)
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise semsplus_parameter_error("items must be a list of item names")
    sampled = []
    for day in days:
        curve = sample(portal.simulator.curve(station, day), scale)
        sampled.append((curve, portal.uploaded_intervals(station, curve)))
    points_key = portal.options.points_key
    data = payloads.semsplus_power_curve(
        station,
        sampled,
        items,
        points_key=points_key,
        missing_series=portal.options.missing_series,
        markers=portal.options.markers,
    )
    if start.time().isoformat() != "00:00:00" or end.time().isoformat() != "23:59:59":
        low, high = start.isoformat(sep=" "), end.isoformat(sep=" ")
        for entry in data["dataList"]:
            entry[points_key] = [p for p in entry[points_key] if low <= p["tp"] <= high]
    for day in days:
        broken = portal.malformed(call, station, day)
        if broken is not None:
            malform.break_power_curve(data, broken, points_key)
    day_texts = [day.isoformat() for day in days]
    return Answer(protocol.semsplus_ok(data), protocol.SEMSPLUS_OK, station.id, day_texts)


def statistics(portal: FakePortal, call: Call, session: Session) -> Answer:
    """stations/statistics: kWh per day, month or year, integrated from the same curves."""
    body = _require_object(call)
    station = owned_station(session, body.get("stationId"))
    dimension = body.get("dimension")
    if dimension not in ("day", "month", "year"):
        raise PortalError(
            {
                "code": protocol.BAD_STATISTICS_DIMENSION,
                "description": "Statistical dimension parameters are incorrect",
                "traceId": protocol.trace_id(),
            },
            protocol.BAD_STATISTICS_DIMENSION,
        )
    start, end = wall_range(body)
    days = days_between(start.date(), end.date())
    limit = portal.options.max_statistics_days if dimension == "day" else 3660
    if len(days) > limit:
        raise semsplus_parameter_error(f"the range is {len(days)} days; at most {limit} allowed")
    items = body.get("items") or []
    if not isinstance(items, list):
        raise semsplus_parameter_error("items must be a list")
    today = portal.today(station)
    label_of: dict[str, Callable[[Any], str]] = {
        "day": lambda day: day.isoformat(),
        "month": lambda day: day.strftime("%Y-%m"),
        "year": lambda day: str(day.year),
    }
    # A public client reports zeros for day ranges longer than a calendar year.
    all_zero = (
        dimension == "day"
        and portal.options.statistics_zeros_across_years
        and start.year != end.year
    )
    if all_zero:
        portal.count("statistics_zeros_across_years")
        call.applied.append("statistics_zeros_across_years")
    buckets: dict[str, list[DayEnergy]] = {}
    for day in days:
        if day > today:
            break
        energy = portal.day_energy(station, day)
        if all_zero or portal.faults.zero_statistics_on(station.id, day):
            if not all_zero:
                portal.count("zero_statistics")
                call.applied.append(f"zero_statistics:{day}")
            energy = DayEnergy(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        buckets.setdefault(label_of[dimension](day), []).append(energy)
    periods = [
        payloads.PeriodEnergy(label, payloads.sum_energy(energies))
        for label, energies in buckets.items()
    ]
    data = payloads.semsplus_statistics(
        station, periods, items, missing_series=portal.options.missing_series
    )
    for day in days:
        broken = portal.malformed(call, station, day)
        if broken is not None:
            malform.break_statistics(data, broken)
    return Answer(protocol.semsplus_ok(data), protocol.SEMSPLUS_OK, station.id)


def station_list(portal: FakePortal, call: Call, session: Session) -> Answer:
    """portal/stations/page: `current` is 1-based, `size` is capped like real portals do."""
    body = call.body_object()
    current, size = body.get("current", 1), body.get("size", 10)
    if not positive_int(current) or not positive_int(size):
        raise semsplus_parameter_error("current and size must be integers >= 1")
    size = min(size, portal.options.max_page_size)
    stations = session.account.stations
    rows = []
    for station in stations[(current - 1) * size : current * size]:
        today = portal.today(station)
        latest = portal.latest_point(station)
        rows.append(
            payloads.semsplus_station_row(
                station, today, portal.day_energy(station, today), latest["pv"] / 1000
            )
        )
    data = {"dataList": rows, "size": size, "current": current, "total": len(stations)}
    data["extras"] = {}
    return Answer(protocol.semsplus_ok(data), protocol.SEMSPLUS_OK)


def station_detail(portal: FakePortal, call: Call, session: Session) -> Answer:
    """stations/basic/info: stationId in the query (as public clients send it) or body."""
    station_id = call.query.get("stationId") or call.body_object().get("stationId")
    station = owned_station(session, station_id)
    detail = payloads.semsplus_station_detail(station)
    return Answer(protocol.semsplus_ok(detail), protocol.SEMSPLUS_OK, station.id)


def station_flow(portal: FakePortal, call: Call, session: Session) -> Answer:
    """stations/flow: the last uploaded 5-minute point, shaped like the captured flow."""
    station = owned_station(session, call.query.get("stationId"))
    latest = portal.latest_point(station)
    uploaded = datetime.fromtimestamp(latest["utc"] or portal.now.timestamp(), station.zone)
    data: dict[str, Any] = {
        "id": station.id,
        "name": station.name,
        "status": "1",
        "isGoodweInverter": True,
        "pSystem": round(latest["pv"] / 1000, 3),
        "pAc": round((latest["pv"] + latest["battery"]) / 1000, 3),
        "refreshTime": uploaded.replace(tzinfo=None).isoformat(timespec="seconds"),
    }
    if station.has_meter:
        data["pGrid"] = round(latest["grid"] / 1000, 3)
        data["pConsum"] = round(latest["load"] / 1000, 3)
    if station.has_battery:
        data["pBat"] = round(latest["battery"] / 1000, 3)
        data["soc"] = round(latest["soc"])
    return Answer(protocol.semsplus_ok(data), protocol.SEMSPLUS_OK, station.id)


DATA_HANDLERS: dict[str, Callable[[FakePortal, Call, Session], Answer]] = {
    "semsplus.power_curve": power_curve,
    "semsplus.statistics": statistics,
    "semsplus.station_list": station_list,
    "semsplus.station_detail": station_detail,
    "semsplus.station_flow": station_flow,
}
