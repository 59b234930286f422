"""Is this file a PDF? The magic bytes, the end-of-file marker, and the cross-reference.

Not a full parser: enough to refuse a renamed image, a truncated upload or an
HTML page served as ``.pdf``. A PDF starts with ``%PDF-1.x`` (or ``%PDF-2.0``);
its last ``startxref`` gives the byte offset of its cross-reference, which is
either a classic ``xref`` table followed by a ``trailer`` dictionary naming the
document's ``/Root``, or (PDF 1.5+) a cross-reference stream object whose
dictionary has ``/Type /XRef`` and ``/Root``; the file ends with ``%%EOF``.
"""

from __future__ import annotations

import re
from pathlib import Path

#: How far from the end the ``startxref`` keyword and ``%%EOF`` may sit.
TAIL_BYTES = 2048
#: How much of the cross-reference to read to check it.
XREF_BYTES = 4096

_HEADER = re.compile(rb"^%PDF-(1\.[0-7]|2\.0)")
_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*$")
_XREF_TABLE = re.compile(rb"^xref\s+\d+\s+\d+\s+(\d{10} \d{5} [nf](?: \r| \n|\r\n)\s*)+")
_TRAILER = re.compile(rb"trailer\s*<<(.*?)>>\s*(startxref|$)", re.DOTALL)
_XREF_STREAM = re.compile(rb"^\d+\s+\d+\s+obj\s*<<(.*?)>>\s*stream", re.DOTALL)


class NotAPdfError(ValueError):
    """Why the file is not a PDF, in words for the person who uploaded it."""


def check_pdf(path: Path) -> None:
    """Refuse a file that is not a well-formed PDF.

    Raises
    ------
    NotAPdfError
        No ``%PDF-`` header, no ``startxref``/``%%EOF`` at the end, an offset
        outside the file, or no cross-reference table or stream there with a
        trailer naming the document catalogue (``/Root``).
    """
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(16)
        if not _HEADER.match(head):
            raise NotAPdfError("the file does not start with a PDF header (%PDF-1.x): is it a PDF?")
        handle.seek(max(0, size - TAIL_BYTES))
        tail = handle.read()
        found = list(_STARTXREF.finditer(tail))
        if not found:
            raise NotAPdfError(
                "the file does not end like a PDF (startxref and %%EOF): it may be truncated"
            )
        offset = int(found[-1].group(1))
        if not 0 < offset < size:
            raise NotAPdfError(f"the PDF's cross-reference offset {offset} lies outside the file")
        handle.seek(offset)
        xref = handle.read(XREF_BYTES)
    if xref.startswith(b"xref"):
        if not _XREF_TABLE.match(xref):
            raise NotAPdfError("the PDF's cross-reference table is malformed")
        handle_tail = tail if b"trailer" in tail else xref
        trailer = _TRAILER.search(handle_tail)
        if trailer is None or b"/Root" not in trailer.group(1):
            raise NotAPdfError("the PDF's trailer does not name its document catalogue (/Root)")
        return
    stream = _XREF_STREAM.match(xref)
    if stream is None or not re.search(rb"/Type\s*/XRef", stream.group(1)):
        raise NotAPdfError(
            "the PDF's cross-reference (startxref offset) points at neither a table nor a stream"
        )
    if b"/Root" not in stream.group(1):
        raise NotAPdfError("the PDF's cross-reference stream does not name its catalogue (/Root)")


def minimal_pdf(text: str = "Method description") -> bytes:
    """A small valid one-page PDF (tests and the demo's write-ups).

    Examples
    --------
    >>> minimal_pdf().startswith(b"%PDF-1.4"), minimal_pdf().rstrip().endswith(b"%%EOF")
    (True, True)
    """
    safe = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    content = f"BT /F1 14 Tf 72 720 Td ({safe}) Tj ET".encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref_at,
    )
    return bytes(out)
