"""Schemathesis against the app's own OpenAPI schema, with real tokens and real ids.

Shared by ``tests/reliability/test_fuzz.py`` (a fixed budget, deterministic)
and ``benchmarks/fuzz.py`` (more examples, random). Every generated request
goes through the ASGI app; the property checked on each answer is the API's
contract: never a 5xx, and every error a JSON body with a non-empty
``message``.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck
from hypothesis import strategies as st
from schemathesis import GenerationMode

#: Destructive operations run last, so they cannot hide the reads behind a revoked token.
_METHOD_ORDER = {"GET": 0, "POST": 1, "PUT": 1, "PATCH": 1, "DELETE": 2}


@dataclass
class FuzzReport:
    """What the fuzzer sent and what came back."""

    requests: int = 0
    operations: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    per_operation: Counter[str] = field(default_factory=Counter)
    seeded_requests: int = 0

    def summary(self) -> str:
        """One line for a person."""
        spread = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        return (
            f"{self.requests} requests over {self.operations} operations "
            f"({self.seeded_requests} with seeded ids); statuses {spread}"
        )


def check_answer(label: str, status: int, headers: Any, body: bytes) -> None:
    """The contract: no 5xx; an error is JSON with a non-empty ``message``."""
    assert status < 500, f"{label}: {status} {body[:500]!r}"
    if status >= 400:
        content_type = headers.get("content-type") or [""]
        if isinstance(content_type, list):
            content_type = content_type[0]
        assert content_type.startswith("application/json"), (label, status, content_type)
        parsed = json.loads(body)
        assert isinstance(parsed, dict), (label, parsed)
        message = parsed.get("message")
        assert isinstance(message, str), (label, parsed)
        assert message.strip(), (label, parsed)


def _strategy(operation: Any) -> st.SearchStrategy[Any]:
    strategies = [operation.as_strategy(GenerationMode.POSITIVE)]
    # Some operations have nothing to negate; positive examples are enough there.
    with contextlib.suppress(Exception):
        strategies.append(operation.as_strategy(GenerationMode.NEGATIVE))
    return st.one_of(strategies)


def fuzz_app(
    app: FastAPI,
    *,
    actors: dict[str, dict[str, str]],
    ids: dict[str, list[str]],
    max_examples: int,
    derandomize: bool,
    on_request: Callable[[str, int], None] | None = None,
) -> FuzzReport:
    """Fuzz every operation of ``app``'s schema; raise on the first broken answer.

    Parameters
    ----------
    app
        The ASGI application (its ``/openapi.json`` is loaded through it).
    actors
        Name -> request headers (e.g. a bearer token); each example picks one.
    ids
        Path parameter name -> real values; about half of the examples use
        them so the fuzzer gets past the 404s into the handlers.
    max_examples
        Hypothesis examples per operation (small operations may use fewer).
    derandomize
        Deterministic examples (CI) or random ones (benchmark runs).
    on_request
        Called with the operation label and status after each request.
    """
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    operations.sort(key=lambda op: (_METHOD_ORDER.get(op.method.upper(), 1), op.path))
    report = FuzzReport(operations=len(operations))
    for operation in operations:
        _fuzz_operation(
            operation,
            report=report,
            actors=actors,
            ids=ids,
            max_examples=max_examples,
            derandomize=derandomize,
            on_request=on_request,
        )
    return report


def _fuzz_operation(
    operation: Any,
    *,
    report: FuzzReport,
    actors: dict[str, dict[str, str]],
    ids: dict[str, list[str]],
    max_examples: int,
    derandomize: bool,
    on_request: Callable[[str, int], None] | None,
) -> None:
    label = f"{operation.method.upper()} {operation.path}"

    @hypothesis.settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=derandomize,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    @hypothesis.given(
        case=_strategy(operation),
        who=st.sampled_from(sorted(actors)),
        seeded=st.booleans(),
        pick=st.integers(min_value=0, max_value=7),
    )
    def run(case: Any, who: str, seeded: bool, pick: int) -> None:
        if seeded and case.path_parameters:
            for name in list(case.path_parameters):
                if name in ids:
                    case.path_parameters[name] = ids[name][pick % len(ids[name])]
            report.seeded_requests += 1
        headers = {**(case.headers or {}), **actors[who]}
        response = case.call(headers=headers)
        report.requests += 1
        report.statuses[response.status_code] += 1
        report.per_operation[label] += 1
        if on_request is not None:
            on_request(label, response.status_code)
        check_answer(
            f"{label} as {who} ({case.formatted_path})",
            response.status_code,
            response.headers,
            response.content,
        )

    run()
