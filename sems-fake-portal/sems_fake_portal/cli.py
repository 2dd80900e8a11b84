"""`sems-fake-portal`: run the fake portal in the foreground, or write legacy day files.

    sems-fake-portal --port 0 --url-file /tmp/portal.url [--stations 3] [--now ISO]
    sems-fake-portal archive FOLDER --from 2025-01-01 --to 2025-01-31 [--variant data]

The URL file is written once the portal listens, so a parent process can wait for it.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from sems_fake_portal import protocol
from sems_fake_portal.archive import VARIANTS, write_legacy_day_files
from sems_fake_portal.config import portal_from_json
from sems_fake_portal.model import DEMO_ACCOUNT, DEMO_PASSWORD, demo_account, demo_station
from sems_fake_portal.server import FakePortal


def serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sems-fake-portal",
        description="A fake GoodWe SEMS portal (SEMS+ and legacy API) on loopback.",
        epilog="Also: 'sems-fake-portal archive --help' writes legacy day files.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (loopback)")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one")
    parser.add_argument("--url-file", type=Path, help="write the root URL here once listening")
    parser.add_argument(
        "--stations",
        type=int,
        default=1,
        help="stations of the demo account: the demo plant plus N-1 fleet plants",
    )
    parser.add_argument("--now", help="pin the portal clock (ISO date-time with offset)")
    parser.add_argument("--config", type=Path, help="JSON file with accounts, options, faults")
    parser.add_argument("--faults", help="JSON object of fault settings to start with")
    parser.add_argument("--max-window-days", type=int, help="longest curve window (default 7)")
    parser.add_argument("--points-key", choices=["powerData", "statisticsList"])
    parser.add_argument("--missing-series", choices=["omit", "null"])
    parser.add_argument(
        "--no-signature-check", action="store_true", help="accept SEMS+ calls without X-Signature"
    )
    return parser


def archive_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sems-fake-portal archive",
        description="Write legacy day files raw_v2_YYYY-MM-DD.json for the demo plant.",
    )
    parser.add_argument("folder", type=Path)
    parser.add_argument("--from", dest="first", type=date.fromisoformat, required=True)
    parser.add_argument("--to", dest="last", type=date.fromisoformat, required=True)
    parser.add_argument("--variant", choices=VARIANTS, default="response")
    parser.add_argument("--now", help="what 'today' is (ISO date-time with offset)")
    return parser


def build_portal(args: argparse.Namespace) -> FakePortal:
    config: dict[str, Any] = {}
    if args.config:
        config = json.loads(args.config.read_text(encoding="utf-8"))
    options = dict(config.get("options") or {})
    if args.max_window_days is not None:
        options["max_window_days"] = args.max_window_days
    if args.points_key:
        options["points_key"] = args.points_key
    if args.missing_series:
        options["missing_series"] = args.missing_series
    if args.no_signature_check:
        options["require_signature"] = False
    config["options"] = options
    if args.faults:
        config["faults"] = json.loads(args.faults)
    if args.now:
        config["now"] = args.now
    demo = None
    if not config.get("accounts"):
        if args.stations < 1:
            raise ValueError("--stations must be at least 1 (the demo plant)")
        demo = [demo_account(extra_stations=args.stations - 1)]
    return portal_from_json(config, accounts=demo, host=args.host, port=args.port)


def describe(portal: FakePortal) -> list[str]:
    """What the user needs to point a client at the portal. Only the demo password shows."""
    lines = [
        f"sems-fake-portal listening on {portal.url}",
        f"  SEMS+ login:  {portal.semsplus_login_url}",
        f"  legacy login: {portal.legacy_login_url}",
        f"  control:      {portal.url}{protocol.CONTROL_PREFIX}health",
        f"  clock:        {portal.now.isoformat() if portal.clock_is_fixed else 'real'}",
    ]
    for account in portal.accounts:
        credentials = f"  account {account.account}"
        if account.account == DEMO_ACCOUNT and account.password == DEMO_PASSWORD:
            credentials += f"  password {DEMO_PASSWORD}"
        lines.append(credentials)
        for station in account.stations:
            battery = (
                f"battery {station.battery_kwh:g} kWh" if station.has_battery else "no battery"
            )
            lines.append(
                f"    station {station.id}  {station.name} ({station.timezone}, "
                f"{station.capacity_kwp:g} kWp, {battery})"
            )
    return lines


def write_url_file(path: Path, url: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(url + "\n", encoding="utf-8")
    temporary.replace(path)  # the reader sees the whole URL or no file


def serve(argv: Sequence[str]) -> int:
    args = serve_parser().parse_args(argv)
    try:
        portal = build_portal(args)
    except (ValueError, OSError) as error:
        print(f"sems-fake-portal: {error}", file=sys.stderr)
        return 2
    portal.start()

    def stop(signum: int, frame: FrameType | None) -> None:
        portal.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        if args.url_file:
            write_url_file(args.url_file, portal.url)
        print("\n".join(describe(portal)), flush=True)
        portal.wait()
    finally:
        portal.stop()
        if args.url_file:
            args.url_file.unlink(missing_ok=True)
    return 0


def archive(argv: Sequence[str]) -> int:
    args = archive_parser().parse_args(argv)
    now = datetime.fromisoformat(args.now) if args.now else None
    try:
        written = write_legacy_day_files(
            args.folder, demo_station(), args.first, args.last, variant=args.variant, now=now
        )
    except ValueError as error:
        print(f"sems-fake-portal archive: {error}", file=sys.stderr)
        return 2
    print(f"wrote {len(written)} day files to {args.folder}")
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] == "archive":
        raise SystemExit(archive(arguments[1:]))
    raise SystemExit(serve(arguments))
