"""A phase's ranking rules: the ``ranking:`` block of its YAML, stored on the phase.

```yaml
ranking:
  ties: average               # min ("1, 2, 2, 4") | average ("1, 2.5, 2.5, 4": the paper's)
  aggregation: dataset        # dataset (rank the dataset metrics) | rank_then_mean (challengeR)
  teams: public               # public (affiliated teams on the organisers' view only) | all
  references:                 # per kind, or one word for every kind: ranked | unranked
    off-the-shelf: ranked
    baseline: ranked
    human: unranked
  significance_metric: lesion_dice_per_case
  size_strata_mm3: [100, 1000]
```

Every key is optional; a phase without the block ranks as Podium always has
(``min`` ties, dataset metrics, public teams, references unranked).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from scoring.lesion_sizes import DEFAULT_BOUNDS_MM3, check_bounds
from scoring.ranking.metrics import METRIC_DIRECTIONS

Ties = Literal["min", "average"]
Aggregation = Literal["dataset", "rank_then_mean"]
Placement = Literal["ranked", "unranked"]
ReferenceKind = Literal["baseline", "human", "off-the-shelf"]

#: Every kind of reference entry.
REFERENCE_KINDS: tuple[ReferenceKind, ...] = ("baseline", "human", "off-the-shelf")

#: What each aggregation is called in :mod:`scoring.ranking`.
SCORING_AGGREGATION: dict[str, Literal["dataset", "per_case"]] = {
    "dataset": "dataset",
    "rank_then_mean": "per_case",
}


def _all(placement: Placement) -> dict[ReferenceKind, Placement]:
    return dict.fromkeys(REFERENCE_KINDS, placement)


class RankingRules(BaseModel):
    """The ``ranking:`` block of a phase.

    Attributes
    ----------
    ties
        How tied teams share ranks on a metric.
    aggregation
        ``dataset``: per centre, rank each dataset metric, then the mean rank;
        ``rank_then_mean``: rank each case's metrics, average over cases, then
        over metrics.
    teams
        ``public``: the public board ranks teams that are not organiser-affiliated;
        ``all``: it ranks those too (marked).
    references
        Per reference kind, whether its entries take positions among the teams
        (as the TriALS paper ranks off-the-shelf models) or are shown beside them.
    significance_metric
        The per-case score the significance map tests.
    size_strata_mm3
        Volume bounds of the lesion-size strata.
    """

    model_config = ConfigDict(extra="forbid")

    ties: Ties = "min"
    aggregation: Aggregation = "dataset"
    teams: Literal["public", "all"] = "public"
    references: dict[ReferenceKind, Placement] = Field(default_factory=lambda: _all("unranked"))
    significance_metric: str = "lesion_dice_per_case"
    size_strata_mm3: list[float] = Field(default_factory=lambda: list(DEFAULT_BOUNDS_MM3))

    @field_validator("references", mode="before")
    @classmethod
    def _one_word_for_all(cls, value: Any) -> Any:
        if isinstance(value, str):
            return dict.fromkeys(REFERENCE_KINDS, value)
        if isinstance(value, dict):
            return {**dict.fromkeys(REFERENCE_KINDS, "unranked"), **value}
        return value

    @field_validator("significance_metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        if value not in METRIC_DIRECTIONS:
            known = ", ".join(sorted(METRIC_DIRECTIONS))
            raise ValueError(f"unknown metric {value!r}; known: {known}")
        return value

    @field_validator("size_strata_mm3")
    @classmethod
    def _bounds(cls, value: list[float]) -> list[float]:
        return list(check_bounds(value))

    @property
    def scoring_aggregation(self) -> Literal["dataset", "per_case"]:
        """The aggregation's name in :mod:`scoring.ranking`."""
        return SCORING_AGGREGATION[self.aggregation]

    def ranks_reference(self, kind: str) -> bool:
        """Whether reference entries of ``kind`` take positions."""
        return any(k == kind and p == "ranked" for k, p in self.references.items())


def rules_of(stored: dict[str, Any] | None) -> RankingRules:
    """The rules stored on a phase (its ``ranking`` column); defaults where absent.

    Examples
    --------
    >>> rules_of({"ties": "average", "references": "ranked"}).references["human"]
    'ranked'
    >>> rules_of(None).ties
    'min'
    """
    return RankingRules.model_validate(stored or {})
