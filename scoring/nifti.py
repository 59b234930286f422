"""A NIfTI-1 file's voxels decompressed straight into a reused buffer.

``SimpleITK.ReadImage`` of a ``.nii.gz`` holds the volume twice while it reads
(measured on venous_0: 326 MB at the peak for a 163 MB volume) and maps fresh
pages for both, every read: about half of a read's time is the kernel zeroing
pages, not decompression. Scoring only needs the voxels once, in (z, y, x)
order, which is how NIfTI stores them; so for the files every challenge sees
(one ``.nii``/``.nii.gz`` file, little-endian, 3-D, unscaled integers) the voxels
are streamed from the gzip into a buffer kept for the next
volume of that size. SimpleITK still reads the header (:func:`scoring.io`
checks it and takes the geometry from it), and reads every file this module
does not handle: :func:`read_voxels` answers ``None`` for those, so what a file
means never depends on which path read it. The result is checked against
SimpleITK's own array in ``tests/scoring/test_nifti.py``.

The buffers: at most :data:`KEPT_BUFFERS` are kept (one per scoring thread),
each as large as the largest volume it held; a process that reads no more keeps
them until it exits or calls :func:`release_buffers`.
"""

from __future__ import annotations

import math
import mmap
import struct
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import numpy as np
import numpy.typing as npt

from scoring.errors import CaseInputError


def _zlib() -> ModuleType:
    """zlib-ng's inflate where installed (about 3× the system zlib's speed here)."""
    try:
        from zlib_ng import zlib_ng  # noqa: PLC0415 - optional, faster inflate
    except ImportError:  # pragma: no cover - the scoring extra installs it
        return zlib
    return zlib_ng


#: How many volume buffers a process keeps between reads.
KEPT_BUFFERS = 2

#: NIfTI-1 ``datatype`` codes read here, and their little-endian dtypes: integers only.
#: SimpleITK's NIfTI reader rewrites float voxels (NaN becomes 0,
#: ``tests/reliability/test_bad_input_scoring.py``), so float files stay with it.
DTYPES: dict[int, str] = {
    2: "u1",
    4: "<i2",
    8: "<i4",
    256: "i1",
    512: "<u2",
    768: "<u4",
    1024: "<i8",
    1280: "<u8",
}

_HEADER = 352  # the NIfTI-1 header and its 4-byte extension flag
_CHUNK = 1 << 20  # compressed bytes per read
_OUT = 8 << 20  # decompressed bytes per step (bounds the temporaries)


class _Buffers:
    """Byte buffers handed out one per read and kept for the next one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._free: list[npt.NDArray[np.uint8]] = []

    def take(self, nbytes: int) -> npt.NDArray[np.uint8]:
        with self._lock:
            fits = [i for i, b in enumerate(self._free) if b.size >= nbytes]
            if fits:  # the smallest that fits (list.remove would compare arrays by value)
                return self._free.pop(min(fits, key=lambda i: self._free[i].size))
            if len(self._free) >= KEPT_BUFFERS:
                self._drop_smallest()  # a larger one replaces it when given back
        # Anonymous pages of our own, not np.empty: numpy asks for transparent huge pages
        # on large arrays, and where the kernel compacts memory to find them ("defrag:
        # madvise") a first read took 0.2-0.53 s instead of a steady 0.28 s (venous_0).
        # Private: Python's default is a shared mapping, which forked scoring processes
        # (`podium-score --jobs`) would all write into.
        pages = mmap.mmap(-1, max(nbytes, 1), flags=mmap.MAP_PRIVATE)
        return np.frombuffer(pages, dtype=np.uint8)

    def give_back(self, buffer: npt.NDArray[np.uint8]) -> None:
        with self._lock:
            self._free.append(buffer)
            while len(self._free) > KEPT_BUFFERS:
                self._drop_smallest()

    def _drop_smallest(self) -> None:
        self._free.pop(min(range(len(self._free)), key=lambda i: self._free[i].size))

    def clear(self) -> None:
        with self._lock:
            self._free.clear()


_BUFFERS = _Buffers()


def release_buffers() -> None:
    """Free the kept volume buffers (a long-lived process that has finished scoring)."""
    _BUFFERS.clear()


def _header(path: Path) -> bytes:
    if path.name.endswith(".gz"):
        inflate = zlib.decompressobj(31)
        with path.open("rb") as handle:
            head = b""
            while len(head) < _HEADER and (chunk := handle.read(1 << 12)):
                head += inflate.decompress(chunk, _HEADER - len(head))
                while len(head) < _HEADER and inflate.unconsumed_tail:
                    head += inflate.decompress(inflate.unconsumed_tail, _HEADER - len(head))
                if inflate.eof:
                    break
            return head
    with path.open("rb") as handle:
        return handle.read(_HEADER)


def _nifti1(head: bytes) -> bool:
    """A whole little-endian NIfTI-1 single-file header (not big-endian, a pair or NIfTI-2)."""
    return (
        len(head) >= _HEADER
        and struct.unpack_from("<i", head, 0)[0] == 348
        and head[344:348] == b"n+1\x00"
    )


def stored_voxel_bytes(path: Path) -> int | None:
    """Bytes of voxel data a NIfTI-1 file's header declares, as stored (before any scaling).

    None for a file this module cannot parse (SimpleITK's pixel size is then the measure).
    """
    if not path.name.endswith((".nii", ".nii.gz")):
        return None
    head = _header(path)
    if not _nifti1(head):
        return None
    dim = struct.unpack_from("<8h", head, 40)
    bitpix = struct.unpack_from("<h", head, 72)[0]
    if not 1 <= dim[0] <= 7 or bitpix <= 0 or bitpix % 8:
        return None
    voxels = 1
    for n in dim[1 : dim[0] + 1]:
        voxels *= max(int(n), 1)
    return int(voxels * (bitpix // 8))


def _layout(head: bytes, *, size_xyz: tuple[int, int, int], dtype: np.dtype) -> int | None:
    """The voxels' byte offset, or None when this module does not read such a file."""
    if not _nifti1(head):
        return None
    dim = struct.unpack_from("<8h", head, 40)
    datatype = struct.unpack_from("<h", head, 70)[0]
    offset, slope, inter = struct.unpack_from("<3f", head, 108)
    # As nifti1_io (SimpleITK's NIfTI library) reads them: a non-finite slope or
    # intercept is 0, and a slope of 0 means no scaling.
    slope = slope if math.isfinite(slope) else 0.0
    inter = inter if math.isfinite(inter) else 0.0
    code = DTYPES.get(datatype)
    if dim[0] != 3 or tuple(dim[1:4]) != size_xyz or code is None or np.dtype(code) != dtype:
        return None  # not what SimpleITK reports: let it read the file
    if not (slope in (0.0, 1.0) and inter == 0.0) or offset < _HEADER or offset != int(offset):
        return None  # scaled voxels, or an odd offset
    return int(offset)


@contextmanager
def read_voxels(
    path: Path, *, size_xyz: tuple[int, int, int], dtype: np.dtype
) -> Iterator[npt.NDArray[np.generic] | None]:
    """The file's voxels as a (z, y, x) array in a reused buffer, or None.

    Parameters
    ----------
    path
        A ``.nii`` or ``.nii.gz`` file whose header SimpleITK has read.
    size_xyz, dtype
        SimpleITK's size and pixel type for the file: the array must match them,
        or the file is left to SimpleITK.

    Yields
    ------
    numpy.ndarray or None
        Valid only inside the ``with`` block (the buffer is then reused): keep
        copies, never views. None: read the file with SimpleITK.

    Raises
    ------
    CaseInputError
        If the voxels end before the header's size (a truncated or corrupt file).
    """
    name = path.name
    if not name.endswith((".nii", ".nii.gz")):
        yield None
        return
    offset = _layout(_header(path), size_xyz=size_xyz, dtype=dtype)
    if offset is None:
        yield None
        return
    nx, ny, nz = size_xyz
    nbytes = nx * ny * nz * dtype.itemsize
    buffer = _BUFFERS.take(nbytes)
    try:
        target = buffer.data[:nbytes]
        filled = (
            _inflate_into(path, target, skip=offset)
            if name.endswith(".gz")
            else _read_into(path, target, skip=offset)
        )
        if filled < nbytes:
            raise CaseInputError(
                f"{name}: the file is truncated: it holds {filled} bytes of voxels, but its "
                f"header declares {nbytes}; write it again"
            )
        yield buffer[:nbytes].view(dtype).reshape(nz, ny, nx)
    finally:
        _BUFFERS.give_back(buffer)


def _read_into(path: Path, target: memoryview, *, skip: int) -> int:
    with path.open("rb") as handle:
        handle.seek(skip)
        filled = 0
        while filled < len(target) and (n := handle.readinto(target[filled:])):
            filled += n
        return filled


def _inflate_into(path: Path, target: memoryview, *, skip: int) -> int:
    """Decompress a gzip file (of one or more members) into ``target`` after ``skip`` bytes."""
    module = _zlib()
    inflate = module.decompressobj(31)
    wanted, filled, pending = len(target), 0, b""
    try:
        with path.open("rb") as handle:
            while filled < wanted:
                if not pending and not (pending := handle.read(_CHUNK)):
                    break
                out = inflate.decompress(pending, _OUT)
                if inflate.eof:  # the rest, if any, is the next gzip member
                    pending = inflate.unused_data
                    inflate = module.decompressobj(31)
                else:
                    pending = inflate.unconsumed_tail
                if skip:
                    dropped = min(skip, len(out))
                    out, skip = out[dropped:], skip - dropped
                take = min(len(out), wanted - filled)
                target[filled : filled + take] = out[:take]
                filled += take
    except (zlib.error, module.error, EOFError) as exc:
        raise CaseInputError(
            f"{path.name}: the file is truncated or corrupt ({exc}); write it again"
        ) from exc
    return filled
