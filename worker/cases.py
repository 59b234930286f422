"""What an evaluation works on, as plain values: a case's input files and a label set.

Read from the database by :mod:`worker.plan`, used by the database-free stages of
:mod:`worker.pipeline` and written back by :mod:`worker.scores`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseInput:
    """A case to run: database id, key (the file stem) and its input files' keys."""

    case_pk: int
    case_key: str
    input_keys: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class LabelSource:
    """A label-set version of one paradigm: the folder holding ``<case><ext>`` files."""

    paradigm: str
    label_set_id: int
    version: int
    sha256: str
    storage_path: str

    def describe(self) -> dict[str, object]:
        """What an evaluation records about it."""
        return {"label_set_id": self.label_set_id, "version": self.version, "sha256": self.sha256}


@dataclass(frozen=True, slots=True, kw_only=True)
class ClickFileSource:
    """A static interactive phase's uploaded click files: the folder of ``<case>_clicks.json``."""

    click_set_id: int
    version: int
    storage_path: str
