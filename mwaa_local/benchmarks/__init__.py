"""Benchmarks that print numbers (performance targets are checked here, never by timed assertions in tests).

One module per benchmark; its name is the benchmark's name. Each exposes HELP and run(argv) -> int and keeps
heavy imports inside run(), so listing the benchmarks stays instant. Add one by dropping in a module.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable


def available() -> dict[str, Callable[[list[str]], int]]:
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            found[info.name] = importlib.import_module(f"{__name__}.{info.name}").run
    return found


def describe() -> dict[str, str]:
    return {
        info.name: importlib.import_module(f"{__name__}.{info.name}").HELP
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name)
        if not info.name.startswith("_")
    }
