"""tap-sems backfill of one station-year at 5 minutes against the fake portal on loopback.

Prints the requests the portal served, the records the tap wrote, and the tap's wall and
CPU seconds (the tap runs as a child process; the portal's own CPU is not counted).
Goal: at most 60 requests and under 5 s of tap CPU for the year (105,120 points).

    python3 dev.py bench tap_backfill
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from sems_fake_portal import DEMO_ACCOUNT, DEMO_PASSWORD, DEMO_STATION_ID, FakePortal

YEAR = ("2025-01-01", "2025-12-31")


def main() -> None:
    with FakePortal() as portal, tempfile.TemporaryDirectory() as folder:
        config = {
            "account": DEMO_ACCOUNT,
            "password": DEMO_PASSWORD,
            "api_url": portal.url,
            "station_ids": [DEMO_STATION_ID],
            "start_date": YEAR[0],
            "end_date": YEAR[1],
            "interval_minutes": 5,
            "max_requests_per_second": 0,
        }
        config_path = Path(folder) / "config.json"
        config_path.write_text(json.dumps(config))
        records: Counter[str] = Counter()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "tap_sems.tap", "--config", str(config_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith(b'{"type":"RECORD"'):
                records[json.loads(line)["stream"]] += 1
        process.wait()
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if process.returncode:
            raise SystemExit(f"tap-sems failed with exit code {process.returncode}")
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        served = Counter(r.endpoint for r in portal.requests)

    requests = sum(served.values())
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    by_endpoint = ", ".join(f"{name} {count}" for name, count in sorted(served.items()))
    others = ", ".join(f"{k} {v}" for k, v in sorted(records.items()) if k != "plant_power")
    print(f"station-year {YEAR[0]}..{YEAR[1]} at 5 minutes, one station, {os.cpu_count()} cores")
    print(f"requests served:     {requests}  ({by_endpoint})")
    print(f"plant_power records: {records['plant_power']:,}")
    print(f"other records:       {others}")
    print(f"tap wall seconds:    {wall:.2f}")
    print(f"tap CPU seconds:     {cpu:.2f}  (user {user:.2f}, system {system:.2f})")
    print(f"tap CPU per record:  {cpu / max(records['plant_power'], 1) * 1e6:.1f} µs")
    verdict = (
        f"requests {'OK' if requests <= 60 else 'MISSED'}, CPU {'OK' if cpu < 5 else 'MISSED'}"
    )
    print(f"goal: <= 60 requests and < 5 s tap CPU -> {verdict}")


if __name__ == "__main__":
    main()
