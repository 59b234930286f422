"""The TriALS paper's Egypt and China Task 1 tables, ranked under a phase's ``ranking:`` block.

The block a TriALS-shaped phase carries (``ties: average``, dataset metrics) gives the
paper's mean ranks from its printed metric values, every one to the printed two decimals
(China with its rounding ties broken as ``tests/scoring/test_paper_ranking.py`` explains);
a phase left at the default ``min`` does not.
"""

from __future__ import annotations

import pytest
import yaml

from backend.challenges.spec import PhaseSpec
from backend.leaderboard.rules import RankingRules
from scoring.ranking import rank_metrics
from tests.scoring.test_paper_ranking import CHINA, COLUMNS, EGYPT, PAPER_MEAN_RANK, parse

PHASE = """
slug: final
title: Final test
kind: final
submission_limit: 1
opens_at: "2025-07-01T00:00:00Z"
closes_at: "2025-08-01T00:00:00Z"
ranking:
  ties: average
  aggregation: dataset
"""


def _rules(text: str) -> RankingRules:
    return PhaseSpec.model_validate(yaml.safe_load(text)).ranking


def _china_unrounded() -> dict[str, dict[str, float]]:
    table = parse(CHINA)
    eps = 1e-6
    for team, nudge in (("GenBold", -eps), ("Caladan", eps)):
        for m in ("lesion_rvd", "lesion_assd", "lesion_rmsd", "lesion_msd"):
            table[team][m] += nudge
    table["Caladan"]["lesion_voe"] -= eps
    return table


@pytest.mark.parametrize(
    ("centre", "table"), [("Egypt", parse(EGYPT)), ("China", _china_unrounded())]
)
def test_the_papers_rule_reproduces_its_tables(
    centre: str, table: dict[str, dict[str, float]]
) -> None:
    rules = _rules(PHASE)
    assert (rules.ties, rules.scoring_aggregation) == ("average", "dataset")
    ranked = rank_metrics(table, metrics=COLUMNS, ties=rules.ties)
    for team, want in PAPER_MEAN_RANK[centre].items():
        assert ranked.mean_rank[team] == pytest.approx(want, abs=0.005), (centre, team)
    assert ranked.order() == list(table)


def test_the_default_rule_does_not() -> None:
    rules = _rules(PHASE.replace("  ties: average\n", ""))
    assert rules.ties == "min"
    ranked = rank_metrics(parse(EGYPT), metrics=COLUMNS, ties=rules.ties)
    assert ranked.mean_rank["WLAI"] != pytest.approx(PAPER_MEAN_RANK["Egypt"]["WLAI"], abs=0.005)
