"""The option lists of COPY and UNLOAD (`IAM_ROLE 'arn' CSV IGNOREHEADER 1 ...`), parsed from sqlglot tokens:
sqlglot treats these statements as opaque commands, and their grammar is a flat list of keywords and values."""

from __future__ import annotations

import re

from sqlglot.tokens import Token, TokenType

from mwaa_local.cloud.redshift_data.errors import SqlError

_UNQUOTED_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")

# Keywords followed by one value (an optional AS in between).
VALUED = {
    "IAM_ROLE", "CREDENTIALS", "ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "SESSION_TOKEN", "DELIMITER", "IGNOREHEADER",
    "QUOTE", "DATEFORMAT", "TIMEFORMAT", "REGION", "MAXERROR", "ENCODING", "COMPUPDATE", "STATUPDATE", "EXTENSION",
    "PARALLEL", "NULL", "FORMAT", "KMS_KEY_ID", "ROWGROUPSIZE", "FIXEDWIDTH", "MASTER_SYMMETRIC_KEY", "COMMENT",
}
FLAGS = {
    "CSV", "PARQUET", "ORC", "AVRO", "SHAPEFILE", "GZIP", "BZIP2", "ZSTD", "LZOP", "MANIFEST", "HEADER",
    "ALLOWOVERWRITE", "CLEANPATH", "EMPTYASNULL", "BLANKSASNULL", "TRUNCATECOLUMNS", "REMOVEQUOTES", "ESCAPE",
    "FILLRECORD", "TRIMBLANKS", "ROUNDEC", "EXPLICIT_IDS", "ADDQUOTES", "ENCRYPTED", "IGNOREBLANKLINES", "NOLOAD",
    "VERBOSE", "ACCEPTANYDATE", "SERIALIZETOJSON", "JSON", "ACCEPTINVCHARS", "WITH", "TEXT",
}


def _value(token: Token) -> str:
    return token.text if token.token_type == TokenType.STRING else token.text.upper()


def parse(tokens: list[Token]) -> dict[str, object]:
    """{'CSV': True, 'DELIMITER': ',', 'PARTITION BY': ['col'], 'MAXFILESIZE': bytes, ...} from an option list."""
    options: dict[str, object] = {}
    i = 0

    def peek(offset: int = 0) -> Token | None:
        return tokens[i + offset] if i + offset < len(tokens) else None

    while i < len(tokens):
        token = tokens[i]
        word = token.text.upper()
        i += 1
        if word == "AS":
            raise SqlError(f'syntax error at or near "{token.text}"')
        if word in ("PARTITION", "PARTITION BY"):  # sqlglot may read PARTITION BY as one token
            if word == "PARTITION" and peek() and peek().text.upper() == "BY":
                i += 1
            if not (peek() and peek().token_type == TokenType.L_PAREN):
                raise SqlError('syntax error at or near "PARTITION": expected PARTITION BY (column, ...)')
            i += 1
            columns, i = name_list(tokens, i)
            if not columns:
                raise SqlError('syntax error at or near ")": PARTITION BY needs at least one column')
            options["PARTITION BY"] = columns
            if peek() and peek().text.upper() == "INCLUDE":
                options["INCLUDE"] = True
                i += 1
            continue
        if word == "MAXFILESIZE":
            if peek() and peek().text.upper() == "AS":
                i += 1
            number = peek()
            if number is None or number.token_type != TokenType.NUMBER:
                raise SqlError('syntax error at or near "MAXFILESIZE": expected MAXFILESIZE <n> MB|GB')
            i += 1
            unit = 1024 * 1024
            if peek() and peek().text.upper() in ("MB", "GB"):
                unit = 1024 ** 3 if peek().text.upper() == "GB" else unit
                i += 1
            options["MAXFILESIZE"] = int(float(number.text) * unit)
            continue
        if word in ("JSON", "AVRO", "ACCEPTINVCHARS") and peek() and (
                peek().token_type == TokenType.STRING or (peek().text.upper() == "AS" and peek(1))):
            if peek().text.upper() == "AS":
                i += 1
            options[word] = peek().text
            i += 1
            continue
        if word in VALUED:
            if peek() and peek().text.upper() == "AS":
                i += 1
            value = peek()
            if value is None:
                raise SqlError(f'syntax error at end of input: {word} needs a value')
            i += 1
            options[word] = _value(value)
            if word == "FORMAT":
                fmt = options[word]
                options[fmt] = options.get(fmt, True)
                if fmt in ("JSON", "AVRO") and peek() and peek().token_type == TokenType.STRING:
                    options[fmt] = peek().text  # FORMAT AS JSON 'auto'
                    i += 1
            continue
        if word in FLAGS:
            options.setdefault(word, True)
            continue
        raise SqlError(f'syntax error at or near "{token.text}"')
    return options


def identifier(token: Token) -> str:
    """The name a token stands for: a quoted identifier as written, an unquoted one folded to lower case as
    Redshift does. Anything else (a string, a number, a symbol) is a syntax error."""
    if token.token_type == TokenType.IDENTIFIER and token.text:
        return token.text
    if token.token_type != TokenType.STRING and _UNQUOTED_NAME.match(token.text):
        return token.text.lower()
    raise SqlError(f'syntax error at or near "{token.text}"')


def qualified_name(tokens: list[Token]) -> list[str]:
    """[database.][schema.]table -> its parts."""
    parts = [identifier(t) for t in tokens[0::2]]
    if not tokens or len(parts) > 3 or any(t.token_type != TokenType.DOT for t in tokens[1::2]) or len(tokens) % 2 == 0:
        near = tokens[-1].text if tokens else "FROM"
        raise SqlError(f'syntax error at or near "{near}": expected a table name')
    return parts


def name_list(tokens: list[Token], i: int) -> tuple[list[str], int]:
    """Names separated by commas up to the closing parenthesis at or after tokens[i]; returns them and the index
    after the parenthesis."""
    names: list[str] = []
    expect_name = True
    while i < len(tokens) and tokens[i].token_type != TokenType.R_PAREN:
        token = tokens[i]
        if expect_name:
            names.append(identifier(token))
        elif token.token_type != TokenType.COMMA:
            raise SqlError(f'syntax error at or near "{token.text}"')
        expect_name = not expect_name
        i += 1
    if i >= len(tokens):
        raise SqlError('syntax error at end of input: missing ")"')
    if names and expect_name:
        raise SqlError('syntax error at or near ")"')
    return names, i + 1


def single_character(options: dict, name: str, default: str) -> str:
    """DELIMITER and QUOTE are one character, as on Redshift."""
    value = str(options.get(name, default))
    if len(value) != 1 or value == "\x00":
        raise SqlError(f"COPY {name.lower()} must be a single one-byte character")
    return value


def count(options: dict, name: str) -> int:
    """IGNOREHEADER, MAXERROR: a non-negative whole number."""
    value = str(options.get(name, 0))
    if not value.isdigit():
        raise SqlError(f'invalid value for {name}: "{value}" (expected a non-negative integer)')
    return int(value)


def s3_prefix(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or len(uri) <= 5:
        raise SqlError(f"S3 path '{uri}' is not valid: expected s3://bucket/prefix")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key
