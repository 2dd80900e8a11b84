"""The packages as published, and the plugins added to somebody else's Meltano project.

The wheels and sdists are built as a release would build them; a fresh Meltano project
outside the repository adds the three plugins from the definition files, with pip_url
pointed at the built wheels, and runs the main job and the battery sweep.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sems_fake_portal import DEMO_ACCOUNT, DEMO_PASSWORD, DEMO_STATION_ID, FakePortal

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PACKAGES = ["tap-sems", "target-parquet-sems", "sems-battery", "sems-fake-portal"]
DEFINITIONS = {
    "extractor": ROOT / "plugins" / "extractors" / "tap-sems--sems-exporter.lock",
    "loader": ROOT / "plugins" / "loaders" / "target-parquet-sems--sems-exporter.lock",
    "utility": ROOT / "plugins" / "utilities" / "sems-battery--sems-exporter.lock",
}


def version_of(package: str) -> str:
    with (ROOT / package / "pyproject.toml").open("rb") as handle:
        return str(tomllib.load(handle)["project"]["version"])


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An sdist and a wheel of each package, built from the sdist as a release does."""
    folder = tmp_path_factory.mktemp("dist")
    for package in PACKAGES:
        subprocess.run(
            [str(BIN / "uv"), "build", "--quiet", "--out-dir", str(folder), str(ROOT / package)],
            check=True,
            timeout=300,
        )
    yield folder


def wheel_of(dist: Path, package: str) -> Path:
    return dist / f"{package.replace('-', '_')}-{version_of(package)}-py3-none-any.whl"


@pytest.mark.parametrize("package", PACKAGES)
def test_wheel_and_sdist_carry_licence_readme_and_metadata(dist: Path, package: str) -> None:
    version = version_of(package)
    name = package.replace("-", "_")
    licence = (ROOT / "LICENSE").read_text()
    with zipfile.ZipFile(wheel_of(dist, package)) as wheel:
        info = f"{name}-{version}.dist-info"
        assert wheel.read(f"{info}/licenses/LICENSE").decode() == licence
        metadata = wheel.read(f"{info}/METADATA").decode()
        modules = [n for n in wheel.namelist() if n.startswith(f"{name}/")]
    headers, _, description = metadata.partition("\n\n")
    for line in (
        f"Name: {package}",
        f"Version: {version}",
        "License-Expression: Apache-2.0",
        "License-File: LICENSE",
        "Requires-Python: >=3.11",
        "Project-URL: Repository, https://github.com/sems-exporter/sems-exporter",
        "Classifier: Programming Language :: Python :: 3.13",
        "Description-Content-Type: text/markdown",
    ):
        assert line in headers.splitlines(), line
    assert "Keywords: " in headers
    assert description.startswith(f"# {package}")
    assert f"{name}/__init__.py" in modules

    with tarfile.open(dist / f"{name}-{version}.tar.gz") as sdist:
        files = {m.name.partition("/")[2]: m for m in sdist.getmembers()}
        assert files["LICENSE"].isfile()
        extracted = sdist.extractfile(files["LICENSE"])
        assert extracted is not None and extracted.read().decode() == licence
        assert {"README.md", "pyproject.toml", f"{name}/__init__.py"} <= set(files)


def test_a_fresh_meltano_project_adds_the_plugins_from_the_definition_files(
    dist: Path, clean_env: dict[str, str], tmp_path: Path
) -> None:
    environment = clean_env | {
        "TAP_SEMS_ACCOUNT": DEMO_ACCOUNT,
        "TAP_SEMS_PASSWORD": DEMO_PASSWORD,
        "TAP_SEMS_START_DATE": "2026-06-01",
        "TAP_SEMS_END_DATE": "2026-06-07",
        "TAP_SEMS_MAX_REQUESTS_PER_SECOND": "0",
        "TARGET_PARQUET_SEMS_DESTINATION_PATH": "output",
    }
    project = tmp_path / "my-project"

    def meltano(*args: str, cwd: Path = project) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(BIN / "meltano"), *args],
            cwd=cwd,
            env=environment,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, f"meltano {' '.join(args)}:\n{done.stderr[-3000:]}"
        return done

    meltano("init", "--no-usage-stats", project.name, cwd=tmp_path)
    for plugin_type, definition in DEFINITIONS.items():
        name = json.loads(definition.read_text())["name"]
        meltano(
            "add", "--plugin-type", plugin_type, name, "--from-ref", str(definition),
            "--no-install",
        )  # fmt: skip
    # As the README says: point pip_url at the wheel instead of the repository.
    meltano_yml = project / "meltano.yml"
    text = meltano_yml.read_text()
    for package in ("tap-sems", "target-parquet-sems", "sems-battery"):
        git_url = f"git+https://github.com/sems-exporter/sems-exporter.git#subdirectory={package}"
        assert text.count(git_url) == 1, package
        text = text.replace(git_url, str(wheel_of(dist, package)))
    meltano_yml.write_text(text)

    listed = meltano("config", "list", "tap-sems").stdout
    for name in ("account", "password", "start_date", "archive_dir"):
        assert f"[env: TAP_SEMS_{name.upper()}]" in listed
    plugins = json.loads(meltano("plugin", "list", "--format", "json").stdout)
    assert sorted((p["type"], p["name"], p["pip_url"]) for p in plugins) == [
        ("extractor", "tap-sems", str(wheel_of(dist, "tap-sems"))),
        ("loader", "target-parquet-sems", str(wheel_of(dist, "target-parquet-sems"))),
        ("utility", "sems-battery", str(wheel_of(dist, "sems-battery"))),
    ]

    meltano("install")
    for kind, package in [
        ("extractors", "tap-sems"),
        ("loaders", "target-parquet-sems"),
        ("utilities", "sems-battery"),
    ]:
        installed = list(
            (project / ".meltano" / kind / package / "venv").glob("lib/*/site-packages")
        )
        assert (installed[0] / package.replace("-", "_") / "__init__.py").exists(), package

    with FakePortal() as portal:
        environment["TAP_SEMS_API_URL"] = portal.url
        meltano("run", "tap-sems", "target-parquet-sems")
    power = pq.read_table(project / "output" / "plant_power.parquet")
    assert power.num_rows == 7 * 288
    assert set(power["station_id"].to_pylist()) == {DEMO_STATION_ID}
    energy = pq.read_table(project / "output" / "daily_energy.parquet")
    assert energy.num_rows == 7
    assert pq.read_table(project / "output" / "stations.parquet").num_rows == 1

    # sems-battery's default dataset is the loader's folder in the same project.
    sweep = meltano("invoke", "sems-battery:sweep", "--json", "-")
    sizes = [row["capacity_kwh"] for row in json.loads(sweep.stdout)]
    assert sizes == [0, 2.5, 5, 7.5, 10, 15, 20]
    assert "7.0 days at 5 min" in sweep.stderr
