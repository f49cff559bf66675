"""`./mwaa-local sql "SELECT ..."`: one statement (or a file of them) on the local Redshift, through the Redshift
Data API of the running local cloud, printed as a table with each column's type."""

from mwaa_local import arguments as _args

NAME = "sql"
HELP = ("Run SQL on the local Redshift (through the running local cloud's Redshift Data API) and print the rows "
        "as a typed table.")

NUMERIC_TYPES = ("int", "numeric", "decimal", "float", "double", "real", "bigint", "smallint")


def add_arguments(parser):
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("statement", nargs="?", help='the SQL, e.g. "SELECT COUNT(*) FROM analytics.fact_orders"')
    source.add_argument("-f", "--file", type=_args.input_file,
                        help="run this file's SQL instead (several statements separated by ; run in one transaction; "
                             "the last one's rows are printed)")
    parser.add_argument("--port", type=_args.port, default=4566, help="the local cloud's port (default 4566)")
    parser.add_argument("--workgroup", default=None, help="Redshift Serverless workgroup (default: platform.yaml's)")
    parser.add_argument("--database", default=None, help="database (default: platform.yaml's)")
    parser.add_argument("--max-rows", type=_args.positive, default=200,
                        help="rows to print (every result page is fetched; the total is always shown)")
    parser.add_argument("--timeout", type=_args.positive, default=600, help="seconds to wait for the statement")


def run(args) -> int:
    from mwaa_local import provision
    from mwaa_local.cloud import process
    from mwaa_local.errors import UserError
    from mwaa_local.redshift_query import StatementFailed, execute

    sql = args.file.read_text() if args.file else args.statement
    if not sql.strip():
        raise UserError("the SQL is empty")
    endpoint_url = process.require_running(args.port)
    redshift = provision.local_settings()["redshift"]
    client = process.clients(endpoint_url)("redshift-data")
    try:
        result = execute(client, sql, args.workgroup or redshift["workgroup"], args.database or redshift["database"],
                         timeout=args.timeout)
    except StatementFailed as exc:
        raise UserError(" ".join(f"{exc.status}: {exc.error}".split())) from None
    except TimeoutError as exc:
        raise UserError(str(exc)) from None
    if not result.columns:
        affected = result.rows_affected
        print("OK" + (f" ({affected:,} row{'s' * (affected != 1)} affected)" if affected and affected > 0 else ""))
        return 0
    shown = min(len(result.rows), args.max_rows)
    more = f", the first {shown:,} shown; --max-rows N shows more" if shown < len(result.rows) else ""
    _page(render(result.columns, result.rows[: args.max_rows])
          + f"\n({len(result.rows):,} row{'s' * (len(result.rows) != 1)}{more})")
    return 0


def _page(text: str) -> None:
    """Through a pager ($PAGER or less) when a terminal would not hold it; plain output otherwise (pipes, tests)."""
    import pydoc
    import shutil
    import sys

    if sys.stdout.isatty() and text.count("\n") >= shutil.get_terminal_size().lines - 1:
        pydoc.pager(text)
    else:
        print(text)


def _cell(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render(columns: list[dict], rows: list[list]) -> str:
    """A plain-text table: header of column names, a line of their Redshift types, numbers right-aligned."""
    names = [c["name"] for c in columns]
    types = [c.get("typeName", "") for c in columns]
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(names[i]), len(types[i])] + [len(r[i]) for r in cells]) for i in range(len(names))]
    numeric = [t.lower().startswith(NUMERIC_TYPES) for t in types]

    def line(values: list[str]) -> str:
        return " | ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)).rstrip()

    out = [line(names), line(types), "-+-".join("-" * w for w in widths)]
    out += [line(r) for r in cells]
    return "\n".join(out)
