"""The main job, end to end: `python3 dev.py demo`.

Without SEMS credentials it starts the fake SEMS portal on loopback and runs
`meltano run tap-sems target-parquet-sems` for a year of the demo plant, then runs it again
to show that the second run only fetches the recent days, prints what was written (read back
from Parquet), and asks sems-battery whether a battery would pay off.

With SEMS_ACCOUNT and SEMS_PASSWORD set (in the environment or in .env, see example.env)
it runs the same job against the real portal, writing to output/.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
JOB = ["run", "tap-sems", "target-parquet-sems"]
# Only what the demo runs: not the other targets and the mapper that meltano.yml declares.
PLUGINS = ["tap-sems", "target-parquet-sems", "sems-battery"]
DEMO_ACCOUNT = "demo@example.com"
DEMO_PASSWORD = "demo-password"
PROGRESS = re.compile(r"(plant_power|daily_energy) station \S+: (\S+)\.\.(\S+) .*?(\d+) days left")


def main() -> None:
    environment = dict(os.environ, MELTANO_SEND_ANONYMOUS_USAGE_STATS="false")
    environment.update({k: v for k, v in read_dotenv(ROOT / ".env").items() if k not in os.environ})
    clean = "--clean" if "--clean" in sys.argv else ""
    meltano("install", clean, *PLUGINS, env=environment, quiet=True)
    if environment.get("SEMS_ACCOUNT") and environment.get("SEMS_PASSWORD"):
        real_portal(environment)
    else:
        demo(environment)


def real_portal(environment: dict[str, str]) -> None:
    print("SEMS_ACCOUNT is set: running the main job against the SEMS portal.")
    started = time.monotonic()
    run_job(environment, "output/meltano-run.log")
    print(f"Done in {time.monotonic() - started:.0f} s.")
    summarize(ROOT / environment.get("TARGET_PARQUET_SEMS_DESTINATION_PATH", "output"))


def demo(environment: dict[str, str]) -> None:
    output = ROOT / "output" / "demo"
    print("No SEMS credentials set (see example.env): running the demo against the fake portal.")
    shutil.rmtree(output, ignore_errors=True)
    output.mkdir(parents=True)
    today = dt.date.today()
    start = today.replace(year=today.year - 1)
    with fake_portal() as url:
        environment.update(
            MELTANO_ENVIRONMENT="demo",
            SEMS_ACCOUNT=DEMO_ACCOUNT,
            SEMS_PASSWORD=DEMO_PASSWORD,
            SEMS_START=start.isoformat(),
            TAP_SEMS_API_URL=url,
            # The fake portal needs no politeness; the real one gets 1 request/s by default.
            TAP_SEMS_MAX_REQUESTS_PER_SECOND="0",
        )
        # A destination set for your own runs (in .env) must not receive the demo's data.
        demo_paths = {
            "TARGET_PARQUET_SEMS_DESTINATION_PATH": output,
            "SEMS_BATTERY_DATA": output,
            "SEMS_BATTERY_REPORT_DIR": output / "battery-report",
        }
        environment.update({k: str(v) for k, v in demo_paths.items() if k in environment})
        meltano(
            "state",
            "clear",
            "--force",
            "demo:tap-sems-to-target-parquet-sems",
            env=environment,
            quiet=True,
            check=False,
        )

        print(f"\n1. First run: {start} .. {today}, every 5 minutes, from scratch")
        began, seq = time.monotonic(), last_request(url)
        run_job(environment, output / "meltano-run-1.log")
        first = curve_requests(url, seq)
        print(
            f"   {time.monotonic() - began:.1f} s, {len(first)} curve requests for "
            f"{sum(len(r['days']) for r in first)} days"
        )
        summarize(output)

        print("\n2. Second run: the same job again")
        began, seq = time.monotonic(), last_request(url)
        run_job(environment, output / "meltano-run-2.log")
        second = curve_requests(url, seq)
        days = sorted({day for r in second for day in r["days"]})
        print(
            f"   {time.monotonic() - began:.1f} s, {len(second)} curve request(s), only for "
            f"{', '.join(days)}: the lookback window and today"
        )
        state = meltano(
            "state", "get", "demo:tap-sems-to-target-parquet-sems", env=environment, quiet=True
        )
        bookmarks = json.loads(state)["singer_state"]["bookmarks"]["plant_power"]["partitions"]
        print(f"   bookmark: {bookmarks[0]['replication_key_value']} (today is re-read each run)")

    print("\n3. Would a battery pay off? (sems-battery, default tariff 0.30 import / 0.08 feed-in)")
    # The demo environment points sems-battery's commands at output/demo.
    sweep = meltano("invoke", "sems-battery:sweep", env=environment, quiet=True)
    print("   " + "\n   ".join(sweep.strip().splitlines()))
    print("\n4. The model against the plant's own battery (sems-battery backtest)")
    backtest = meltano("invoke", "sems-battery:backtest", env=environment, quiet=True)
    print("   " + "\n   ".join(backtest.strip().splitlines()))
    meltano("invoke", "sems-battery:report", env=environment, quiet=True)
    print(
        f"\nWritten: {output.relative_to(ROOT)}/ (Parquet), report: "
        f"{(output / 'battery-report' / 'report.html').relative_to(ROOT)}"
    )


@contextmanager
def fake_portal() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        url_file = Path(folder) / "portal.url"
        process = subprocess.Popen(
            [str(BIN / "sems-fake-portal"), "--port", "0", "--url-file", str(url_file)],
            stdout=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while not url_file.exists():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("The fake portal did not start.")
                time.sleep(0.05)
            url = url_file.read_text().strip()
            print(f"   fake SEMS portal on {url}")
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)


def run_job(environment: dict[str, str], log_path: Path | str) -> None:
    """`meltano run tap-sems target-parquet-sems`, with a progress bar from the tap's log."""
    log_file = ROOT / log_path
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("w") as log:
        process = subprocess.Popen(
            [str(BIN / "meltano"), *JOB],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stderr is not None
        total: dict[str, int] = {}
        for line in process.stderr:
            log.write(line)
            match = PROGRESS.search(line)
            if match:
                stream, first, last, left = match.groups()
                done_days = (dt.date.fromisoformat(last) - dt.date.fromisoformat(first)).days + 1
                total[stream] = total.get(stream, 0) + done_days
                show_progress(stream, total[stream], total[stream] + int(left))
        process.wait()
    if sys.stdout.isatty():
        print(" " * 79, end="\r")
    if process.returncode:
        tail = log_file.read_text().splitlines()[-15:]
        raise SystemExit("The job failed:\n" + "\n".join(tail) + f"\n(full log: {log_file})")


def show_progress(stream: str, done: int, total: int) -> None:
    """A bar redrawn in place on a terminal; a line per quarter when output is captured."""
    width = 40
    filled = width * done // max(total, 1)
    line = f"   {stream:13} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} days"
    if sys.stdout.isatty():
        print(line, end="\r", flush=True)
    elif done == total or done * 4 // total != (done - 7) * 4 // total:
        print(line, flush=True)


def summarize(destination: Path) -> None:
    """What was written, read back from the Parquet dataset."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    power = ds.dataset(destination / "plant_power", format="parquet", partitioning="hive")
    table = power.to_table(columns=["station_id", "timestamp", "day"])
    keys = pc.count_distinct(
        pc.binary_join_element_wise(table["station_id"], pc.cast(table["timestamp"], "string"), "|")
    )
    days = pc.unique(table["day"])
    print(
        f"   plant_power: {table.num_rows:,} rows ({keys.as_py():,} distinct instants), "
        f"{len(days)} days, {pc.min(days)}..{pc.max(days)}"
    )
    energy = ds.dataset(destination / "daily_energy", format="parquet", partitioning="hive")
    daily = energy.to_table().to_pylist()
    months: dict[str, dict[str, float]] = {}
    columns = ("production_kwh", "consumption_kwh", "grid_import_kwh", "grid_export_kwh")
    for row in daily:
        month = months.setdefault(row["day"].strftime("%Y-%m"), dict.fromkeys(columns, 0.0))
        for column in columns:
            month[column] += row[column] or 0.0
    print("   kWh per month   produced  consumed  imported  exported")
    for month, values in sorted(months.items()):
        print(f"   {month}        " + "".join(f"{values[c]:>10,.0f}" for c in columns))


def last_request(url: str) -> int:
    log = control(url, "requests")
    return max((r["seq"] for r in log["requests"]), default=0)


def curve_requests(url: str, since: int) -> list[dict[str, Any]]:
    log = control(url, f"requests?since={since}&endpoint=semsplus.power_curve")
    return [r for r in log["requests"] if r["code"] == "00000"]


def control(url: str, path: str) -> Any:
    with urllib.request.urlopen(f"{url}/_fake/{path}", timeout=30) as response:
        return json.load(response)


def meltano(*args: str, env: dict[str, str], quiet: bool = False, check: bool = True) -> str:
    done = subprocess.run(
        [str(BIN / "meltano"), *[a for a in args if a]],
        cwd=ROOT,
        env=env,
        capture_output=quiet,
        text=True,
        check=False,
    )
    if check and done.returncode:
        raise SystemExit(f"meltano {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout or ""


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=value lines of .env (what Meltano reads too), for deciding demo or real run."""
    if not path.exists():
        return {}
    values = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            values[key.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
    return values


if __name__ == "__main__":
    main()
