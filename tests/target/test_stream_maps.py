"""Stream maps and schema flattening, applied by the target, checked in what it wrote."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tap_sems.schemas import PLANT_POWER

NESTED = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": ["string", "null"]},
        "watts": {"type": ["number", "null"]},
        "site": {
            "type": ["object", "null"],
            "properties": {
                "city": {"type": ["string", "null"]},
                "geo": {
                    "type": ["object", "null"],
                    "properties": {"lat": {"type": ["number", "null"]}},
                },
            },
        },
    },
}
ROWS = [
    {"id": 1, "name": "a", "watts": 1500.0, "site": {"city": "Berlin", "geo": {"lat": 52.5}}},
    {"id": 2, "name": "b", "watts": 0.0, "site": {"city": "Wien", "geo": {"lat": 48.2}}},
    {"id": 3, "name": "c", "watts": 250.0, "site": None},
]


def test_alias_filter_drop_and_compute(sync, msg, tmp_path: Path) -> None:
    config = {
        "destination_path": str(tmp_path),
        "stream_maps": {
            "plants": {
                "__alias__": "power",
                "__filter__": "watts > 0",
                "name": None,
                # float(...) tells the SDK the new column is a number (else: string).
                "kilowatts": "float(watts / 1000)",
            }
        },
    }
    messages = [
        msg.schema("plants", NESTED, ["id"]),
        *(msg.record("plants", row) for row in ROWS),
        msg.state({"done": 1}),
    ]
    states = sync(config, messages)
    assert states == [{"done": 1}]
    assert not (tmp_path / "plants.parquet").exists()
    table = pq.read_table(tmp_path / "power.parquet")
    assert table.column_names == ["id", "watts", "site", "kilowatts"]
    assert table.schema.field("kilowatts").type == pa.float64()
    assert table.schema.field("site").type == pa.struct(
        [("city", pa.string()), ("geo", pa.struct([("lat", pa.float64())]))]
    )
    assert table.to_pylist() == [
        {
            "id": 1,
            "watts": 1500.0,
            "site": {"city": "Berlin", "geo": {"lat": 52.5}},
            "kilowatts": 1.5,
        },
        {"id": 3, "watts": 250.0, "site": None, "kilowatts": 0.25},
    ]


def test_one_stream_mapped_into_two(sync, msg, tmp_path: Path) -> None:
    config = {
        "destination_path": str(tmp_path),
        "stream_maps": {
            "plants": {"__alias__": "plants"},
            "plants_small": {"__source__": "plants", "__filter__": "watts < 1000", "site": None},
        },
    }
    sync(config, [msg.schema("plants", NESTED, ["id"]), *(msg.record("plants", r) for r in ROWS)])
    assert pq.read_table(tmp_path / "plants.parquet").num_rows == 3
    small = pq.read_table(tmp_path / "plants_small.parquet")
    assert small.column("id").to_pylist() == [2, 3]
    assert "site" not in small.column_names


def test_flattening_nested_objects(sync, msg, tmp_path: Path) -> None:
    config = {
        "destination_path": str(tmp_path),
        "flattening_enabled": True,
        "flattening_max_depth": 1,
    }
    sync(config, [msg.schema("plants", NESTED, ["id"]), *(msg.record("plants", r) for r in ROWS)])
    table = pq.read_table(tmp_path / "plants.parquet")
    assert table.column_names == ["id", "name", "watts", "site__city", "site__geo"]
    assert table.schema.field("site__city").type == pa.string()
    # Deeper than the maximum depth, an object is kept as JSON text.
    assert table.schema.field("site__geo").type == pa.string()
    first = table.to_pylist()[0]
    assert first["site__city"] == "Berlin"
    assert json.loads(first["site__geo"]) == {"lat": 52.5}


def test_no_maps_keeps_the_raw_route(sync, msg, tmp_path: Path) -> None:
    config = {"destination_path": str(tmp_path), "stream_maps": {}}
    sync(config, [msg.schema("plants", NESTED, ["id"]), *(msg.record("plants", r) for r in ROWS)])
    assert pq.read_table(tmp_path / "plants.parquet").num_rows == 3


def test_the_tap_piped_through_a_stream_map(fake_portal_factory, tmp_path: Path) -> None:
    from sems_fake_portal import DEMO_ACCOUNT, DEMO_PASSWORD, DEMO_STATION_ID

    portal = fake_portal_factory()
    tap_config = tmp_path / "tap.json"
    tap_config.write_text(
        json.dumps(
            {
                "account": DEMO_ACCOUNT,
                "password": DEMO_PASSWORD,
                "api_url": portal.url,
                "start_date": "2026-06-01",
                "end_date": "2026-06-01",
                "max_requests_per_second": 0,
            }
        )
    )
    target_config = tmp_path / "target.json"
    target_config.write_text(
        json.dumps(
            {
                "destination_path": str(tmp_path / "out"),
                "stream_maps": {
                    "plant_power": {"__alias__": "power", "extra": None, "source": None},
                    "daily_energy": None,
                },
            }
        )
    )
    tap = subprocess.Popen(
        [sys.executable, "-m", "tap_sems.tap", "--config", str(tap_config)],
        stdout=subprocess.PIPE,
    )
    target = subprocess.run(
        [sys.executable, "-m", "target_parquet_sems", "--config", str(target_config)],
        stdin=tap.stdout,
        capture_output=True,
        text=True,
        check=False,
    )
    assert tap.wait() == 0
    assert target.returncode == 0, target.stderr[-2000:]
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["_runs", "power.parquet", "stations.parquet"]
    (manifest,) = [json.loads(p.read_text()) for p in (out / "_runs").iterdir()]
    assert manifest["streams"] == {  # under their mapped names
        "power": {"path": "power.parquet", "records_written": 288},
        "stations": {"path": "stations.parquet", "records_written": 1},
    }
    power = pq.read_table(out / "power.parquet")
    assert power.num_rows == 288
    assert "extra" not in power.column_names and "source" not in power.column_names
    assert set(PLANT_POWER["properties"]) - set(power.column_names) == {"extra", "source"}
    assert power.schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
    assert set(power.column("station_id").to_pylist()) == {DEMO_STATION_ID}
