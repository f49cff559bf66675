"""`./mwaa-local aws <service> <operation> [--param value ...]`: one AWS API call against the running local cloud
with the venv's boto3, so looking around needs no AWS CLI. Parameter names are the API's in kebab case
(`--bucket`, `--database-name`); a value is converted to the parameter's type, and a structure, list or map is
given as JSON. The response is printed as JSON."""

from mwaa_local import arguments as _args

NAME = "aws"
HELP = ("Call one AWS API on the running local cloud with boto3 (no AWS CLI needed), e.g. "
        "`aws s3 list-objects-v2 --bucket retail-data-lake --prefix raw/`.")


def add_arguments(parser):
    parser.add_argument("--port", type=_args.port, default=4566, help="the local cloud's port (default 4566)")
    parser.add_argument("service", help="service name as boto3 spells it: s3, glue, redshift-data, secretsmanager, ...")
    parser.add_argument("operation", help="operation in kebab case: list-objects-v2, get-tables, ...")
    parser.set_defaults(accepts_extra=True)  # the operation's --param value pairs


def run(args) -> int:
    import json

    from botocore import xform_name
    from botocore.exceptions import BotoCoreError, ClientError

    from mwaa_local.cloud import process
    from mwaa_local.errors import UserError

    # The call is checked (service, operation, parameters) before the cloud is: a typo is named as such.
    client = _client(f"http://{process.DEFAULT_HOST}:{args.port}", args.service)
    operation = _operation(client, args.operation)
    shape = client.meta.service_model.operation_model(operation).input_shape
    params = parse_params(shape, list(args.extra))
    process.require_running(args.port)
    try:
        response = getattr(client, xform_name(operation))(**params)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise UserError(f"{error.get('Code', 'Error')}: {error.get('Message', exc)}") from None
    except BotoCoreError as exc:
        raise UserError(" ".join(str(exc).split())) from None
    response.pop("ResponseMetadata", None)
    print(json.dumps(_printable(response), indent=2, default=_json_value))
    return 0


def _client(endpoint_url: str, service: str):
    import boto3

    from mwaa_local.cloud import process
    from mwaa_local.errors import UserError

    available = boto3.session.Session().get_available_services()
    if service not in available:
        import difflib

        close = difflib.get_close_matches(service, available, n=3)
        raise UserError(f"unknown service {service!r}" + (f"; did you mean {', '.join(close)}?" if close else ""))
    return process.clients(endpoint_url)(service)


def _operation(client, name: str) -> str:
    import difflib

    from botocore import xform_name

    from mwaa_local.errors import UserError

    by_kebab = {xform_name(op, "-"): op for op in client.meta.service_model.operation_names}
    if name in by_kebab:
        return by_kebab[name]
    if name in by_kebab.values():
        return name
    close = difflib.get_close_matches(name, list(by_kebab), n=3)
    raise UserError(f"{client.meta.service_model.service_name} has no operation {name!r}"
                    + (f"; did you mean {', '.join(close)}?" if close else ""))


def parse_params(shape, tokens: list[str]) -> dict:
    """`--member value` pairs -> the operation's parameters, typed by the input shape. A flag with no value is
    true (for booleans)."""
    from botocore import xform_name

    from mwaa_local.errors import UserError

    members = shape.members if shape is not None else {}
    by_flag = {f"--{xform_name(name, '-')}": name for name in members}
    params, i = {}, 0
    while i < len(tokens):
        flag = tokens[i]
        if flag not in by_flag:
            known = ", ".join(sorted(by_flag)) or "none"
            raise UserError(f"unknown parameter {flag!r}; this operation takes: {known}")
        name = by_flag[flag]
        has_value = i + 1 < len(tokens) and not (tokens[i + 1].startswith("--") and tokens[i + 1] in by_flag)
        if not has_value and members[name].type_name != "boolean":
            raise UserError(f"{flag} needs a value")
        params[name] = _convert(members[name], tokens[i + 1] if has_value else "true", flag)
        i += 2 if has_value else 1
    return params


def _convert(shape, text: str, flag: str):
    import json

    from mwaa_local.errors import UserError

    kind = shape.type_name
    try:
        if kind in ("integer", "long"):
            return int(text)
        if kind in ("float", "double"):
            return float(text)
        if kind == "boolean":
            if text.lower() not in ("true", "false"):
                raise ValueError(text)
            return text.lower() == "true"
        if kind == "blob":
            return text.encode()
        if kind in ("structure", "list", "map"):
            try:
                return json.loads(text)
            except ValueError:
                if kind == "list" and shape.member.type_name == "string":
                    return [text]  # one string for a list of strings
                raise
    except ValueError:
        raise UserError(f"{flag} takes a{'n' if kind[0] in 'aeiou' else ''} {kind}"
                        + (" as JSON" if kind in ("structure", "list", "map") else "") + f", not {text!r}") from None
    return text


def _json_value(value) -> str:
    """Timestamps as ISO 8601 (as the AWS CLI prints them); anything else as its text."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _printable(value):
    """Streaming bodies read into text (or a byte count when binary); the rest as is."""
    if hasattr(value, "read") and callable(value.read):
        data = value.read()
        try:
            return data.decode()
        except UnicodeDecodeError:
            return f"<{len(data):,} bytes of binary data>"
    if isinstance(value, dict):
        return {k: _printable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_printable(v) for v in value]
    return value
