"""A board as CSV: one row per team, every metric value and rank."""

from __future__ import annotations

import csv
import io

from backend.leaderboard.schemas import Board


def board_csv(board: Board) -> str:
    """The board's rows as CSV text (values unrounded; empty where not finite).

    Columns: position, team, affiliated, submission, score, then ``<column>``
    and ``<column> rank`` per metric, centre scores on overall boards, and the
    bootstrap median position and 95% interval.
    """
    centres = sorted({c for r in board.rows for c in r.centre_scores})
    header = ["position", "team", "organiser_affiliated", "submission_id", "score"]
    for col in board.columns:
        header += [col.key, f"{col.key} rank"]
    header += [f"centre {c} score" for c in centres]
    header += ["bootstrap median position", "bootstrap 95% low", "bootstrap 95% high"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in board.rows:
        line: list[object] = [row.position, row.team, row.affiliated, row.submission_id, row.score]
        for col in board.columns:
            cell = row.cells[col.key]
            line += ["" if cell.value is None else repr(cell.value), cell.rank]
        line += [row.centre_scores.get(c, "") for c in centres]
        st = row.stability
        line += ["", "", ""] if st is None else [st.median, st.interval[0], st.interval[1]]
        writer.writerow(line)
    return out.getvalue()
