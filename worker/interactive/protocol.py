"""The file names of the interactive protocols: the one place that spells them.

Static mode (TriALS 2025 Task 2) puts ``<case>_clicks.json`` beside the case's
input in ``/input``; the container writes ``/output/<case>/<case>_<k>.nii.gz``
for k = 0…N. The closed loop (docs/participants.md, "Interactive phases")::

    /clicks/<case>/<case>_<k>_clicks.json   request k: the first k clicks of each kind
                                            (k = 0: empty lists); appears whole, read-only
    /output/<case>/<case>_<k>.nii.gz        the container's prediction for request k
    /output/<case>/<case>_<k>.done          written (empty) once the prediction is closed
    /clicks/<case>/<case>_end.json          the case is over: go to the next one

The reference client ``examples/interactive_client.py`` spells the same names
without importing Podium; ``tests/worker/test_interactive_loop.py`` checks
that both agree.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path, PurePosixPath
from typing import Any

from scoring.interactive.clickfile import Clicks, click_file_name

#: Where the closed loop's requests appear in the container (read-only).
INBOX_MOUNT = PurePosixPath("/clicks")

#: Where predictions go in the container.
OUTPUT_MOUNT = PurePosixPath("/output")

#: The static mode's click file of a case, beside its input in ``/input``.
static_click_file = click_file_name


def request_name(case: str, k: int) -> str:
    """The closed loop's request for prediction ``k`` of ``case``.

    Examples
    --------
    >>> request_name("venous_0", 3)
    'venous_0_3_clicks.json'
    """
    return f"{case}_{k}_clicks.json"


def end_name(case: str) -> str:
    """The marker that ends a case (``{"reason": ..., "predictions": k}``).

    Examples
    --------
    >>> end_name("venous_0")
    'venous_0_end.json'
    """
    return f"{case}_end.json"


def prediction_stem(case: str, k: int) -> str:
    """``<case>_<k>``: prediction ``k``'s file name without its extension (both modes)."""
    return f"{case}_{k}"


def done_name(case: str, k: int) -> str:
    """The signal that prediction ``k`` is written.

    Examples
    --------
    >>> done_name("venous_0", 10)
    'venous_0_10.done'
    """
    return f"{case}_{k}.done"


def output_path(case: str, name: str) -> str:
    """``/output/<case>/<name>`` in the container."""
    return str(OUTPUT_MOUNT / case / name)


class Inbox:
    """The host folder mounted read-only at :data:`INBOX_MOUNT`, written by the worker.

    Every file appears whole: it is written in a private folder beside the
    inbox and renamed into place (a rename is atomic within a file system), so
    the container never reads half a request.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._scratch = folder.with_name(folder.name + ".partial")
        for path in (folder, self._scratch):
            path.mkdir(parents=True, exist_ok=True)
            path.chmod(0o755)  # the container's user, whoever it is, reads the inbox

    def _put(self, case: str, name: str, text: str) -> Path:
        target_dir = self.folder / case
        if not target_dir.is_dir():
            target_dir.mkdir()
            target_dir.chmod(0o755)
        partial = self._scratch / f"{uuid.uuid4().hex}.tmp"
        partial.write_text(text, encoding="utf-8")
        partial.chmod(0o644)
        target = target_dir / name
        os.replace(partial, target)
        return target

    def request(self, case: str, k: int, clicks: Clicks) -> Path:
        """Issue request ``k`` of ``case``: the file appears with ``clicks`` in TriALS format."""
        return self._put(case, request_name(case, k), clicks.dumps())

    def end(self, case: str, **details: Any) -> Path:
        """End ``case``; ``details`` (the reason, how many predictions counted) are the file."""
        return self._put(case, end_name(case), json.dumps(details) + "\n")
