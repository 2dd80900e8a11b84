"""Meltano plugin definitions of tap-sems, target-parquet-sems and sems-battery.

Each definition is in Meltano Hub's plugin-definition format and lives where Meltano reads a
locked definition: `plugins/<type>/<name>--<variant>.lock`. This repository's `meltano.yml`
names each plugin with that variant (and its own pip_url), so Meltano takes the settings from
these files; any other project adds the plugins with
`meltano add extractor tap-sems --from-ref plugins/extractors/tap-sems--sems-exporter.lock`.

The settings are generated from the plugins' own config schemas (`--about --format json`),
so the two cannot drift apart unnoticed: tests/pipeline/test_definitions.py fails when a file
is not what this script writes. What Meltano needs beyond the schema (the setting groups of
each backend, sems-battery's settings and commands) is declared here.

    python3 dev.py definitions            # write the files
    python3 dev.py definitions --check    # exit 1 when a file is out of date
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# The project's public home: every package's Repository URL and every definition's repo.
REPOSITORY = "https://github.com/sems-exporter/sems-exporter"
VARIANT = "sems-exporter"
# Words a label spells differently from the setting name.
LABEL_WORDS = {"api": "API", "url": "URL", "id": "ID", "ids": "IDs", "s3": "S3", "utc": "UTC"}


@dataclass(frozen=True)
class Plugin:
    """What Meltano needs to know about one of the repository's plugins."""

    package: str  # the distribution, its folder in the repository, and its executable
    plugin_type: str  # extractors, loaders, utilities
    label: str
    # Each group is a set of settings that is enough to run; Meltano shows them in
    # `meltano config list` and accepts the configuration when one of them is complete.
    settings_group_validation: list[list[str]] = field(default_factory=list)
    # Settings of plugins without `--about` (sems-battery), in Meltano's own form.
    settings: list[dict[str, Any]] = field(default_factory=list)
    commands: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def namespace(self) -> str:
        return self.package.replace("-", "_")

    @property
    def lock_file(self) -> Path:
        return ROOT / "plugins" / self.plugin_type / f"{self.package}--{VARIANT}.lock"


PLUGINS = [
    Plugin(
        "tap-sems",
        "extractors",
        label="GoodWe SEMS",
        settings_group_validation=[
            # backend semsplus (the default) or legacy: the portal login
            ["account", "password", "start_date"],
            # backend archive: a raw_dir capture names its stations and zones itself; a folder
            # of the old exporter's day files also needs station_ids and timezone, which the
            # tap asks for by name when it finds such files
            ["backend", "archive_dir", "start_date"],
        ],
        commands={
            "diagnose": {
                "executable": "tap-sems-diagnose",
                "args": "--config ENV",
                "description": (
                    "What the portal answers for this account; add --out DIR for a redacted "
                    "bug-report bundle"
                ),
            },
        },
    ),
    Plugin(
        "target-parquet-sems",
        "loaders",
        label="Parquet (SEMS)",
        settings_group_validation=[["destination_path"]],
        commands={
            "maintain": {
                "executable": "target-parquet-sems-maintain",
                "args": "--config ENV",
                "description": (
                    "Compact, vacuum and checkpoint the Delta tables at the destination "
                    "(table_format delta)"
                ),
            },
        },
    ),
    Plugin(
        "sems-battery",
        "utilities",
        label="SEMS battery simulation",
        settings=[
            {
                "name": "data",
                "label": "Dataset",
                "kind": "string",
                "value": "output",
                "description": (
                    "The dataset target-parquet-sems wrote (its destination_path): a folder "
                    "or a URI such as s3://bucket/prefix"
                ),
            },
            {
                "name": "report_dir",
                "label": "Report folder",
                "kind": "string",
                "value": "output/battery-report",
                "description": "Local folder for the HTML report, its plots and the sweep as CSV",
            },
        ],
        commands={
            "sweep": {
                "args": "sweep --data $SEMS_BATTERY_DATA --capacities 0,2.5,5,7.5,10,15,20",
                "description": "Yearly figures for each battery size (more options may follow)",
            },
            "report": {
                "args": "report --data $SEMS_BATTERY_DATA --out $SEMS_BATTERY_REPORT_DIR",
                "description": "HTML report with plots (more options, e.g. --tariff, may follow)",
            },
            "backtest": {
                "args": "backtest --data $SEMS_BATTERY_DATA",
                "description": "Replay the history with the plant's own battery modelled",
            },
        },
    ),
]


def about(executable: str) -> dict[str, Any]:
    """The plugin's own description of itself, its capabilities and its config schema."""
    done = subprocess.run(
        [str(BIN / executable), "--about", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def label_of(name: str, schema: dict[str, Any]) -> str:
    if schema.get("title"):
        return str(schema["title"])
    words = name.split("_")
    spelled = [LABEL_WORDS.get(word, word) for word in words]
    return " ".join([spelled[0][:1].upper() + spelled[0][1:], *spelled[1:]])


def setting_from_schema(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """One Meltano setting from one property of the plugin's config schema."""
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else [t for t in types if t != "null"]
    setting: dict[str, Any] = {"name": name, "label": label_of(name, schema)}
    if schema.get("description"):
        setting["description"] = schema["description"]
    if types == ["string"] and "enum" in schema:
        setting["kind"] = "options"
        setting["options"] = [{"label": str(v), "value": v} for v in schema["enum"]]
    elif types in (["integer"], ["boolean"], ["array"], ["object"]):
        setting["kind"] = types[0]
    elif types == ["number"]:
        # Meltano's `decimal` kind is not passed on as JSON, so fractions travel as text,
        # which the plugin must accept: declare such settings as number-or-string.
        raise SystemExit(
            f"setting {name}: a plain number cannot pass through Meltano; accept "
            '["number", "string"] in the config schema'
        )
    else:
        # Text, including dates: Meltano's `date_iso8601` kind would re-read 01.03.2026 as
        # 3 January before the tap sees it, so dates pass through as written and the tap
        # itself judges them.
        setting["kind"] = "string"
    if schema.get("secret"):
        setting["sensitive"] = True
    if "default" in schema:
        setting["value"] = schema["default"]
    return setting


def python_versions(classifiers: list[str]) -> list[str]:
    """The Python versions the package claims (and CI tests), from its classifiers."""
    prefix = "Programming Language :: Python :: "
    versions = [c.removeprefix(prefix) for c in classifiers if c.startswith(prefix)]
    return [v for v in versions if v.count(".") == 1]


def definition(plugin: Plugin) -> dict[str, Any]:
    """The plugin's definition, in the form Meltano writes lock files."""
    from meltano.core.plugin.base import StandalonePlugin

    info: dict[str, Any] = {}
    settings = plugin.settings
    if not settings:
        info = about(plugin.package)
        schema = info["settings"]
        settings = [setting_from_schema(k, v) for k, v in schema["properties"].items()]
    known = {s["name"] for s in settings}
    for group in plugin.settings_group_validation:
        unknown = set(group) - known
        if unknown:
            raise SystemExit(f"{plugin.package}: setting group names unknown {sorted(unknown)}")
    package = metadata.metadata(plugin.package)
    data = {
        "plugin_type": plugin.plugin_type,
        "name": plugin.package,
        "namespace": plugin.namespace,
        "variant": VARIANT,
        "label": plugin.label,
        "description": package["Summary"],
        "docs": f"{REPOSITORY}/blob/main/{plugin.package}/README.md",
        "repo": REPOSITORY,
        "pip_url": f"git+{REPOSITORY}.git#subdirectory={plugin.package}",
        "executable": plugin.package,
        "capabilities": info.get("capabilities", []),
        "supported_python_versions": python_versions(package.get_all("Classifier") or []),
        "settings_group_validation": plugin.settings_group_validation,
        "settings": settings,
        "commands": plugin.commands,
    }
    return StandalonePlugin.parse(data).canonical()  # type: ignore[no-any-return]


def render(plugin: Plugin) -> str:
    return json.dumps(definition(plugin), indent=2) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report out-of-date files")
    args = parser.parse_args()
    stale = []
    for plugin in PLUGINS:
        text = render(plugin)
        path = plugin.lock_file
        if path.exists() and path.read_text() == text:
            continue
        stale.append(path.relative_to(ROOT))
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if args.check and stale:
        names = ", ".join(map(str, stale))
        raise SystemExit(f"Out of date: {names}. Run `python3 dev.py definitions`.")
    for path in stale:
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
