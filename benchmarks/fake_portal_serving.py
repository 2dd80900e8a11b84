"""How fast the fake portal serves SEMS+ curve windows (cold cache, then warm).

The tap's backfill benchmark pulls a station-year through this server, so the portal's
share of that time must stay small: a 7-day window at 5 minutes should take well under
100 ms. Prints figures; asserts nothing.
"""

from __future__ import annotations

import json
import statistics
import time
from datetime import UTC, date, datetime, timedelta

import requests

from sems_fake_portal import (
    DEMO_ACCOUNT,
    DEMO_PASSWORD,
    DEMO_STATION_ID,
    FakePortal,
    semsplus_password_hash,
    semsplus_signature,
)
from sems_fake_portal.client import SEMSPLUS_BOOTSTRAP_TOKEN

YEAR = 2025
WINDOW_DAYS = 7
SCALE = 5


def login(session: requests.Session, portal: FakePortal) -> dict[str, str]:
    answer = session.post(
        portal.semsplus_login_url,
        json={
            "account": DEMO_ACCOUNT,
            "pwd": semsplus_password_hash(DEMO_PASSWORD),
            "agreement": 1,
            "isChinese": False,
            "isLocal": False,
        },
        headers={"token": json.dumps(SEMSPLUS_BOOTSTRAP_TOKEN)},
        timeout=10,
    ).json()
    return answer["data"]


def fetch_window(
    session: requests.Session, login_data: dict[str, str], first: date, last: date
) -> tuple[float, int, int]:
    """(seconds, response bytes, real points) for one curve window."""
    milliseconds = int(time.time() * 1000)
    headers = {
        "token": json.dumps(login_data),
        "X-Signature": semsplus_signature(milliseconds, login_data["uid"], login_data["token"]),
    }
    body = {
        "stationId": DEMO_STATION_ID,
        "items": ["pSystem", "pConsum", "pGrid", "pBat", "soc"],
        "timeScale": SCALE,
        "timeZone": 1,
        "startTime": f"{first} 00:00:00",
        "endTime": f"{last} 23:59:59",
    }
    started = time.perf_counter()
    response = session.post(
        login_data["api"] + "/sems-plant/api/v1/hems/power/statisticsAndPreV2",
        json=body,
        headers=headers,
        timeout=30,
    )
    data = response.json()
    elapsed = time.perf_counter() - started
    assert data["code"] == "00000", data
    points = sum(1 for p in data["data"]["dataList"][0]["powerData"] if not p.get("isCE"))
    return elapsed, len(response.content), points


def windows() -> list[tuple[date, date]]:
    first, result = date(YEAR, 1, 1), []
    while first.year == YEAR:
        last = min(first + timedelta(days=WINDOW_DAYS - 1), date(YEAR, 12, 31))
        result.append((first, last))
        first = last + timedelta(days=1)
    return result


def main() -> None:
    now = datetime(YEAR + 1, 1, 10, 12, tzinfo=UTC)
    with FakePortal(now=now) as portal, requests.Session() as session:
        login_data = login(session, portal)
        single, size, points = fetch_window(session, login_data, date(YEAR, 6, 2), date(YEAR, 6, 8))
        server = portal.requests_for("semsplus.power_curve")[-1].duration_ms
        print(
            f"one 7-day window at {SCALE} min, cold cache: {single * 1000:.1f} ms round trip "
            f"({server:.1f} ms server side), {size / 1e6:.2f} MB, {points} points per item"
        )
    with FakePortal(now=now) as portal, requests.Session() as session:
        login_data = login(session, portal)
        for label in ("cold", "warm"):
            started = time.perf_counter()
            cpu = time.process_time()
            timings, total_points = [], 0
            for first, last in windows():
                elapsed, _, points = fetch_window(session, login_data, first, last)
                timings.append(elapsed)
                total_points += points
            wall = time.perf_counter() - started
            served = [
                r.duration_ms for r in portal.requests_for("semsplus.power_curve")[-len(timings) :]
            ]
            print(
                f"station-year {YEAR} ({label} cache): {len(timings)} windows, "
                f"{total_points} points per item, {wall:.2f} s wall, "
                f"{time.process_time() - cpu:.2f} s CPU (client and server), per window "
                f"median {statistics.median(timings) * 1000:.1f} ms, "
                f"max {max(timings) * 1000:.1f} ms round trip; server side median "
                f"{statistics.median(served):.1f} ms, max {max(served):.1f} ms"
            )


if __name__ == "__main__":
    main()
