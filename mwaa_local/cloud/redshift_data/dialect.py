"""Redshift SQL -> DuckDB SQL.

sqlglot does most of the work (`read='redshift', write='duckdb'`); what it does not cover is fixed here:
physical options Redshift accepts and DuckDB has no notion of (DISTKEY, SORTKEY, DISTSTYLE, ENCODE, BACKUP) are cut
at the token level because sqlglot cannot parse all of their forms; IDENTITY columns become sequences;
`CREATE TABLE x (LIKE y)` becomes an empty CTAS; `:name` parameters become typed-by-context string literals.
COPY, UNLOAD, CREATE/DROP DATABASE and transaction control are recognised here and executed elsewhere.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.dialects.redshift import Redshift
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from mwaa_local.cloud.redshift_data import functions, sandbox
from mwaa_local.cloud.redshift_data.errors import SqlError  # noqa: F401 (raised by this module's callers as dialect.SqlError)

logging.getLogger("sqlglot").setLevel(logging.ERROR)  # "unsupported property" warnings are expected here



def _date_part(parser) -> exp.Expression:
    """DATE_PART returns DOUBLE PRECISION on Redshift; EXTRACT (the same node in sqlglot) keeps integers."""
    return exp.cast(Redshift.Parser.FUNCTION_PARSERS["DATE_PART"](parser), exp.DataType.Type.DOUBLE)


class LocalRedshift(Redshift):
    """Redshift as sqlglot reads it, except functions whose Redshift meaning sqlglot's parse loses."""

    class Parser(Redshift.Parser):
        FUNCTIONS = {**Redshift.Parser.FUNCTIONS, "TO_CHAR": functions.parse_to_char,
                     "ADD_MONTHS": functions.parse_add_months,
                     # keys and the optional null_if_invalid flag are read by functions.rewrite
                     "JSON_EXTRACT_PATH_TEXT": lambda args: exp.Anonymous(this="JSON_EXTRACT_PATH_TEXT",
                                                                          expressions=args)}
        FUNCTION_PARSERS = {**Redshift.Parser.FUNCTION_PARSERS, "DATE_PART": _date_part}


_DIALECT = LocalRedshift()

# Statements Redshift accepts that have no effect on a single-node local engine.
NOOP_PREFIXES = (
    ("VACUUM",), ("GRANT",), ("REVOKE",), ("CREATE", "USER"), ("ALTER", "USER"), ("DROP", "USER"),
    ("CREATE", "GROUP"), ("ALTER", "GROUP"), ("DROP", "GROUP"), ("CREATE", "ROLE"), ("DROP", "ROLE"),
    ("ALTER", "DEFAULT"), ("RESET",), ("SET",), ("LOCK",), ("CANCEL",), ("ALTER", "DATASHARE"),
)
TRANSACTION_WORDS = {"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT"}


@dataclass
class Statement:
    """One statement of a Sql string, classified."""

    text: str
    kind: str  # 'sql' | 'copy' | 'unload' | 'create_database' | 'drop_database' | 'transaction' | 'noop'
    tokens: list[Token] = field(default_factory=list, repr=False)
    duckdb: list[str] = field(default_factory=list)  # for kind == 'sql'
    has_result_set: bool = False
    name: str = ""  # database name for create/drop database


def tokenize(sql: str) -> list[Token]:
    try:
        return list(_DIALECT.tokenize(sql))
    except TokenError as exc:
        raise SqlError(f"syntax error: {exc}") from None


def split(sql: str) -> list[tuple[str, list[Token]]]:
    """Splits on top-level semicolons (the tokenizer already skips those inside strings and comments)."""
    statements, current = [], []
    for token in tokenize(sql):
        if token.token_type == TokenType.SEMICOLON:
            if current:
                statements.append(current)
            current = []
        else:
            current.append(token)
    if current:
        statements.append(current)
    return [(sql[toks[0].start: toks[-1].end + 1], toks) for toks in statements]


def _words(tokens: list[Token], n: int) -> tuple[str, ...]:
    return tuple(t.text.upper() for t in tokens[:n])


def classify(text: str, tokens: list[Token], parameters: dict[str, str] | None = None) -> Statement:
    words = _words(tokens, 3)
    first = words[0] if words else ""
    if first == "COPY":
        return Statement(text, "copy", tokens)
    if first == "UNLOAD":
        return Statement(text, "unload", tokens)
    if first in TRANSACTION_WORDS:
        return Statement(text, "transaction", tokens)
    if words[:2] in (("CREATE", "DATABASE"), ("DROP", "DATABASE")):
        if len(tokens) < 3:
            raise SqlError(f'syntax error at end of input in "{text}"')
        kind = "create_database" if first == "CREATE" else "drop_database"
        return Statement(text, kind, tokens, name=tokens[-1].text.lower())
    if first in ("SET", "RESET"):
        sandbox.check_set(tokens)  # Redshift's parameters are no-ops; DuckDB's settings are refused
    if any(words[: len(prefix)] == prefix for prefix in NOOP_PREFIXES):
        return Statement(text, "noop", tokens)
    if words[:2] == ("ALTER", "TABLE") and {"DISTKEY", "DISTSTYLE", "SORTKEY", "ENCODE"} & {
        t.text.upper() for t in tokens
    }:
        return Statement(text, "noop", tokens)
    duck, has_result = to_duckdb(text, tokens, parameters or {})
    return Statement(text, "sql", tokens, duckdb=duck, has_result_set=has_result)


def strip_physical_options(text: str, tokens: list[Token]) -> str:
    """Removes DISTSTYLE/DISTKEY/SORTKEY/ENCODE/BACKUP clauses, which only tune Redshift's storage."""
    cut: list[tuple[int, int]] = []
    i = 0
    while i < len(tokens):
        word = tokens[i].text.upper()
        start = i
        if word in ("COMPOUND", "INTERLEAVED") and i + 1 < len(tokens) and tokens[i + 1].text.upper() == "SORTKEY":
            i += 1
            word = "SORTKEY"
        if word in ("DISTKEY", "SORTKEY") and i + 1 < len(tokens) and tokens[i + 1].token_type == TokenType.L_PAREN:
            depth, j = 0, i + 1
            while j < len(tokens):
                depth += {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}.get(tokens[j].token_type, 0)
                if depth == 0:
                    break
                j += 1
            cut.append((start, j))
            i = j + 1
            continue
        if word in ("DISTKEY", "SORTKEY"):
            nxt = tokens[i + 1].text.upper() if i + 1 < len(tokens) else ""
            end = i + 1 if nxt == "AUTO" else i
            cut.append((start, end))
            i = end + 1
            continue
        if word in ("DISTSTYLE", "ENCODE", "BACKUP") and i + 1 < len(tokens):
            cut.append((start, i + 1))
            i += 2
            continue
        i += 1
    if not cut:
        return text
    base = tokens[0].start
    out, pos = [], 0
    for a, b in cut:
        out.append(text[pos: tokens[a].start - base])
        pos = tokens[b].end + 1 - base
    out.append(text[pos:])
    return "".join(out)


def _parse(text: str) -> exp.Expression:
    try:
        expressions = sqlglot.parse(text, read=LocalRedshift)
    except ParseError as exc:
        err = exc.errors[0] if exc.errors else {}
        near = (err.get("highlight") or "").strip()
        raise SqlError(f'syntax error at or near "{near}"' if near else f"syntax error: {exc}") from None
    if not expressions or expressions[0] is None:
        raise SqlError("syntax error at end of input")
    return expressions[0]


def bind_parameters(tree: exp.Expression, parameters: dict[str, str]) -> exp.Expression:
    """`:name` -> the parameter's value as a string literal; Redshift casts it by context, so does DuckDB."""
    used = set()

    def replace(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder) and node.name:
            if node.name not in parameters:
                raise SqlError(f'parameter "{node.name}" has no value; pass it in Parameters')
            used.add(node.name)
            return exp.Literal.string(parameters[node.name])
        return node

    tree = tree.transform(replace)
    unused = set(parameters) - used
    if unused:
        raise SqlError(f"parameters not used in the statement: {', '.join(sorted(unused))}")
    return tree


def _identity_to_sequence(tree: exp.Create) -> list[str]:
    """IDENTITY(seed, step) columns -> a sequence plus DEFAULT nextval(); DuckDB has no identity columns."""
    schema = tree.this
    if not isinstance(schema, exp.Schema):
        return []
    table = schema.this
    temporary = any(isinstance(p, exp.TemporaryProperty) for p in (tree.args.get("properties") or exp.Properties()).expressions)
    sequences = []
    for column in schema.expressions:
        if not isinstance(column, exp.ColumnDef):
            continue
        for constraint in list(column.constraints):
            kind = constraint.kind
            if not isinstance(kind, exp.GeneratedAsIdentityColumnConstraint):
                continue
            start, step = _integer(kind.args.get("start"), "seed"), _integer(kind.args.get("increment"), "step")
            # Names come from (possibly quoted) identifiers of the statement: quoted, never pasted.
            seq = exp.Table(this=exp.to_identifier(f"{table.name}_{column.name}_seq", quoted=True),
                            db=exp.to_identifier(table.db, quoted=True) if table.db and not temporary else None)
            seq_sql = seq.sql(dialect="duckdb")
            sequences.append(f"CREATE {'TEMP ' if temporary else ''}SEQUENCE IF NOT EXISTS {seq_sql} "
                             f"START {start} INCREMENT {step}")
            constraint.replace(exp.ColumnConstraint(kind=exp.DefaultColumnConstraint(
                this=exp.Anonymous(this="nextval", expressions=[exp.Literal.string(seq_sql)]))))
    return sequences


def _integer(node: exp.Expression | None, what: str) -> int:
    if node is None:
        return 1
    try:
        return int(node.sql())
    except ValueError:
        raise SqlError(f"IDENTITY {what} must be an integer, got {node.sql()}") from None


def _like_to_ctas(tree: exp.Create) -> exp.Expression:
    schema = tree.this
    if isinstance(schema, exp.Schema) and len(schema.expressions) == 1 and isinstance(schema.expressions[0], exp.LikeProperty):
        source = schema.expressions[0].this
        return exp.Create(this=schema.this, kind="TABLE", exists=tree.args.get("exists"),
                          properties=tree.args.get("properties"),
                          expression=exp.select("*").from_(source.copy()).limit(0))
    return tree


_TEXT_TYPES = {exp.DataType.Type.VARCHAR, exp.DataType.Type.CHAR, exp.DataType.Type.NVARCHAR,
               exp.DataType.Type.NCHAR, exp.DataType.Type.TEXT, exp.DataType.Type.BPCHAR}
_TEMPORAL_TYPES = {exp.DataType.Type.DATE, exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPTZ,
                   exp.DataType.Type.DATETIME}


def _fix_node(node: exp.Expression) -> exp.Expression:
    """Node-level gaps of sqlglot's Redshift -> DuckDB translation."""
    rewritten = functions.rewrite(node)
    if rewritten is not node:  # sqlglot does not descend into a replacement: its arguments are fixed here
        return rewritten.transform(_fix_node, copy=False)
    if isinstance(node, exp.DataType) and node.this in _TEXT_TYPES and node.expressions:
        return exp.DataType(this=exp.DataType.Type.VARCHAR)  # lengths (and MAX) mean nothing to DuckDB
    if isinstance(node, exp.Trunc) and not node.args.get("decimals"):
        arg = node.this
        temporal = (isinstance(arg, exp.Cast) and arg.to.this in _TEMPORAL_TYPES) or isinstance(
            arg, (exp.CurrentTimestamp, exp.CurrentDate, exp.CurrentDatetime))
        if temporal:  # TRUNC(timestamp) is Redshift's "date part of"; DuckDB's trunc() is numeric only
            return exp.cast(arg, exp.DataType.Type.DATE)
    if isinstance(node, exp.Div) and node.args.get("typed"):
        # Redshift's `/`: integer / integer truncates, any division by zero is an error. DuckDB's `/` is always
        # floating point (1/0 = inf); its `//` has Redshift's semantics (and true division for non-integers).
        return exp.IntDiv(this=node.this, expression=node.expression)
    if isinstance(node, exp.Insert) and isinstance(node.parent, exp.When) and not node.expression:
        # MERGE ... THEN INSERT VALUES (...) without a column list: sqlglot reads VALUES as a function call
        values = node.this.expressions[0] if isinstance(node.this, exp.Tuple) and node.this.expressions else None
        if isinstance(values, exp.Anonymous) and values.name.upper() == "VALUES":
            return exp.Insert(this=None, expression=exp.Tuple(expressions=values.expressions))
    return node


def _output_name(node: exp.Expression) -> str | None:
    """The name Redshift (PostgreSQL) gives an unaliased select-list expression: a cast takes its operand's name, a
    function call its function's name, CASE 'case', anything else '?column?'. None: DuckDB already agrees (a column,
    a star)."""
    if isinstance(node, (exp.Column, exp.Star, exp.Alias)):
        return None
    if isinstance(node, exp.Cast):
        inner = node.this
        return inner.name if isinstance(inner, exp.Column) else _output_name(inner)
    if isinstance(node, exp.Case):
        return "case"
    if isinstance(node, exp.Window):
        return _output_name(node.this)
    if isinstance(node, exp.Func):
        called = node.sql(dialect="redshift").split("(", 1)[0].strip()
        if called.replace("_", "").isalnum():
            return called.lower()
    return "?column?"


def _name_outputs(tree: exp.Expression) -> None:
    """Aliases every SELECT's unaliased expressions with Redshift's column names (COUNT(*) is `count`, not DuckDB's
    `count_star()`), so result metadata, CTE and derived-table columns and UNLOAD files carry Redshift's names."""
    for select in list(tree.find_all(exp.Select)):
        for position, node in enumerate(select.expressions):
            name = _output_name(node)
            if name is not None:
                select.expressions[position] = exp.alias_(node, name, quoted=True)


def to_duckdb(text: str, tokens: list[Token], parameters: dict[str, str]) -> tuple[list[str], bool]:
    """DuckDB statements for one Redshift statement, and whether it returns a result set."""
    functions.check_supported(tokens)
    text = strip_physical_options(text, tokens)
    tree = _parse(text)
    if parameters or tree.find(exp.Placeholder):
        tree = bind_parameters(tree, parameters)
    _name_outputs(tree)  # also CTAS columns and subqueries of INSERT/MERGE: Redshift names them the same way
    tree = tree.transform(_fix_node)
    # Only what sqlglot parsed and the sandbox accepts reaches DuckDB (an unparsed Command is refused there).
    sandbox.check(tree)
    before: list[str] = []
    if isinstance(tree, exp.Create) and tree.args.get("kind", "").upper() == "TABLE":
        tree = _like_to_ctas(tree)
        before = _identity_to_sequence(tree)
    has_result = isinstance(tree, (exp.Query, exp.Describe, exp.Show)) or (
        isinstance(tree, (exp.Insert, exp.Update, exp.Delete, exp.Merge)) and bool(tree.args.get("returning"))
    )
    return before + [tree.sql(dialect="duckdb")], has_result


