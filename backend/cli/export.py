"""A phase's results as files: the leaderboard CSV and every per-case score (CSV, JSON).

Everything comes from the services behind the API (the board of
:func:`backend.leaderboard.service.get_board`, the scores of
:func:`backend.submissions.actions.case_scores`), so the files say what the API says.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from backend.auth.models import User
from backend.errors import DomainError
from backend.leaderboard import repository as boards
from backend.leaderboard import service
from backend.leaderboard.csv_export import board_csv
from backend.leaderboard.schemas import Board
from backend.submissions import actions
from backend.submissions.schemas import CaseScoresOut
from scoring.results import LESION_METRICS, CaseResult


class ExportView(StrEnum):
    """Which teams an export covers (the leaderboard's ``view``)."""

    ORGANISERS = "organisers"
    PUBLIC = "public"


#: Who and what a row is about; the CaseResult fields follow.
ROW_KEYS: tuple[str, ...] = (
    "submission_id",
    "team",
    "organiser_affiliated",
    "counted",
    "evaluation_id",
    "scorer_version",
    "case",
    "centre",
    "paradigm",
)
#: CaseResult fields that are not one value per row: the key is ``case``; the
#: per-lesion sums get a column each; the per-lesion entries are in the JSON only.
_NOT_IN_CSV = ("case_id", "lesion_sums", "lesions")


def result_columns() -> list[str]:
    """The CSV's CaseResult columns, in the dataclass's order, then one per lesion sum."""
    names = [f.name for f in dataclasses.fields(CaseResult) if f.name not in _NOT_IN_CSV]
    return names + [f"lesion_sum_{m}" for m in LESION_METRICS]


def _finite(value: Any) -> Any:
    # JSON has no NaN or infinity; a missing value is honest, an invalid file is not.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def case_rows(scores: CaseScoresOut, *, counted: bool) -> list[dict[str, Any]]:
    """One dict per case and paradigm: :data:`ROW_KEYS` then every CaseResult field."""
    rows = []
    for score in scores.scores:
        result = CaseResult.from_dict(score.result).to_dict()
        result.pop("case_id")
        rows.append(
            {
                "submission_id": scores.submission_id,
                "team": "(reference entry)" if scores.team is None else scores.team.name,
                "organiser_affiliated": scores.team is not None and scores.team.affiliated,
                "counted": counted,
                "evaluation_id": scores.evaluation_id,
                "scorer_version": scores.scorer_version,
                "case": score.case,
                "centre": score.centre,
                "paradigm": score.paradigm,
                **result,
            }
        )
    return rows


def rows_csv(rows: list[dict[str, Any]]) -> str:
    """The rows as CSV: lesion sums spread over columns, errors and warnings joined by ``; ``."""
    columns = list(ROW_KEYS) + result_columns()
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        flat = dict(row)
        for metric in LESION_METRICS:
            flat[f"lesion_sum_{metric}"] = row["lesion_sums"].get(metric, "")
        flat["errors"] = "; ".join(row["errors"])
        flat["warnings"] = "; ".join(row["warnings"])
        writer.writerow(flat)
    return out.getvalue()


def export_rows(
    session: Session, *, phase_id: int, viewer: User, view: ExportView
) -> tuple[Board, list[dict[str, Any]], int]:
    """The board, one row per succeeded submission × case × paradigm, and the submission count.

    Raises
    ------
    DomainError
        404 for an unknown phase, 403 when the board is hidden from ``viewer``.
    """
    board = service.get_board(session, phase_id=phase_id, user=viewer, view=view.value)
    if board.hidden:
        raise DomainError(board.hidden_note or "this leaderboard is hidden", 403)
    counted = {row.submission_id for row in board.rows}
    rows: list[dict[str, Any]] = []
    submissions = 0
    for candidate in boards.succeeded_submissions(session, phase_id=phase_id):
        scores = actions.case_scores(session, submission_id=candidate.submission_id)
        if view == ExportView.PUBLIC and scores.team is not None and scores.team.affiliated:
            continue
        submissions += 1
        rows += case_rows(scores, counted=candidate.submission_id in counted)
    return board, rows, submissions


def write_export(
    session: Session, *, phase_id: int, viewer: User, view: ExportView, out: Path
) -> list[str]:
    """Write ``leaderboard.csv``, ``case-scores.csv`` and ``case-scores.json`` into ``out``.

    Parameters
    ----------
    session
        A session in the caller's transaction (nothing is written to the database).
    phase_id
        The phase.
    viewer
        The organiser exporting (the board service checks the role).
    view
        ``organisers``: every team; ``public``: organiser-affiliated teams left
        out, the board ranked among the rest (as the public board).
    out
        The folder; created if missing; the three files are replaced.

    Returns
    -------
    list of str
        One line per file written, for the terminal.

    Raises
    ------
    DomainError
        404 for an unknown phase, 403 when the board is hidden from ``viewer``.
    """
    board, rows, submissions = export_rows(session, phase_id=phase_id, viewer=viewer, view=view)
    out.mkdir(parents=True, exist_ok=True)
    leaderboard = out / "leaderboard.csv"
    leaderboard.write_text(board_csv(board), encoding="utf-8")
    scores_csv = out / "case-scores.csv"
    scores_csv.write_text(rows_csv(rows), encoding="utf-8")
    scores_json = out / "case-scores.json"
    document = {
        "phase": board.phase.model_dump(mode="json"),
        "view": view.value,
        "generated_at": board.generated_at.isoformat(),
        "rows": _finite(rows),
    }
    scores_json.write_text(json.dumps(document, indent=1, allow_nan=False) + "\n", "utf-8")
    return [
        f"{leaderboard}: {len(board.rows)} team(s), {view.value} view",
        f"{scores_csv}: {len(rows)} row(s) from {submissions} succeeded submission(s)",
        f"{scores_json}: the same rows with each lesion's entries",
    ]
