"""Rank then aggregate: dataset metrics, per-metric ranks, boards and their stability.

See docs/evaluation.md ("Ranking", "Ranking stability"). Everything is pure numpy:

- :mod:`.metrics`: dataset metrics from per-case quantities, directions,
  metric sets, worst values;
- :mod:`.ranks`: ranks with ties, positions, Kendall's tau, :func:`rank_metrics`;
- :mod:`.cases`: the team-aligned case tables and the vectorised evaluation;
- :mod:`.leaderboard`: the point board per centre and overall;
- :mod:`.bootstrap`: stratified bootstrap ranking stability;
- :mod:`.analysis`: a board's ranking, stability and metric intervals in one pass;
- :mod:`.significance`: Wilcoxon significance maps, Mann–Whitney centre comparisons.
"""

from scoring.aggregate import DATASET_METRICS
from scoring.ranking.analysis import Analysis, analyse, case_keys
from scoring.ranking.bootstrap import (
    RankingStability,
    Stability,
    TeamStability,
    bootstrap_stability,
    stratified_resample,
)
from scoring.ranking.leaderboard import CentreBoard, Leaderboard, leaderboard
from scoring.ranking.metrics import (
    DETECTION_METRICS,
    FULL_METRICS,
    METRIC_DIRECTIONS,
    METRIC_SETS,
    WORST_VALUES,
)
from scoring.ranking.ranks import MetricRanking, kendall_tau, positions, rank_keys, rank_metrics
from scoring.ranking.significance import (
    CentreComparison,
    SignificanceMap,
    compare_centres,
    significance_map,
)

__all__ = [
    "DATASET_METRICS",
    "DETECTION_METRICS",
    "FULL_METRICS",
    "METRIC_DIRECTIONS",
    "METRIC_SETS",
    "WORST_VALUES",
    "Analysis",
    "CentreBoard",
    "CentreComparison",
    "Leaderboard",
    "MetricRanking",
    "RankingStability",
    "SignificanceMap",
    "Stability",
    "TeamStability",
    "analyse",
    "bootstrap_stability",
    "case_keys",
    "compare_centres",
    "kendall_tau",
    "leaderboard",
    "positions",
    "rank_keys",
    "rank_metrics",
    "significance_map",
    "stratified_resample",
]
