"""The simulator against HTW Berlin's independence calculator (Unabhängigkeitsrechner).

Published reference, household with 4,000 kWh/year and 5 kWp PV (about 1,025 kWh/kWp):
no battery about 32% self-sufficiency / 25% self-consumption, 5 kWh usable about 63% / 54%,
10 kWh about 71% / 62%, battery round trip about 84%; its authors say real homes differ by
about 10%.

Profile (sems_battery.synthetic, all stated here): Berlin (52.5 N, 13.4 E, Europe/Berlin),
year 2023 at 5 minutes (105,120 intervals), seed 1; PV from the sun's elevation with
seasonal clearness and passing clouds; load a standby base with morning and evening peaks,
20% more in winter, appliance peaks of 1.5-3 kW. Calibration: the midday load share
(`daytime_weight`) was set to 0 so that the case without a battery matches the reference
(checked below); the battery cases are then predictions. Battery: 84% round trip split
evenly, 0.6 kW per kWh, no self-discharge (the calculator's figures have none).
"""

from __future__ import annotations

import pytest

from sems_battery import Battery, sweep
from sems_battery.synthetic import synthetic_history

REFERENCE = {0.0: (0.32, 0.25), 5.0: (0.63, 0.54), 10.0: (0.71, 0.62)}
HOMES_DIFFER_BY = 0.10


@pytest.fixture(scope="module")
def reference_sweep() -> dict[float, tuple[float, float]]:
    history = synthetic_history(
        year=2023,
        annual_load_kwh=4000.0,
        pv_kwp=5.0,
        specific_yield_kwh_per_kwp=1025.0,
        daytime_weight=0.0,
        seed=1,
    )
    assert len(history) == 105_120
    assert history.load_kwh == pytest.approx(4000.0, rel=1e-9)
    assert history.pv_kwh == pytest.approx(5125.0, rel=1e-9)
    battery = Battery.with_round_trip(0.0, 0.84, c_rate=0.6, self_discharge_per_month=0.0)
    result = sweep(history, list(REFERENCE), battery=battery)
    return {
        size.capacity_kwh: (size.self_sufficiency_rate, size.self_consumption_rate)
        for size in result.sizes
    }


def test_without_a_battery_the_profile_matches_the_reference(
    reference_sweep: dict[float, tuple[float, float]],
) -> None:
    autarky, own_use = reference_sweep[0.0]
    assert autarky == pytest.approx(0.32, abs=0.01)
    assert own_use == pytest.approx(0.25, abs=0.01)


@pytest.mark.parametrize("capacity", [5.0, 10.0])
def test_batteries_land_within_the_reference_tolerance(
    reference_sweep: dict[float, tuple[float, float]], capacity: float
) -> None:
    autarky, own_use = reference_sweep[capacity]
    expected_autarky, expected_own_use = REFERENCE[capacity]
    assert autarky == pytest.approx(expected_autarky, rel=HOMES_DIFFER_BY)
    assert own_use == pytest.approx(expected_own_use, rel=HOMES_DIFFER_BY)
