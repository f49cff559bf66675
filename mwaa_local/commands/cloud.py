from mwaa_local import arguments as _args

NAME = "cloud"
HELP = "Run the local cloud (AWS emulator) in the foreground on 127.0.0.1:4566."


def add_arguments(parser):
    parser.add_argument("--host", default="127.0.0.1", help="listen address (loopback only by default)")
    parser.add_argument("--port", type=_args.port, default=4566, help="TCP port, 1-65535 (default 4566)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--state-dir", type=_args.directory, default=None,
                       help="where state persists (default .local/cloud); one cloud per state dir")
    where.add_argument("--ephemeral", action="store_true", help="keep nothing: state lives in memory only")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    parser.add_argument("--allowed-host", action="append", metavar="HOST[:PORT]", help="also accept this Host "
                        "header, e.g. a compose service name (default: loopback names only; env "
                        "MWAA_LOCAL_CLOUD_ALLOWED_HOSTS, comma-separated)")
    parser.add_argument("--allowed-origin", action="append", metavar="ORIGIN", help="answer CORS for this browser "
                        "origin (default: none; env MWAA_LOCAL_CLOUD_ALLOWED_ORIGINS)")
    parser.add_argument("--verify-signatures", action="store_true", help="verify SigV4 signatures against the "
                        "local credentials (env MWAA_LOCAL_CLOUD_VERIFY_SIGNATURES=1)")


def run(args) -> int:
    import logging
    import signal
    import sys
    import time

    started = time.monotonic()
    from mwaa_local.cloud import process, server
    from mwaa_local.cloud.http_policy import HttpPolicy
    from mwaa_local.cloud.state import StateDirLock

    policy = HttpPolicy.configure(args.host, args.port, args.allowed_host, args.allowed_origin, args.verify_signatures)

    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    state_dir = None if args.ephemeral else (args.state_dir or process.default_state_dir()).resolve()
    # Held until this process ends (the kernel drops it even on kill -9): a second cloud on the same state dir
    # would overwrite this one's snapshots, so it refuses to start instead. Ephemeral clouds share nothing.
    lock = StateDirLock(state_dir).acquire(port=args.port, host=args.host) if state_dir else None

    def ready(endpoint_url: str) -> None:
        where = f"state in {state_dir}" if state_dir else "ephemeral: nothing is persisted"
        print(f"local cloud ready on {endpoint_url} in {time.monotonic() - started:.2f} s ({where})", flush=True)
        print(f"  health: {endpoint_url}{server.HEALTH_PATH}", flush=True)
        print(f"  clients: export AWS_ENDPOINT_URL={endpoint_url} AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test "
              "AWS_DEFAULT_REGION=us-east-1", flush=True)

    _check_can_listen(args.host, args.port)
    # SIGTERM (how `process.stop` and service managers end us) exits cleanly, so exit handlers run.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve(args.host, args.port, state_dir, on_ready=ready, policy=policy)
    finally:
        if lock:
            lock.release()
    return 0


def _check_can_listen(host: str, port: int) -> None:
    """A one-line reason before any state is loaded, instead of the HTTP server's own exit message."""
    import errno
    import socket

    from mwaa_local.errors import UserError

    reasons = {errno.EADDRINUSE: "is already in use; pick another --port",
               errno.EACCES: "needs privileges this user lacks; pick a --port above 1023",
               errno.EADDRNOTAVAIL: "is not an address of this machine; pick another --host"}
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
            sock.bind((host, port))
    except socket.gaierror:
        raise UserError(f"cannot listen on {host}:{port}: {host!r} is not a host name this machine resolves") from None
    except OSError as exc:
        reason = reasons.get(exc.errno, f"fails: {exc.strerror or exc}")
        raise UserError(f"cannot listen on {host}:{port}: it {reason}") from None
