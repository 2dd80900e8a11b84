"""The tariff examples shipped with the package and written in its README are valid."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from sems_battery import ParameterError, load_tariff, sweep
from sems_battery.history import History
from sems_battery.tariff import parse_tariff

PACKAGE = Path(__file__).resolve().parents[2] / "sems-battery"
EXAMPLES = sorted((PACKAGE / "examples").glob("*.toml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_tariffs_load(path: Path) -> None:
    tariff = load_tariff(path)
    assert tariff.name and tariff.currency == "EUR"
    assert tariff.describe()


def test_there_are_examples_for_flat_time_of_use_and_dynamic_prices() -> None:
    names = {path.stem for path in EXAMPLES}
    assert {"flat", "time-of-use", "dynamic"} <= names


def test_readme_tariff_snippets_parse() -> None:
    readme = (PACKAGE / "README.md").read_text(encoding="utf-8")
    snippets = re.findall(r"```toml\n(.*?)```", readme, flags=re.DOTALL)
    assert len(snippets) == 3
    for snippet in snippets:
        document = tomllib.loads(snippet)
        if "csv" in document["import"]:
            # The README's price file is a placeholder name: reading it must fail on the
            # file, not on the structure.
            with pytest.raises(ParameterError, match="cannot read the price file"):
                parse_tariff(document)
        else:
            parse_tariff(document)


def test_the_dynamic_example_serves_any_history(year_history: History) -> None:
    tariff = load_tariff(PACKAGE / "examples" / "dynamic.toml")
    assert "15-minute prices from prices-example.csv, repeated every week" in tariff.describe()
    result = sweep(year_history, [0, 5], tariff=tariff)  # 2023: years before the example week
    assert result.sizes[1].annual_savings > 0
    assert result.records()[0]["battery_model"].startswith("ideal battery")
