"""What `tap-sems --about` claims, each shown to work end to end.

The description, and each capability not proven elsewhere: stream maps, schema flattening,
ACTIVATE_VERSION and structured logging. Elsewhere: state (test_sync.py, test_set_aside.py),
catalog and discover (test_sync.py::test_catalog_deselection_removes_properties), batch
(test_batch.py), about (here and tests/pipeline/test_definitions.py).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from sems_fake_portal import DEMO_STATION_ID, MalformedDay

ONE_DAY = {"start_date": "2026-06-01", "end_date": "2026-06-01", "interval_minutes": 60}
CAPABILITIES = [
    "catalog",
    "state",
    "discover",
    "activate-version",
    "about",
    "stream-maps",
    "schema-flattening",
    "batch",
    "structured-logging",
]


def about() -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tap_sems.tap", "--about", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def schema_of(run: Any, stream: str) -> dict[str, Any]:
    (message,) = [m for m in run.messages if m["type"] == "SCHEMA" and m["stream"] == stream]
    return message  # type: ignore[no-any-return]


def load(tap_output: str, tmp_path: Path) -> Path:
    """The tap's output through target-parquet-sems, as `meltano run` pipes it."""
    output = tmp_path / "output"
    config = tmp_path / "target.json"
    config.write_text(json.dumps({"destination_path": str(output)}))
    done = subprocess.run(
        [str(Path(sys.executable).parent / "target-parquet-sems"), "--config", str(config)],
        input=tap_output,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "_sdc_deleted_at" not in done.stderr  # no columns promised that are never written
    return output


def test_about_says_it_is_the_goodwe_sems_tap_and_lists_what_is_proven() -> None:
    info = about()
    # The package's description, which the Meltano plugin definition carries too.
    assert info["description"] == metadata.metadata("tap-sems")["Summary"]
    for words in ("GoodWe SEMS portal", "SEMS+", "legacy", "power curve", "daily energy"):
        assert words in info["description"]
    # Adding a capability means adding its proof to this module (or naming where it is).
    assert info["capabilities"] == CAPABILITIES


def test_stream_maps_add_remove_and_rename(portal, run_tap, tap_config) -> None:
    maps = {
        "plant_power": {"__alias__": "power", "pv_power_kw": "pv_power_w / 1000", "source": None},
        "stations": None,
    }
    run = run_tap(tap_config(portal, stream_maps=maps, **ONE_DAY))
    assert run.returncode == 0, run.stderr
    assert {m["stream"] for m in run.messages if "stream" in m} == {"power", "daily_energy"}
    schema = schema_of(run, "power")
    assert schema["key_properties"] == ["station_id", "timestamp"]
    assert "pv_power_kw" in schema["schema"]["properties"]
    assert "source" not in schema["schema"]["properties"]
    power = run.records("power")
    assert len(power) == 24
    assert all("source" not in record for record in power)
    assert max(record["pv_power_kw"] for record in power) > 1  # a June noon in Berlin
    for record in power:
        assert record["pv_power_kw"] == pytest.approx(record["pv_power_w"] / 1000)
    # Bookmarks stay under the stream's own name, so the next run resumes.
    assert run.bookmarks("plant_power") == {DEMO_STATION_ID: "2026-06-01"}


def test_flattening_keeps_extra_as_a_declared_json_column(
    portal, run_tap, tap_config, tmp_path: Path
) -> None:
    """`extra` has no fixed keys (they are the portal's), so no SCHEMA can declare them as
    columns: flattened, it is one JSON text column, declared, and nothing is lost."""
    config = tap_config(portal, flattening_enabled=True, flattening_max_depth=1, **ONE_DAY)
    run = run_tap(config)
    assert run.returncode == 0, run.stderr
    for stream in ("stations", "plant_power", "daily_energy"):
        declared = schema_of(run, stream)["schema"]["properties"]
        assert all(set(record) <= set(declared) for record in run.records(stream)), stream
    assert schema_of(run, "plant_power")["schema"]["properties"]["extra"]["type"] == [
        "string",
        "null",
    ]
    power = run.records("plant_power")
    assert {tuple(json.loads(record["extra"])) for record in power} == {("sell", "buy")}
    (station,) = run.records("stations")
    assert json.loads(station["extra"])["stationId"] == DEMO_STATION_ID

    written = pq.read_table(load(run.stdout, tmp_path) / "plant_power.parquet")
    assert written.num_rows == 24
    assert sorted(written["extra"].to_pylist()) == sorted(record["extra"] for record in power)


def test_activate_version_opens_the_full_table_stream(
    portal, run_tap, tap_config, tmp_path: Path
) -> None:
    run = run_tap(tap_config(portal, emit_activate_version_messages=True, **ONE_DAY))
    assert run.returncode == 0, run.stderr
    activations = [m for m in run.messages if m["type"] == "ACTIVATE_VERSION"]
    assert [m["stream"] for m in activations] == ["stations"]  # the day streams are incremental
    stations = [m for m in run.messages if m.get("stream") == "stations"]
    assert [m["type"] for m in stations] == ["SCHEMA", "ACTIVATE_VERSION", "RECORD"]
    assert stations[2]["version"] == activations[0]["version"]
    assert all("version" not in m for m in run.messages if m.get("stream") == "plant_power")

    # The project's target accepts the message (it keeps what it has; see its README).
    written = pq.read_table(load(run.stdout, tmp_path) / "stations.parquet")
    assert written["station_id"].to_pylist() == [DEMO_STATION_ID]


def test_structured_logging_every_line_json_the_verdict_last(
    portal, run_tap, tap_config, tmp_path: Path
) -> None:
    """Meltano turns it on for plugins that claim it, with this logging config."""
    logging_config = tmp_path / "logging.json"
    logging_config.write_text(
        json.dumps(
            {
                "version": 1,
                "disable_existing_loggers": False,
                "formatters": {"json": {"()": "singer_sdk.logging.StructuredFormatter"}},
                "handlers": {
                    "console": {
                        "class": "logging.StreamHandler",
                        "formatter": "json",
                        "stream": "ext://sys.stderr",
                    }
                },
                "root": {"handlers": ["console"], "level": "INFO"},
            }
        )
    )
    bad = dt.date(2026, 6, 2)
    portal.faults.malformed_payloads = [MalformedDay(DEMO_STATION_ID, bad, "missing_time")]
    config = tap_config(portal, **{**ONE_DAY, "end_date": bad.isoformat()})
    run = run_tap(config, env={"SINGER_SDK_LOG_CONFIG": str(logging_config)})
    assert run.returncode == 3  # a day was set aside
    lines = [json.loads(line) for line in run.stderr.splitlines()]
    assert all(set(line) >= {"level", "logger_name", "message"} for line in lines)
    set_aside = [line for line in lines if "set aside (attempt 1 of 3)" in line["message"]]
    assert {line["level"] for line in set_aside} == {"warning"}
    assert {line["logger_name"] for line in set_aside} == {
        "tap-sems.plant_power",
        "tap-sems.daily_energy",
    }
    verdict = lines[-1]
    assert (verdict["level"], verdict["logger_name"]) == ("error", "tap-sems")
    assert verdict["message"].startswith("tap-sems finished with days set aside.")
    assert f"plant_power station {DEMO_STATION_ID} {bad}" in verdict["message"]
    assert "exception" not in verdict  # the traceback only at debug level
