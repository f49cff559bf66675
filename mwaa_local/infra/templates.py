"""Reads the CloudFormation templates in infra/ and their per-environment parameters, and evaluates the
intrinsic functions they use (Ref, Fn::Sub, Fn::GetAtt, Fn::If, Fn::Equals, Fn::ImportValue, Fn::Join, Fn::Select).

The evaluator exists so that the local account is created from the very same templates as AWS
(mwaa_local/infra/local_apply.py) and so that tests can compare what the templates create with what the DAGs read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mwaa_local import paths
from mwaa_local.errors import UserError

INFRA = paths.ROOT / "infra"
PARAMS = INFRA / "params"
# Deploy order: each stack imports only exports of stacks before it.
STACKS = ("network", "storage", "data", "ml", "mwaa")
LOCAL_ACCOUNT_ID = "123456789012"  # moto's default account: the ARNs in platform.yaml `local` use it
NO_VALUE = object()  # Ref AWS::NoValue: the property is left out


class InfraError(UserError):
    pass


class _Loader(yaml.SafeLoader):
    pass


def _tag(loader: _Loader, suffix: str, node: yaml.Node) -> dict:
    """`!Sub x` -> {"Fn::Sub": x}; `!Ref x` -> {"Ref": x}; `!GetAtt A.B` -> {"Fn::GetAtt": ["A", "B"]}."""
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_Loader.add_multi_constructor("!", _tag)


def load_template(stack: str) -> dict:
    path = INFRA / f"{stack}.yaml"
    try:
        return yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except (OSError, yaml.YAMLError) as exc:
        raise InfraError(f"cannot read template {path}: {exc}") from exc


@dataclass
class Environment:
    name: str
    region: str
    parameters: dict[str, str]


def environments() -> list[str]:
    return sorted(p.stem for p in PARAMS.glob("*.json"))


def load_environment(name: str) -> Environment:
    path = PARAMS / f"{name}.json"
    if not path.is_file():
        raise InfraError(f"no parameters for environment {name!r}: expected {path} (have: {', '.join(environments())})")
    try:
        data = json.loads(path.read_text())
        region, parameters = data["Region"], data["Parameters"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InfraError(f"{path}: expected {{\"Region\": ..., \"Parameters\": {{...}}}} ({exc})") from exc
    return Environment(name, region, {key: str(value) for key, value in parameters.items()})


def stack_parameters(stack: str, template: dict, environment: Environment) -> dict[str, str]:
    """The values of the parameters `template` declares: the environment's, else the default. A missing value or
    one outside AllowedValues/AllowedPattern is an error naming the parameter and the file."""
    values = {}
    for name, spec in template.get("Parameters", {}).items():
        value = environment.parameters.get(name, spec.get("Default"))
        where = f"infra/params/{environment.name}.json"
        if value is None:
            raise InfraError(f"{stack}.yaml needs parameter {name}: add it to {where}")
        value = str(value)
        allowed = spec.get("AllowedValues")
        if allowed and value not in [str(a) for a in allowed]:
            raise InfraError(f"{where}: {name}={value!r} is not one of {', '.join(map(str, allowed))}")
        pattern = spec.get("AllowedPattern")
        if pattern and not re.fullmatch(pattern, value):
            raise InfraError(f"{where}: {name}={value!r} does not match {pattern}")
        values[name] = value
    return values


def command_line_overrides(stack: str, environment: str) -> list[str]:
    """`Key=Value` pairs for `aws cloudformation deploy --parameter-overrides` (only what the stack declares)."""
    env = load_environment(environment)
    return [f"{k}={v}" for k, v in stack_parameters(stack, load_template(stack), env).items()]


@dataclass
class Evaluator:
    """Evaluates one stack's template for given parameters. `resource_ref` / `resource_attribute` answer Ref and
    Fn::GetAtt of the stack's own resources (for a local apply: what was just created)."""

    template: dict
    parameters: dict[str, str]
    region: str
    account_id: str = LOCAL_ACCOUNT_ID
    stack_name: str = "stack"
    exports: dict[str, str] = field(default_factory=dict)
    resource_ref: Callable[[str], str] | None = None
    resource_attribute: Callable[[str, str], str] | None = None

    def pseudo(self, name: str) -> Any:
        return {"AWS::Region": self.region, "AWS::AccountId": self.account_id, "AWS::Partition": "aws",
                "AWS::StackName": self.stack_name, "AWS::URLSuffix": "amazonaws.com", "AWS::NoValue": NO_VALUE}[name]

    def condition(self, name: str) -> bool:
        try:
            return bool(self.value(self.template["Conditions"][name]))
        except KeyError as exc:
            raise InfraError(f"template uses undefined condition {name!r}") from exc

    def ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.parameters:
            return self.parameters[name]
        if name in self.template.get("Resources", {}) and self.resource_ref:
            return self.resource_ref(name)
        raise InfraError(f"cannot evaluate Ref {name!r} here")

    def attribute(self, resource: str, attribute: str) -> Any:
        if self.resource_attribute is None:
            raise InfraError(f"cannot evaluate Fn::GetAtt {resource}.{attribute} here")
        return self.resource_attribute(resource, attribute)

    def sub(self, text: str, variables: dict[str, Any]) -> str:
        def replace(match: re.Match) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                return str(self.attribute(*name.split(".", 1)))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.value(item) for item in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, arg), = node.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.value(arg[1]))
                return self.sub(text, variables)
            if key == "Fn::GetAtt":
                return self.attribute(arg[0], arg[1])
            if key == "Fn::If":
                name, yes, no = arg
                return self.value(yes if self.condition(name) else no)
            if key == "Fn::Equals":
                left, right = self.value(arg)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self.value(arg[0])
            if key == "Fn::ImportValue":
                name = self.value(arg)
                if name not in self.exports:
                    raise InfraError(f"export {name!r} is missing: deploy the stack that exports it first")
                return self.exports[name]
            if key == "Fn::Join":
                return str(arg[0]).join(str(v) for v in self.value(arg[1]))
            if key == "Fn::Select":
                return self.value(arg[1])[int(self.value(arg[0]))]
            if key == "Condition":
                return self.condition(arg)
        resolved = {k: self.value(v) for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def active(self, spec: dict) -> bool:
        return "Condition" not in spec or self.condition(spec["Condition"])

    def outputs(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(outputs by key, exports by name) of the active outputs."""
        outputs, exports = {}, {}
        for key, spec in self.template.get("Outputs", {}).items():
            if not self.active(spec):
                continue
            outputs[key] = self.value(spec["Value"])
            if "Export" in spec:
                exports[self.value(spec["Export"]["Name"])] = outputs[key]
        return outputs, exports


def resources_of_type(stack: str, resource_type: str) -> dict[str, dict]:
    """Logical id -> raw definition, for tests and checks."""
    return {lid: spec for lid, spec in load_template(stack).get("Resources", {}).items()
            if spec["Type"] == resource_type}


def template_path(stack: str) -> Path:
    return INFRA / f"{stack}.yaml"
