"""Each fault, set from Python or over HTTP, is served as asked and counted."""

from __future__ import annotations

import json
import re
import time
from datetime import date

import pytest
import requests

from sems_fake_portal import (
    DEMO_ACCOUNT,
    DEMO_PASSWORD,
    DEMO_STATION_ID,
    FakePortal,
    MalformedDay,
)
from sems_fake_portal.client import Control, LegacySession, SemsPlusSession

DAY = date(2026, 6, 10)
STATION_DETAIL = "/sems-plant/api/app/v2/stations/basic/info"


def curve_code(session: SemsPlusSession) -> str:
    return str(session.power_curve(DEMO_STATION_ID, DAY, DAY, scale=60).json()["code"])


@pytest.mark.parametrize("expiry_code", ["C0602", "100002"])
def test_token_expires_after_n_calls_and_a_new_login_fixes_it(
    portal: FakePortal, semsplus: SemsPlusSession, expiry_code: str
) -> None:
    portal.faults.token_expiry_after_calls = 2
    portal.faults.expiry_code = expiry_code
    assert [curve_code(semsplus) for _ in range(2)] == ["00000", "00000"]
    assert curve_code(semsplus) == expiry_code
    assert curve_code(semsplus) == expiry_code  # the old token stays dead
    assert semsplus.login().json()["code"] == "00000"
    assert [curve_code(semsplus) for _ in range(5)] == ["00000"] * 5  # fired once
    assert portal.faults.counts["token_expired"] == 2
    assert portal.faults.token_expiry_after_calls is None


def test_token_expiry_can_repeat(portal: FakePortal, semsplus: SemsPlusSession) -> None:
    portal.faults.update({"token_expiry_after_calls": 1, "token_expiry_repeat": True})
    codes = []
    for _ in range(3):
        codes.append(curve_code(semsplus))
        codes.append(curve_code(semsplus))
        semsplus.login()
    assert codes == ["00000", "C0602"] * 3


def test_legacy_token_expiry_answers_100002(portal: FakePortal, legacy: LegacySession) -> None:
    portal.faults.token_expiry_after_calls = 1
    assert legacy.power_chart(DEMO_STATION_ID, DAY).json()["code"] == "0"
    expired = legacy.power_chart(DEMO_STATION_ID, DAY).json()
    assert expired["code"] == 100002
    assert expired["msg"] == "The authorization has expired, please log in again."
    legacy.login()
    assert legacy.power_chart(DEMO_STATION_ID, DAY).json()["code"] == "0"


def test_expire_sessions_now(portal: FakePortal, semsplus: SemsPlusSession) -> None:
    assert portal.expire_sessions() == 1
    assert curve_code(semsplus) == "C0602"


def test_rate_limit_burst(portal: FakePortal, semsplus: SemsPlusSession) -> None:
    portal.faults.rate_limit_calls = 3
    assert [curve_code(semsplus) for _ in range(4)] == ["GY0429"] * 3 + ["00000"]
    assert portal.faults.counts["rate_limited"] == 3
    assert [r.faults for r in portal.requests_for("semsplus.power_curve")] == [
        ["rate_limited"]
    ] * 3 + [[]]


def test_rate_limit_on_legacy(portal: FakePortal, legacy: LegacySession) -> None:
    portal.faults.rate_limit_calls = 1
    assert legacy.power_chart(DEMO_STATION_ID, DAY).json()["code"] == "GY0429"
    assert legacy.power_chart(DEMO_STATION_ID, DAY).json()["code"] == "0"


def test_server_errors(portal: FakePortal, semsplus: SemsPlusSession) -> None:
    portal.faults.server_error_calls = 2
    portal.faults.server_error_status = 502
    replies = [semsplus.power_curve(DEMO_STATION_ID, DAY, DAY, scale=60) for _ in range(3)]
    assert [reply.status for reply in replies] == [502, 502, 200]
    assert replies[0].content_type.startswith("text/html")
    with pytest.raises(ValueError):
        json.loads(replies[0].body)
    assert portal.faults.counts["server_error"] == 2


def test_slow_replies(portal: FakePortal, semsplus: SemsPlusSession) -> None:
    portal.faults.update({"slow_calls": 1, "slow_seconds": 0.4})
    started = time.perf_counter()
    assert curve_code(semsplus) == "00000"
    assert time.perf_counter() - started >= 0.4  # a lower bound: holds on any host
    assert curve_code(semsplus) == "00000"
    # Only the first call waited: the log says which, however busy the host was.
    slow, fast = portal.requests_for("semsplus.power_curve")
    assert (slow.faults, fast.faults) == (["slow"], [])
    assert slow.duration_ms >= 400
    assert portal.faults.counts["slow"] == 1


def test_slow_reply_trips_a_client_timeout(portal: FakePortal, semsplus: SemsPlusSession) -> None:
    portal.faults.update({"slow_calls": 1, "slow_seconds": 0.5})
    with pytest.raises(requests.Timeout):
        requests.post(
            semsplus.api + "/sems-plant/api/portal/stations/page",
            json={"current": 1, "size": 10},
            headers=semsplus.headers(),
            timeout=0.1,
        )


def test_truncated_json(portal: FakePortal, semsplus: SemsPlusSession) -> None:
    portal.faults.malformed_json_calls = 1
    broken = semsplus.power_curve(DEMO_STATION_ID, DAY, DAY)
    whole = semsplus.power_curve(DEMO_STATION_ID, DAY, DAY)
    assert broken.status == 200
    with pytest.raises(ValueError):
        json.loads(broken.body)

    def without_trace(body: bytes) -> bytes:
        return re.sub(rb'"traceId":"[0-9a-f]+"', b"", body)

    assert without_trace(whole.body).startswith(without_trace(broken.body))
    assert 0 < len(broken.body) < len(whole.body)
    assert portal.faults.counts["malformed_json"] == 1


def test_faults_can_target_one_endpoint(portal: FakePortal, semsplus: SemsPlusSession) -> None:
    portal.faults.update({"rate_limit_calls": 1, "endpoints": ["semsplus.statistics"]})
    assert curve_code(semsplus) == "00000"
    assert semsplus.statistics(DEMO_STATION_ID, DAY, DAY).json()["code"] == "GY0429"
    assert semsplus.statistics(DEMO_STATION_ID, DAY, DAY).json()["code"] == "00000"


def test_malformed_curve_payloads(portal: FakePortal, semsplus: SemsPlusSession) -> None:
    other = date(2026, 6, 11)
    portal.faults.malformed_payloads = [
        MalformedDay(DEMO_STATION_ID, DAY, "missing_time"),
        MalformedDay(DEMO_STATION_ID, other, "non_numeric"),
    ]
    answer = semsplus.power_curve(DEMO_STATION_ID, DAY, other).json()
    pv = answer["data"]["dataList"][0]["powerData"]
    without_time = [p for p in pv if "tp" not in p]
    assert len(without_time) == 1
    index = pv.index(without_time[0])
    assert pv[index - 1]["tp"].startswith(str(DAY))  # the broken point lies in that day
    not_numbers = [p for p in pv if p["power"] == "n/a"]
    assert len(not_numbers) == 1 and not_numbers[0]["tp"].startswith(str(other))
    assert portal.faults.counts["malformed_payload"] == 2
    untouched = semsplus.power_curve(DEMO_STATION_ID, date(2026, 6, 12), date(2026, 6, 12))
    assert all("tp" in p for p in untouched.json()["data"]["dataList"][0]["powerData"])


def test_malformed_data_list_is_not_a_list(portal: FakePortal, semsplus: SemsPlusSession) -> None:
    portal.faults.malformed_payloads = [MalformedDay(DEMO_STATION_ID, DAY, "not_a_list")]
    curve = semsplus.power_curve(DEMO_STATION_ID, DAY, DAY).json()
    statistics = semsplus.statistics(DEMO_STATION_ID, DAY, DAY).json()
    assert isinstance(curve["data"]["dataList"], dict)
    assert isinstance(statistics["data"]["dataList"], dict)


def test_malformed_legacy_chart(portal: FakePortal, legacy: LegacySession) -> None:
    portal.faults.malformed_payloads = [MalformedDay(DEMO_STATION_ID, DAY, "non_numeric")]
    pv = legacy.power_chart(DEMO_STATION_ID, DAY).json()["data"]["lines"][0]["xy"]
    assert [p["y"] for p in pv].count("n/a") == 1
    portal.faults.malformed_payloads = [MalformedDay(DEMO_STATION_ID, DAY, "not_a_list")]
    assert isinstance(legacy.power_chart(DEMO_STATION_ID, DAY).json()["data"]["lines"], dict)


def test_malformed_statistics_entry(portal: FakePortal, semsplus: SemsPlusSession) -> None:
    portal.faults.malformed_payloads = [MalformedDay(DEMO_STATION_ID, DAY, "missing_time")]
    answer = semsplus.statistics(DEMO_STATION_ID, date(2026, 6, 9), date(2026, 6, 11)).json()
    entries = answer["data"]["dataList"][0]["statisticsList"]
    assert [e.get("date") for e in entries] == ["2026-06-09", None, "2026-06-11"]


def test_login_without_token(portal: FakePortal) -> None:
    portal.faults.login_without_token = True
    session = SemsPlusSession(portal.url, DEMO_ACCOUNT, DEMO_PASSWORD)
    answer = session.login().json()
    assert answer["code"] == "00000"
    assert answer["data"] == {"agreement": True, "api": portal.semsplus_api()}
    assert portal.faults.counts["login_without_token"] == 1


def test_login_parameter_error(portal: FakePortal) -> None:
    portal.faults.login_parameter_error = True
    answer = SemsPlusSession(portal.url, DEMO_ACCOUNT, DEMO_PASSWORD).login().json()
    assert answer["code"] == "100004"
    assert answer["translationCode"] == "parameter_error"
    assert set(answer) == {"code", "translationCode", "description", "errorMsg", "traceId"}


def test_wrong_password_fault_refuses_right_credentials(portal: FakePortal) -> None:
    portal.faults.login_wrong_password = True
    assert (
        SemsPlusSession(portal.url, DEMO_ACCOUNT, DEMO_PASSWORD).login().json()["code"] == "A0210"
    )
    assert LegacySession(portal.url, DEMO_ACCOUNT, DEMO_PASSWORD).login().json()["code"] == 100005
    assert portal.faults.counts["wrong_password"] == 2


def test_faults_over_http(portal: FakePortal, semsplus: SemsPlusSession) -> None:
    control = Control(portal.url)
    settings = control.set_faults(
        rate_limit_calls=1,
        malformed_payloads=[
            {"station_id": DEMO_STATION_ID, "day": "2026-06-10", "kind": "non_numeric"}
        ],
    )
    assert settings["rate_limit_calls"] == 1
    assert portal.faults.malformed_payloads == [MalformedDay(DEMO_STATION_ID, DAY, "non_numeric")]
    assert curve_code(semsplus) == "GY0429"
    assert control.faults()["counts"] == {"rate_limited": 1, "logins": 1}
    refused = requests.post(portal.url + "/_fake/faults", json={"rate_limit_calls": -1})
    assert refused.status_code == 400 and "rate_limit_calls" in refused.json()["error"]
    unknown = requests.post(portal.url + "/_fake/faults", json={"explode": True})
    assert unknown.status_code == 400 and "explode" in unknown.json()["error"]
    assert portal.faults.rate_limit_calls == 0  # a refused update changes nothing


def test_fault_settings_are_validated_all_or_nothing(portal: FakePortal) -> None:
    with pytest.raises(ValueError, match="server_error_status"):
        portal.faults.update({"server_error_calls": 3, "server_error_status": 404})
    assert portal.faults.server_error_calls == 0
    with pytest.raises(ValueError, match="kind"):
        portal.faults.update(
            {"malformed_payloads": [{"station_id": "x", "day": "2026-01-01", "kind": "boom"}]}
        )


def test_legacy_login_does_not_use_up_data_faults(portal: FakePortal) -> None:
    portal.faults.rate_limit_calls = 1
    session = LegacySession(portal.url, DEMO_ACCOUNT, DEMO_PASSWORD)
    assert session.login().json()["code"] == 0
    assert portal.faults.rate_limit_calls == 1


@pytest.mark.parametrize(("retry_after", "header"), [(30, "30"), (None, None), ("x", "x")])
def test_rate_limit_answers_carry_retry_after(
    portal: FakePortal, semsplus: SemsPlusSession, retry_after: object, header: str | None
) -> None:
    portal.faults.update({"rate_limit_calls": 1, "rate_limit_retry_after": retry_after})
    body = {"stationId": DEMO_STATION_ID, "startTime": "2026-06-10 00:00:00"}
    reply = requests.post(
        semsplus.api + "/sems-plant/api/v1/hems/power/statisticsAndPreV2",
        json={**body, "endTime": "2026-06-10 23:59:59"},
        headers=semsplus.headers(),
        timeout=10,
    )
    assert reply.json()["code"] == "GY0429"
    assert reply.headers.get("Retry-After") == header


def test_portal_side_errors(portal: FakePortal, semsplus: SemsPlusSession) -> None:
    portal.faults.portal_error_calls = 2
    assert [curve_code(semsplus) for _ in range(3)] == ["B0001", "B0001", "00000"]
    assert portal.faults.counts["portal_error"] == 2


def test_station_faults_hit_one_station_on_every_call(
    portal: FakePortal, semsplus: SemsPlusSession, legacy: LegacySession, meter_only_station
) -> None:
    portal.faults.update(
        {
            "station_faults": [
                {"station_id": DEMO_STATION_ID, "answer": "permission_denied"},
                {
                    "station_id": meter_only_station.id,
                    "answer": "server_error",
                    "endpoints": ["semsplus.power_curve"],
                },
            ]
        }
    )
    for _ in range(3):
        assert curve_code(semsplus) == "100025"
    detail = semsplus.post(f"{STATION_DETAIL}?stationId={DEMO_STATION_ID}", {}).json()
    assert detail["code"] == "100025"
    assert legacy.power_chart(DEMO_STATION_ID, DAY).json()["code"] == 100025
    other = semsplus.power_curve(meter_only_station.id, DAY, DAY, scale=60)
    assert other.status == 500 and b"500 Internal Server Error" in other.body
    statistics = semsplus.statistics(meter_only_station.id, DAY, DAY).json()
    assert statistics["code"] == "00000"  # only the endpoints named
    assert portal.faults.counts["station_permission_denied"] == 5
    assert portal.faults.counts["station_server_error"] == 1
    assert portal.faults.to_dict()["station_faults"][1]["endpoints"] == ["semsplus.power_curve"]
    with pytest.raises(ValueError, match="answer"):
        portal.faults.update({"station_faults": [{"station_id": "x", "answer": "boom"}]})


def statistics_values(reply: dict) -> dict[str, float]:
    production = next(e for e in reply["data"]["dataList"] if e["item"] == "proSystemTotalStats")
    return {entry["date"]: entry["val"] for entry in production["statisticsList"]}


def test_zero_statistics_on_chosen_days(portal: FakePortal, semsplus: SemsPlusSession) -> None:
    portal.faults.update(
        {"zero_statistics": [{"station_id": DEMO_STATION_ID, "day": "2026-06-10"}]}
    )
    values = statistics_values(
        semsplus.statistics(DEMO_STATION_ID, date(2026, 6, 9), date(2026, 6, 11)).json()
    )
    assert values["2026-06-10"] == 0
    assert values["2026-06-09"] > 5 and values["2026-06-11"] > 5
    assert portal.faults.counts["zero_statistics"] == 1


def test_day_statistics_across_calendar_years_answer_zeros(
    portal: FakePortal, semsplus: SemsPlusSession
) -> None:
    across = statistics_values(
        semsplus.statistics(DEMO_STATION_ID, date(2025, 12, 30), date(2026, 1, 2)).json()
    )
    assert set(across) == {"2025-12-30", "2025-12-31", "2026-01-01", "2026-01-02"}
    assert set(across.values()) == {0}
    inside = statistics_values(
        semsplus.statistics(DEMO_STATION_ID, date(2025, 12, 30), date(2025, 12, 31)).json()
    )
    assert all(value > 0 for value in inside.values())
    assert [r.faults for r in portal.requests_for("semsplus.statistics")] == [
        ["statistics_zeros_across_years"],
        [],
    ]
