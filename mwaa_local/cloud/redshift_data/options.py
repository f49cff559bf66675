"""The option lists of COPY and UNLOAD (`IAM_ROLE 'arn' CSV IGNOREHEADER 1 ...`), parsed from sqlglot tokens:
sqlglot treats these statements as opaque commands, and their grammar is a flat list of keywords and values."""

from __future__ import annotations

from sqlglot.tokens import Token, TokenType

from mwaa_local.cloud.redshift_data.dialect import SqlError

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
            columns = []
            while peek() and peek().token_type != TokenType.R_PAREN:
                if peek().token_type != TokenType.COMMA:
                    columns.append(peek().text)
                i += 1
            i += 1
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


def s3_prefix(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or len(uri) <= 5:
        raise SqlError(f"S3 path '{uri}' is not valid: expected s3://bucket/prefix")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key
