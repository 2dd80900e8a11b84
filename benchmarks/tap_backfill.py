"""tap-sems backfill of one station-year at 5 minutes against the fake portal on loopback.

Runs the backfill twice, without and with `raw_dir` (every answer kept, gzipped), and prints
for each the requests the portal served, the records the tap wrote, the tap's wall and CPU
seconds (the tap runs as a child process; the portal's own CPU is not counted) and what the
raw capture wrote. Goal: at most 60 requests and under 5 s of tap CPU for the year (105,120
points), with or without raw_dir.

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
from dataclasses import dataclass
from pathlib import Path

from sems_fake_portal import DEMO_ACCOUNT, DEMO_PASSWORD, DEMO_STATION_ID, FakePortal

YEAR = ("2025-01-01", "2025-12-31")


@dataclass
class Figures:
    served: Counter[str]
    records: Counter[str]
    wall: float
    user: float
    system: float
    raw_files: int = 0
    raw_bytes: int = 0

    @property
    def cpu(self) -> float:
        return self.user + self.system


def backfill(folder: Path, raw_dir: Path | None) -> Figures:
    """One station-year from a fresh portal (so both runs start cold)."""
    with FakePortal() as portal:
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
        if raw_dir is not None:
            config["raw_dir"] = str(raw_dir)
        config_path = folder / "config.json"
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
        served = Counter(r.endpoint for r in portal.requests)
    figures = Figures(
        served,
        records,
        wall,
        after.ru_utime - before.ru_utime,
        after.ru_stime - before.ru_stime,
    )
    if raw_dir is not None:
        kept = [path for path in raw_dir.rglob("*") if path.is_file()]
        figures.raw_files, figures.raw_bytes = len(kept), sum(p.stat().st_size for p in kept)
    return figures


def report(label: str, figures: Figures) -> None:
    requests = sum(figures.served.values())
    by_endpoint = ", ".join(f"{name} {count}" for name, count in sorted(figures.served.items()))
    others = ", ".join(f"{k} {v}" for k, v in sorted(figures.records.items()) if k != "plant_power")
    plant_power = figures.records["plant_power"]
    print(f"-- {label}")
    print(f"requests served:     {requests}  ({by_endpoint})")
    print(f"plant_power records: {plant_power:,}")
    print(f"other records:       {others}")
    print(f"tap wall seconds:    {figures.wall:.2f}")
    print(
        f"tap CPU seconds:     {figures.cpu:.2f}  (user {figures.user:.2f}, "
        f"system {figures.system:.2f})"
    )
    print(f"tap CPU per record:  {figures.cpu / max(plant_power, 1) * 1e6:.1f} µs")
    if figures.raw_files:
        print(f"raw capture:         {figures.raw_files} files, {figures.raw_bytes:,} bytes")
    verdict = (
        f"requests {'OK' if requests <= 60 else 'MISSED'}, "
        f"CPU {'OK' if figures.cpu < 5 else 'MISSED'}"
    )
    print(f"goal: <= 60 requests and < 5 s tap CPU -> {verdict}")


def main() -> None:
    print(f"station-year {YEAR[0]}..{YEAR[1]} at 5 minutes, one station, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as folder:
        plain = backfill(Path(folder), None)
        kept = backfill(Path(folder), Path(folder) / "raw")
    report("without raw_dir", plain)
    report("with raw_dir (every answer kept, gzipped)", kept)
    print(
        f"raw_dir costs {kept.cpu - plain.cpu:+.2f} s CPU and {kept.wall - plain.wall:+.2f} s wall"
    )


if __name__ == "__main__":
    main()
