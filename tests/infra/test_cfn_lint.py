"""cfn-lint (warnings included) passes on every template in infra/."""

import subprocess
import sys
from pathlib import Path

from mwaa_local.infra.templates import INFRA, STACKS


def test_every_stack_has_a_template():
    assert sorted(p.stem for p in INFRA.glob("*.yaml") if p.stem in STACKS) == sorted(STACKS)


def test_cfn_lint_passes_on_every_template():
    templates = sorted(str(p) for p in INFRA.glob("*.yaml") if p.stem in STACKS)
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run([str(cfn_lint), *templates], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cfn_lint_is_not_blind(tmp_path):
    """The same call fails on a template with an unknown IAM action, so the pass above means something."""
    broken = tmp_path / "broken.yaml"
    broken.write_text((INFRA / "ml.yaml").read_text().replace("sagemaker-mlflow:SetTag\n", "sagemaker-mlflow:SetTagz\n"))
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run([str(cfn_lint), str(broken)], capture_output=True, text=True, timeout=600)
    assert result.returncode != 0 and "settagz" in result.stdout.lower()
