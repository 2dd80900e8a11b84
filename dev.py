#!/usr/bin/env python3
"""Project tasks: `python3 dev.py demo`, `python3 dev.py test`, `python3 dev.py bench`.

Only the standard library is used here, so a fresh clone with nothing but Python can
run every task: each one first makes sure `.venv` holds the project's packages
(editable) and its development tools, reinstalling only when a dependency file changed.
Installs go through uv (from PyPI, bootstrapped with pip into .venv), which is an order of
magnitude faster than pip; pip does the work when uv cannot be had.

uv, unlike pip, does not compile bytecode when it installs, so the tasks let Python cache it
as modules are first imported, even where PYTHONDONTWRITEBYTECODE is set: without the cache
every start of Meltano, the tap or the target re-reads its sources (twice as slow).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
VENV = ROOT / ".venv"
PACKAGES = ["tap-sems", "target-parquet-sems", "sems-battery", "sems-fake-portal"]
REQUIREMENTS = ROOT / "requirements-dev.txt"
DEPENDENCY_FILES = [REQUIREMENTS] + [ROOT / p / "pyproject.toml" for p in PACKAGES]
STAMP = VENV / ".dependencies.sha256"
LINTED = [*PACKAGES, "tests", "benchmarks", "scripts", "dev.py"]
TYPE_CHECKED = [f"{p}/{p.replace('-', '_')}" for p in PACKAGES]
# The fast part of the suite that `smoke` runs on the oldest and newest supported Python:
# unit tests, the fake portal, and one tap -> target run, against the installed wheels.
SMOKE_TESTS = [
    "tests/tap",
    "tests/target",
    "tests/portal",
    "tests/battery",
    "tests/pipeline/test_tap_to_target.py",
]


def venv_bin(name: str, root: Path = VENV) -> str:
    folder = "Scripts" if os.name == "nt" else "bin"
    return str(root / folder / name)


def dependency_hash() -> str:
    digest = hashlib.sha256(sys.version.encode())
    for path in DEPENDENCY_FILES:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def pinned(name: str) -> str:
    """The requirement line for `name` in requirements-dev.txt (e.g. uv==0.13.9)."""
    for line in REQUIREMENTS.read_text().splitlines():
        if re.match(rf"{re.escape(name)}\s*(==|$)", line.strip()):
            return line.strip()
    return name


def ensure_uv() -> str | None:
    """uv in .venv, installed with pip on first use; None when it cannot be had."""
    uv = venv_bin("uv")
    if Path(uv).exists():
        return uv
    quiet = ["--quiet", "--disable-pip-version-check"]
    done = subprocess.run(
        [venv_bin("python"), "-m", "pip", "install", *quiet, pinned("uv")], check=False
    )
    if done.returncode == 0 and Path(uv).exists():
        return uv
    print("uv could not be installed; installing with pip instead (slower).", flush=True)
    return None


def install(python: str, requirements: list[str]) -> None:
    """pip-install arguments into the environment of `python`, with uv when it is there."""
    uv = ensure_uv()
    if uv:
        run([uv, "pip", "install", "--quiet", "--python", python, *requirements])
    else:
        quiet = ["--quiet", "--disable-pip-version-check"]
        run([python, "-m", "pip", "install", *quiet, *requirements])


def ensure_venv() -> None:
    """Create or refresh .venv when a dependency file changed since the last install."""
    wanted = dependency_hash()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not Path(venv_bin("python")).exists():
        print("Creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    print("Installing the project and its tools into .venv ...", flush=True)
    editable: list[str] = []
    for package in PACKAGES:
        editable += ["-e", str(ROOT / package)]
    install(venv_bin("python"), ["-r", str(REQUIREMENTS), *editable])
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


def supported_pythons() -> list[str]:
    """The Python versions the packages claim (their classifiers), oldest first."""
    with (ROOT / PACKAGES[0] / "pyproject.toml").open("rb") as handle:
        classifiers = tomllib.load(handle)["project"]["classifiers"]
    prefix = "Programming Language :: Python :: "
    versions = [c.removeprefix(prefix) for c in classifiers if re.fullmatch(r".*3\.\d+", c)]
    return sorted(versions, key=lambda v: tuple(map(int, v.split("."))))


def find_python(version: str) -> str | None:
    """An interpreter of `version` (e.g. 3.13): pyenv's newest, else one on PATH that runs."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = [p for p in pyenv.glob(f"{version}.*") if re.fullmatch(r"\d+\.\d+\.\d+", p.name)]
    found.sort(key=lambda p: int(p.name.split(".")[2]), reverse=True)
    candidates = [Path(venv_bin("python", p)) for p in found]
    candidates += [Path(p) for p in [shutil.which(f"python{version}")] if p]
    for candidate in candidates:
        check = subprocess.run(
            [str(candidate), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if check.returncode == 0 and check.stdout.strip() == version:
            return str(candidate)
    return None


def task_smoke(args: list[str]) -> None:
    """Install the built wheels on the oldest and newest supported Python; run the fast tests."""
    ensure_venv()
    claimed = supported_pythons()
    versions = args or sorted({claimed[0], claimed[-1]}, key=claimed.index)
    with tempfile.TemporaryDirectory(prefix="sems-wheels-") as folder:
        uv = ensure_uv()
        for package in PACKAGES:
            if uv:
                command = [uv, "build", "--quiet", "--wheel", "--out-dir", folder]
            else:
                command = [venv_bin("python"), "-m", "pip", "wheel", "--no-deps", "-w", folder]
            run([*command, str(ROOT / package)])
        wheels = sorted(str(p) for p in Path(folder).glob("*.whl"))
        for version in versions:
            python = find_python(version)
            if python is None:
                message = f"Python {version} not found (pyenv or python{version} on PATH)"
                if os.environ.get("CI"):
                    raise SystemExit(f"smoke: {message}")
                print(f"== smoke on Python {version}: skipped, {message}", flush=True)
                continue
            print(f"== smoke on Python {version} ({python}): the wheels and the fast tests")
            environment = ROOT / f".venv-smoke-{version}"
            if uv:
                run([uv, "venv", "--quiet", "--clear", "--python", python, str(environment)])
            else:
                run([python, "-m", "venv", "--clear", str(environment)])
            install(venv_bin("python", environment), ["-r", str(REQUIREMENTS), *wheels])
            pytest = [venv_bin("python", environment), "-m", "pytest", "-p", "no:cacheprovider"]
            run([*pytest, "-q", "-m", "not slow", *SMOKE_TESTS])


def task_test(args: list[str]) -> None:
    """Lint, type-check, the whole suite, then the smoke (extra args: pytest alone, with them)."""
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
    if not args:
        # The whole suite just ran on this Python (and tests/pipeline installed the wheels),
        # so the smoke covers the other end of the supported range.
        claimed = supported_pythons()
        this = f"{sys.version_info.major}.{sys.version_info.minor}"
        others = [v for v in dict.fromkeys((claimed[0], claimed[-1])) if v != this]
        if this in (claimed[0], claimed[-1]):
            print(f"== smoke on Python {this}: the whole suite above ran on it", flush=True)
        if others:
            task_smoke(others)


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


def task_definitions(args: list[str]) -> None:
    """Write the Meltano plugin definitions from the plugins' settings (--check: only compare)."""
    ensure_venv()
    run([venv_bin("python"), str(ROOT / "scripts" / "plugin_definitions.py"), *args])


def task_clean(args: list[str]) -> None:
    """Remove .venv, the smoke environments, Meltano's plugin environments and demo output."""
    for path in (VENV, *ROOT.glob(".venv-smoke-*"), ROOT / ".meltano", ROOT / "output"):
        shutil.rmtree(path, ignore_errors=True)


TASKS = {
    "test": task_test,
    "demo": task_demo,
    "bench": task_bench,
    "smoke": task_smoke,
    "definitions": task_definitions,
    "clean": task_clean,
}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TASKS:
        print(__doc__)
        for name, task in TASKS.items():
            print(f"  {name:12} {(task.__doc__ or '').splitlines()[0]}")
        raise SystemExit(2)
    TASKS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
