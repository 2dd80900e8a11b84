"""Legacy day files, as the earlier exporter scripts saved them: `raw_v2_YYYY-MM-DD.json`.

Two variants exist in the wild: the whole GetPlantPowerChart response, or only its `data`
object. Both hold exactly what the fake legacy endpoint serves for that day, so a test can
compare an archive import with an API sync of the same days.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from sems_fake_portal import protocol
from sems_fake_portal.calls import days_between
from sems_fake_portal.model import Account, Station
from sems_fake_portal.server import FakePortal

Variant = Literal["response", "data"]
VARIANTS: tuple[Variant, ...] = ("response", "data")


def day_file_name(day: date) -> str:
    return f"raw_v2_{day.isoformat()}.json"


def write_legacy_day_files(
    folder: Path | str,
    station: Station,
    first: date,
    last: date,
    *,
    variant: Variant = "response",
    now: datetime | None = None,
    portal: FakePortal | None = None,
) -> list[Path]:
    """Write one file per day from `first` to `last` (days after today are skipped).

    `now` fixes "today" (default: the real clock); pass a running or stopped `portal`
    to reuse its clock and data caches instead.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, not {variant!r}")
    if last < first:
        raise ValueError(f"last day {last} is before first day {first}")
    if portal is None:
        owner = Account("archive@example.com", "unused", stations=[station])
        portal = FakePortal([owner], now=now)
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    today = portal.today(station)
    written = []
    for day in days_between(first, min(last, today)):
        data = portal.legacy_chart_data(station, day)
        if variant == "response":
            para = json.dumps({"model": {"id": station.id, "date": day.isoformat()}})
            content: object = protocol.legacy_envelope(data, para=para)
        else:
            content = data
        path = target / day_file_name(day)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
        temporary.replace(path)  # a reader never sees half a file
        written.append(path)
    return written
