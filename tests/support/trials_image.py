"""A submission shaped like the TriALS container template, built without any registry.

The template (github.com/xmed-lab/TriALS, ``docker/template``) is ``FROM
pytorch/pytorch`` with no ``USER`` (root), ``WORKDIR /user``, ``ENTRYPOINT
["/bin/bash", "/user/run.sh"]``, and ``run.sh`` calling ``python main.py $1 $2 $3``
with the case CSV, the input folder and the output folder; ``main.py`` reads the
case ids from the CSV and ``<id>_0000.nii.gz``, and writes ``<id>.nii.gz``.

Here the base is a debootstrapped Debian bookworm with bash, python3 and numpy
(``scripts/base-images``, cached by content hash; nibabel would pull SciPy and
Boost and triple the image, so ``main.py`` carries a few lines of NIfTI-1 I/O);
``main.py`` thresholds each input into a mask (the test inputs *are* masks, so
it predicts them exactly), keeping the input's header and so its geometry, and,
as nnU-Net's and PyTorch's data loaders do, passes 1 GiB through ``/dev/shm``
with :mod:`multiprocessing.shared_memory`, touching every page.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from typing import Any

from tests.support.base_images import base_image

PACKAGES = ("python3", "python3-numpy")
REPOSITORY = "podium-test/trials"

RUN_SH = """#!/bin/bash
# Arguments: the case list (CSV), the folder of input images, the folder for the masks.
python3 main.py $1 $2 $3
"""

MAIN_PY = """import csv
import gzip
import os
import struct
import sys
from multiprocessing import shared_memory

import numpy as np

# NIfTI-1 datatype codes -> numpy types (a model would use nibabel or SimpleITK).
DTYPES = {2: np.uint8, 4: np.int16, 8: np.int32, 16: np.float32, 64: np.float64,
          256: np.int8, 512: np.uint16, 768: np.uint32}


def read_nifti(path):
    with gzip.open(path, "rb") as handle:
        raw = handle.read()
    ndim, *dims = struct.unpack_from("<8h", raw, 40)
    datatype = struct.unpack_from("<h", raw, 70)[0]
    offset = int(struct.unpack_from("<f", raw, 108)[0])
    shape = tuple(dims[:ndim])
    data = np.frombuffer(raw, dtype=DTYPES[datatype], count=int(np.prod(shape)), offset=offset)
    return raw[:offset], data.reshape(shape, order="F")


def write_mask(path, header, mask):
    header = bytearray(header)
    struct.pack_into("<hh", header, 70, 2, 8)  # uint8, 8 bits per voxel
    struct.pack_into("<ff", header, 112, 0.0, 0.0)  # no intensity scaling
    with gzip.open(path, "wb") as handle:
        handle.write(bytes(header) + mask.astype(np.uint8).tobytes(order="F"))


if len(sys.argv) != 4:
    sys.exit(f"usage: main.py CASES_CSV INPUT_DIR OUTPUT_DIR (got {sys.argv[1:]})")
cases_csv, input_dir, output_dir = sys.argv[1:]
print(f"cases from {cases_csv}, images in {input_dir}, masks to {output_dir}")

# What a DataLoader's workers do with their batches: 1 GiB through /dev/shm.
shm = os.statvfs("/dev/shm")
print(f"/dev/shm holds {shm.f_blocks * shm.f_frsize // 2**20} MiB")
block = shared_memory.SharedMemory(create=True, size=2**30)
try:
    pages = np.ndarray((2**30,), dtype=np.uint8, buffer=block.buf)
    pages[::4096] = 1
    print(f"touched {int(pages[::4096].sum()) * 4096 // 2**20} MiB of shared memory")
    del pages
finally:
    block.close()
    block.unlink()

with open(cases_csv) as handle:
    case_ids = [row[0] for row in csv.reader(handle) if row]
for case_id in case_ids:
    header, image = read_nifti(os.path.join(input_dir, f"{case_id}_0000.nii.gz"))
    write_mask(os.path.join(output_dir, f"{case_id}.nii.gz"), header, image > 0)
    print(f"segmented {case_id}")
"""


def trials_image(client: Any) -> str:
    """The TriALS-shaped image's reference in ``client``'s engine (built once)."""
    base = base_image("bookworm", PACKAGES)
    dockerfile = (
        f"FROM {base}\n"
        "WORKDIR /user\n"
        "COPY run.sh main.py /user/\n"
        'ENTRYPOINT [ "/bin/bash", "/user/run.sh" ]\n'
    )
    files = {"Dockerfile": dockerfile, "run.sh": RUN_SH, "main.py": MAIN_PY}
    digest = hashlib.sha256(repr(sorted(files.items())).encode()).hexdigest()
    reference = f"{REPOSITORY}:{digest[:16]}"
    try:
        client.images.get(reference)
        return reference
    except Exception as exc:
        if type(exc).__name__ != "ImageNotFound":
            raise
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755 if name.endswith(".sh") else 0o644
            tar.addfile(info, io.BytesIO(data))
    context.seek(0)
    client.images.build(
        fileobj=context, custom_context=True, tag=reference, pull=False, rm=True, forcerm=True
    )
    return reference
