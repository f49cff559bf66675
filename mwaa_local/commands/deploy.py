"""`./mwaa-local deploy --env NAME`: validate, sync the bucket by content, update the environment with the
object versions that changed, and wait for it (see mwaa_local/deploy/deployer.py)."""

from mwaa_local import arguments as _args

NAME = "deploy"
HELP = ("Deploy the tree to an MWAA environment of include/config/deploy.yaml: validate (cached by content hash), "
        "upload what changed, UpdateEnvironment with exactly the changed object versions, wait until AVAILABLE.")


def _directory(text: str):
    import argparse
    from pathlib import Path

    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is not a directory")
    return path.resolve()


def add_arguments(parser):
    parser.add_argument("--env", required=True, help="an environment of include/config/deploy.yaml (e.g. local)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan; upload and change nothing")
    parser.add_argument("--prune", action="store_true",
                        help="delete objects under the DAG folder that are no longer in the tree")
    parser.add_argument("--no-validate", action="store_true",
                        help="skip validation (MWAA still rejects requirements it cannot install)")
    parser.add_argument("--no-wait", action="store_true", help="return once UpdateEnvironment is accepted")
    parser.add_argument("--timeout", type=_args.positive, default=3600, help="seconds to wait for the update")
    parser.add_argument("--port", type=_args.port, default=4566, help="the local cloud's port (local environments)")
    parser.add_argument("--config", type=_args.input_file, default=None,
                        help="the deploy configuration (default include/config/deploy.yaml)")
    parser.add_argument("--source", type=_directory, default=None,
                        help="root of the tree to deploy (default: this repository)")
    parser.add_argument("--summary-json", type=_args.output_file, default=None,
                        help="also write what was uploaded, deleted and updated as JSON")


def run(args) -> int:
    import json
    import time

    from mwaa_local.deploy import config, deployer
    from mwaa_local.deploy.tree import REPOSITORY, Tree

    started = time.monotonic()
    target = config.load(args.env, args.config or config.CONFIG_FILE)
    tree = Tree(args.source) if args.source else REPOSITORY
    options = deployer.Options(port=args.port, prune=args.prune, dry_run=args.dry_run,
                               validate=not args.no_validate, wait=not args.no_wait, timeout=args.timeout)
    print(f"deploy {tree.root} -> {target.name}: MWAA environment {target.environment}, "
          f"s3://{target.bucket}/{target.dag_prefix}" + (" (dry run)" if args.dry_run else ""), flush=True)

    def say(text: str) -> None:
        print(text, flush=True)

    def write(outcome) -> None:
        if args.summary_json:
            args.summary_json.write_text(json.dumps(outcome.as_dict(), indent=2) + "\n")

    try:
        outcome = deployer.deploy(target, tree, options, say)
    except deployer.DeployRefused as refused:
        write(refused.outcome)
        raise
    write(outcome)
    if outcome.error is not None:
        error = outcome.error
        print(f"error: {target.environment} is {outcome.status}: {error.get('ErrorCode', '?')}: "
              f"{error.get('ErrorMessage', 'no error message')}; the previous version keeps running")
        return 1
    print(f"{'planned' if args.dry_run else 'deployed'} in {time.monotonic() - started:.1f} s: "
          f"{len(outcome.uploaded)} uploaded, {outcome.unchanged} unchanged, {len(outcome.deleted)} deleted; "
          f"environment {outcome.status}")
    return 0
