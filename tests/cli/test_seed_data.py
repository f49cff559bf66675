"""`seed-data` says what it replaced and what it left running (and how to stop it); `stop` then ends that
PostgreSQL (checked by pid)."""

from __future__ import annotations

import json

import psutil

from mwaa_local import pid_records


def test_seed_data_says_what_it_replaced_and_that_postgres_keeps_running_until_stop(cli):
    first = cli.run("seed-data", "--orders", "8", "--days", "1", timeout=600)
    assert first.returncode == 0, first.stderr
    assert "replacing" not in first.stdout  # nothing was there
    left_running = (f"PostgreSQL: started and left running on 127.0.0.1:{cli.postgres_port} "
                    f"(data {cli.state / 'postgres'}); `./mwaa-local stop` ends it")
    assert left_running in first.stdout, first.stdout
    record = pid_records.PidRecord(**json.loads((cli.state / "run" / "postgres.json").read_text()))
    server = psutil.Process(record.pid)
    family = [server, *server.children(recursive=True)]

    again = cli.run("seed-data", "--orders", "12", "--days", "1", "--seed", "7", timeout=600)
    assert again.returncode == 0, again.stderr
    replacing = next(line for line in again.stdout.splitlines() if line.startswith("replacing"))
    assert replacing.startswith("replacing the source already in database retail (schema retail: ")
    assert " 8 orders," in replacing and replacing.endswith(" - also the demo's source; `./mwaa-local demo` seeds its own again")
    assert f"PostgreSQL: still running on 127.0.0.1:{cli.postgres_port}" in again.stdout

    stopped = cli.run("stop", timeout=300)
    assert stopped.returncode == 0 and "PostgreSQL: stopped" in stopped.stdout, stopped.stdout + stopped.stderr
    _, alive = psutil.wait_procs(family, timeout=120)
    assert alive == [], f"still running after stop: {alive}"
    assert not (cli.state / "run" / "postgres.json").exists()
