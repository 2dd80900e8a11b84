"""The back-test: a synthetic plant whose battery has known losses, replayed and calibrated."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sems_battery import Battery, DataError
from sems_battery.backtest import backtest
from sems_battery.dataset import load_history
from sems_battery.losses import LossCurve, load_system
from sems_battery.synthetic import plant_power_table, synthetic_year, with_battery

STATION = "3f1e2d4c-5b6a-4978-8a9b-0c1d2e3f4a5b"
LOSS_FACTOR = 1.6  # the plant's converter loses 60% more than SG1
STANDBY_W = 25.0
CAPACITY_KWH = 8.0


def known_losses() -> object:
    sg1 = load_system("SG1")

    def scaled(curve: LossCurve) -> LossCurve:
        return LossCurve(*(LOSS_FACTOR * value for value in (curve.a, curve.b, curve.c)))

    return dataclasses.replace(
        sg1,
        charge_loss=scaled(sg1.charge_loss),
        discharge_loss=scaled(sg1.discharge_loss),
        standby_charged_ac_w=STANDBY_W,
        standby_discharged_ac_w=STANDBY_W,
    )


@pytest.fixture(scope="module")
def plant(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A destination holding a year of a plant with an 8 kWh, 3 kW battery, and its metadata."""
    year = synthetic_year(year=2023, seed=7, pv_kwp=6.0, annual_load_kwh=4500.0)
    battery = Battery(8.0, 3.0, 3.0, min_soc=0.05, initial_soc=0.5, losses=known_losses())  # type: ignore[arg-type]
    table = with_battery(plant_power_table(year, STATION), battery)
    root = tmp_path_factory.mktemp("plant")
    pq.write_table(table, root / "plant_power.parquet")
    stations = pa.table(
        {
            "station_id": [STATION],
            "name": ["Haus am See"],
            "battery_capacity_kwh": [CAPACITY_KWH],
        }
    )
    pq.write_table(stations, root / "stations.parquet")
    return root


def test_backtest_recovers_known_losses(
    plant: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sems_battery.cli import main

    report, system = tmp_path / "backtest.json", tmp_path / "calibrated.toml"
    with pytest.raises(SystemExit) as stop:
        main(
            [
                "backtest",
                "--data",
                str(plant),
                "--json",
                str(report),
                "--calibrated-system",
                str(system),
            ]
        )
    assert stop.value.code == 0
    printed = capsys.readouterr().out
    assert "station Haus am See: back-test over 2023-01-01 to 2023-12-31" in printed
    assert "installed battery: 8 kWh (station metadata)" in printed
    figures = json.loads(report.read_text())
    measured = figures["measured_grid_import_kwh"]
    assert measured > 1000
    assert {
        "simulated_grid_import_kwh",
        "measured_grid_export_kwh",
        "simulated_grid_export_kwh",
    } <= set(figures)
    # SG1 as it comes loses less than this plant: it imports clearly too little.
    assert figures["simulated_grid_import_kwh"] < 0.95 * measured
    assert figures["installed_battery"]["charge_kw"] == pytest.approx(3.0, rel=0.01)
    assert figures["installed_battery"]["min_soc"] == pytest.approx(0.05, abs=0.01)
    calibrated = figures["calibrated"]
    assert calibrated["loss_factor"] == pytest.approx(LOSS_FACTOR, rel=0.05)
    assert calibrated["standby_w"] == pytest.approx(STANDBY_W, abs=3.0)
    assert calibrated["simulated_grid_import_kwh"] == pytest.approx(measured, rel=0.03)
    assert calibrated["simulated_grid_export_kwh"] == pytest.approx(
        figures["measured_grid_export_kwh"], rel=0.03
    )
    assert calibrated["soc_rmse"] < 0.01  # the portal's whole percent, nothing more

    # The sweep takes the calibrated model as its loss model.
    with pytest.raises(SystemExit) as stop:
        main(["sweep", "--data", str(plant), "--system", str(system), "--capacities", "0,8"])
    assert stop.value.code == 0
    assert "Battery model: PerMod calibrated: SG1 losses x 1.6" in capsys.readouterr().out


def test_without_metadata_the_capacity_is_estimated(plant: Path) -> None:
    history = load_history(plant)
    assert history.battery_capacity_kwh == CAPACITY_KWH
    result = backtest(dataclasses.replace(history, battery_capacity_kwh=None))
    assert result.installed.capacity_source.startswith("estimated")
    assert result.installed.capacity_kwh == pytest.approx(CAPACITY_KWH, rel=0.05)
    assert result.calibrated.import_error == pytest.approx(0.0, abs=0.03)


def test_a_plant_without_a_battery_cannot_be_backtested(
    year_table: pa.Table, tmp_path: Path
) -> None:
    pq.write_table(year_table.slice(0, 2000), tmp_path / "plant_power.parquet")
    with pytest.raises(DataError, match="a back-test needs a plant with a battery"):
        backtest(load_history(tmp_path))


def test_report_for_a_plant_with_a_battery(
    plant: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sems_battery.cli import main

    out = tmp_path / "report"
    argv = ["report", "--data", str(plant), "--capacities", "2.5,5,10", "--out", str(out)]
    with pytest.raises(SystemExit) as stop:
        main([*argv, "--price-per-kwh", "200", "--installation-cost", "500"])
    assert stop.value.code == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("Recommendation: ")
    assert printed[1].startswith("This plant already has a 8 kWh battery. The figures compare")
    page = (out / "report.html").read_text()
    assert "<title>Would a battery pay off? Haus am See</title>" in page
    assert f"<p class=small>Station {STATION}</p>" in page
    assert page.index(printed[0]) < page.index("<h2>The data</h2>")  # the page opens with it
    assert "<h2>Back-test on the plant's own battery</h2>" in page
    assert "20 W x 8,760 hours = 175 kWh a year" in page
    assert "SG1 itself draws no standby power, so these figures leave it out" in page
    figures = json.loads((out / "backtest.json").read_text())
    assert figures["calibrated"]["loss_factor"] == pytest.approx(LOSS_FACTOR, rel=0.05)
    assert load_system(str(out / "calibrated-system.toml")).id == "calibrated"
