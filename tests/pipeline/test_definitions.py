"""The Meltano plugin definitions follow the plugins, and say the same thing everywhere.

The definitions (plugins/<type>/<name>--sems-exporter.lock) are generated from the plugins'
config schemas by scripts/plugin_definitions.py; these tests fail when a plugin's settings
change and the files were not regenerated, when the generator misreads a schema, and when
a setting group claims something the tap does not require.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from sems_fake_portal import DEMO_ACCOUNT, DEMO_PASSWORD, DEMO_STATION_ID
from sems_fake_portal.archive import write_legacy_day_files

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PACKAGES = ["tap-sems", "target-parquet-sems", "sems-battery", "sems-fake-portal"]


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "plugin_definitions", ROOT / "scripts" / "plugin_definitions.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


generator = load_generator()


def lock(name: str) -> dict[str, Any]:
    (plugin,) = [p for p in generator.PLUGINS if p.package == name]
    return json.loads(plugin.lock_file.read_text())  # type: ignore[no-any-return]


def pyproject(package: str) -> dict[str, Any]:
    with (ROOT / package / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)["project"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("plugin", generator.PLUGINS, ids=lambda p: p.package)
def test_definition_files_are_up_to_date(plugin: Any) -> None:
    assert plugin.lock_file.exists(), "run `python3 dev.py definitions`"
    assert plugin.lock_file.read_text() == generator.render(plugin), (
        f"{plugin.lock_file.relative_to(ROOT)} is out of date: run `python3 dev.py definitions`"
    )


@pytest.mark.parametrize("executable", ["tap-sems", "target-parquet-sems"])
def test_settings_follow_the_config_schema(executable: str) -> None:
    schema = generator.about(executable)["settings"]["properties"]
    settings = {s["name"]: s for s in lock(executable)["settings"]}
    assert list(settings) == list(schema)
    kinds = {"integer": "integer", "boolean": "boolean", "array": "array", "object": "object"}
    for name, prop in schema.items():
        setting = settings[name]
        types = [t for t in prop["type"] if t != "null"]
        if types == ["string"] and "enum" in prop:
            assert setting["kind"] == "options", name
            assert [o["value"] for o in setting["options"]] == prop["enum"], name
        elif len(types) == 1 and types[0] in kinds:
            assert setting["kind"] == kinds[types[0]], name
        else:  # text, dates and number-or-text pass through Meltano as text
            assert setting["kind"] == "string", name
        assert setting.get("sensitive", False) == prop.get("secret", False), name
        assert setting.get("value") == prop.get("default"), name
        assert setting.get("description") == prop.get("description"), name


def test_dates_reach_the_tap_as_written() -> None:
    """Meltano's date_iso8601 kind re-reads 01.03.2026 as 3 January; no setting may use it."""
    settings = {s["name"]: s for s in lock("tap-sems")["settings"]}
    assert settings["start_date"]["kind"] == "string"
    assert settings["end_date"]["kind"] == "string"
    for name in ("tap-sems", "target-parquet-sems", "sems-battery"):
        assert all(s.get("kind") != "date_iso8601" for s in lock(name)["settings"])


def test_meltano_yml_takes_our_plugins_from_the_definitions() -> None:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    declared_in_definitions = {
        "namespace", "settings", "settings_group_validation", "capabilities", "commands",
        "executable", "label", "docs", "repo",
    }  # fmt: skip
    for plugin in generator.PLUGINS:
        (entry,) = [
            e for e in project["plugins"][plugin.plugin_type] if e["name"] == plugin.package
        ]
        assert entry["variant"] == generator.VARIANT
        assert entry["pip_url"] == f"-e ./{plugin.package}"
        assert not declared_in_definitions & set(entry), plugin.package


def test_sems_battery_commands_read_the_configured_dataset() -> None:
    definition = lock("sems-battery")
    settings = {s["name"] for s in definition["settings"]}
    for command in definition["commands"].values():
        variables = set(re.findall(r"\$SEMS_BATTERY_([A-Z_]+)", command["args"]))
        assert "DATA" in variables
        assert {v.lower() for v in variables} <= settings
        assert "output" not in command["args"].split()


def test_package_metadata_is_consistent() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    newest = re.search(r"^## \[(\d+\.\d+\.\d+)\]", changelog, re.MULTILINE)
    assert newest is not None
    readme = (ROOT / "README.md").read_text()
    licence = (ROOT / "LICENSE").read_text()
    versions = set()
    for package in PACKAGES:
        project = pyproject(package)
        versions.add(project["version"])
        assert project["urls"]["Repository"] == generator.REPOSITORY, package
        assert project["urls"]["Homepage"] == generator.REPOSITORY, package
        assert all(url.startswith(generator.REPOSITORY) for url in project["urls"].values())
        assert project["license-files"] == ["LICENSE"]
        assert (ROOT / package / "LICENSE").read_text() == licence, f"{package}/LICENSE"
        claimed = generator.python_versions(project["classifiers"])
        assert claimed == ["3.11", "3.12", "3.13"], package
        assert project["requires-python"] == f">={claimed[0]}", package
        assert f"Python {claimed[0]} or newer" in readme
    assert versions == {newest.group(1)}
    for plugin in generator.PLUGINS:
        definition = lock(plugin.package)
        assert definition["repo"] == generator.REPOSITORY
        assert (
            definition["pip_url"] == f"git+{generator.REPOSITORY}.git#subdirectory={plugin.package}"
        )


def sample_config(group: list[str], portal_url: str, archive: Path) -> dict[str, Any]:
    """A configuration that sets exactly the settings of one group (and a short range)."""
    values: dict[str, Any] = {
        "account": DEMO_ACCOUNT,
        "password": DEMO_PASSWORD,
        "start_date": "2026-06-01",
        "backend": "archive",
        "archive_dir": str(archive),
        "station_ids": [DEMO_STATION_ID],
        "timezone": "Europe/Berlin",
        "fallback_utc_offset": "+01:00",
    }
    missing = set(group) - set(values)
    assert not missing, f"give the new group settings {missing} a sample value here"
    config = {name: values[name] for name in group}
    config.update(end_date="2026-06-01", max_requests_per_second=0)
    if config.get("backend") != "archive":
        config["api_url"] = portal_url
    return config


def test_each_setting_group_is_what_the_tap_requires(portal, tmp_path: Path) -> None:
    """Every group is enough to run, and the tap names each of its settings when missing."""
    groups = lock("tap-sems")["settings_group_validation"]
    assert groups
    runs = 0

    def run(config: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        nonlocal runs
        runs += 1
        path = tmp_path / f"config-{runs}.json"
        path.write_text(json.dumps(config))
        return subprocess.run(
            [str(BIN / "tap-sems"), "--config", str(path)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    # The archive group reads a raw_dir capture, which names its stations and zones itself.
    archive = tmp_path / "raw"
    capture = run({**sample_config(groups[0], portal.url, archive), "raw_dir": str(archive)})
    assert capture.returncode == 0, capture.stderr[-2000:]
    for group in groups:
        config = sample_config(group, portal.url, archive)
        complete = run(config)
        assert complete.returncode == 0, (group, complete.stderr[-2000:])
        assert '"type":"RECORD"' in complete.stdout.replace(" ", "")
        for name in group:
            if name == "backend":  # it has a default; the group names which value it needs
                continue
            without = run({k: v for k, v in config.items() if k != name})
            assert without.returncode != 0, (group, name)
            # The message names the setting, or one that another group takes instead.
            rest = set(group) - {name}
            instead = {n for other in groups for n in set(other) - rest if set(other) > rest}
            named = [n for n in instead if f"`{n}`" in without.stderr or f"'{n}'" in without.stderr]
            assert named, (group, name, without.stderr[-1000:])
    # A folder of the old exporter's day files names no station or zone: the archive group is
    # not enough there, and the tap says which setting it needs.
    legacy = tmp_path / "json_export"
    day = dt.date(2026, 6, 1)
    station = portal.station(DEMO_STATION_ID)
    write_legacy_day_files(legacy, station, day, day, variant="response", portal=portal)
    bare = run(sample_config(groups[-1], portal.url, legacy))
    assert bare.returncode != 0
    assert "`station_ids`" in bare.stderr or "`timezone`" in bare.stderr, bare.stderr[-1000:]
