"""Making a client of the local cloud must not load the server or moto (seconds of imports for every tool)."""

from __future__ import annotations

import subprocess
import sys

from mwaa_local import paths


def test_the_client_modules_import_neither_the_server_nor_moto():
    code = ("import sys; from mwaa_local.cloud import client, process; "
            "loaded = [m for m in sys.modules if m.split('.')[0] == 'moto' or m == 'mwaa_local.cloud.server']; "
            "print(','.join(loaded))")
    out = subprocess.run([sys.executable, "-c", code], cwd=paths.ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
