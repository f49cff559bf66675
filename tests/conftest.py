"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os

import pytest

from mwaa_local.cloud import process


@pytest.fixture(scope="session")
def local_cloud(tmp_path_factory):
    """A local cloud for the test session, persisted in a temp dir, with clients pointed at it through
    AWS_ENDPOINT_URL and dummy credentials (as a user's shell would be)."""
    state_dir = tmp_path_factory.mktemp("cloud-state")
    log_file = tmp_path_factory.mktemp("cloud-log") / "cloud.log"
    cloud = process.start(state_dir=state_dir, log_file=log_file)
    saved = {k: os.environ.get(k) for k in process.client_environment(cloud.endpoint_url)}
    os.environ.update(process.client_environment(cloud.endpoint_url))
    cloud.state_dir, cloud.log_file = state_dir, log_file
    yield cloud
    cloud.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def aws(local_cloud):
    """boto3 clients for the local cloud: aws('s3'), aws('redshift-data'), ..."""
    import boto3

    session = boto3.session.Session(region_name="us-east-1")
    return lambda service, **kwargs: session.client(service, endpoint_url=local_cloud.endpoint_url, **kwargs)
