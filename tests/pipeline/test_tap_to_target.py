"""tap-sems piped into target-parquet-sems, their console scripts alone (no Meltano).

The smoke (`python3 dev.py smoke`) runs this on the oldest and newest supported Python
against the installed wheels, so it also checks that the wheels' entry points work.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from sems_fake_portal import DEMO_ACCOUNT, DEMO_PASSWORD, DEMO_STATION_ID

BIN = Path(sys.executable).parent
FIRST, LAST = dt.date(2026, 6, 1), dt.date(2026, 6, 3)


def test_three_days_from_the_portal_into_a_partitioned_dataset(
    portal, served_pv_watts, tmp_path: Path
) -> None:
    tap_config = tmp_path / "tap.json"
    tap_config.write_text(
        json.dumps(
            {
                "account": DEMO_ACCOUNT,
                "password": DEMO_PASSWORD,
                "api_url": portal.url,
                "start_date": FIRST.isoformat(),
                "end_date": LAST.isoformat(),
                "max_requests_per_second": 0,
            }
        )
    )
    output = tmp_path / "output"
    target_config = tmp_path / "target.json"
    target_config.write_text(
        json.dumps(
            {
                "destination_path": str(output),
                "partition_by": {  # as meltano.yml has it
                    "plant_power": ["station_id", {"field": "day", "granularity": "month"}],
                    "daily_energy": ["station_id"],
                },
            }
        )
    )
    with subprocess.Popen(
        [str(BIN / "tap-sems"), "--config", str(tap_config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as tap:
        target = subprocess.run(
            [str(BIN / "target-parquet-sems"), "--config", str(target_config)],
            stdin=tap.stdout,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        tap_log = tap.stderr.read().decode() if tap.stderr else ""
    assert tap.returncode == 0, tap_log[-3000:]
    assert target.returncode == 0, target.stderr[-3000:]

    power = ds.dataset(output / "plant_power", format="parquet", partitioning="hive").to_table()
    assert power.num_rows == 3 * 288
    instants = zip(power["station_id"].to_pylist(), power["timestamp"].to_pylist(), strict=True)
    assert len(set(instants)) == power.num_rows
    assert set(power["station_id"].to_pylist()) == {DEMO_STATION_ID}
    assert sorted(set(power["month"].to_pylist())) == ["2026-06"]
    assert power.schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
    assert pa.types.is_floating(power.schema.field("pv_power_w").type)
    noon = power.filter(pc.equal(power["time_local"], "2026-06-02 12:00:00")).to_pylist()
    assert len(noon) == 1
    assert noon[0]["pv_power_w"] == pytest.approx(served_pv_watts(portal, "2026-06-02 12:00:00"))
    assert noon[0]["timestamp"] == dt.datetime(2026, 6, 2, 10, tzinfo=dt.UTC)

    energy = ds.dataset(output / "daily_energy", format="parquet", partitioning="hive").to_table()
    assert sorted(energy["day"].to_pylist()) == [FIRST + dt.timedelta(days=n) for n in range(3)]
    assert all(kwh > 0 for kwh in energy["production_kwh"].to_pylist())
    stations = pq.read_table(output / "stations.parquet")
    assert stations["station_id"].to_pylist() == [DEMO_STATION_ID]

    # The target passes on the tap's final state once everything is written.
    states = [json.loads(line) for line in target.stdout.splitlines() if line.strip()]
    bookmarks = states[-1]["bookmarks"]["plant_power"]["partitions"]
    assert [b["replication_key_value"] for b in bookmarks] == [LAST.isoformat()]
