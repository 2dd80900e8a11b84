"""Would a home battery pay off? Battery simulations from your own SEMS history.

history = load_history("output", station="...")
table = sweep(history, [0, 5, 10], tariff=load_tariff("tariff.toml"))
"""

from sems_battery.battery import Battery, Strategy
from sems_battery.dataset import load_history
from sems_battery.economics import Economics
from sems_battery.errors import BatteryError, DataError, ParameterError
from sems_battery.history import History, build_history
from sems_battery.simulation import SimulationResult, SizeResult, SweepResult, simulate, sweep
from sems_battery.tariff import Tariff, load_tariff

__all__ = [
    "Battery",
    "BatteryError",
    "DataError",
    "Economics",
    "History",
    "ParameterError",
    "SimulationResult",
    "SizeResult",
    "Strategy",
    "SweepResult",
    "Tariff",
    "build_history",
    "load_history",
    "load_tariff",
    "simulate",
    "sweep",
]
