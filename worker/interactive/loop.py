"""The closed loop's driver: one request at a time, each click from the last prediction's errors.

For each case in run order the worker issues request 0 (no clicks), waits for
the container's signal, fetches the prediction *as it is then* (a later rewrite
changes nothing), reads it once, simulates the next click of each kind from its
errors (:func:`scoring.interactive.simulate.next_clicks`) and issues the next
request, up to N; then it ends the case. A click exists only once it is
issued, so no prediction can use a later click.

A step that gets no answer within ``step_time_limit_s`` (plus
``startup_time_limit_s`` for the run's very first) ends its case: the last
prediction is carried forward to N (none at step 0: the case has no
prediction) and the next case starts. No answer to the run's first request
ends the run: the container does not speak the protocol. A container that
exits, or a run that reaches its time limit, leaves the remaining steps carried
forward and the remaining cases without predictions.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from backend.interactive.spec import Interaction
from scoring.errors import CaseInputError
from scoring.formats import EXTENSIONS
from scoring.interactive.clickfile import Clicks
from scoring.interactive.score import ClickPredictions
from scoring.interactive.simulate import next_clicks
from scoring.interactive.steps import PredictionRead, read_prediction
from scoring.labelcase import LabelCase
from worker.interactive.protocol import Inbox, done_name, output_path, prediction_stem
from worker.runner.channel import RunChannel, kind_words

Waited = Literal["done", "step", "deadline", "exited"]

#: Poll the signal every ``_POLL[0]`` s at first, slowing to ``_POLL[1]`` s (a stat costs ~5 ms).
_POLL = (0.02, 0.1)
#: Ask the engine whether the container still runs at most this often.
_ALIVE_EVERY_S = 0.5

#: How long a container may take to exit after its last case ended.
EXIT_GRACE_S = 10.0


@dataclass(frozen=True, slots=True)
class StepTiming:
    """Where one step's time went, in seconds.

    ``answered_s`` is the container's (request issued → signal seen), ``read_s``
    the scorer's read of the prediction; the rest is the worker's own.
    """

    clicks: int
    answered_s: float
    fetch_s: float
    read_s: float
    next_s: float

    @property
    def worker_s(self) -> float:
        """The worker's added time: fetching, simulating and issuing the next request."""
        return self.fetch_s + self.next_s


@dataclass(slots=True)
class LoopCase:
    """What the loop collected for one case."""

    case_id: str
    paths: list[Path | None]
    invalid: dict[int, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    timings: list[StepTiming] = field(default_factory=list)

    def predictions(self) -> ClickPredictions:
        """The case's files as the scorer takes them (a carried-forward file repeats)."""
        return ClickPredictions(
            paths=list(self.paths), invalid=dict(self.invalid), warnings=list(self.warnings)
        )


class ClosedLoop:
    """The driver of a closed-loop run (a :class:`~worker.runner.base.RunSpec` ``driver``).

    Parameters
    ----------
    cases
        Case keys in run order (the case list's order).
    labels
        Each case's prepared label of the phase's click paradigm.
    interaction
        The phase's settings (clicks, simulator, step limits).
    inbox
        Where requests are written (mounted read-only in the container).
    predictions_dir
        Where fetched predictions are kept (``<case>_<k><ext>``).
    max_file_bytes
        A larger prediction is refused unread.
    """

    def __init__(
        self,
        *,
        cases: Sequence[str],
        labels: Mapping[str, LabelCase],
        interaction: Interaction,
        inbox: Inbox,
        predictions_dir: Path,
        max_file_bytes: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.cases = list(cases)
        self.labels = labels
        self.interaction = interaction
        self.inbox = inbox
        self.predictions_dir = predictions_dir
        self.max_file_bytes = max_file_bytes
        self.results: dict[str, LoopCase] = {}
        self._clock = clock
        self._sleep = sleep

    def __call__(self, channel: RunChannel) -> float | None:
        """Drive the run (a :class:`~worker.runner.base.RunSpec` driver).

        Returns
        -------
        float or None
            ``None`` when the container exited or the run reached its time
            limit; otherwise the seconds the container may take to exit:
            :data:`EXIT_GRACE_S` after the last case, none when it never
            answered the run's first request.
        """
        self.predictions_dir.mkdir(parents=True, exist_ok=True)
        done: float | None = EXIT_GRACE_S
        for index, case in enumerate(self.cases):
            outcome = self._run_case(channel, case, first=index == 0)
            if outcome in ("exited", "deadline"):
                done = None
                break
            if index == 0 and not self.results[case].timings:
                done = 0.0  # the run's first request went unanswered: stop the container
                break
        for case in self.cases:
            if case not in self.results:
                state = LoopCase(case_id=case, paths=[None] * (self.interaction.clicks + 1))
                state.warnings.append(f"case {case!r}: never started (the run ended before it)")
                self.results[case] = state
        return done

    def _wait(self, channel: RunChannel, signal: str, until: float) -> Waited:
        delay, check_alive = _POLL[0], self._clock() + _ALIVE_EVERY_S
        while True:
            if channel.stat(signal) is not None:
                return "done"
            now = self._clock()
            if now >= channel.deadline:
                return "deadline"
            if now >= until:
                return "step"
            if now >= check_alive:
                if not channel.running():
                    return "done" if channel.stat(signal) is not None else "exited"
                check_alive = now + _ALIVE_EVERY_S
            self._sleep(max(0.0, min(delay, until - now, channel.deadline - now)))
            delay = min(delay * 1.5, _POLL[1])

    def _fetch(self, channel: RunChannel, case: str, k: int) -> tuple[Path | None, str | None]:
        """The prediction's local copy, or why it cannot be used; ``(None, None)``: none written."""
        stem = prediction_stem(case, k)
        for ext in EXTENSIONS:
            remote = output_path(case, stem + ext)
            found = channel.stat(remote)
            if found is None:
                continue
            name = stem + ext
            if found.kind != "file":
                return None, f"{name} is {kind_words(found.kind)}; write the prediction as a file"
            if found.size > self.max_file_bytes:
                return None, (
                    f"{name} is {found.size} bytes, more than the {self.max_file_bytes} "
                    "allowed per prediction"
                )
            local = self.predictions_dir / name
            problem = channel.fetch(remote, local, max_bytes=self.max_file_bytes)
            return (None, problem) if problem is not None else (local, None)
        return None, None

    def _run_case(self, channel: RunChannel, case: str, *, first: bool) -> Waited:
        n, settings = self.interaction.clicks, self.interaction.settings
        label = self.labels[case]
        state = self.results[case] = LoopCase(case_id=case, paths=[None] * (n + 1))
        clicks = Clicks()
        self.inbox.request(case, 0, clicks)
        issued = self._clock()
        for k in range(n + 1):
            limit = self.interaction.step_time_limit_s
            limit += self.interaction.startup_time_limit_s if first and k == 0 else 0
            waited = self._wait(channel, output_path(case, done_name(case, k)), issued + limit)
            if waited != "done":
                self._carry_forward(state, k, waited, limit)
                if waited == "step":
                    self.inbox.end(case, reason="step_time_limit", predictions=k)
                return waited
            seen = self._clock()
            path, problem = self._fetch(channel, case, k)
            fetched = self._clock()
            prediction: PredictionRead | None = None
            if path is not None:
                state.paths[k] = path
                try:
                    prediction = read_prediction(label, path)
                except CaseInputError:
                    prediction = None  # scored as invalid, with the reason, at the end
            elif problem is not None:
                state.invalid[k] = problem
            else:
                state.warnings.append(
                    f"case {case!r}, {k} click(s): {done_name(case, k)} was written but no "
                    f"{prediction_stem(case, k)}.nii.gz (scored as an empty prediction)"
                )
            read = self._clock()
            if k < n:
                clicks = next_clicks(label, prediction, clicks, settings)
                self.inbox.request(case, k + 1, clicks)
            else:
                self.inbox.end(case, reason="complete", predictions=n + 1)
            ended = self._clock()
            state.timings.append(
                StepTiming(
                    clicks=k,
                    answered_s=seen - issued,
                    fetch_s=fetched - seen,
                    read_s=read - fetched,
                    next_s=ended - read,
                )
            )
            issued = ended
        return "done"

    def _carry_forward(self, state: LoopCase, k: int, waited: Waited, limit: float) -> None:
        n = self.interaction.clicks
        why = {
            "step": f"no answer within the step limit of {limit:g} s",
            "exited": "the container exited",
            "deadline": "the run reached its time limit",
        }[waited]
        if k == 0:
            state.warnings.append(
                f"case {state.case_id!r}: {why} at request 0; the case has no prediction"
            )
            return
        for j in range(k, n + 1):
            state.paths[j] = state.paths[k - 1]
            if k - 1 in state.invalid:
                state.invalid[j] = state.invalid[k - 1]
        state.warnings.append(
            f"case {state.case_id!r}: {why} at request {k}; prediction {k - 1} counts for "
            f"{k}…{n} click(s)"
        )
