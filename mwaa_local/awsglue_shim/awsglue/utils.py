"""`getResolvedOptions` as AWS Glue implements it: argparse over sys.argv, every requested option required,
unknown arguments ignored, a missing one raising GlueArgumentError (not SystemExit) naming it."""

from __future__ import annotations

import argparse

__all__ = ["GlueArgumentError", "getResolvedOptions"]

# Arguments Glue manages itself; scripts may not ask for them (same rule as on Glue).
_RESERVED = ("job-bookmark-option", "continuation-option", "job-bookmark-from", "job-bookmark-to")


class GlueArgumentError(Exception):
    pass


class _GlueArgumentParser(argparse.ArgumentParser):
    def error(self, message):
        raise GlueArgumentError(message)


def getResolvedOptions(args, options):  # noqa: N802 - Glue's name
    """Returns {option: value} for each name in `options`, read from `args` (normally sys.argv)."""
    parser = _GlueArgumentParser()
    reserved = [o for o in options if o in _RESERVED]
    if reserved:
        raise RuntimeError(f"Using reserved arguments {', '.join('--' + o for o in reserved)}")
    parser.add_argument("--job-bookmark-option", choices=["job-bookmark-enable", "job-bookmark-pause",
                                                           "job-bookmark-disable"], required=False)
    parser.add_argument("--continuation-option", choices=["continuation-enabled", "continuation-readonly",
                                                           "continuation-ignore"], required=False)
    for option in options:
        parser.add_argument("--" + option, required=True)
    parsed, _ = parser.parse_known_args(args[1:])
    return vars(parsed)
