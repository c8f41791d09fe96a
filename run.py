"""Lifeline's one command-line entry: `python run.py serve --host H --port P`, check, purge, simulate,
import and export."""

from __future__ import annotations

import argparse
import io
import logging
import sys
from pathlib import Path

from dotenv import find_dotenv, load_dotenv


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run.py", description="Lifeline SMS and USSD gateway")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the web service and the outbox dispatcher")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    commands.add_parser("check", help="check menus, keywords and templates; report SMS sizes")
    commands.add_parser("purge", help="apply the retention period now (serve does it daily)")
    simulate = commands.add_parser("simulate", help="a terminal phone: dial the USSD menu or send SMS")
    simulate.add_argument("mode", choices=("ussd", "sms"))
    simulate.add_argument("--phone", required=True, help="the simulated phone, e.g. +15555550142")
    simulate.add_argument("--url", help="a running server (default: start one inside this command)")
    importer = commands.add_parser("import", help="replace config data with a CSV file's rows, all or nothing")
    importer.add_argument("what", choices=("consulates",))
    importer.add_argument("file", type=Path, help="a CSV file as `export` writes it")
    exporter = commands.add_parser("export", help="write config data as CSV, one row per item")
    exporter.add_argument("what", choices=("consulates", "bookings"))
    exporter.add_argument("--output", type=Path, help="the CSV file to write (default: standard output)")
    exporter.add_argument("--consulate", help="bookings: the consulate's id (config/consulates.yaml)")
    exporter.add_argument("--date", help="bookings: the day, YYYY-MM-DD, on the consulate's calendar")
    roster = commands.add_parser("roster", help="the duty roster: phones on duty for a consulate, for a period")
    roster.add_argument("action", choices=("add", "list", "end"))
    roster.add_argument("--consulate", help="add, list: the consulate's id (config/consulates.yaml)")
    roster.add_argument("--phone", help="add: the duty phone, e.g. +17135550180")
    roster.add_argument("--from", dest="starts", help="add: YYYY-MM-DDTHH:MM, consulate time (default: now)")
    roster.add_argument("--until", dest="ends", help="add: YYYY-MM-DDTHH:MM, consulate time (default: until ended)")
    roster.add_argument("--shift", type=int, help="end: the shift's number, as `list` shows it")
    args = parser.parse_args(argv)

    load_dotenv(find_dotenv(usecwd=True))  # the .env of the directory it runs in
    # The simulator's terminal is the phone's screen: only warnings interrupt it.
    level = logging.WARNING if args.command == "simulate" else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The Twilio SDK logs every request (URLs with the account SID, headers) at INFO.
    logging.getLogger("twilio").setLevel(logging.WARNING)

    from aiohttp import web

    from gateway.access_log import AccessLog
    from gateway.app import CheckFailed, create_app
    from gateway.policy import PolicyError
    from gateway.settings import Settings, SettingsError
    from handlers.consulates import ConsulatesError
    from handlers.services import ServicesError
    from store.db import DatabaseUnavailable, open_database, probe

    try:
        settings = Settings.from_env()
        if args.command == "check":
            return run_check(settings)
        if args.command == "purge":
            return run_purge(settings)
        if args.command == "simulate":
            return run_simulate(settings, args.mode, args.phone, args.url)
        if args.command == "import":
            return run_import(settings, args.file)
        if args.command == "roster":
            return run_roster(settings, args)
        if args.command == "export" and args.what == "bookings":
            return run_export_bookings(settings, args.consulate, args.date, args.output)
        if args.command == "export":
            return run_export(settings, args.output)
        app = create_app(settings)
        open_database(settings.database_url)
        probe()
    except DatabaseUnavailable as exc:
        print(f"lifeline: DATABASE_URL: {exc}", file=sys.stderr)
        return 2
    except (SettingsError, PolicyError, CheckFailed, ConsulatesError, ServicesError) as exc:
        print(f"lifeline: {exc}", file=sys.stderr)
        return 2
    web.run_app(
        app,
        host=args.host,
        port=args.port,
        access_log_class=AccessLog,
        print=lambda line: logging.getLogger("lifeline").info(line.strip()),
    )
    return 0


def run_check(settings) -> int:
    """Prints the template sizes, then warnings and errors; exit 1 on any error."""
    from gateway.app import TEMPLATES_DIR
    from gateway.engine.check import check
    from gateway.policy import load_policy

    report = check(settings.menus_dir, TEMPLATES_DIR, load_policy(settings.config_dir).default_language)
    for language, key, encoding, units, segments in report.templates:
        print(f"{language}  {key:<28} {encoding}  {units:>4} units  {segments} segment{'s' if segments > 1 else ''}")
    for warning in report.warnings:
        print(f"warning: {warning}")
    for error in report.errors:
        print(f"error: {error}")
    print(f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)")
    return 1 if report.errors else 0


def run_purge(settings) -> int:
    """Deletes what the retention period says is too old; prints how much."""
    import time

    from gateway.keyfile import load_secret
    from gateway.policy import load_policy
    from store.crypto import configure_vault
    from store.db import database, open_database
    from store.erasure import purge_older_than
    from store.schema import migrate

    days = load_policy(settings.config_dir).privacy.retention_days
    open_database(settings.database_url)
    configure_vault(load_secret(settings))
    migrate()
    now = time.time()
    with database.atomic():
        purged = purge_older_than(now - days * 86400, now)
    print(
        f"purged {purged.sessions} session(s), {purged.inbound} inbound message(s), "
        f"{purged.bodies} sent text(s) older than {days:g} days"
    )
    return 0


def run_import(settings, csv_path: Path) -> int:
    """Replaces config/consulates.yaml with the CSV's consulates; exit 2, changing nothing, on any bad row."""
    from handlers.consulates_csv import CsvRejected, import_csv

    try:
        count = import_csv(csv_path, settings.config_dir / "consulates.yaml")
    except CsvRejected as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print("nothing imported", file=sys.stderr)
        return 2
    print(f"imported {count} consulates from {csv_path}", file=sys.stderr)
    return 0


def run_export(settings, output: Path | None) -> int:
    """Writes config/consulates.yaml as CSV to the file or standard output; the count goes to stderr."""
    from handlers.consulates_csv import export_csv

    text = io.StringIO()  # a broken consulates file then leaves no half-written CSV behind
    count = export_csv(settings.config_dir / "consulates.yaml", text)
    if output is None:
        sys.stdout.write(text.getvalue())
    else:
        try:
            output.write_text(text.getvalue(), encoding="utf-8")
        except OSError as exc:
            print(f"lifeline: --output: {output}: {exc.strerror}", file=sys.stderr)
            return 2
    print(f"exported {count} consulates to {output or 'standard output'}", file=sys.stderr)
    return 0


def run_export_bookings(settings, consulate_id: str | None, day: str | None, output: Path | None) -> int:
    """Writes one consulate's appointments of one day as CSV, for the officials who receive people."""
    from datetime import date

    from gateway.app import TEMPLATES_DIR
    from gateway.keyfile import load_secret
    from gateway.policy import load_policy
    from gateway.texts import Texts
    from handlers.consulates import Directory
    from handlers.day_sheet import write_day_sheet
    from handlers.services import load_services
    from store.crypto import configure_vault
    from store.db import database, open_database
    from store.schema import migrate

    directory = Directory.load(settings.config_dir / "consulates.yaml")
    consulate = directory.by_id(consulate_id or "")
    if consulate is None:
        print(
            f"lifeline: --consulate: {consulate_id!r} is not a consulate id in config/consulates.yaml", file=sys.stderr
        )
        return 2
    try:
        wanted = date.fromisoformat(day or "")
    except ValueError:
        print(f"lifeline: --date: {day!r} is not a date such as 2026-11-30", file=sys.stderr)
        return 2
    language = load_policy(settings.config_dir).default_language
    services = load_services(settings.config_dir / "services.yaml", Texts.load(TEMPLATES_DIR, language).languages)
    open_database(settings.database_url)
    configure_vault(load_secret(settings))
    migrate()
    text = io.StringIO()
    with database.atomic():
        count = write_day_sheet(text, consulate, wanted, services, language)
    if output is None:
        sys.stdout.write(text.getvalue())
    else:
        try:
            output.write_text(text.getvalue(), encoding="utf-8")
        except OSError as exc:
            print(f"lifeline: --output: {output}: {exc.strerror}", file=sys.stderr)
            return 2
    print(f"exported {count} appointment(s) at {consulate.id} on {wanted}", file=sys.stderr)
    return 0


def run_roster(settings, args) -> int:
    """Adds, lists or ends duty shifts; a phone on shift is paged with the consulate's duty phones and may
    answer its alerts."""
    import time
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from gateway.keyfile import load_secret
    from gateway.messages import BadRequest
    from gateway.phones import mask, to_e164
    from handlers.consulates import Directory
    from store import roster
    from store.crypto import configure_vault
    from store.db import database, open_database
    from store.schema import migrate

    directory = Directory.load(settings.config_dir / "consulates.yaml")
    consulate = directory.by_id(args.consulate) if args.consulate else None
    if args.consulate and consulate is None:
        print(
            f"lifeline: --consulate: {args.consulate!r} is not a consulate id in config/consulates.yaml",
            file=sys.stderr,
        )
        return 2
    now = time.time()

    def moment(text: str | None, option: str) -> float | None:
        if text is None:
            return None
        try:
            moment = datetime.fromisoformat(text)
            # A time without an offset is on the consulate's clock; one with an offset is kept as written.
            return (moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(consulate.time_zone))).timestamp()
        except ValueError:
            raise SystemExit(f"lifeline: {option}: {text!r} is not a time such as 2026-11-30T08:00") from None

    if args.action == "add":
        try:
            phone = to_e164(args.phone or "")
        except BadRequest:
            phone = None
        if consulate is None or phone is None:
            print("lifeline: roster add needs --consulate ID and --phone +1...", file=sys.stderr)
            return 2
        starts, ends = moment(args.starts, "--from") or now, moment(args.ends, "--until")
        if ends is not None and ends <= starts:
            print("lifeline: --until: must be after --from", file=sys.stderr)
            return 2
    if args.action == "end" and args.shift is None:
        print("lifeline: roster end needs --shift N (see roster list)", file=sys.stderr)
        return 2
    open_database(settings.database_url)
    configure_vault(load_secret(settings))
    migrate()
    with database.atomic():
        if args.action == "add":
            shift = roster.add_shift(consulate.id, phone, starts, ends, now)
            print(f"shift {shift.id}: {mask(phone)} on duty for {consulate.id}", file=sys.stderr)
        elif args.action == "end":
            if not roster.end_shift(args.shift, now):
                print(f"lifeline: --shift: no running or future shift {args.shift}", file=sys.stderr)
                return 2
            print(f"shift {args.shift} ended", file=sys.stderr)
        else:
            for shift in roster.shifts(consulate.id if consulate else None, now):
                office = directory.by_id(shift.consulate)
                zone = ZoneInfo(office.time_zone) if office else None
                until = datetime.fromtimestamp(shift.ends_at, zone).strftime("%Y-%m-%d %H:%M") if shift.ends_at else "-"
                since = datetime.fromtimestamp(shift.starts_at, zone).strftime("%Y-%m-%d %H:%M")
                # Administrators need the number to call the officer: the list is for them, not for logs.
                print(f"{shift.id}\t{shift.consulate}\t{shift.phone}\t{since}\t{until}")
    return 0


def run_simulate(settings, mode: str, phone: str, url: str | None) -> int:
    """A terminal phone on the real webhooks; exit 2 when the phone or the outbox cannot be used."""
    import asyncio

    from gateway.messages import BadRequest
    from gateway.phones import to_e164
    from gateway.simulator import SimulatorError, main_loop

    try:
        number = to_e164(phone)
    except BadRequest as exc:
        print(f"lifeline: --phone: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(main_loop(mode, number, url, settings))
    except SimulatorError as exc:
        print(f"lifeline: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
