"""A board as CSV: one row per entry, every metric value, rank and 95% interval."""

from __future__ import annotations

import csv
import io

from backend.leaderboard.schemas import Board


def _versions(versions: dict[str, int]) -> str:
    return "; ".join(f"{p} v{n}" for p, n in sorted(versions.items()))


def board_csv(board: Board) -> str:
    """The board's rows as CSV text (values unrounded; empty where not finite or not ranked).

    Columns: position (empty for an entry shown unranked), team, kind (``team``
    or the reference kind), ranked, affiliated, submission, submitted at,
    entries, method and its link, label versions, score, then per metric
    ``<column>``, ``<column> rank``, ``<column> 95% low`` and ``<column> 95%
    high`` (the bootstrap interval), centre scores on overall boards, and the
    bootstrap median position and 95% interval.
    """
    centres = sorted({c for r in board.rows for c in r.centre_scores})
    header = [
        "position",
        "team",
        "kind",
        "ranked",
        "organiser_affiliated",
        "submission_id",
        "submitted_at",
        "entries",
        "method",
        "method_link",
        "label_versions",
        "score",
    ]
    for col in board.columns:
        header += [col.key, f"{col.key} rank", f"{col.key} 95% low", f"{col.key} 95% high"]
    header += [f"centre {c} score" for c in centres]
    header += ["bootstrap median position", "bootstrap 95% low", "bootstrap 95% high"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in board.rows:
        line: list[object] = [
            "" if row.position is None else row.position,
            row.team,
            row.kind,
            row.ranked,
            row.affiliated,
            row.submission_id,
            row.submitted_at.isoformat(),
            "" if row.entries is None else row.entries,
            "" if row.method is None else row.method.name,
            "" if row.method is None or row.method.link is None else row.method.link,
            _versions(row.label_versions),
            "" if row.score is None else row.score,
        ]
        for col in board.columns:
            cell = row.cells[col.key]
            low, high = ("", "") if cell.interval is None else (repr(x) for x in cell.interval)
            line += [
                "" if cell.value is None else repr(cell.value),
                "" if cell.rank is None else cell.rank,
                low,
                high,
            ]
        line += [row.centre_scores.get(c, "") for c in centres]
        st = row.stability
        line += ["", "", ""] if st is None else [st.median, st.interval[0], st.interval[1]]
        writer.writerow(line)
    return out.getvalue()
