"""The ``interaction:`` block of a phase: what makes a validation or final phase interactive.

A phase is interactive when it has this block; its ``kind`` (validation or
final) keeps its meaning (a final phase runs a pre-flight on its sample cases,
its board stays hidden until published)::

    interaction:
      mode: closed_loop        # static (TriALS 2025: every click handed over at once) | closed_loop
      clicks: 10               # clicks of each kind; predictions for 0, 1, ..., 10 clicks
      paradigm: venous         # the labels clicks are simulated from (default: the task's first)
      simulator:               # scoring.interactive.settings.ClickSettings, less the count
        seed: 0
        background_min_mm: 5.0
        background_max_mm: 25.0
      click_source: simulated  # static only: simulated | uploaded (the organisers' click files)
      step_time_limit_s: 60    # closed loop: the longest one step may take
      startup_time_limit_s: 300  # closed loop: added to the run's first step (loading a model)

This module is the one place that knows the block: the YAML/API model and its
checks (:class:`InteractionSpec`, :func:`check_interaction`), what is stored on
the phase (:func:`stored_interaction`) and the settings a run uses
(:func:`interaction_of`). The worker runs by :class:`Interaction`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from scoring.interactive.aggregate import INTERACTIVE_METRICS
from scoring.interactive.settings import MAX_CLICKS, ClickSettings

#: How clicks reach the container.
InteractionMode = Literal["static", "closed_loop"]
MODES: tuple[str, ...] = get_args(InteractionMode)

#: Where a static phase's click files come from.
ClickSource = Literal["simulated", "uploaded"]


class InteractionSpec(BaseModel):
    """The ``interaction:`` block as written in the challenge file or sent to the API."""

    model_config = ConfigDict(extra="forbid")

    mode: InteractionMode = Field(
        description="static: a TriALS click file per case, all clicks at once; closed_loop: "
        "each click is given after the previous prediction, from its errors."
    )
    clicks: int = Field(
        default=10, ge=1, le=MAX_CLICKS, description="Clicks of each kind (lesion, background)."
    )
    paradigm: str | None = Field(
        default=None, description="The paradigm whose labels clicks come from (default: first)."
    )
    simulator: dict[str, Any] = Field(
        default_factory=dict,
        description="Click simulator settings: seed, background_min_mm, background_max_mm.",
    )
    click_source: ClickSource = Field(
        default="simulated",
        description="Static phases: simulated from the labels, or the organisers' uploaded files.",
    )
    step_time_limit_s: int = Field(
        default=60, gt=0, description="Closed loop: seconds one prediction may take."
    )
    startup_time_limit_s: int = Field(
        default=300, ge=0, description="Closed loop: extra seconds for the run's first prediction."
    )

    @model_validator(mode="after")
    def _check(self) -> InteractionSpec:
        if "count" in self.simulator:
            raise ValueError("set the click count with interaction.clicks, not simulator.count")
        self.click_settings()  # unknown keys and bad values, in the scorer's own words
        if self.mode == "closed_loop" and self.click_source == "uploaded":
            raise ValueError(
                "click_source: uploaded needs mode: static; in a closed loop each click is "
                "simulated from the errors of the prediction before it"
            )
        return self

    def click_settings(self) -> ClickSettings:
        """The simulator's settings, with the click count."""
        return ClickSettings.from_dict({**self.simulator, "count": self.clicks})


@dataclass(frozen=True, slots=True, kw_only=True)
class Interaction:
    """The interactive settings a phase's runs use (every default filled in).

    Attributes
    ----------
    mode
        ``static`` or ``closed_loop``.
    clicks
        N: predictions are made for 0, 1, ..., N clicks of each kind.
    paradigm
        The paradigm whose labels the clicks are simulated from.
    settings
        The click simulator's settings (``settings.count == clicks``).
    click_source
        Static phases: ``simulated`` or ``uploaded``.
    step_time_limit_s, startup_time_limit_s
        Closed loop: the limit of one step, and what the run's first step gets on top.
    """

    mode: InteractionMode
    clicks: int
    paradigm: str
    settings: ClickSettings
    click_source: ClickSource = "simulated"
    step_time_limit_s: int = 60
    startup_time_limit_s: int = 300

    @property
    def closed_loop(self) -> bool:
        """Whether clicks are given one step at a time."""
        return self.mode == "closed_loop"

    def describe(self) -> dict[str, Any]:
        """The settings as the API shows them."""
        return {
            "mode": self.mode,
            "clicks": self.clicks,
            "paradigm": self.paradigm,
            "simulator": {k: v for k, v in self.settings.to_dict().items() if k != "count"},
            "click_source": self.click_source,
            "step_time_limit_s": self.step_time_limit_s,
            "startup_time_limit_s": self.startup_time_limit_s,
        }


def check_interaction(
    spec: InteractionSpec | None, *, paradigms: Sequence[str], time_limit_s: int
) -> None:
    """The checks that need the phase and its task.

    Raises
    ------
    ValueError
        A paradigm the task does not have, or a step limit the run's limit cannot hold.
    """
    if spec is None:
        return
    if spec.paradigm is not None and spec.paradigm not in paradigms:
        raise ValueError(
            f"interaction.paradigm {spec.paradigm!r} is not one of the task's paradigms "
            f"({', '.join(paradigms)})"
        )
    if spec.mode == "closed_loop" and spec.step_time_limit_s >= time_limit_s:
        raise ValueError(
            f"interaction.step_time_limit_s ({spec.step_time_limit_s} s) must be smaller than "
            f"the phase's time_limit_s ({time_limit_s} s), which bounds the whole run"
        )


def check_metric_sets(
    metric_sets: Mapping[str, Sequence[str]], *, phases: Mapping[str, bool]
) -> None:
    """Interactive metrics (DSC@AUC, …) may be ranked only in a task whose phases all are.

    ``phases``: each phase's slug and whether it has an ``interaction:`` block.

    Raises
    ------
    ValueError
        Naming the metrics and the plain phases.

    Examples
    --------
    >>> check_metric_sets({"venous": ["interactive_dsc_auc"]}, phases={"clicks": True})
    >>> check_metric_sets({"venous": ["interactive_dsc_auc"]}, phases={"validation": False})
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: metric sets name interactive metrics ['interactive_dsc_auc'], but phase(s) ...
    """
    named = sorted({m for ms in metric_sets.values() for m in ms if m in INTERACTIVE_METRICS})
    plain = [slug for slug, interactive in phases.items() if not interactive]
    if named and plain:
        raise ValueError(
            f"metric sets name interactive metrics {named}, but phase(s) {', '.join(plain)} "
            "have no interaction: block; give interactive phases a task of their own"
        )


def stored_interaction(
    spec: InteractionSpec | None, *, paradigms: Sequence[str]
) -> dict[str, Any] | None:
    """The block as stored on the phase: complete, the paradigm filled in (``None``: none)."""
    if spec is None:
        return None
    stored = spec.model_dump(mode="json")
    stored["paradigm"] = spec.paradigm or paradigms[0]
    return stored


def interaction_of(stored: dict[str, Any] | None) -> Interaction | None:
    """The settings of a stored block (``None``: the phase is not interactive).

    Examples
    --------
    >>> i = interaction_of({"mode": "closed_loop", "clicks": 5, "paradigm": "venous"})
    >>> i.closed_loop, i.settings.count, i.describe()["simulator"]["seed"]
    (True, 5, 0)
    >>> interaction_of(None) is None
    True
    """
    if stored is None:
        return None
    spec = InteractionSpec.model_validate(stored)
    if spec.paradigm is None:
        raise ValueError("a stored interaction block names its paradigm")
    return Interaction(
        mode=spec.mode,
        clicks=spec.clicks,
        paradigm=spec.paradigm,
        settings=spec.click_settings(),
        click_source=spec.click_source,
        step_time_limit_s=spec.step_time_limit_s,
        startup_time_limit_s=spec.startup_time_limit_s,
    )
