"""Every fatal error ends the tap's log with one plain line: what went wrong, what to do.

The line is at error level and last, so it is what Meltano shows above "Extractor failed";
no traceback unless TAP_SEMS_LOGLEVEL=debug asks for one.
"""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from sems_fake_portal import (
    DEMO_ACCOUNT,
    DEMO_PASSWORD,
    DEMO_STATION_ID,
    Account,
    FakePortal,
    Station,
    station_uuid,
)

UNKNOWN = "00000000-0000-4000-8000-000000000000"


def last_line(stderr: str) -> str:
    line = stderr.strip().splitlines()[-1]
    assert "| ERROR    |" in line, line
    return line


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("written", ["01.03.2026", "12.01.2026", "2026/03/01", "2026-3-1"])
def test_a_date_not_written_yyyy_mm_dd_stops_before_any_request(
    portal, run_tap, tap_config, written: str
) -> None:
    run = run_tap(tap_config(portal, start_date=written))
    assert run.returncode == 1
    line = last_line(run.stderr)
    assert f"tap-sems stopped: start_date '{written}' is not a date in the form YYYY-MM-DD" in line
    assert "Traceback" not in run.stderr
    assert portal.requests == []


def test_a_start_in_the_future_is_an_error(portal, run_tap, tap_config) -> None:
    future = dt.date.today() + dt.timedelta(days=40)
    run = run_tap(tap_config(portal, start_date=future.isoformat()))
    assert run.returncode == 1
    assert f"start_date {future} is in the future" in last_line(run.stderr)
    assert portal.requests == []


def test_an_unreachable_portal_is_named_by_its_url(run_tap, tap_config, portal) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    run = run_tap({**tap_config(portal, start_date="2026-06-01"), "api_url": url, "max_retries": 1})
    assert run.returncode == 1
    line = last_line(run.stderr)
    assert f"gave up after 2 attempts at {url}/web/sems/sems-user/api/v1/auth/cross-login" in line
    assert "connection failed" in line and "Check the network and the `api_url` setting" in line
    assert "Traceback" not in run.stderr


def test_wrong_password_is_the_last_line(portal, run_tap, tap_config) -> None:
    run = run_tap(tap_config(portal, start_date="2026-06-01", password="wrong-4711"))
    assert run.returncode == 1
    assert "wrong account or password for account 'demo@example.com'" in last_line(run.stderr)
    assert "wrong-4711" not in run.stderr


def test_setting_values_the_tap_does_not_know_are_named(portal, run_tap, tap_config) -> None:
    run = run_tap(
        tap_config(portal, start_date="2026-06-01", backend="semsplus+", interval_minutes=7)
    )
    assert run.returncode == 1
    line = last_line(run.stderr)
    assert "tap-sems stopped: the settings are not valid: 'semsplus+' is not one of" in line
    assert "7 is not one of [1, 5, 10, 15, 30, 60] in config['interval_minutes']" in line
    assert portal.requests == []


@pytest.mark.parametrize("backend", ["semsplus", "legacy"])
def test_an_unknown_station_lists_those_the_account_can_see(run_tap, tap_config, backend) -> None:
    stations = [
        Station(id=DEMO_STATION_ID, name="Demo Home Berlin"),
        Station(id=station_uuid("garage"), name="Garage roof"),
    ]
    with FakePortal([Account(DEMO_ACCOUNT, DEMO_PASSWORD, stations)]) as portal:
        config = tap_config(
            portal,
            backend,
            station_ids=[UNKNOWN],
            start_date="2026-06-01",
            timezone="Europe/Berlin",
        )
        run = run_tap(config)
    assert run.returncode == 1
    line = last_line(run.stderr)
    assert f"Station {UNKNOWN} is not one the account 'demo@example.com' can see" in line
    assert (
        f"The account can see: {DEMO_STATION_ID} (Demo Home Berlin), "
        f"{station_uuid('garage')} (Garage roof)"
    ) in line
    assert "Correct station_ids" in line
    assert run.records("plant_power") == []


def test_an_unexpected_error_is_one_line_and_its_traceback_is_for_debug(
    portal, tap_config, tmp_path: Path
) -> None:
    import json
    import os

    config = tmp_path / "config.json"
    config.write_text(json.dumps(tap_config(portal, start_date="2026-06-01")))
    state = tmp_path / "state.json"
    state.write_text('{"bookmarks": ')  # cut short
    command = [sys.executable, "-m", "tap_sems.tap", "--config", str(config), "--state", str(state)]
    environment = {k: v for k, v in os.environ.items() if "LOGLEVEL" not in k}
    plain = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    assert plain.returncode == 1
    assert "tap-sems stopped on an unexpected error (JSONDecodeError" in last_line(plain.stderr)
    assert "Traceback" not in plain.stderr
    debug = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env={**environment, "TAP_SEMS_LOGLEVEL": "debug"},
        check=False,
    )
    assert debug.returncode == 1
    assert "Traceback" in debug.stderr
    assert "tap-sems stopped on an unexpected error" in last_line(debug.stderr)


def test_a_target_that_stops_reading_is_named_not_called_a_bug(
    portal, tap_config, tmp_path: Path
) -> None:
    import json

    config = tmp_path / "config.json"
    # Two weeks at 5 minutes: far more than a pipe holds, so the tap is still writing.
    two_weeks = tap_config(portal, start_date="2026-06-01", end_date="2026-06-14")
    config.write_text(json.dumps(two_weeks))
    command = [sys.executable, "-m", "tap_sems.tap", "--config", str(config)]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as tap:
        assert tap.stdout is not None and tap.stderr is not None
        tap.stdout.read(1000)  # the target reads a little, then dies
        tap.stdout.close()
        stderr = tap.stderr.read()
    assert tap.returncode == 1
    line = last_line(stderr)
    assert "tap-sems stopped: the program reading its output (the target) stopped" in line
    assert "bug" not in line
    assert "Traceback" not in stderr and "Exception ignored" not in stderr
