"""The repository's docs stand alone and its file map is complete."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {
    "tap-sems": "tap_sems",
    "target-parquet-sems": "target_parquet_sems",
    "sems-battery": "sems_battery",
    "sems-fake-portal": "sems_fake_portal",
}


def file_map() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Files", 1)[1]
    return section.split("```text", 1)[1].split("```", 1)[0]


def test_the_readme_file_map_names_every_module() -> None:
    described = file_map()
    missing = [
        f"{package}/{module.name}"
        for package, folder in PACKAGES.items()
        for module in sorted((ROOT / package / folder).glob("*.py"))
        if module.stem not in ("__init__", "__main__")
        and not re.search(rf"\b{re.escape(module.name)}\b", described)
    ]
    assert missing == [], f"README.md's file map does not name {missing}"


def test_no_tracked_file_points_outside_the_repository() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    outside = re.compile(r"(\.\./)+shared/|\bshared/sems")
    pointing = [
        name
        for name in tracked
        if (ROOT / name).is_file()
        and name != "tests/test_docs.py"
        and outside.search((ROOT / name).read_text(errors="replace"))
    ]
    assert pointing == []
