#!/usr/bin/env python3
"""Project tasks: `python3 dev.py demo`, `python3 dev.py test`, `python3 dev.py bench`.

Only the standard library is used here, so a fresh clone with nothing but Python can
run every task: each one first makes sure `.venv` holds the project's packages
(editable) and its development tools, reinstalling only when a dependency file changed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PACKAGES = ["tap-sems", "target-parquet-sems", "sems-battery", "sems-fake-portal"]
DEPENDENCY_FILES = [ROOT / "requirements-dev.txt"] + [ROOT / p / "pyproject.toml" for p in PACKAGES]
STAMP = VENV / ".dependencies.sha256"
LINTED = [*PACKAGES, "tests", "benchmarks", "scripts", "dev.py"]
TYPE_CHECKED = [f"{p}/{p.replace('-', '_')}" for p in PACKAGES]


def venv_bin(name: str) -> str:
    folder = "Scripts" if os.name == "nt" else "bin"
    return str(VENV / folder / name)


def dependency_hash() -> str:
    digest = hashlib.sha256(sys.version.encode())
    for path in DEPENDENCY_FILES:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_venv() -> None:
    """Create or refresh .venv when a dependency file changed since the last install."""
    wanted = dependency_hash()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not Path(venv_bin("python")).exists():
        print("Creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    print(
        "Installing the project and its tools into .venv (first run takes a few minutes) ...",
        flush=True,
    )
    editable: list[str] = []
    for package in PACKAGES:
        editable += ["-e", str(ROOT / package)]
    run(
        [
            venv_bin("python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
            str(ROOT / "requirements-dev.txt"),
            *editable,
        ]
    )
    STAMP.write_text(wanted)


def ensure_postgresql() -> None:
    """The target-postgres tests start a real PostgreSQL server; install Debian's if absent."""
    if any(Path("/usr/lib/postgresql").glob("*/bin/initdb")) or shutil.which("initdb"):
        return
    if os.name != "posix" or os.geteuid() != 0 or not shutil.which("apt-get"):
        return  # the tests then fail with a message saying what is missing
    print(
        "Installing PostgreSQL (Debian's postgresql package) for the pipeline tests ...", flush=True
    )
    environment = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "update", "-q"], env=environment)
    run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql"], env=environment
    )


def run(command: list[str], **kwargs: object) -> None:
    result = subprocess.run(command, cwd=ROOT, check=False, **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        raise SystemExit(result.returncode)


def task_test(args: list[str]) -> None:
    """Lint, type-check, then run the whole test suite (extra args go to pytest)."""
    ensure_venv()
    existing = [p for p in LINTED if (ROOT / p).exists()]
    print("== ruff", flush=True)
    run([venv_bin("ruff"), "check", *existing])
    run([venv_bin("ruff"), "format", "--check", *existing])
    print("== mypy", flush=True)
    run([venv_bin("mypy"), *TYPE_CHECKED])
    print("== pytest", flush=True)
    ensure_postgresql()
    run([venv_bin("python"), "-m", "pytest", *args])


def task_demo(args: list[str]) -> None:
    """The main job against the fake portal (or the real one when credentials are set)."""
    ensure_venv()
    run([venv_bin("python"), str(ROOT / "scripts" / "demo.py"), *args])


def task_bench(args: list[str]) -> None:
    """Run every benchmark script, or the ones named (tap_backfill, target_throughput, ...)."""
    ensure_venv()
    names = args or sorted(p.stem for p in (ROOT / "benchmarks").glob("*.py"))
    for name in names:
        print(f"== benchmarks/{name}.py", flush=True)
        run([venv_bin("python"), str(ROOT / "benchmarks" / f"{name}.py")])


def task_clean(args: list[str]) -> None:
    """Remove .venv, Meltano's plugin environments and demo output."""
    for path in (VENV, ROOT / ".meltano", ROOT / "output"):
        shutil.rmtree(path, ignore_errors=True)


TASKS = {"test": task_test, "demo": task_demo, "bench": task_bench, "clean": task_clean}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TASKS:
        print(__doc__)
        for name, task in TASKS.items():
            print(f"  {name:6} {task.__doc__}")
        raise SystemExit(2)
    TASKS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
