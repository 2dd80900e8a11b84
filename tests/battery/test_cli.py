"""The `sems-battery` command: sweep table and JSON, the HTML report, and its errors."""

from __future__ import annotations

import csv
import json
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sems_battery import Battery, load_tariff, sweep
from sems_battery.cli import main
from sems_battery.dataset import load_history
from sems_battery.losses import load_system

JSON_FIELDS = {
    "capacity_kwh",
    "grid_import_kwh",
    "grid_export_kwh",
    "self_consumption_rate",
    "self_sufficiency_rate",
    "equivalent_full_cycles",
    "cost_without",
    "cost_with",
    "annual_savings",
    "payback_years",
}
TARIFF = """
currency = "EUR"
timezone = "Europe/Berlin"
[import]
price = 0.34
[[import.periods]]
hours = "22:00-06:00"
price = 0.24
[export]
price = 0.08
"""


@pytest.fixture(scope="module")
def dataset(year_table: pa.Table, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A destination folder as the target leaves it, with one year of one station."""
    root = tmp_path_factory.mktemp("output")
    pq.write_table(year_table, root / "plant_power.parquet")
    return root


@pytest.fixture(scope="module")
def tariff_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tariff") / "tou.toml"
    path.write_text(TARIFF, encoding="utf-8")
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stop:
        main(argv)
    captured = capsys.readouterr()
    return int(stop.value.code or 0), captured.out, captured.err


def test_sweep_writes_the_documented_json(
    dataset: Path, tariff_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sweep.json"
    code, stdout, _ = run(
        [
            "sweep",
            "--data",
            str(dataset),
            "--capacities",
            "0,2.5,5,7.5,10,15,20",
            "--tariff",
            str(tariff_file),
            "--json",
            str(out),
        ],
        capsys,
    )
    assert code == 0
    records = json.loads(out.read_text())
    assert [r["capacity_kwh"] for r in records] == [0, 2.5, 5, 7.5, 10, 15, 20]
    assert all(set(r) >= JSON_FIELDS for r in records)
    assert records[0]["annual_savings"] == 0 and records[0]["payback_years"] == 0
    # The command is a shell over the API: the same numbers come out of sweep(), with
    # HTW Berlin's generic system SG1 unless told otherwise.
    expected = sweep(
        load_history(dataset, timezone="Europe/Berlin"),
        [0, 2.5, 5, 7.5, 10, 15, 20],
        battery=Battery(0.0, losses=load_system("SG1")),
        tariff=load_tariff(tariff_file),
    ).records()
    assert records == json.loads(json.dumps(expected))
    for record in records:
        assert f"{record['capacity_kwh']:>6g}" in stdout
    assert "figures per year" in stdout
    assert "Battery model: PerMod SG1: generic AC-coupled system" in stdout
    assert "For context: more capacity buys clearly less beyond about" in stdout
    assert stdout.startswith("Recommendation: ")


def test_console_script_prints_json_to_stdout(dataset: Path) -> None:
    command = shutil.which("sems-battery", path=str(Path(sys.executable).parent))
    assert command is not None, "the console script is not installed"
    done = subprocess.run(
        [command, "sweep", "--data", str(dataset), "--capacities", "0,5", "--json", "-"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    records = json.loads(done.stdout)
    assert [r["capacity_kwh"] for r in records] == [0, 5]
    assert "Energy prices are the built-in example" in done.stderr  # and it says so
    assert "kWh" in done.stderr  # the table went to stderr, out of the JSON's way


def test_hourly_sweep_differs_from_five_minute_sweep(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    five, hourly = tmp_path / "five.json", tmp_path / "hourly.json"
    base = ["sweep", "--data", str(dataset), "--capacities", "0,5"]
    assert run([*base, "--json", str(five)], capsys)[0] == 0
    assert run([*base, "--hourly", "--json", str(hourly)], capsys)[0] == 0
    without_five = json.loads(five.read_text())[0]["self_sufficiency_rate"]
    without_hourly = json.loads(hourly.read_text())[0]["self_sufficiency_rate"]
    assert without_hourly > without_five + 0.02  # hourly averages hide the 5-minute peaks


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_report_writes_html_plots_and_csv(
    dataset: Path, tariff_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    code, stdout, _ = run(
        [
            "report",
            "--data",
            str(dataset),
            "--tariff",
            str(tariff_file),
            "--capacities",
            "2.5,5,7.5,10,15,20",
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 0
    assert "report.html" in stdout
    page = (out / "report.html").read_text()
    images = re.findall(r'<img src="([^"]+)"', page)
    assert images == ["capacity.png", "monthly.png", "typical-days.png", "resolution.png"]
    for image in images:
        width, height = png_size(out / image)
        assert width > 600 and height > 300
    with (out / "sweep.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [float(r["capacity_kwh"]) for r in rows] == [0, 2.5, 5, 7.5, 10, 15, 20]
    assert set(rows[0]) >= JSON_FIELDS
    with (out / "sweep-hourly.csv").open() as handle:
        hourly_rows = list(csv.DictReader(handle))
    assert len(hourly_rows) == len(rows)
    assert rows[0]["self_sufficiency_rate"] != hourly_rows[0]["self_sufficiency_rate"]
    assert "Five-minute data against hourly averages" in page
    assert "For context: more capacity buys clearly less beyond about" in page
    assert stdout.startswith("Recommendation: ")  # the terminal opens as the page does
    assert "The history covers a full year" in page
    assert "time zone Europe/Berlin" in page


def test_report_on_a_partial_year_says_it_is_annualised(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "spring"
    code, _, _ = run(
        [
            "report",
            "--data",
            str(dataset),
            "--from",
            "2023-03-01",
            "--to",
            "2023-05-31",
            "--capacities",
            "0,5,10",
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 0
    page = (out / "report.html").read_text()
    factor = 8760 / (92 * 24 - 1)  # 26 March has 23 hours
    assert f"totals over the 92.0 covered days are multiplied by {factor:.3f}" in page
    assert "Every figure is per year" in page
    assert "History from 2023-03-01 to 2023-05-31 (plant-local days)" in page
    assert "The covered months are Mar, Apr, May" in page
    assert "built-in example" in page


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--capacities", "0,-5"], "capacity must be 0 or more kWh, got -5"),
        (["--round-trip", "110%"], "round-trip efficiency must be above 0 and at most 1"),
        (["--charge-efficiency", "1.3"], "charge efficiency must be above 0 and at most 1"),
        (["--station", "nope"], "station nope is not in the dataset"),
        (["--min-soc", "1"], "minimum state of charge"),
        (["--lifetime-years", "0"], "lifetime must be a whole number"),
    ],
)
def test_nonsense_gets_a_clear_error_and_exit_code_2(
    dataset: Path, arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, stderr = run(["sweep", "--data", str(dataset), *arguments], capsys)
    assert code == 2
    assert stderr.startswith("sems-battery: error: ")
    assert message in stderr
    assert "Traceback" not in stderr


def test_missing_dataset_is_an_error_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, stderr = run(["sweep", "--data", str(tmp_path / "absent")], capsys)
    assert code == 2
    assert "no dataset at" in stderr and "does not exist" in stderr


def test_bad_option_values_are_reported_by_the_parser(
    dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, stderr = run(["sweep", "--data", str(dataset), "--capacities", "five"], capsys)
    assert code == 2
    assert "comma-separated list of capacities" in stderr
