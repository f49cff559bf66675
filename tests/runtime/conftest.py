"""The runtime tests run `./mwaa-local` as a user would (see tests/cli/conftest.py)."""

from tests.cli.conftest import cli  # noqa: F401 - the fixture, shared
