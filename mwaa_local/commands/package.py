from mwaa_local import packaging

NAME = "package"
HELP = "Build dist/plugins.zip (contents of plugins/ at the zip root) and prove every module imports from it alone."


def add_arguments(parser):
    parser.add_argument("--skip-import-check", action="store_true", help="only build the zip")


def run(args) -> int:
    zip_path = packaging.build()
    modules = packaging.modules_in(zip_path)
    print(f"built {zip_path} ({len(modules)} module(s))")
    if args.skip_import_check:
        return 0
    failures = packaging.verify_imports(zip_path)
    for failure in failures:
        print(f"  FAIL {failure}")
    if failures:
        print(f"{len(failures)} of {len(modules)} module(s) do not import from plugins.zip alone")
        return 1
    print(f"all {len(modules)} module(s) import from plugins.zip alone (fresh interpreter, no repo on sys.path)")
    return 0
