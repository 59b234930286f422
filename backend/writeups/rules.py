"""A phase's write-up rule: the ``writeup:`` block of its YAML, stored on the phase.

```yaml
writeup:
  required: true   # a team must upload its write-up (PDF) before submitting to this phase
  max_mb: 20       # size cap of the PDF
```
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class WriteupRules(BaseModel):
    """Whether a phase requires a write-up, and how large it may be."""

    model_config = ConfigDict(extra="forbid")

    required: bool = False
    max_mb: int = Field(default=20, gt=0, le=500)

    @property
    def max_bytes(self) -> int:
        """The size cap in bytes."""
        return self.max_mb * 1024 * 1024


def writeup_rules_of(stored: dict[str, Any] | None) -> WriteupRules:
    """The rule stored on a phase (its ``writeup`` column); defaults where absent.

    Examples
    --------
    >>> writeup_rules_of({"required": True}).max_bytes
    20971520
    """
    return WriteupRules.model_validate(stored or {})
