"""moto's backends as our Glue service changes them in-process: registered with the state store, so every change
made under `mutation(...)` is persisted like one made over HTTP."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

from mwaa_local.cloud import moto_state
from mwaa_local.cloud.state import StateStore


def ensure_moto(store: StateStore, backend: str) -> str:
    """Registers moto's `backend` with the store if nothing has yet; returns its snapshot name."""
    name = moto_state.snapshot_name(backend)
    if name not in store._providers:
        moto_state.register_moto_backend(store, backend)
    return name


@contextmanager
def mutating(store: StateStore, backend: str, region: str = "us-east-1"):
    """`with mutating(store, 'glue') as glue:` change moto's glue backend; it is saved on exit."""
    with store.mutation(ensure_moto(store, backend)):
        yield moto_state.backend(backend, region)


def reading(backend: str, region: str = "us-east-1") -> Any:
    return moto_state.backend(backend, region)
