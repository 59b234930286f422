"""The error a case's input files raise when they cannot be scored."""

from __future__ import annotations


class CaseInputError(Exception):
    """A file that cannot be scored (missing, unreadable, wrong shape, bad values).

    The message is written for the team or organiser who has to fix it.
    """
