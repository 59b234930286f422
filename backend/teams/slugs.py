"""A team's slug: its name as one component of a registry repository path.

Made once when the team is created and never changed by a rename, so the
images a team pushed (``<challenge>/<team slug>/<name>``) stay where they are.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

#: Longest slug; leaves room for the challenge and image names in a 255-character repository.
MAX_SLUG = 40


def team_slug(name: str) -> str:
    """Lower-case ASCII letters and digits joined by single hyphens (``team`` if none).

    Examples
    --------
    >>> team_slug("Hépatica Lab #2")
    'hepatica-lab-2'
    >>> team_slug("  --  "), team_slug("東京")
    ('team', 'team')
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:MAX_SLUG].strip("-") or "team"


def numbered(slug: str, number: int) -> str:
    """The ``number``-th alternative of a taken slug.

    Examples
    --------
    >>> numbered("hepatica", 2)
    'hepatica-2'
    """
    suffix = f"-{number}"
    return slug[: MAX_SLUG - len(suffix)].strip("-") + suffix


def default_slug(context: Any) -> str:
    """Column default: the slug of the inserted name (the service picks a free one first)."""
    return team_slug(str(context.get_current_parameters().get("name") or ""))
