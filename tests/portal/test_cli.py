"""The console script as the demo runs it: a subprocess that writes its URL file."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from sems_fake_portal import DEMO_ACCOUNT, DEMO_PASSWORD, DEMO_STATION_ID, station_uuid
from sems_fake_portal.client import Control, SemsPlusSession


def console_script() -> list[str]:
    """The installed `sems-fake-portal` script, next to this interpreter or on PATH."""
    beside = Path(sys.executable).with_name("sems-fake-portal")
    found = str(beside) if beside.exists() else shutil.which("sems-fake-portal")
    assert found, "the sems-fake-portal console script is not installed"
    return [found]


def wait_for(path: Path, process: subprocess.Popen[str], seconds: float = 20) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists():
            return path.read_text(encoding="utf-8").strip()
        if process.poll() is not None:
            raise AssertionError(f"portal exited early: {process.communicate()}")
        time.sleep(0.05)
    raise AssertionError("the URL file did not appear")


class PortalProcesses:
    """Starts the CLI with extra arguments; stops what is left (SIGTERM) afterwards."""

    def __init__(self, url_file: Path) -> None:
        self.url_file = url_file
        self.processes: list[subprocess.Popen[str]] = []

    def start(self, *arguments: str) -> tuple[subprocess.Popen[str], str]:
        process = subprocess.Popen(
            [*console_script(), "--port", "0", "--url-file", str(self.url_file), *arguments],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.processes.append(process)
        return process, wait_for(self.url_file, process)

    def stop_all(self) -> None:
        """Stop what a test left running; each must still exit cleanly on SIGTERM."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                _, stderr = process.communicate(timeout=10)
                assert process.returncode == 0, stderr


@pytest.fixture
def portals(tmp_path: Path) -> Iterator[PortalProcesses]:
    processes = PortalProcesses(tmp_path / "run" / "portal.url")
    yield processes
    processes.stop_all()


def test_cli_serves_the_demo_and_stops_cleanly(portals: PortalProcesses) -> None:
    process, url = portals.start("--stations", "3", "--now", "2026-06-15T14:07:00+00:00")
    assert url.startswith("http://127.0.0.1:")
    health = Control(url).health()
    assert health["stations"] == 3 and health["now"] == "2026-06-15T14:07:00+00:00"
    session = SemsPlusSession(url, DEMO_ACCOUNT, DEMO_PASSWORD)
    assert session.login().json()["code"] == "00000"
    listed = session.post("/sems-plant/api/portal/stations/page", {"current": 1, "size": 10})
    assert listed.json()["data"]["total"] == 3
    process.send_signal(signal.SIGTERM)
    stdout, _ = process.communicate(timeout=10)
    assert process.returncode == 0
    assert f"listening on {url}" in stdout
    assert DEMO_ACCOUNT in stdout and DEMO_PASSWORD in stdout and DEMO_STATION_ID in stdout
    assert not portals.url_file.exists()  # removed on the way out
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/_fake/health", timeout=2)


def test_cli_takes_accounts_options_and_faults_from_a_config(
    portals: PortalProcesses, tmp_path: Path
) -> None:
    config = tmp_path / "portal.json"
    config.write_text(
        json.dumps(
            {
                "accounts": [
                    {
                        "account": "fleet@example.com",
                        "password": "fleet-secret",
                        "stations": [{"name": "Roof", "timezone": "Europe/Vienna"}],
                        "fleet": 4,
                    }
                ],
                "options": {"points_key": "statisticsList"},
                "faults": {"rate_limit_calls": 1},
            }
        ),
        encoding="utf-8",
    )
    process, url = portals.start("--config", str(config), "--max-window-days", "2")
    session = SemsPlusSession(url, "fleet@example.com", "fleet-secret")
    assert session.login().json()["code"] == "00000"
    roof = station_uuid("Roof")
    first = session.post("/sems-plant/api/portal/stations/page", {"current": 1, "size": 10})
    assert first.json()["code"] == "GY0429"
    body = {
        "stationId": roof,
        "items": ["pSystem"],
        "timeScale": 60,
        "startTime": "2026-01-01 00:00:00",
        "endTime": "2026-01-02 23:59:59",
    }
    entry = session.post("/sems-plant/api/v1/hems/power/statisticsAndPreV2", body).json()
    assert "statisticsList" in entry["data"]["dataList"][0]
    too_long = {**body, "endTime": "2026-01-03 23:59:59"}
    assert (
        session.post("/sems-plant/api/v1/hems/power/statisticsAndPreV2", too_long).json()["code"]
        == "100004"
    )
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert "fleet@example.com" in stdout and "fleet-secret" not in stdout


def test_cli_refuses_bad_arguments(tmp_path: Path) -> None:
    result = subprocess.run(
        [*console_script(), "--stations", "0", "--url-file", str(tmp_path / "u")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "--stations" in result.stderr
    assert not (tmp_path / "u").exists()
