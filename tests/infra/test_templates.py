"""Reading templates and parameters, and evaluating their intrinsic functions."""

import pytest

from mwaa_local.infra import templates
from mwaa_local.infra.templates import Environment, Evaluator, InfraError, command_line_overrides, stack_parameters


def evaluator(**kwargs) -> Evaluator:
    template = {"Conditions": {"On": {"Fn::Equals": [{"Ref": "Flag"}, "true"]}}, "Resources": {"R": {}}}
    return Evaluator(template, {"Name": "n", "Flag": "true"}, "eu-west-1", account_id="111", **kwargs)


def test_short_form_tags_load_as_long_form():
    template = templates.load_template("data")
    crawler = template["Resources"]["RawCrawler"]["Properties"]
    assert crawler["Role"] == {"Fn::GetAtt": ["GlueRole", "Arn"]}
    assert crawler["Name"] == {"Ref": "GlueCrawlerName"}


def test_intrinsics():
    e = evaluator(exports={"x-export": "imported"}, resource_attribute=lambda r, a: f"{r}.{a}!")
    assert e.value({"Fn::Sub": "arn:${AWS::Partition}:s3:::${Name}/${!Literal}/${R.Arn}"}) == "arn:aws:s3:::n/${Literal}/R.Arn!"
    assert e.value({"Fn::Sub": ["${A}-${Name}", {"A": "a"}]}) == "a-n"
    assert e.value({"Fn::If": ["On", "yes", "no"]}) == "yes"
    assert e.value({"Fn::ImportValue": {"Fn::Sub": "x-export"}}) == "imported"
    assert e.value({"Fn::Join": ["/", ["a", {"Ref": "Name"}]]}) == "a/n"
    assert e.value({"k": {"Ref": "AWS::NoValue"}, "list": [1, {"Ref": "AWS::NoValue"}]}) == {"list": [1]}


def test_missing_export_names_the_fix():
    with pytest.raises(InfraError, match="export 'nope' is missing: deploy the stack that exports it first"):
        evaluator().value({"Fn::ImportValue": "nope"})


def test_parameters_missing_or_invalid_are_one_line_errors():
    template = {"Parameters": {"Size": {"Type": "String", "AllowedValues": ["Small"]},
                               "Name": {"Type": "String", "AllowedPattern": "^[a-z]+$"}}}
    with pytest.raises(InfraError, match=r"x.yaml needs parameter Size: add it to infra/params/e.json"):
        stack_parameters("x", template, Environment("e", "r", {"Name": "ok"}))
    with pytest.raises(InfraError, match=r"Size='Huge' is not one of Small"):
        stack_parameters("x", template, Environment("e", "r", {"Size": "Huge", "Name": "ok"}))
    with pytest.raises(InfraError, match=r"Name='Bad!' does not match"):
        stack_parameters("x", template, Environment("e", "r", {"Size": "Small", "Name": "Bad!"}))


def test_unknown_environment_lists_the_known_ones():
    with pytest.raises(InfraError, match=r"no parameters for environment 'staging'.*have: local, production"):
        templates.load_environment("staging")


def test_every_parameter_file_serves_every_stack():
    for env in templates.environments():
        for stack in templates.STACKS:
            command_line_overrides(stack, env)  # raises when a value is missing or invalid
    assert "WebserverAccessMode=PRIVATE_ONLY" in command_line_overrides("mwaa", "production")
    assert all(not o.startswith("SourceDbHost=") for o in command_line_overrides("mwaa", "production"))


def test_every_parameter_in_a_file_is_used_by_some_template():
    declared = {name for stack in templates.STACKS for name in templates.load_template(stack).get("Parameters", {})}
    for env in templates.environments():
        unused = set(templates.load_environment(env).parameters) - declared
        assert not unused, f"infra/params/{env}.json sets parameters no template declares: {sorted(unused)}"


def test_overrides_command(capsys):
    from mwaa_local.infra.__main__ import main

    assert main(["overrides", "production", "storage"]) == 0
    assert "MwaaBucketName=CHANGE-ME-mwaa-bucket" in capsys.readouterr().out.split()
    assert main(["overrides", "staging", "storage"]) == 1
    assert capsys.readouterr().err.startswith("error: no parameters for environment 'staging'")
    assert main(["overrides", "production", "nope"]) == 2
