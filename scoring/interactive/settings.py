"""The click simulator's settings, carried by an interactive phase."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

#: The most clicks of each kind a phase may ask for.
MAX_CLICKS = 100


@dataclass(frozen=True, slots=True)
class ClickSettings:
    """How clicks are simulated; a phase carries one.

    Attributes
    ----------
    count
        Clicks of each kind (TriALS: 10); predictions are made for 0…count.
    seed
        Seeds the background fallback (the only random choice).
    background_min_mm, background_max_mm
        The shell around the lesions where fallback background clicks land.

    Examples
    --------
    >>> ClickSettings.from_dict({"count": 5}).count
    5
    >>> ClickSettings(count=0)
    Traceback (most recent call last):
    ...
    ValueError: click count must be between 1 and 100, not 0
    """

    count: int = 10
    seed: int = 0
    background_min_mm: float = 5.0
    background_max_mm: float = 25.0

    def __post_init__(self) -> None:
        if isinstance(self.count, bool) or not isinstance(self.count, int):
            raise ValueError(f"click count must be a whole number, not {self.count!r}")
        if not 1 <= self.count <= MAX_CLICKS:
            raise ValueError(f"click count must be between 1 and {MAX_CLICKS}, not {self.count}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"click seed must be a whole number ≥ 0, not {self.seed!r}")
        lo, hi = self.background_min_mm, self.background_max_mm
        if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo < hi):
            raise ValueError(
                f"background shell must satisfy 0 < min < max (mm), got {lo!r} and {hi!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain values (for a phase's stored configuration)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClickSettings:
        """Settings from a mapping; unknown keys are refused (a typo must not pass silently)."""
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(
                f"unknown click setting(s) {', '.join(unknown)}; "
                f"known: {', '.join(cls.__dataclass_fields__)}"
            )
        return cls(**dict(data))
