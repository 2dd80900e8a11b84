"""Reading plant_power from Parquet: both layouts, URIs, filters, odd types, clear errors."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from sems_battery import DataError, sweep
from sems_battery.dataset import load_history
from sems_battery.history import History
from sems_battery.tariff import Tariff

STATION = "7c9f0a6e-2b1d-4d7e-9a51-3f0e1c2b8d44"
OTHER = "0b6c2f7d-93f2-4c38-8f0e-5a1d2c3b4e5f"
Writers = dict[str, Callable[..., Path]]


@pytest.fixture(scope="module")
def quarter(year_table: pa.Table) -> pa.Table:
    """The first three months: enough for every layout question, quick to write."""
    return year_table.filter(pc.less(year_table.column("day"), pa.scalar(dt.date(2023, 4, 1))))


def same_history(left: History, right: History) -> None:
    for name in ("time_us", "local_us", "duration_h", "elapsed_h", "pv_kw", "load_kw"):
        assert np.array_equal(getattr(left, name), getattr(right, name)), name


def test_single_file_and_hive_layouts_read_the_same(
    quarter: pa.Table, tmp_path: Path, dataset_writer: Writers
) -> None:
    dataset_writer["single"](quarter, tmp_path / "flat")
    dataset_writer["hive"](quarter, tmp_path / "hive", files_per_partition=3)
    from_file = load_history(tmp_path / "flat")
    from_hive = load_history(tmp_path / "hive")
    assert len(from_file) == quarter.num_rows == 90 * 288 - 12  # 26 March has 23 hours
    same_history(from_file, from_hive)
    assert from_file.station_id == from_hive.station_id == STATION
    assert from_file.local_time_source == "plant clock"


def test_data_may_point_at_the_destination_the_folder_the_file_or_a_uri(
    quarter: pa.Table, tmp_path: Path, dataset_writer: Writers
) -> None:
    file_path = dataset_writer["single"](quarter, tmp_path / "flat")
    folder = dataset_writer["hive"](quarter, tmp_path / "hive")
    reference = load_history(tmp_path / "flat")
    for data in (file_path, folder, tmp_path / "hive", file_path.as_uri(), folder.as_uri()):
        same_history(load_history(data), reference)


def test_results_do_not_depend_on_partitioning_or_row_groups(
    year_table: pa.Table, tmp_path: Path, dataset_writer: Writers
) -> None:
    dataset_writer["single"](year_table, tmp_path / "one", row_group_size=7_777)
    dataset_writer["hive"](year_table, tmp_path / "months", files_per_partition=4)
    reversed_table = year_table.take(pa.array(np.arange(year_table.num_rows)[::-1]))
    dataset_writer["single"](reversed_table, tmp_path / "reversed")
    tariff = Tariff.flat(0.31, 0.082)
    results = [
        sweep(load_history(tmp_path / name), [0, 3, 6, 12], tariff=tariff).records()
        for name in ("one", "months", "reversed")
    ]
    assert results[0] == results[1] == results[2]


def test_partition_columns_as_dictionary_or_kept_in_files_and_extra_columns(
    quarter: pa.Table, tmp_path: Path, dataset_writer: Writers
) -> None:
    extra = quarter.append_column("inverter_temp_c", pa.array(np.full(quarter.num_rows, 41.5)))
    dataset_writer["hive"](
        extra, tmp_path / "dict", keep_station_column=True, station_as_dictionary=True
    )
    dataset_writer["hive"](extra, tmp_path / "kept", keep_station_column=True)
    reference = load_history(dataset_writer["single"](quarter, tmp_path / "flat"))
    for name in ("dict", "kept"):
        history = load_history(tmp_path / name, station=STATION)
        same_history(history, reference)


def test_numeric_looking_station_ids_survive_hive_inference(
    quarter: pa.Table, tmp_path: Path, dataset_writer: Writers
) -> None:
    numeric = quarter.set_column(0, "station_id", pa.array(["40213"] * quarter.num_rows))
    dataset_writer["hive"](numeric, tmp_path / "numeric")
    history = load_history(tmp_path / "numeric", station="40213")
    assert len(history) == quarter.num_rows
    assert history.station_id == "40213"


def two_stations(table: pa.Table) -> pa.Table:
    other = table.slice(0, 31 * 288)
    other = other.set_column(0, "station_id", pa.array([OTHER] * other.num_rows))
    return pa.concat_tables([table, other])


def test_station_and_dates_are_filtered(
    quarter: pa.Table, tmp_path: Path, dataset_writer: Writers
) -> None:
    for layout in ("single", "hive"):
        dest = tmp_path / layout
        dataset_writer[layout](two_stations(quarter), dest)
        february = load_history(
            dest, station=STATION, start=dt.date(2023, 2, 1), end=dt.date(2023, 2, 28)
        )
        assert len(february) == 28 * 288
        days = np.unique(february.local_day())
        assert str(days[0]) == "2023-02-01" and str(days[-1]) == "2023-02-28"
        other = load_history(dest, station=OTHER)
        assert len(other) == 31 * 288 and other.station_id == OTHER


def test_several_stations_without_a_choice_are_listed(
    quarter: pa.Table, tmp_path: Path, dataset_writer: Writers
) -> None:
    dataset_writer["hive"](two_stations(quarter), tmp_path)
    with pytest.raises(
        DataError, match=f"2 stations; choose one with --station: {OTHER}, {STATION}"
    ):
        load_history(tmp_path)


def test_unknown_station_and_empty_selection_are_explained(
    quarter: pa.Table, tmp_path: Path, dataset_writer: Writers
) -> None:
    dataset_writer["single"](quarter, tmp_path)
    with pytest.raises(
        DataError, match=f"station nope is not in the dataset; choose one with --station: {STATION}"
    ):
        load_history(tmp_path, station="nope")
    with pytest.raises(DataError, match=r"no power samples for station .* between 2030-01-01"):
        load_history(tmp_path, station=STATION, start=dt.date(2030, 1, 1))
    with pytest.raises(DataError, match="before the start date"):
        load_history(tmp_path, start=dt.date(2023, 3, 1), end=dt.date(2023, 2, 1))


def test_missing_empty_and_foreign_datasets_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="the path does not exist"):
        load_history(tmp_path / "nothing-here")
    (tmp_path / "empty" / "plant_power").mkdir(parents=True)
    with pytest.raises(DataError, match="no Parquet files"):
        load_history(tmp_path / "empty")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    pq.write_table(pa.table({"a": [1, 2]}), foreign / "x.parquet")
    with pytest.raises(DataError, match="not a plant_power dataset"):
        load_history(foreign)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "plant_power.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match="not a readable Parquet dataset"):
        load_history(broken)


def test_both_layouts_at_once_are_ambiguous(
    quarter: pa.Table, tmp_path: Path, dataset_writer: Writers
) -> None:
    dataset_writer["single"](quarter, tmp_path)
    dataset_writer["hive"](quarter, tmp_path)
    with pytest.raises(DataError, match=r"holds both plant_power\.parquet and a plant_power/"):
        load_history(tmp_path)


def test_rows_without_a_wall_clock_take_their_neighbours_offset(
    quarter: pa.Table, tmp_path: Path, dataset_writer: Writers
) -> None:
    clock = quarter.column("time_local").to_pylist()
    for index in (0, 1, 500, 9000):
        clock[index] = None
    patched = quarter.set_column(
        quarter.schema.get_field_index("time_local"), "time_local", pa.array(clock, pa.string())
    )
    dataset_writer["single"](patched, tmp_path)
    history = load_history(tmp_path)
    reference = quarter.column("time_local").to_pylist()
    parsed = np.array([np.datetime64(text.replace(" ", "T"), "us") for text in reference])
    assert np.array_equal(history.local_us, parsed.astype(np.int64))


def test_a_time_zone_overrides_the_plant_clock(
    quarter: pa.Table, tmp_path: Path, dataset_writer: Writers
) -> None:
    dataset_writer["single"](quarter, tmp_path)
    history = load_history(tmp_path, timezone="America/New_York")
    assert history.local_time_source == "time zone America/New_York"
    offsets_h = (history.local_us - history.time_us) / 3_600_000_000
    assert offsets_h[0] == -5 and offsets_h[-1] == -4  # daylight saving from 12 March


def test_load_rebuilt_from_grid_when_the_dataset_has_no_load(
    quarter: pa.Table, tmp_path: Path, dataset_writer: Writers
) -> None:
    without_load = quarter.set_column(
        quarter.schema.get_field_index("load_power_w"),
        "load_power_w",
        pa.nulls(quarter.num_rows, pa.float64()),
    )
    dataset_writer["hive"](without_load, tmp_path)
    history = load_history(tmp_path)
    expected = quarter.column("load_power_w").to_numpy() / 1000
    assert history.load_kw == pytest.approx(expected, abs=1e-9)
    no_meter = without_load.drop_columns(["grid_power_w", "grid_import_w", "grid_export_w"])
    dataset_writer["single"](no_meter, tmp_path / "no-meter")
    with pytest.raises(DataError, match="smart meter"):
        load_history(tmp_path / "no-meter")


def test_a_day_partition_read_back_as_text_still_filters_by_date(
    quarter: pa.Table, tmp_path: Path
) -> None:
    import pyarrow.dataset as ds

    ds.write_dataset(
        quarter.drop_columns(["station_id"]),
        tmp_path / "plant_power",
        format="parquet",
        partitioning=ds.partitioning(pa.schema([("day", pa.date32())]), flavor="hive"),
    )
    history = load_history(tmp_path, start=dt.date(2023, 3, 10), end=dt.date(2023, 3, 11))
    assert len(history) == 2 * 288
    assert [str(d) for d in np.unique(history.local_day())] == ["2023-03-10", "2023-03-11"]
