"""The stream schemas are the contract with targets and sems-battery."""

from tap_sems import schemas


def test_plant_power_key_fields_are_required_and_typed() -> None:
    props = schemas.PLANT_POWER["properties"]
    assert set(schemas.PLANT_POWER_KEY) <= set(schemas.PLANT_POWER["required"])
    assert props["timestamp"]["format"] == "date-time"
    assert props["day"]["format"] == "date"


def test_power_series_are_nullable_numbers() -> None:
    props = schemas.PLANT_POWER["properties"]
    power = [name for name in props if name.endswith("_w") or name.endswith("_pct")]
    assert len(power) == 7
    for name in power:
        assert props[name]["type"] == ["number", "null"], name
