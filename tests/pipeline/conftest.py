"""Meltano end to end: the project's plugins, a fake portal, and a real PostgreSQL server.

Each test gets its own Meltano system database (so its own state) and output folder; the
plugins are installed into the project's .meltano/ by `meltano install`, once per session.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sems_fake_portal import DEMO_ACCOUNT, DEMO_PASSWORD, DEMO_STATION_ID, FakePortal
from sems_fake_portal.client import SemsPlusSession

ROOT = Path(__file__).resolve().parents[2]
MELTANO = str(Path(sys.executable).parent / "meltano")
PLUGINS = [
    "tap-sems",
    "target-parquet-sems",
    "sems-battery",
    "target-csv",
    "target-postgres",
    "meltano-map-transform",
]

MeltanoRun = Callable[..., "subprocess.CompletedProcess[str]"]


def clean_environment() -> dict[str, str]:
    """This process's environment without any SEMS, plugin or Meltano settings of the
    developer's (a .env in the project is still read by Meltano, with lower priority)."""
    prefixes = ("SEMS_", "TAP_SEMS_", "TARGET_", "MELTANO_")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)} | {
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false"
    }


@pytest.fixture
def clean_env() -> dict[str, str]:
    return clean_environment()


@pytest.fixture(scope="session")
def meltano_installed() -> None:
    done = subprocess.run(
        [MELTANO, "install", *PLUGINS],
        cwd=ROOT,
        env=clean_environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"Installed {len(PLUGINS)}/{len(PLUGINS)} plugins" in done.stderr, done.stderr[-3000:]


@pytest.fixture
def meltano_env(meltano_installed: None, tmp_path: Path) -> dict[str, str]:
    """The environment `meltano` runs in: this test's system database and output folder."""
    return clean_environment() | {
        "MELTANO_ENVIRONMENT": "dev",
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
        "TARGET_PARQUET_SEMS_DESTINATION_PATH": str(tmp_path / "output"),
        "TAP_SEMS_RAW_DIR": str(tmp_path / "raw"),  # dev keeps raw answers; not in the repo
        "SEMS_BATTERY_DATA": str(tmp_path / "output"),
        "SEMS_BATTERY_REPORT_DIR": str(tmp_path / "battery-report"),
        "TARGET_CSV_OUTPUT_PATH": str(tmp_path / "csv"),
        "TAP_SEMS_MAX_REQUESTS_PER_SECOND": "0",
        "SEMS_ACCOUNT": DEMO_ACCOUNT,
        "SEMS_PASSWORD": DEMO_PASSWORD,
    }


@pytest.fixture
def meltano(meltano_env: dict[str, str]) -> MeltanoRun:
    """Run meltano in the project with this test's system database and output folder."""

    def run(*args: str, **env: str | None) -> subprocess.CompletedProcess[str]:
        """`meltano *args`; a variable given as None is left out of the environment."""
        environment = {k: v for k, v in (meltano_env | env).items() if v is not None}
        return subprocess.run(
            [MELTANO, *args],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )

    return run


@pytest.fixture
def portal() -> Iterator[FakePortal]:
    """The demo account on the real clock."""
    with FakePortal() as running:
        yield running


def pv_watts_on_portal(portal: FakePortal, wall_time: str) -> float:
    """PV power at a plant-local time, as the fake portal serves it (kW) in watts."""
    session = SemsPlusSession(portal.url, DEMO_ACCOUNT, DEMO_PASSWORD)
    session.login()
    day = dt.date.fromisoformat(wall_time[:10])
    answer = session.power_curve(DEMO_STATION_ID, day, day).json()
    (series,) = [s for s in answer["data"]["dataList"] if s["item"] == "pSystem"]
    (point,) = [p for p in series["powerData"] if p["tp"] == wall_time and not p.get("isCE")]
    return float(point["power"]) * 1000


@pytest.fixture
def served_pv_watts() -> Callable[[FakePortal, str], float]:
    return pv_watts_on_portal


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    user: str
    database: str

    @property
    def sqlalchemy_url(self) -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{self.database}"

    @property
    def conninfo(self) -> str:
        return f"host={self.host} port={self.port} user={self.user} dbname={self.database}"


def postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb")) or [
        Path(path) for path in [shutil.which("initdb")] if path
    ]
    if not found:
        pytest.fail(
            "PostgreSQL's server programs (initdb, pg_ctl) are missing; `python3 dev.py test` "
            "installs Debian's postgresql package when it runs as root"
        )
    return found[-1].parent


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A throwaway PostgreSQL cluster on 127.0.0.1, trusting local connections.

    PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres`
    user that Debian's package creates.
    """
    binaries = postgres_bin()
    as_owner: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="sems-postgres-"))
    if os.geteuid() == 0:
        as_owner = ["runuser", "-u", "postgres", "--"]
        shutil.chown(folder, "postgres", "postgres")
    data = folder / "data"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    def run(*command: str) -> None:
        subprocess.run([*as_owner, *command], check=True, capture_output=True, cwd=folder)

    run(str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {folder} -c fsync=off"
    run(
        str(binaries / "pg_ctl"),
        "-D",
        str(data),
        "-o",
        options,
        "-l",
        str(folder / "log"),
        "-w",
        "start",
    )
    try:
        yield Postgres("127.0.0.1", port, "postgres", "postgres")
    finally:
        subprocess.run(
            [*as_owner, str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(folder, ignore_errors=True)
