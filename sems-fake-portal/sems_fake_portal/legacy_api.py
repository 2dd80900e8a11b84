"""Legacy SEMS endpoints: CrossLogin, the day chart, station detail and station list.

Shapes follow `legacy_login_fail_100005.json`, `legacy_plant_power_chart.json` and the
two monitor-detail captures in `tests/fixtures/sems-samples/`.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from sems_fake_portal import malform, payloads, protocol
from sems_fake_portal.calls import (
    Answer,
    Call,
    PortalError,
    Session,
    days_between,
    json_header,
    legacy_failure,
)
from sems_fake_portal.model import Station

if TYPE_CHECKING:
    from sems_fake_portal.server import FakePortal

_EXPIRED_TEXT = "The authorization has expired, please log in again."
_COMPONENTS = {"para": None, "langVer": 179, "timeSpan": 0, "msgSocketAdr": None}


def login(portal: FakePortal, call: Call) -> Answer:
    header = json_header(call.headers.get("token"))
    if not header or not header.get("version"):
        portal.count("missing_token_header")
        raise legacy_failure(protocol.LEGACY_SYSTEM_ERROR, "ver is not fund")
    body = call.body_object()
    account = portal.find_account(body.get("account"))
    pwd = body.get("pwd")
    if (
        portal.faults.login_wrong_password
        or account is None
        or not isinstance(pwd, str)
        or not secrets.compare_digest(pwd.encode(), account.password.encode())
    ):
        portal.count("wrong_password")
        failure = {
            "hasError": False,
            "code": protocol.LEGACY_WRONG_PASSWORD,
            "msg": "Email or password error.",
            "data": None,
            "components": {**_COMPONENTS, "api": portal.legacy_login_url},
        }
        raise PortalError(failure, protocol.LEGACY_WRONG_PASSWORD)
    portal.count("logins")
    answer: dict[str, Any] = {
        "hasError": False,
        "code": protocol.LEGACY_LOGIN_OK,
        "msg": "",
        "data": None,
        "components": dict(_COMPONENTS),
        "api": portal.legacy_api(account.region),
    }
    if portal.faults.legacy_switched_off:
        portal.count("legacy_switched_off")
        return Answer(answer, protocol.LEGACY_LOGIN_OK)  # answers, but without a token
    answer["data"] = dict(portal.new_session(account, "legacy").login_data)
    return Answer(answer, protocol.LEGACY_LOGIN_OK)


def authenticate(portal: FakePortal, call: Call, region: str | None) -> Session | None:
    """Check the Token header. None: switched off, where monitor detail answers empty."""
    if portal.faults.legacy_switched_off:
        portal.count("legacy_switched_off")
        if call.endpoint == "legacy.monitor_detail":
            return None
        raise legacy_failure(protocol.LEGACY_AUTH_EXPIRED, _EXPIRED_TEXT)
    if region is None:
        portal.count("wrong_region")
        raise legacy_failure(protocol.LEGACY_NO_ACCESS, "No access, please log in.")
    header = json_header(call.headers.get("token"))
    token = header.get("token") if header else None
    if not token:
        portal.count("session_rejected")
        raise legacy_failure(protocol.LEGACY_NO_ACCESS, "No access, please log in.")
    session = portal.session_for(token, "legacy")
    if session is None:
        portal.count("session_rejected")
        raise legacy_failure(protocol.LEGACY_AUTH_EXPIRED, _EXPIRED_TEXT)
    if region != session.account.region:
        portal.count("wrong_region")
        raise legacy_failure(protocol.LEGACY_NO_ACCESS, "No access, please log in.")
    if portal.expire_if_due(session):
        portal.count("token_expired")
        raise legacy_failure(protocol.LEGACY_AUTH_EXPIRED, _EXPIRED_TEXT)
    return session


def owned_station(session: Session, station_id: Any) -> Station:
    if not isinstance(station_id, str) or not station_id:
        raise legacy_failure(protocol.LEGACY_PARAMETER_ERROR, "parameter error.")
    for station in session.account.stations:
        if station.id == station_id:
            return station
    raise legacy_failure(protocol.LEGACY_PARAMETER_ERROR, "The power station does not exist.")


def power_chart(portal: FakePortal, call: Call, session: Session | None) -> Answer:
    """GetPlantPowerChart {id, date, full_script}: one day on the 5-minute grid."""
    assert session is not None
    body = call.body_object()
    station = owned_station(session, body.get("id"))
    try:
        day = date.fromisoformat(str(body.get("date")))
    except ValueError:
        raise legacy_failure(protocol.LEGACY_PARAMETER_ERROR, "parameter error.") from None
    data = portal.legacy_chart_data(station, day)
    broken = portal.malformed(call, station, day)
    if broken is not None:
        malform.break_legacy_chart(data, broken)
    para = json.dumps({"model": {"id": station.id, "date": day.isoformat()}})
    envelope = protocol.legacy_envelope(data, para=para)
    return Answer(envelope, protocol.LEGACY_OK, station.id, [day.isoformat()])


def monitor_detail(portal: FakePortal, call: Call, session: Session | None) -> Answer:
    """GetMonitorDetailByPowerstationId {powerStationId}: metadata and today's KPIs."""
    station_id = call.body_object().get("powerStationId")
    if session is None:  # switched off: success with empty data, as captured
        para = json.dumps({"model": {"PowerStationId": station_id}})
        return Answer(protocol.legacy_envelope({}, msg="操作成功", para=para), protocol.LEGACY_OK)
    station = owned_station(session, station_id)
    today = portal.today(station)
    month = payloads.sum_energy(
        portal.day_energy(station, day) for day in days_between(today.replace(day=1), today)
    )
    data = payloads.legacy_monitor_detail(
        station,
        portal.now.astimezone(station.zone),
        portal.day_energy(station, today),
        month.pv_kwh,
        portal.latest_point(station)["pv"],
    )
    para = json.dumps({"model": {"Version": None, "PowerStationId": station.id}})
    envelope = protocol.legacy_envelope(data, msg="操作成功", para=para)
    return Answer(envelope, protocol.LEGACY_OK, station.id)


def station_list(portal: FakePortal, call: Call, session: Session | None) -> Answer:
    """QueryPowerStationByHistory {}: every station of the account under `list`."""
    assert session is not None
    rows = [payloads.legacy_station_row(station) for station in session.account.stations]
    envelope = protocol.legacy_envelope({"count": len(rows), "list": rows})
    return Answer(envelope, protocol.LEGACY_OK)


DATA_HANDLERS: dict[str, Callable[[FakePortal, Call, Session | None], Answer]] = {
    "legacy.power_chart": power_chart,
    "legacy.monitor_detail": monitor_detail,
    "legacy.station_list": station_list,
}
