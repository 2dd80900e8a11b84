"""tap-sems-diagnose against the fake portal, its redacted bundle, and `tap-sems --test`."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from sems_fake_portal import (
    DEMO_ACCOUNT,
    DEMO_PASSWORD,
    DEMO_STATION_ID,
    Account,
    FakePortal,
    Refusal,
    Station,
    demo_station,
    station_uuid,
)
from tap_sems.redact import Redactor

# The demo roof in Berlin, and a PV-only roof whose station data hides its zone.
HIDDEN_ZONE = Station(
    id=station_uuid("diagnose-vienna"),
    name="Roof of J. Doe",
    timezone="Europe/Vienna",
    battery_kwh=0,
    has_meter=False,
    exposes_timezone=False,
)
ACCOUNT = Account(DEMO_ACCOUNT, DEMO_PASSWORD, [demo_station(), HIDDEN_ZONE])
DAY = "2026-06-10"
DIAGNOSE = [sys.executable, "-m", "tap_sems.diagnose"]


def diagnose(
    config: dict[str, Any], tmp_path: Path, *args: str
) -> tuple[subprocess.CompletedProcess[str], Path]:
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    out = tmp_path / "bundle"
    done = subprocess.run(
        [*DIAGNOSE, "--config", str(config_path), "--out", str(out), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done, out


def bundle_texts(out: Path) -> dict[str, str]:
    return {p.relative_to(out).as_posix(): p.read_text() for p in out.rglob("*") if p.is_file()}


def assert_no_leak(texts: dict[str, str], secrets: list[str]) -> None:
    private = [
        *secrets,
        "Musterstrasse 1",  # the demo plant's street address
        HIDDEN_ZONE.name,  # station names may be their owners' names
        "Demo Home Berlin",
    ]
    leaked = {name: [s for s in private if s in text] for name, text in texts.items()}
    assert {name: found for name, found in leaked.items() if found} == {}
    for name, text in texts.items():
        if name.endswith(".json"):
            for key in ("latitude", "longitude"):
                assert f'"{key}": 5' not in text and f'"{key}": 1' not in text, name


def test_diagnosis_of_an_account(tap_config, tmp_path: Path) -> None:
    with FakePortal([ACCOUNT]) as portal:
        config = tap_config(portal, start_date="2026-01-01", user_agent="house-monitor/2.1")
        done, out = diagnose(config, tmp_path, "--day", DAY)
        secrets = portal.secrets()
        url, gateway = portal.url, portal.semsplus_api("eu")
        user_agents = {r.headers.get("user-agent") for r in portal.requests}
    assert done.returncode == 0, done.stderr
    assert user_agents == {"house-monitor/2.1"}  # the tap's settings, the login included
    summary = json.loads((out / "summary.json").read_text())
    assert summary["useful"] is True
    assert summary["settings"]["user_agent"] == "house-monitor/2.1"
    assert summary["login"] == {
        "generation": "SEMS+",
        "backend": "semsplus",
        "login_host": url,
        "ok": True,
        "region": "eu",
        "gateway": gateway,
    }
    assert summary["visible_stations"] == 2
    demo, hidden = summary["stations"]
    assert (demo["station_id"], demo["timezone"], demo["timezone_from"]) == (
        DEMO_STATION_ID,
        "Europe/Berlin",
        "the portal's station data",
    )
    assert (demo["capacity_kwp"], demo["battery_capacity_kwh"]) == (6.2, 10.0)
    assert demo["name"] == "<station-name-1>"
    assert hidden["timezone"] is None
    assert "Set the `timezone` setting" in hidden["problem"]

    day = summary["days"][0]
    assert (day["station_id"], day["day"], day["zone"]) == (DEMO_STATION_ID, DAY, "Europe/Berlin")
    series = {s["name"]: s for s in day["series"]}
    assert set(series) == {"pSystem", "pConsum", "pBat", "pGrid", "sell", "buy", "soc"}
    assert {s["points"] for s in series.values()} == {288}
    assert {s["interval_minutes"] for s in series.values()} == {5}
    assert series["pSystem"]["unit"] == "kW"
    assert series["pSystem"]["maps_to"] == "pv_power_w"
    assert series["soc"]["maps_to"] == "battery_soc_pct"
    assert series["sell"]["maps_to"].startswith("extra: sell")
    assert series["pSystem"]["markers"] >= 2  # the isCE markers, counted apart
    assert day["records"] == 288
    curve, portal_kwh = day["curve_kwh"], day["portal_kwh"]
    assert portal_kwh["production_kwh"] > 10  # a June day in Berlin
    for name in ("production_kwh", "consumption_kwh"):
        assert curve[name] == pytest.approx(portal_kwh[name], rel=0.02), name
    # The hidden-zone roof is still read, in UTC as a stand-in, and says so.
    assert summary["days"][1]["zone"] == "UTC (stand-in)"
    assert summary["days"][1]["records"] > 0

    texts = bundle_texts(out)
    assert sorted(texts) == sorted(["summary.json", "summary.md", *summary["answers"]])
    assert len(summary["answers"]) == 8  # login, list, and detail, curve, statistics x 2
    assert texts["summary.md"] in done.stdout
    assert "**Result: OK**" in texts["summary.md"]
    login = json.loads(texts["answers/01-semsplus-login.json"])
    assert login["request"]["body"] is None
    assert login["answer"]["data"]["uid"] == "<uid-1>"
    assert login["answer"]["data"]["token"] == "<token-1>"
    assert_no_leak(texts, secrets)


def test_refused_endpoints_are_reported_and_the_rest_read(tap_config, tmp_path: Path) -> None:
    refusals = [
        Refusal("semsplus.statistics", "100004", message="parameter error."),
        Refusal("semsplus.power_curve", "A0312", HIDDEN_ZONE.id, "no permission"),
    ]
    third = Station(id=station_uuid("diagnose-third"), name="Farm of Max Muster")
    account = Account(DEMO_ACCOUNT, DEMO_PASSWORD, [*ACCOUNT.stations, third])
    with FakePortal([account]) as portal:
        portal.faults.refusals = refusals
        config = tap_config(portal, start_date="2026-01-01")
        done, out = diagnose(config, tmp_path, "--day", DAY, "--limit", "2")
        secrets = portal.secrets()
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stations"][2] == {"station_id": third.id, "read": False}
    refused = Counter((r["endpoint"], r["code"], r["message"]) for r in summary["refused"])
    assert refused == {
        ("statistics", "100004", "parameter error."): 2,
        ("power_curve", "A0312", "no permission"): 1,
    }
    demo, hidden = summary["days"]
    assert demo["records"] == 288  # the curve still came
    assert demo["portal_kwh"] == {}
    assert any("statistics" in p and "100004" in p for p in demo["problems"])
    assert hidden["records"] is None
    assert any("A0312" in p for p in hidden["problems"])
    assert "code A0312: no permission" in done.stdout
    assert_no_leak(bundle_texts(out), [*secrets, third.name])


def test_nothing_readable_exits_non_zero(tap_config, tmp_path: Path) -> None:
    with FakePortal([ACCOUNT]) as portal:
        config = tap_config(portal, password="wrong-password-4711")  # no start_date needed
        done, out = diagnose(config, tmp_path)
        secrets = portal.secrets()
    assert done.returncode == 1
    assert "**login failed**" in done.stdout and "wrong account or password" in done.stdout
    assert "NOTHING USEFUL COULD BE READ" in done.stdout
    assert_no_leak(bundle_texts(out), [*secrets, "wrong-password-4711"])


def test_redaction_by_key_and_by_value() -> None:
    redactor = Redactor()
    redactor.secret("account", "Jane.Doe@Example.com")
    redactor.secret("password", "pw1")
    answers = [
        {"data": {"uid": "u-0123456789", "token": "t-abcdef0123456789", "api": "https://x"}},
        {
            "data": {
                "owner": {"mail": "jane.doe@example.com", "phone": "+49 30 123"},
                "stationAddress": "Hauptstr. 5, Berlin",
                "GPS_Lat": 52.5,
                "lng": 13.4,
                "note": "session t-abcdef0123456789 of u-0123456789",
                "weird": "pw1",
                "other": "contact me at someone@else.org",
                "inverters": [{"sn": "GW123456789", "status": 1}],
                "latitude": 0,
                "capacity": 6.2,
            }
        },
    ]
    for answer in answers:
        redactor.learn(answer)
    login, detail = (redactor.redact(answer)["data"] for answer in answers)
    assert login == {"uid": "<uid-1>", "token": "<token-1>", "api": "https://x"}
    assert detail == {
        "owner": {"mail": "<account-1>", "phone": "<personal-1>"},
        "stationAddress": "<address-1>",
        "GPS_Lat": "<latitude-1>",
        "lng": "<longitude-1>",
        "note": "session <token-1> of <uid-1>",  # the same value, the same placeholder
        "weird": "<password-1>",
        "other": "contact me at <email-1>",
        "inverters": [{"sn": "<serial-1>", "status": 1}],
        "latitude": 0,  # "no coordinates" reveals nothing
        "capacity": 6.2,
    }
    text = redactor.text("logged in as 'JANE.DOE@example.com' (t-abcdef0123456789)")
    assert text == "logged in as '<account-1>' (<token-1>)"
    assert redactor.leaks(text) == []
    assert redactor.leaks("t-abcdef0123456789") == ["<token-1>"]


def test_connection_test_reads_one_record_per_stream_without_errors(tap_config, tmp_path) -> None:
    with FakePortal([ACCOUNT]) as portal:
        config_path = tmp_path / "config.json"
        config_path.write_text(json.dumps(tap_config(portal, start_date="2026-01-01")))
        done = subprocess.run(
            [sys.executable, "-m", "tap_sems.tap", "--config", str(config_path), "--test"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        served = Counter(record.endpoint for record in portal.requests)
    assert done.returncode == 0, done.stderr
    assert "ERROR" not in done.stderr
    messages = [json.loads(line) for line in done.stdout.splitlines()]
    records = Counter(m["stream"] for m in messages if m["type"] == "RECORD")
    assert records == {"stations": 1, "plant_power": 1, "daily_energy": 1}
    # One window of each: the dry run stops asking once it has its record.
    assert served["semsplus.power_curve"] == served["semsplus.statistics"] == 1
    assert served["semsplus.station_detail"] == 1
