"""Imports every model so that ``Base.metadata`` is complete (Alembic, fixtures)."""

from backend.audit.models import AuditEvent
from backend.auth.models import AccountToken, ApiToken, RateLimitHit, User
from backend.challenges.models import Case, Centre, Challenge, LabelSet, Phase, Task
from backend.db import Base
from backend.leaderboard.models import LeaderboardGeneration
from backend.notifications.models import ChallengeWebhook
from backend.registry.models import RegistryEvent
from backend.submissions.models import CaseScore, Evaluation, QuotaLedgerEntry, Submission
from backend.teams.models import Membership, Team

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
    "Evaluation",
    "LabelSet",
    "LeaderboardGeneration",
    "Membership",
    "Phase",
    "QuotaLedgerEntry",
    "RateLimitHit",
    "RegistryEvent",
    "Submission",
    "Task",
    "Team",
    "User",
]
