"""Interactive (click-based) evaluation: click simulation, click files, per-click scoring, curves.

See docs/scoring.md ("Interactive phases") and docs/evaluation.md. Entry points:

- :func:`~scoring.interactive.simulate.next_clicks` (closed loop: the next click
  from the label and the current prediction) and
  :func:`~scoring.interactive.simulate.static_clicks` (a TriALS click file),
  both driven by :class:`~scoring.interactive.simulate.ClickSettings`;
- :func:`~scoring.interactive.clickfile.read_click_file` /
  :func:`~scoring.interactive.clickfile.validate_clicks` for organisers' files;
- :func:`~scoring.interactive.score.score_interactive_case` (N + 1 predictions,
  label prepared once) and, step by step,
  :func:`~scoring.interactive.steps.score_step`;
- :func:`~scoring.interactive.aggregate.dataset_metrics` and the ranking hooks
  in :mod:`scoring.interactive.aggregate`;
- the commands ``podium-score --interactive`` and ``podium-clicks``
  (:mod:`scoring.interactive.cli`).
"""
