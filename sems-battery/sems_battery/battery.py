"""What a battery can do and how it is driven; nonsense is refused when it is described."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Literal

from sems_battery.errors import ParameterError
from sems_battery.losses import LossModel

HOURS_PER_MONTH = 730.5
DEFAULT_C_RATE = 0.5


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ParameterError(message)


@dataclass(frozen=True)
class Battery:
    """A home battery as the house sees it.

    `capacity_kwh` is the usable capacity; `min_soc` is a reserve kept back from it (for
    backup), as a share of it. Power is on the AC side; when it is not given it follows the
    capacity through `c_rate` (kW per kWh), as it does across a maker's product line.

    `losses` is a measured or generic system after PerMod (`losses.load_system("SG1")`);
    without it the battery is ideal: the one-way efficiencies hold at any power and it
    draws nothing at rest. Self-discharge acts on the stored energy, also while data is
    missing; by default 2% a month for the ideal model and none for a PerMod system, whose
    measured standby draw already stands for it.
    """

    capacity_kwh: float
    charge_power_kw: float | None = None
    discharge_power_kw: float | None = None
    c_rate: float = DEFAULT_C_RATE
    charge_efficiency: float = 0.95
    discharge_efficiency: float = 0.95
    min_soc: float = 0.0
    self_discharge_per_month: float | None = None
    initial_soc: float | None = None
    losses: LossModel | None = None

    def __post_init__(self) -> None:
        finite = [
            self.capacity_kwh,
            self.c_rate,
            self.charge_efficiency,
            self.discharge_efficiency,
            self.min_soc,
            self.monthly_self_discharge,
        ]
        _require(all(math.isfinite(v) for v in finite), "battery parameters must be numbers")
        _require(
            self.capacity_kwh >= 0,
            f"battery capacity must be 0 or more kWh, got {self.capacity_kwh:g}",
        )
        for name, power in (
            ("charge power", self.charge_power_kw),
            ("discharge power", self.discharge_power_kw),
        ):
            _require(
                power is None or (math.isfinite(power) and power >= 0),
                f"{name} must be 0 or more kW, got {power}",
            )
        _require(self.c_rate > 0, f"c-rate must be above 0 kW per kWh, got {self.c_rate:g}")
        for name, efficiency in (
            ("charge efficiency", self.charge_efficiency),
            ("discharge efficiency", self.discharge_efficiency),
        ):
            _require(
                0 < efficiency <= 1,
                f"{name} must be above 0 and at most 1 (100%), got {efficiency:g}",
            )
        _require(
            0 <= self.min_soc < 1,
            f"minimum state of charge must be at least 0 and below 1, got {self.min_soc:g}",
        )
        _require(
            0 <= self.monthly_self_discharge < 1,
            f"self-discharge per month must be at least 0 and below 1, got "
            f"{self.monthly_self_discharge:g}",
        )
        _require(
            self.initial_soc is None or self.min_soc <= self.initial_soc <= 1,
            f"initial state of charge must lie between the minimum ({self.min_soc:g}) and 1, "
            f"got {self.initial_soc}",
        )

    @classmethod
    def with_round_trip(cls, capacity_kwh: float, round_trip: float, **options: Any) -> Battery:
        """A battery whose losses are given as one round-trip efficiency, split evenly."""
        _require(
            0 < round_trip <= 1,
            f"round-trip efficiency must be above 0 and at most 1, got {round_trip:g}",
        )
        one_way = math.sqrt(round_trip)
        return cls(
            capacity_kwh,
            charge_efficiency=one_way,
            discharge_efficiency=one_way,
            **options,
        )

    def sized(self, capacity_kwh: float) -> Battery:
        """The same technology at another capacity."""
        return replace(self, capacity_kwh=capacity_kwh)

    @property
    def charge_kw(self) -> float:
        if self.charge_power_kw is not None:
            return self.charge_power_kw
        return self.c_rate * self.capacity_kwh

    @property
    def discharge_kw(self) -> float:
        if self.discharge_power_kw is not None:
            return self.discharge_power_kw
        return self.c_rate * self.capacity_kwh

    @property
    def monthly_self_discharge(self) -> float:
        if self.self_discharge_per_month is not None:
            return self.self_discharge_per_month
        return 0.02 if self.losses is None else 0.0

    @property
    def is_ideal(self) -> bool:
        return self.losses is None

    def efficiencies_at(self, share: float) -> tuple[float, float]:
        """One-way efficiencies (AC to stored and back) at a share of the rated power."""
        if self.losses is None:
            return self.charge_efficiency, self.discharge_efficiency
        return self.losses.efficiencies_at(share)

    @property
    def round_trip(self) -> float:
        """AC to AC; for a PerMod system at half its rated power."""
        charge, discharge = self.efficiencies_at(0.5)
        return charge * discharge

    @property
    def model_name(self) -> str:
        """What every output calls the loss model."""
        if self.losses is None:
            return (
                f"ideal battery ({self.charge_efficiency:.1%} charging x "
                f"{self.discharge_efficiency:.1%} discharging at any power, no standby draw)"
            )
        return self.losses.describe()

    @property
    def start_share(self) -> float:
        """Stored energy at the start, as a share of capacity (empty down to the reserve)."""
        return self.min_soc if self.initial_soc is None else self.initial_soc

    def retention_per_hour(self) -> float:
        """Log of the share of stored energy that survives one hour."""
        return math.log1p(-self.monthly_self_discharge) / HOURS_PER_MONTH


StrategyName = Literal["self-consumption", "time-of-use"]
STRATEGIES: tuple[StrategyName, ...] = ("self-consumption", "time-of-use")


@dataclass(frozen=True)
class Strategy:
    """How the battery is driven.

    self-consumption: charge from PV surplus, discharge to cover demand.
    time-of-use: the same, and in cheap intervals also charge from the grid as much as the
    dearer demand before the next cheap window needs (see `kernel.grid_charge_need`).
    `grid_charge_below` is the import price at or under which an interval counts as cheap;
    by default the cheapest quarter of the history's import prices.
    """

    name: StrategyName = "self-consumption"
    grid_charge_below: float | None = None
    lookahead_hours: float = 24.0

    def __post_init__(self) -> None:
        _require(
            self.name in STRATEGIES,
            f"unknown strategy {self.name!r}; choose one of {', '.join(STRATEGIES)}",
        )
        _require(
            math.isfinite(self.lookahead_hours) and self.lookahead_hours > 0,
            f"look-ahead must be a positive number of hours, got {self.lookahead_hours}",
        )
        _require(
            self.grid_charge_below is None or math.isfinite(self.grid_charge_below),
            "grid charge price threshold must be a number",
        )
