"""The `./mwaa-local` command line. Each subcommand is a module in mwaa_local.commands with
NAME, HELP, add_arguments(parser) and run(args) -> int; heavy imports stay inside run()."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from mwaa_local import commands
from mwaa_local.errors import UserError


def _command_modules():
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"{commands.__name__}.{info.name}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mwaa-local", description="Local MWAA environment and tooling.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules():
        command = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(handler=module.run, command_parser=command)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    if extra and not getattr(args, "accepts_extra", False):
        args.command_parser.error(f"unrecognized arguments: {' '.join(extra)}")  # that subcommand's usage
    args.extra = extra
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

