"""Who is on a board: each team's counted submission and the phase's reference entries.

An :class:`Entry` is one row to be: a team (its counted submission, with its
method name, write-up and entry count) or a reference entry (baseline,
off-the-shelf model, human reader), with the evaluation it is shown by and the
label-set versions that evaluation was scored against.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from backend.enums import SubmissionStatus
from backend.leaderboard import repository
from backend.leaderboard.context import PhaseContext
from backend.leaderboard.rules import RankingRules
from backend.leaderboard.schemas import MethodRef, View
from backend.leaderboard.selection import counted_submissions
from backend.leaderboard.versions import Versions, versions_of
from backend.leaderboard.visibility import is_public
from backend.references import repository as references
from backend.submissions.lifecycle import FINISHED, KEEPS_BOARD_RESULT
from backend.teams.models import Team
from backend.writeups import repository as writeups

API = "/api/v1"


@dataclass(frozen=True, slots=True)
class Entry:
    """One prospective row of a board.

    ``key`` names it for :mod:`scoring.ranking` (``t<team id>`` or
    ``r<reference id>``: a reference may share a team's name).
    """

    key: str
    name: str
    kind: str
    team_id: int | None
    reference_id: int | None
    affiliated: bool
    ranked: bool
    submission_id: int
    submitted_at: datetime
    evaluation_id: int
    mode: str
    versions: Versions
    rerunning: bool
    entries: int | None
    method: MethodRef | None
    description: str = ""


def writeup_url(phase_id: int, team_id: int) -> str:
    """Where a team's write-up PDF is served."""
    return f"{API}/phases/{phase_id}/writeups/{team_id}.pdf"


def gather(
    session: Session,
    ctx: PhaseContext,
    teams: Sequence[Team],
    *,
    view: View,
    rules: RankingRules,
    paradigms: Sequence[str],
) -> tuple[list[Entry], list[str]]:
    """The entries of a board for a view, and notes on reference entries not shown yet.

    Teams: the public view leaves organiser-affiliated teams out unless the
    phase's rules rank every team; the organisers' view has them all. Write-up
    links appear once the board is published (always on the organisers' view).
    """
    phase = ctx.phase
    shown = {
        t.id: t
        for t in teams
        if view == "organisers" or rules.teams == "all" or not t.organiser_affiliated
    }
    counted = counted_submissions(
        repository.succeeded_submissions(session, phase_id=phase.id),
        selection=phase.ranking_selection,
    )
    counts = repository.entry_counts(session, phase_id=phase.id)
    notes_by_team = writeups.phase_writeups(session, phase_id=phase.id)
    # The board links a write-up exactly when its reader may open it (writeups.service.pdf_file):
    # organisers always, everyone once the board itself is public.
    links_public = view == "organisers" or is_public(phase)
    out: list[Entry] = []
    for team_id, cand in counted.items():
        team = shown.get(team_id)
        if team is None:
            continue
        w = notes_by_team.get(team_id)
        method = None
        if w is not None and (w.method_name or w.method_link or w.pdf_path):
            method = MethodRef(
                name=w.method_name,
                link=w.method_link or None,
                writeup_url=writeup_url(phase.id, team_id) if w.pdf_path and links_public else None,
            )
        out.append(
            Entry(
                key=f"t{team_id}",
                name=team.name,
                kind="team",
                team_id=team_id,
                reference_id=None,
                affiliated=team.organiser_affiliated,
                ranked=True,
                submission_id=cand.submission_id,
                submitted_at=cand.created_at,
                evaluation_id=cand.evaluation_id,
                mode=cand.mode,
                versions=versions_of(cand.label_sets, paradigms),
                rerunning=cand.rerunning,
                entries=counts.get(team_id, 0),
                method=method,
            )
        )
    notes: list[str] = []
    for ref in references.phase_references(session, phase_id=phase.id):
        keeps = ref.status in KEEPS_BOARD_RESULT
        if ref.evaluation_id is None or ref.mode is None or not keeps:
            state = "was not scored" if ref.status in FINISHED else "is being scored"
            notes.append(f"reference entry {ref.name} {state}; it appears once scored")
            continue
        out.append(
            Entry(
                key=f"r{ref.id}",
                name=ref.name,
                kind=ref.kind,
                team_id=None,
                reference_id=ref.id,
                affiliated=False,
                ranked=rules.ranks_reference(ref.kind),
                submission_id=ref.submission_id,
                submitted_at=ref.created_at,
                evaluation_id=ref.evaluation_id,
                mode=ref.mode,
                versions=versions_of(ref.label_sets, paradigms),
                rerunning=ref.status != SubmissionStatus.SUCCEEDED,
                entries=None,
                method=MethodRef(name=ref.name, link=ref.link or None, writeup_url=None),
                description=ref.description,
            )
        )
    return out, notes
