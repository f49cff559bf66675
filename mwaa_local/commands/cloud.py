from pathlib import Path

NAME = "cloud"
HELP = "Run the local cloud (AWS emulator) in the foreground on 127.0.0.1:4566."


def add_arguments(parser):
    parser.add_argument("--host", default="127.0.0.1", help="listen address (loopback only by default)")
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--state-dir", type=Path, default=None, help="where state persists (default .local/cloud)")
    parser.add_argument("--ephemeral", action="store_true", help="keep nothing: state lives in memory only")
    parser.add_argument("--verbose", action="store_true", help="log every request")


def run(args) -> int:
    import logging
    import signal
    import sys
    import time

    started = time.monotonic()
    from mwaa_local.cloud import process, server

    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    state_dir = None if args.ephemeral else (args.state_dir or process.default_state_dir())

    def ready(endpoint_url: str) -> None:
        where = f"state in {state_dir}" if state_dir else "ephemeral: nothing is persisted"
        print(f"local cloud ready on {endpoint_url} in {time.monotonic() - started:.2f} s ({where})", flush=True)
        print(f"  health: {endpoint_url}{server.HEALTH_PATH}", flush=True)
        print(f"  clients: export AWS_ENDPOINT_URL={endpoint_url} AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test "
              "AWS_DEFAULT_REGION=us-east-1", flush=True)

    # SIGTERM (how `process.stop` and service managers end us) exits cleanly, so exit handlers run.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.serve(args.host, args.port, state_dir, on_ready=ready)
    return 0
