"""Lifeline's one command-line entry: `python run.py serve --host H --port P`, check, purge, rotate-key,
simulate, import, export and roster. This file only parses arguments and calls one function per command."""

from __future__ import annotations

import argparse
import functools
import gc
import io
import logging
import sys
import time
from pathlib import Path

from dotenv import find_dotenv, load_dotenv


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="run.py", description="Lifeline SMS and USSD gateway")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the web service and the outbox dispatcher")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    commands.add_parser("check", help="check menus, keywords and templates; report SMS sizes")
    commands.add_parser("purge", help="apply the retention period now (serve does it daily)")
    commands.add_parser(
        "rotate-key", help="re-encrypt the store with a new key (LIFELINE_NEW_SECRET_KEY, or a new key file)"
    )
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
    admin = commands.add_parser("admin", help="console accounts: create one (password from stdin), make an API token")
    admin.add_argument("action", choices=("create", "token"))
    admin.add_argument("email")
    admin.add_argument("--role", choices=("admin", "supervisor", "officer", "focal_point"), help="create: the role")
    admin.add_argument("--consulate", help="create: an officer's consulate id (config/consulates.yaml)")
    admin.add_argument("--language", default="es", choices=("es", "en"), help="create: the console's language")
    audit = commands.add_parser("audit", help="the audit trail: verify that no entry was edited or deleted")
    audit.add_argument("action", choices=("verify",))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # Starting imports some 700 modules and builds their objects, nearly none of them garbage: the cycle
    # collector would walk them again and again (an eighth of serve's start). serve turns it back on once its
    # service is built, the other commands as soon as their settings are read.
    gc.disable()
    try:
        return _main(args)
    finally:
        gc.enable()


def _main(args: argparse.Namespace) -> int:
    load_dotenv(find_dotenv(usecwd=True))  # the .env of the directory it runs in
    # The simulator's terminal is the phone's screen: only warnings interrupt it.
    level = logging.WARNING if args.command == "simulate" else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The Twilio SDK logs every request (URLs with the account SID, headers) at INFO.
    logging.getLogger("twilio").setLevel(logging.WARNING)
    # The format prints time, level, name and message only: records need not look up the calling frame,
    # thread and process (logging HOWTO, "Optimization"), a third of the cost of a line, and the console
    # provider prints one per SMS.
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False

    from gateway.app import CheckFailed
    from gateway.policy import PolicyError
    from gateway.settings import Settings, SettingsError
    from handlers.reference.consulates import ConsulatesError
    from handlers.reference.services import ServicesError
    from store.db import DatabaseUnavailable
    from store.rotation import CannotRotate

    commands = {
        "serve": run_serve,
        "check": run_check,
        "purge": run_purge,
        "rotate-key": run_rotate_key,
        "simulate": run_simulate,
        "import": run_import,
        "export": run_export,
        "roster": run_roster,
        "admin": run_admin,
        "audit": run_audit,
    }
    try:
        settings = Settings.from_env()
        if args.command != "serve":
            gc.enable()
        return commands[args.command](settings, args)
    except DatabaseUnavailable as exc:
        print(f"lifeline: DATABASE_URL: {exc}", file=sys.stderr)
        return 2
    except (SettingsError, PolicyError, CheckFailed, ConsulatesError, ServicesError, CannotRotate) as exc:
        print(f"lifeline: {exc}", file=sys.stderr)
        return 2


def _refusals(command):
    """A back-office refusal (a wrong --consulate, --date...) is one line on stderr and exit 2."""

    @functools.wraps(command)
    def run(*args, **kwargs) -> int:
        from handlers.backoffice.errors import OptionError

        try:
            return command(*args, **kwargs)
        except OptionError as exc:
            print(f"lifeline: {exc}", file=sys.stderr)
            return 2

    return run


# Connections the kernel holds for serve while it is busy (capped by net.core.somaxconn). aiohttp's 128 overflowed
# when 200 sessions connected at once: the kernel then drops the handshake's last packet, and the carrier's
# first request on that connection waits a second or more for it to be sent again.
LISTEN_BACKLOG = 1024


def run_serve(settings, args) -> int:
    from aiohttp import web

    from gateway.access_log import AccessLog
    from gateway.app import create_app, settle_heap
    from store.db import database, open_database, probe

    for warning in settings.check_callbacks():  # refuses webhooks open to forgery, naming the variable
        logging.getLogger("lifeline").warning(warning)
    app = create_app(settings)
    open_database(settings.database_url)
    probe()
    _unlock(settings)  # a wrong key is refused here, in one line, before the service starts
    database.close()  # the service's own threads open their connections
    # What start-up built lives as long as the process: frozen, no collection walks it again (the first one
    # after gc.enable would walk it all, before the service answers).
    gc.freeze()
    gc.enable()
    app.on_startup.append(settle_heap)  # what the resources open is frozen too, and the thresholds set
    web.run_app(
        app,
        host=args.host,
        port=args.port,
        backlog=LISTEN_BACKLOG,
        access_log_class=AccessLog,
        print=lambda line: logging.getLogger("lifeline").info(line.strip()),
        loop=_event_loop(),
    )
    return 0


def _event_loop():
    """uvloop where it is installed (sockets, timers and callbacks in C: each webhook costs less of the
    event loop); asyncio's own loop otherwise, with nothing else changed."""
    try:
        import uvloop
    except ImportError:
        logging.getLogger("lifeline").info("event loop: asyncio (uvloop is not installed)")
        return None
    logging.getLogger("lifeline").info("event loop: uvloop")
    return uvloop.new_event_loop()


def run_check(settings, args) -> int:
    """Prints the template and SMS menu sizes, then warnings and errors; exit 1 on any error."""
    from gateway.app import check_menus
    from gateway.policy import load_policy

    report = check_menus(settings.menus_dir, load_policy(settings.config_dir).default_language)
    sizes = [(f"{lang}  {key:<28}", *shape) for lang, key, *shape in report.templates]
    # A menu sent by SMS is one message: its title and every option.
    sizes += [(f"{lang}  {'menu ' + screen:<28}", *shape) for lang, screen, *shape in report.menus]
    for name, encoding, units, segments in sizes:
        print(f"{name} {encoding}  {units:>4} units  {segments} segment{'s' if segments > 1 else ''}")
    for warning in report.warnings:
        print(f"warning: {warning}")
    for error in report.errors:
        print(f"error: {error}")
    print(f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)")
    return 1 if report.errors else 0


def run_purge(settings, args) -> int:
    """Deletes what the retention period says is too old; prints how much."""
    from gateway.policy import load_policy
    from handlers.backoffice import retention

    privacy = load_policy(settings.config_dir).privacy
    days = privacy.retention_days
    purged = _in_store(settings, retention.purge, days, privacy.replay_window_days, time.time())
    print(
        f"purged {purged.sessions} session(s), {purged.inbound} inbound message(s), "
        f"{purged.bodies} sent text(s) older than {days:g} days"
    )
    return 0


def run_rotate_key(settings, args) -> int:
    """Re-encrypts the store with a new key, all or nothing; says what it did and what to do next."""
    from gateway.rotate_key import rotate_key
    from handlers.reference.consulates import Directory

    # Duty officers' numbers are hashed where they acknowledged an alert or wrote a note.
    officers = Directory.load(settings.config_dir / "consulates.yaml").duty_phones()
    done = rotate_key(settings, officers)
    if done.rotated:
        rotated = done.rotated
        print(
            f"re-encrypted {rotated.values} value(s) and {rotated.hashes} keyed hash(es); "
            f"{rotated.orphaned} hash(es) of numbers or messages no longer stored re-keyed; "
            f"{rotated.unreadable} unreadable message(s) left as they were"
        )
    print(done.next_step)
    return 0


def run_import(settings, args) -> int:
    """Replaces config/consulates.yaml with the CSV's consulates; exit 2, changing nothing, on any bad row."""
    from handlers.backoffice.consulates_csv import CsvRejected, import_csv

    try:
        count = import_csv(args.file, settings.config_dir / "consulates.yaml")
    except CsvRejected as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print("nothing imported", file=sys.stderr)
        return 2
    print(f"imported {count} consulates from {args.file}", file=sys.stderr)
    return 0


def run_export(settings, args) -> int:
    """Writes config/consulates.yaml, or one consulate's appointments of one day, as CSV."""
    if args.what == "bookings":
        return run_export_bookings(settings, args.consulate, args.date, args.output)
    from handlers.backoffice.consulates_csv import export_csv

    text = io.StringIO()  # a broken consulates file then leaves no half-written CSV behind
    count = export_csv(settings.config_dir / "consulates.yaml", text)
    if not _write(text.getvalue(), args.output):
        return 2
    print(f"exported {count} consulates to {args.output or 'standard output'}", file=sys.stderr)
    return 0


@_refusals
def run_export_bookings(settings, consulate_id: str | None, day: str | None, output: Path | None) -> int:
    """The officials' day sheet: who comes when, for the officials who receive people."""
    from gateway.app import TEMPLATES_DIR
    from gateway.policy import load_policy
    from gateway.texts import Texts
    from handlers.backoffice.day_sheet import sheet_for, write_day_sheet
    from handlers.reference.consulates import Directory
    from handlers.reference.services import load_services
    from store import audit

    directory = Directory.load(settings.config_dir / "consulates.yaml")
    consulate, day = sheet_for(directory, consulate_id, day)
    language = load_policy(settings.config_dir).default_language
    services = load_services(settings.config_dir / "services.yaml", Texts.load(TEMPLATES_DIR, language).languages)
    text = io.StringIO()

    def export():
        count = write_day_sheet(text, consulate, day, services, language)
        audit.append("cli", "export.bookings", consulate.id, f"{day} {count} row(s)", time.time())
        return count

    count = _in_store(settings, export)
    if not _write(text.getvalue(), output):
        return 2
    print(f"exported {count} appointment(s) at {consulate.id} on {day}", file=sys.stderr)
    return 0


@_refusals
def run_roster(settings, args) -> int:
    """Adds, lists or ends duty shifts; a phone on shift is paged with the consulate's duty phones and may
    answer its alerts."""
    from gateway.phones import mask
    from handlers.backoffice import roster
    from handlers.reference.consulates import Directory

    directory = Directory.load(settings.config_dir / "consulates.yaml")
    roster.consulate_named(directory, args.consulate)  # a wrong id is named before the database is opened
    now = time.time()
    if args.action == "add":
        shift = _in_store(settings, roster.add, directory, args.consulate, args.phone, args.starts, args.ends, now)
        print(f"shift {shift.id}: {mask(shift.phone)} on duty for {shift.consulate}", file=sys.stderr)
    elif args.action == "end":
        _in_store(settings, roster.end, args.shift, now)
        print(f"shift {args.shift} ended", file=sys.stderr)
    else:
        for line in _in_store(settings, roster.listing, directory, args.consulate, now):
            # Administrators need the number to call the officer: the list is for them, not for logs.
            print(f"{line.id}\t{line.consulate}\t{line.phone}\t{line.since}\t{line.until}")
    return 0


@_refusals
def run_admin(settings, args, password_input=None) -> int:
    """Creates a console account (the password read from standard input; typed twice on a terminal), or
    prints a new API token once."""
    from handlers.backoffice import accounts
    from handlers.reference.consulates import Directory

    now = time.time()
    if args.action == "token":
        print(_in_store(settings, accounts.new_api_token, args.email, "cli", now))
        return 0
    if args.role is None:
        print("lifeline: --role: required for admin create", file=sys.stderr)
        return 2
    password = _read_password(password_input)
    directory = Directory.load(settings.config_dir / "consulates.yaml")

    def create():
        official = accounts.create(
            directory, args.email, args.role, args.consulate, password, "cli", now, args.language
        )
        if args.role not in accounts.TOTP_REQUIRED:
            return official, None
        secret = accounts.new_totp_secret()
        accounts.set_totp_now(official, secret, now)
        return official, accounts.provisioning_uri(official.email, secret)

    official, uri = _in_store(settings, create)
    print(f"created {official.role} {official.email}", file=sys.stderr)
    if uri:
        # The second factor: add it to an authenticator app (scan or type it) before logging in.
        print(uri)
    return 0


def _read_password(given: str | None) -> str:
    from handlers.backoffice.errors import OptionError

    if given is not None:
        return given
    if sys.stdin.isatty():
        import getpass

        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password again: "):
            raise OptionError("password", "the two do not match")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def run_audit(settings, args) -> int:
    """Checks the audit trail's chain; exit 1 naming the first entry that does not chain."""
    from store import audit

    checked, broken = _in_store(settings, audit.verify)
    if broken is not None:
        print(f"lifeline: audit trail broken at entry {broken} ({checked} entries read)", file=sys.stderr)
        return 1
    print(f"audit trail intact: {checked} entries")
    return 0


def run_simulate(settings, args) -> int:
    """A terminal phone on the real webhooks; exit 2 when the phone or the outbox cannot be used."""
    import asyncio

    from gateway.messages import BadRequest
    from gateway.phones import to_e164
    from gateway.simulator import SimulatorError, main_loop

    try:
        number = to_e164(args.phone)
    except BadRequest as exc:
        print(f"lifeline: --phone: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(main_loop(args.mode, number, args.url, settings))
    except SimulatorError as exc:
        print(f"lifeline: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


def _in_store(settings, fn, *args):
    """Opens the store as `serve` does (database, keys, schema) and runs fn in one transaction."""
    from store.db import database, open_database

    open_database(settings.database_url)
    _unlock(settings)
    with database.atomic():
        return fn(*args)


def _unlock(settings) -> None:
    """The key checked against the one the database was written with, the schema migrated."""
    from gateway.keyfile import unlock
    from store.db import database

    with database.atomic():
        unlock(settings)


def _write(text: str, output: Path | None) -> bool:
    """To the file, or standard output; False (said on stderr) when the file cannot be written."""
    if output is None:
        sys.stdout.write(text)
        return True
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        print(f"lifeline: --output: {output}: {exc.strerror}", file=sys.stderr)
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
