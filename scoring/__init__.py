"""Podium's scoring library: exact TriALS lesion metrics, fast (see docs/scoring.md).

Entry points: :class:`scoring.labelcase.LabelCase` (the label side of a case,
prepared once), :func:`scoring.metrics.score_case` (one prediction into a
:class:`scoring.results.CaseResult`), :func:`scoring.metrics.score_prediction`
(one read of a prediction for several labels), :func:`scoring.aggregate.dataset_metrics`
(any subset of cases) and the ``podium-score`` command (:mod:`scoring.cli`).
Interactive (click-based) phases: :mod:`scoring.interactive`.
"""
