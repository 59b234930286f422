"""The image file formats Podium reads, and how a file name names its case.

One home for these facts, free of SimpleITK, so that the API (archives of test
inputs and labels), the worker (container outputs, stored labels and
predictions) and the scorer agree on them: a format the API accepts is one the
scorer reads.
"""

from __future__ import annotations

import os
from pathlib import Path

#: File name endings accepted for ``<case_id><ext>``, in order of preference.
EXTENSIONS: tuple[str, ...] = (".nii.gz", ".nii", ".mha")


def split_case_name(name: str, *, ignore_case: bool = False) -> tuple[str, str] | None:
    """``("case", ".nii.gz")`` for ``case.nii.gz``; ``None`` for other extensions.

    ``ignore_case`` matches ``CASE.NII.GZ`` too (organisers' archives, which desktop
    tools may upper-case) and returns the extension as :data:`EXTENSIONS` spells it;
    container outputs must match exactly, as the participants' guide says.

    Examples
    --------
    >>> split_case_name("venous_0.nii.gz"), split_case_name("a.mha"), split_case_name("a.nrrd")
    (('venous_0', '.nii.gz'), ('a', '.mha'), None)
    >>> split_case_name("C1.NII.GZ"), split_case_name("C1.NII.GZ", ignore_case=True)
    (None, ('C1', '.nii.gz'))
    """
    folded = name.lower() if ignore_case else name
    for extension in EXTENSIONS:
        if folded.endswith(extension) and len(name) > len(extension):
            return name[: -len(extension)], extension
    return None


def find_case_file(directory: str | os.PathLike[str], case_id: str) -> Path | None:
    """The file ``<case_id><ext>`` in ``directory`` for the first ext of :data:`EXTENSIONS`.

    Examples
    --------
    >>> find_case_file("/nonexistent", "case_1") is None
    True
    """
    for ext in EXTENSIONS:
        candidate = Path(directory) / f"{case_id}{ext}"
        if candidate.is_file():
            return candidate
    return None


def signature_problem(path: Path, extension: str) -> str | None:
    """Why the file's first bytes do not match its extension, or ``None``."""
    with path.open("rb") as stream:
        head = stream.read(544)
    if extension == ".nii.gz":
        if head[:2] != b"\x1f\x8b":
            return "it is not gzip-compressed (a .nii.gz file starts with the gzip signature)"
    elif extension == ".nii":
        sizes = {int.from_bytes(head[:4], "little"), int.from_bytes(head[:4], "big")}
        if len(head) < 348 or not sizes & {348, 540}:
            return "it does not start with a NIfTI-1 or NIfTI-2 header"
    elif extension == ".mha" and b"ObjectType" not in head and b"NDims" not in head:
        return "it does not start with a MetaImage header"
    return None
