"""Lifeline's one command-line entry: `python run.py serve --host H --port P`."""

from __future__ import annotations

import argparse
import logging
import sys

from dotenv import load_dotenv


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run.py", description="Lifeline SMS and USSD gateway")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the web service and the outbox dispatcher")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)

    load_dotenv()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from aiohttp import web

    from gateway.access_log import AccessLog
    from gateway.app import create_app
    from gateway.policy import PolicyError
    from gateway.settings import Settings, SettingsError
    from gateway.texts import TextsError

    try:
        settings = Settings.from_env()
        app = create_app(settings)
    except (SettingsError, PolicyError, TextsError) as exc:
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


if __name__ == "__main__":
    sys.exit(main())
