"""Imports every model so that ``Base.metadata`` is complete (Alembic, fixtures)."""

from backend.audit.models import AuditEvent
from backend.auth.models import AccountToken, ApiToken, RateLimitHit, User
from backend.challenges.models import Case, Centre, Challenge, LabelSet, Phase, Task
from backend.db import Base
from backend.interactive.models import ClickSet, InteractiveCaseScore
from backend.leaderboard.models import LeaderboardGeneration
from backend.notifications.models import ChallengeWebhook
from backend.references.models import ReferenceEntry
from backend.registry.models import RegistryEvent
from backend.submissions.models import CaseScore, Evaluation, QuotaLedgerEntry, Submission
from backend.teams.models import Membership, Team
from backend.writeups.models import Writeup

__all__ = [
    "AccountToken",
    "ApiToken",
    "AuditEvent",
    "Base",
    "Case",
    "CaseScore",
    "Centre",
    "Challenge",
    "ChallengeWebhook",
    "ClickSet",
    "Evaluation",
    "InteractiveCaseScore",
    "LabelSet",
    "LeaderboardGeneration",
    "Membership",
    "Phase",
    "QuotaLedgerEntry",
    "RateLimitHit",
    "ReferenceEntry",
    "RegistryEvent",
    "Submission",
    "Task",
    "Team",
    "User",
    "Writeup",
]
