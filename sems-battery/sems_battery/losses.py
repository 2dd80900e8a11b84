"""The losses of a real battery system, after HTW Berlin's PerMod, and where the numbers come from.

PerMod (the performance simulation model for PV-battery systems of HTW Berlin, the model
behind its yearly Stromspeicher-Inspektion) describes an AC-coupled system by:
- conversion losses on charging and on discharging, each `a n² + b n + c` watts at the
  normalised AC power `n` (AC power / rated power); `c` is also the minimum power below
  which the converter stays off;
- the efficiency of the battery cells themselves (round trip, split evenly);
- standby consumption when charged and when discharged, on the AC and on the DC side,
  and a peripheral consumption (meters, controller) drawn all the time;
- a stationary deviation: the controller settles a few watts off its set point;
- a state-of-charge hysteresis: once full, it does not top up again until the state of
  charge has fallen below `hysteresis_soc`.

Parameter sets are TOML files (`sems_battery/data/*.toml` ship the ones from bslib's
database; a user writes one for a product with a test report). Loss curves are given for a
rated power and scale with the power simulated (that is how the generic SG1 is defined, per
kW); standby, peripheral and deviation watts do not.
"""

from __future__ import annotations

import math
import re
import textwrap
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from sems_battery.errors import ParameterError

IDEAL = "ideal"
DEFAULT_SYSTEM = "SG1"
HOURS_PER_YEAR = 8760.0
_DATA = "data"


@dataclass(frozen=True)
class LossCurve:
    """Conversion loss in W at normalised power n (0..1 of the rated power): a n² + b n + c."""

    a: float
    b: float
    c: float

    def at(self, share: float) -> float:
        return self.a * share * share + self.b * share + self.c


@dataclass(frozen=True)
class LossModel:
    """A battery system's losses (see the module docstring); every power in W."""

    id: str
    name: str
    charge_loss: LossCurve
    discharge_loss: LossCurve
    rated_charge_w: float
    rated_discharge_w: float
    battery_efficiency: float
    standby_charged_ac_w: float = 0.0
    standby_charged_dc_w: float = 0.0
    standby_discharged_ac_w: float = 0.0
    standby_discharged_dc_w: float = 0.0
    peripheral_ac_w: float = 0.0
    charge_deviation_w: float = 0.0
    discharge_deviation_w: float = 0.0
    hysteresis_soc: float = 0.98
    coupling: str = "AC"
    capacity_kwh: float | None = None  # of the measured unit; for information
    source: str = ""

    def __post_init__(self) -> None:
        numbers = {
            k: v for k, v in asdict(self).items() if isinstance(v, float) and k != "capacity_kwh"
        }
        for name, value in numbers.items():
            if not math.isfinite(value):
                raise ParameterError(f"system {self.id}: {name} must be a number, got {value}")
        for name in ("rated_charge_w", "rated_discharge_w"):
            if numbers[name] <= 0:
                raise ParameterError(f"system {self.id}: {name} must be above 0 W")
        if not 0 < self.battery_efficiency <= 1:
            raise ParameterError(
                f"system {self.id}: battery_efficiency must be above 0 and at most 1 (100%), "
                f"got {self.battery_efficiency:g}"
            )
        if not 0 < self.hysteresis_soc <= 1:
            raise ParameterError(f"system {self.id}: hysteresis_soc must be in (0, 1]")
        standby = (
            self.standby_charged_ac_w,
            self.standby_charged_dc_w,
            self.standby_discharged_ac_w,
            self.standby_discharged_dc_w,
            self.peripheral_ac_w,
        )
        if min(standby) < 0:
            raise ParameterError(f"system {self.id}: standby and peripheral watts must be >= 0")
        for curve, name in ((self.charge_loss, "charge"), (self.discharge_loss, "discharge")):
            worst = max(curve.at(share / 20) for share in range(21))
            if curve.c < 0 or min(curve.at(share / 20) for share in range(21)) < 0:
                raise ParameterError(f"system {self.id}: the {name} loss curve goes below 0 W")
            rated = self.rated_charge_w if name == "charge" else self.rated_discharge_w
            if worst >= rated:
                raise ParameterError(
                    f"system {self.id}: the {name} loss ({worst:g} W) is not below the rated "
                    f"power ({rated:g} W)"
                )

    @property
    def standby_w(self) -> float:
        """A typical standby draw: charged and discharged averaged, AC and DC, and peripherals."""
        charged = self.standby_charged_ac_w + self.standby_charged_dc_w
        discharged = self.standby_discharged_ac_w + self.standby_discharged_dc_w
        return (charged + discharged) / 2 + self.peripheral_ac_w

    def efficiencies_at(self, share: float) -> tuple[float, float]:
        """One-way charge and discharge efficiency (AC to cells and back) at a power share."""
        cells = math.sqrt(self.battery_efficiency)
        charge_in = share * self.rated_charge_w
        charge = max(charge_in - self.charge_loss.at(share), 0.0) / charge_in * cells
        discharge_out = share * self.rated_discharge_w
        discharge = discharge_out / (discharge_out + self.discharge_loss.at(share)) * cells
        return charge, discharge

    def round_trip_at(self, share: float) -> float:
        charge, discharge = self.efficiencies_at(share)
        return charge * discharge

    def describe(self) -> str:
        return f"PerMod {self.id}: {self.name}"

    def parameters_text(self) -> list[str]:
        """The parameters in plain words, for reports."""

        def curve(loss: LossCurve) -> str:
            return f"{loss.a:g} n² {loss.b:+g} n {loss.c:+g} W"

        standby_kwh = self.standby_w * HOURS_PER_YEAR / 1000
        return [
            f"rated power {self.rated_charge_w:g} W charging, {self.rated_discharge_w:g} W "
            "discharging (loss curves scale with the power simulated)",
            f"conversion loss charging {curve(self.charge_loss)}, discharging "
            f"{curve(self.discharge_loss)} (n: power as a share of the rated power; the "
            "constant is also the minimum power)",
            f"battery cells {self.battery_efficiency:.1%} round trip",
            f"round trip AC to AC {self.round_trip_at(0.5):.1%} at half power, "
            f"{self.round_trip_at(0.1):.1%} at a tenth",
            f"standby {self.standby_charged_ac_w:g} W AC + {self.standby_charged_dc_w:g} W DC "
            f"when charged, {self.standby_discharged_ac_w:g} W AC + "
            f"{self.standby_discharged_dc_w:g} W DC when discharged; peripherals "
            f"{self.peripheral_ac_w:g} W (about {standby_kwh:,.0f} kWh a year if idle all year)",
            f"stationary deviation {self.charge_deviation_w:g} W charging, "
            f"{self.discharge_deviation_w:g} W discharging; no top-up until the state of "
            f"charge falls below {self.hysteresis_soc:.0%}",
        ]

    def to_toml(self, header: str = "") -> str:
        """The parameters as a TOML file that `load_system` reads back."""
        lines = [f"# {line}" for line in textwrap.wrap(header, 88)]
        scalars = {
            "id": self.id,
            "name": self.name,
            "source": self.source,
            "coupling": self.coupling,
            "rated_charge_w": self.rated_charge_w,
            "rated_discharge_w": self.rated_discharge_w,
            "battery_efficiency": self.battery_efficiency,
            "hysteresis_soc": self.hysteresis_soc,
        }
        if self.capacity_kwh is not None:
            scalars["capacity_kwh"] = self.capacity_kwh
        lines += [f"{key} = {_toml_value(value)}" for key, value in scalars.items()]
        for table, curve in (
            ("charge_loss_w", self.charge_loss),
            ("discharge_loss_w", self.discharge_loss),
        ):
            lines += [
                "",
                f"[{table}]",
                *(f"{k} = {_toml_value(v)}" for k, v in asdict(curve).items()),
            ]
        lines += ["", "[standby_w]"]
        lines += [
            f"{key} = {_toml_value(getattr(self, name))}" for key, name in STANDBY_KEYS.items()
        ]
        lines += ["", "[deviation_w]"]
        lines += [
            f"charge = {_toml_value(self.charge_deviation_w)}",
            f"discharge = {_toml_value(self.discharge_deviation_w)}",
        ]
        return "\n".join(lines) + "\n"


STANDBY_KEYS = {
    "charged_ac": "standby_charged_ac_w",
    "charged_dc": "standby_charged_dc_w",
    "discharged_ac": "standby_discharged_ac_w",
    "discharged_dc": "standby_discharged_dc_w",
    "peripheral_ac": "peripheral_ac_w",
}
TOP_LEVEL_KEYS = {
    "id",
    "name",
    "source",
    "coupling",
    "rated_charge_w",
    "rated_discharge_w",
    "battery_efficiency",
    "hysteresis_soc",
    "capacity_kwh",
    "charge_loss_w",
    "discharge_loss_w",
    "standby_w",
    "deviation_w",
}


def _toml_value(value: object) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _number(table: Mapping[str, Any], key: str, where: str, default: float | None = None) -> float:
    value = table.get(key, default)
    if value is None:
        raise ParameterError(f"{where}: missing {key}")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(f"{where}: {key} must be a number, got {value!r}")
    return float(value)


def _table(
    document: Mapping[str, Any], key: str, allowed: set[str], where: str
) -> Mapping[str, Any]:
    table = document.get(key, {})
    if not isinstance(table, Mapping):
        raise ParameterError(f"{where}: [{key}] must be a table")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ParameterError(
            f"{where}: unknown key {unknown[0]!r} in [{key}]; expected {', '.join(sorted(allowed))}"
        )
    return table


def parse_system(document: Mapping[str, Any], where: str) -> LossModel:
    """A `LossModel` from the TOML structure of `sems_battery/data/SG1.toml`."""
    unknown = sorted(set(document) - TOP_LEVEL_KEYS)
    if unknown:
        raise ParameterError(
            f"{where}: unknown key {unknown[0]!r}; expected {', '.join(sorted(TOP_LEVEL_KEYS))}"
        )
    curves = {}
    for key in ("charge_loss_w", "discharge_loss_w"):
        table = _table(document, key, {"a", "b", "c"}, where)
        if not table:
            raise ParameterError(f"{where}: missing [{key}] with a, b and c")
        curves[key] = LossCurve(*(_number(table, k, f"{where} [{key}]") for k in "abc"))
    standby = _table(document, "standby_w", set(STANDBY_KEYS), where)
    deviation = _table(document, "deviation_w", {"charge", "discharge"}, where)
    capacity = document.get("capacity_kwh")
    return LossModel(
        id=str(document.get("id", Path(where).stem)),
        name=str(document.get("name", "")),
        source=str(document.get("source", "")),
        coupling=str(document.get("coupling", "AC")),
        charge_loss=curves["charge_loss_w"],
        discharge_loss=curves["discharge_loss_w"],
        rated_charge_w=_number(document, "rated_charge_w", where),
        rated_discharge_w=_number(document, "rated_discharge_w", where),
        battery_efficiency=_number(document, "battery_efficiency", where),
        hysteresis_soc=_number(document, "hysteresis_soc", where, 1.0),
        capacity_kwh=None if capacity is None else _number(document, "capacity_kwh", where),
        charge_deviation_w=_number(deviation, "charge", where, 0.0),
        discharge_deviation_w=_number(deviation, "discharge", where, 0.0),
        **{
            field_name: _number(standby, key, where, 0.0)
            for key, field_name in STANDBY_KEYS.items()
        },
    )


def builtin_systems() -> list[str]:
    """Ids of the parameter sets shipped with sems-battery."""
    folder = resources.files("sems_battery") / _DATA
    return sorted(
        entry.name.removesuffix(".toml")
        for entry in folder.iterdir()
        if entry.name.endswith(".toml")
    )


def load_system(name: str | Path) -> LossModel:
    """A shipped parameter set by id (`SG1`, `S2`, ...) or a TOML file of parameters."""
    text_name = str(name)
    known = {system.lower(): system for system in builtin_systems()}
    if text_name.lower() in known:
        resource = resources.files("sems_battery") / _DATA / f"{known[text_name.lower()]}.toml"
        text, where = resource.read_text(encoding="utf-8"), known[text_name.lower()]
    else:
        path = Path(text_name).expanduser()
        if not path.suffix and not re.search(r"[/\\]", text_name):
            raise ParameterError(
                f"unknown battery system {text_name!r}; choose {IDEAL}, "
                + ", ".join(builtin_systems())
                + ", or give a TOML file of parameters"
            )
        try:
            text, where = path.read_text(encoding="utf-8"), str(path)
        except OSError as error:
            raise ParameterError(
                f"cannot read the battery system file {path}: {error.strerror}"
            ) from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ParameterError(
            f"the battery system file {where} is not valid TOML: {error}"
        ) from None
    return parse_system(document, where)
