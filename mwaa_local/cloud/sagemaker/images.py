"""Which container images the local SageMaker can run, recognised by ECR repository name (any account or region).

Framework images run script mode on local Python; the built-in XGBoost algorithm is the `sagemaker-xgboost` image
without an entry point. Anything else fails the job with a reason naming the image and listing what is supported.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

# ECR repository -> (framework, the Python module it needs locally)
FRAMEWORK_REPOSITORIES = {
    "sagemaker-scikit-learn": ("sklearn", "sklearn"),
    "sagemaker-xgboost": ("xgboost", "xgboost"),
    "pytorch-training": ("pytorch", "torch"),
    "pytorch-inference": ("pytorch", "torch"),
}


class UnsupportedImage(ValueError):
    pass


@dataclass(frozen=True)
class Image:
    uri: str
    repository: str
    tag: str
    framework: str
    module: str


def repository_of(uri: str) -> tuple[str, str]:
    """'683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3' -> (repo, tag)."""
    path = uri.split("/", 1)[1] if "/" in uri else uri
    if "@" in path:
        repository, _, tag = path.partition("@")
    else:
        repository, _, tag = path.partition(":")
    return repository.rsplit("/", 1)[-1], tag


def supported() -> str:
    return ", ".join(sorted(FRAMEWORK_REPOSITORIES))


def parse(uri: str) -> Image:
    repository, tag = repository_of(uri or "")
    if repository not in FRAMEWORK_REPOSITORIES:
        raise UnsupportedImage(
            f"The local cloud cannot run image {uri!r}: it runs the AWS framework images ({supported()}; any "
            "account, region and tag) on local Python, in script mode.")
    framework, module = FRAMEWORK_REPOSITORIES[repository]
    return Image(uri, repository, tag, framework, module)


def check_runnable(image: Image) -> None:
    """The framework's package must be importable by the local Python that runs the job."""
    if importlib.util.find_spec(image.module) is None:
        raise UnsupportedImage(f"Image {image.uri!r} needs the Python package {image.module!r}, which is not installed "
                               "in the local environment.")
