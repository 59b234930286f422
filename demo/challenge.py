"""The TriALS-demo challenge definition, as the organiser's YAML file spells it.

``docs/organisers.md`` documents every key; this module only fills them in for the
synthetic dataset of :mod:`demo.data`.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from scoring.interactive.aggregate import INTERACTIVE_METRICS

#: The six detection-oriented metrics (Task 2, combined paradigm).
DETECTION_METRICS: list[str] = [
    "lesion_dice_per_case",
    "lesion_dice_global",
    "lesion_precision",
    "lesion_recall",
    "lesion_precision_greater_zero",
    "lesion_recall_greater_zero",
]
#: All eleven ranked metrics (Task 1, and Task 2's visible paradigm).
FULL_METRICS: list[str] = [
    *DETECTION_METRICS,
    "lesion_voe",
    "lesion_rvd",
    "lesion_assd",
    "lesion_rmsd",
    "lesion_msd",
]
# Open from the past into the future so the demo accepts submissions on any day.
OPENS_AT = "2024-01-01T00:00:00Z"
CLOSES_AT = "2099-12-31T23:59:59Z"

CaseList = Sequence[tuple[str, str]]

#: The TriALS paper's ranking rules (average ties, dataset metrics), reference entries of
#: every kind ranked among the teams as the paper ranks off-the-shelf models, except human
#: readers, shown beside the ranking as its inter-reader ceiling; lesion-size strata at
#: bounds that split the synthetic lesions (158-16,000 mm³) into thirds.
RANKING: dict[str, Any] = {
    "ties": "average",
    "aggregation": "dataset",
    "references": {"baseline": "ranked", "off-the-shelf": "ranked", "human": "unranked"},
    "significance_metric": "lesion_dice_per_case",
    "size_strata_mm3": [1000, 5000],
}


def _cases(keys: CaseList, *, modality: str) -> list[dict[str, Any]]:
    return [
        {"key": key, "centre": centre, "inputs": [f"images/{modality}/{key}.nii.gz"]}
        for key, centre in keys
    ]


def _phases(
    *, modality: str, validation: CaseList, final: CaseList, samples: CaseList
) -> list[dict[str, Any]]:
    common = {
        "opens_at": OPENS_AT,
        "closes_at": CLOSES_AT,
        "time_limit_s": 600,
        "memory_limit_mb": 4096,
        "gpu": False,
    }
    return [
        {
            "slug": "validation",
            "title": "Validation",
            "kind": "validation",
            "submission_limit": 20,
            "leaderboard_visibility": "live",
            "ranking_selection": "latest",
            "ranking": copy.deepcopy(RANKING),
            **common,
            "cases": _cases(validation, modality=modality),
            "sample_cases": _cases(samples, modality=modality),
        },
        {
            "slug": "final",
            "title": "Final test",
            "kind": "final",
            "submission_limit": 3,
            # A final board is hidden until published after closing, whatever is set here.
            "leaderboard_visibility": "hidden_until_close",
            "ranking_selection": "latest",
            "ranking": copy.deepcopy(RANKING),
            # As TriALS asked: a write-up (PDF) with every final container.
            "writeup": {"required": True, "max_mb": 20},
            **common,
            "cases": _cases(final, modality=modality),
            "sample_cases": _cases(samples, modality=modality),
        },
    ]


#: The interactive phases (docs/organisers.md, "Interactive phases"): TriALS 2025's static
#: click files and the closed loop, ten clicks of each kind, on the venous validation cases.
INTERACTIVE_PHASES: dict[str, dict[str, Any]] = {
    "static": {
        "title": "Static clicks (TriALS 2025)",
        "interaction": {"mode": "static", "clicks": 10, "simulator": {"seed": 0}},
    },
    "closed-loop": {
        "title": "Closed loop",
        "interaction": {
            "mode": "closed_loop",
            "clicks": 10,
            "simulator": {"seed": 0},
            "step_time_limit_s": 30,
            "startup_time_limit_s": 30,
        },
    },
}
#: The interactive task's label folder: the venous labels of its cases.
INTERACTIVE_LABELS = "labels/interactive/venous"
#: The interactive task's cases per centre (its first validation cases): a closed loop's
#: eleven steps per case cost time, and per-centre ranking needs two.
INTERACTIVE_CASES_PER_CENTRE = 2


def interactive_cases(validation: CaseList) -> CaseList:
    """The interactive task's cases: the first validation cases of each centre.

    Examples
    --------
    >>> interactive_cases([("a1", "a"), ("a2", "a"), ("a3", "a"), ("b1", "b")])
    [('a1', 'a'), ('a2', 'a'), ('b1', 'b')]
    """
    taken: dict[str, int] = {}
    chosen = []
    for key, centre in validation:
        if taken.get(centre, 0) < INTERACTIVE_CASES_PER_CENTRE:
            taken[centre] = taken.get(centre, 0) + 1
            chosen.append((key, centre))
    return chosen


#: The run contract TriALS 2025 ran (``run.sh CSV INPUT_DIR OUTPUT_DIR``).
TRIALS_CONTRACT: dict[str, Any] = {
    "args": ["/input/cases.csv", "/input", "/output"],
    "cases_csv": "/input/cases.csv",
    "input_name": "{case}_0000{ext}",
}


def _interactive_task(*, validation: CaseList) -> dict[str, Any]:
    phases = [
        {
            "slug": slug,
            "title": spec["title"],
            "kind": "validation",
            "submission_limit": 20,
            "leaderboard_visibility": "live",
            "ranking_selection": "latest",
            "opens_at": OPENS_AT,
            "closes_at": CLOSES_AT,
            "time_limit_s": 600,
            "memory_limit_mb": 4096,
            "gpu": False,
            "container": dict(TRIALS_CONTRACT),
            # The paper's rules; significance tested on each case's DSC@AUC.
            "ranking": {**copy.deepcopy(RANKING), "significance_metric": "interactive_dsc_auc"},
            "interaction": spec["interaction"],
            "cases": _cases(interactive_cases(validation), modality="venous"),
        }
        for slug, spec in INTERACTIVE_PHASES.items()
    ]
    return {
        "slug": "interactive",
        "title": "Interactive: lesions on the venous phase, from clicks",
        "input_phase": "venous",
        "paradigms": ["venous"],
        # TriALS 2025 Task 2's six (the default for interactive phases; spelt out here).
        "metric_sets": {"venous": list(INTERACTIVE_METRICS)},
        "labels": {"venous": INTERACTIVE_LABELS},
        "phases": phases,
    }


def challenge_document(
    *,
    centres: Sequence[tuple[str, str]],
    validation: CaseList,
    final: CaseList,
    samples: CaseList,
) -> dict[str, Any]:
    """The challenge YAML document for the given cases.

    Parameters
    ----------
    centres
        ``(code, name)`` of every centre.
    validation, final, samples
        ``(case key, centre code)`` of the hidden validation cases, the hidden
        final-test cases and the public sample cases.

    Returns
    -------
    dict
        Ready for :func:`demo.yamlout.dump`.
    """
    return {
        "slug": "trials-demo",
        "title": "TriALS-demo",
        "description": (
            "Synthetic TriALS-shaped liver-lesion segmentation challenge: Task 1 segments"
            " lesions on the portal-venous phase, Task 2 on the non-contrast phase; the"
            " interactive task segments venous lesions from simulated clicks, all at once"
            " (TriALS 2025) or one at a time in a closed loop."
        ),
        "centres": [{"code": code, "name": name} for code, name in centres],
        "tasks": [
            {
                "slug": "task1",
                "title": "Task 1: lesions on the venous phase",
                "input_phase": "venous",
                "paradigms": ["venous"],
                "metric_sets": {"venous": list(FULL_METRICS)},
                "labels": {"venous": "labels/venous"},
                "phases": _phases(
                    modality="venous", validation=validation, final=final, samples=samples
                ),
            },
            {
                "slug": "task2",
                "title": "Task 2: lesions on the non-contrast phase",
                "input_phase": "noncontrast",
                "paradigms": ["visible", "combined"],
                "metric_sets": {"visible": list(FULL_METRICS), "combined": list(DETECTION_METRICS)},
                "labels": {"visible": "labels/visible", "combined": "labels/combined"},
                "phases": _phases(
                    modality="noncontrast", validation=validation, final=final, samples=samples
                ),
            },
            _interactive_task(validation=validation),
        ],
    }
