"""moto's backends as our Glue service changes them in-process: registered with the state store, so every change
made under `mutation(...)` is persisted like one made over HTTP."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

from mwaa_local.cloud import moto_state
from mwaa_local.cloud.state import StateStore


@contextmanager
def mutating(store: StateStore, backend: str, region: str = "us-east-1"):
    """`with mutating(store, 'glue') as glue:` change moto's glue backend; it is saved on exit."""
    with store.mutation(moto_state.register_moto_backend(store, backend)):
        yield moto_state.backend(backend, region)


def reading(backend: str, region: str = "us-east-1") -> Any:
    return moto_state.backend(backend, region)
