"""The worker's docstring examples run (pytest's doctest collection covers tests/ and scoring/)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "worker.interactive.protocol",
    "worker.runner.base",
    "worker.runner.channel",
    "worker.runner.docker_channel",
    "worker.runner.imagestore",
    "worker.runner.outbox",
    "worker.runner.users",
    "worker.staging",
    "worker.host",
    "worker.doctor",
    "backend.storage.base",  # the storage contract the worker shares with the API
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    failures, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert tried > 0, f"{name} has no examples"
    assert failures == 0
