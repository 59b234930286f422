#!/usr/bin/env python3
"""Podium's closed-loop interactive protocol, the container's side: copy this file into your image.

Podium hands you one request at a time; each holds the clicks so far and the
next click depends on the errors of your previous prediction, so clicks reach
you only once you have answered the request before (docs/participants.md,
"Interactive phases")::

    /input/cases.csv                          the case ids, one per line, in run order
    /input/<case>_0000.nii.gz                 the image (the phase's input_name)
    /clicks/<case>/<case>_<k>_clicks.json     request k: {"lesion": [[x, y, z], ...],
                                              "background": [...]}, k of each kind (0 at first);
                                              voxel indices, 0-based, the file's own axis order
    /output/<case>/<case>_<k>.nii.gz          your prediction for request k (lesion = 1)
    /output/<case>/<case>_<k>.done            an empty file, written once the prediction is closed
    /clicks/<case>/<case>_end.json            the case is over: go on with the next one

Use it from your own code::

    from interactive_client import serve

    def predict(case_id, image_path, clicks, output_path):
        ...  # segment image_path with clicks; write output_path with the image's geometry

    serve(predict, cases_csv="/input/cases.csv", input_dir="/input", output_dir="/output")

Run as a script (``python3 interactive_client.py CSV INPUT_DIR OUTPUT_DIR [INBOX]``) it
answers every request with a copy of the input image: a check of the protocol
on inputs that are masks, not a model. Only the Python standard library is used.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import sys
import time
from collections.abc import Callable

INBOX = "/clicks"
EXTENSIONS = (".nii.gz", ".nii", ".mha")

Clicks = dict  # {"lesion": [[x, y, z], ...], "background": [[x, y, z], ...]}
Predict = Callable[[str, str, Clicks, str], None]


def request_path(inbox: str, case: str, k: int) -> str:
    """Where request ``k`` of ``case`` appears."""
    return os.path.join(inbox, case, f"{case}_{k}_clicks.json")


def end_path(inbox: str, case: str) -> str:
    """The file that ends ``case``."""
    return os.path.join(inbox, case, f"{case}_end.json")


def prediction_path(output_dir: str, case: str, k: int) -> str:
    """Where the prediction for request ``k`` goes."""
    return os.path.join(output_dir, case, f"{case}_{k}.nii.gz")


def done_path(output_dir: str, case: str, k: int) -> str:
    """The signal that the prediction for request ``k`` is written."""
    return os.path.join(output_dir, case, f"{case}_{k}.done")


def read_cases(cases_csv: str) -> list[str]:
    """The case ids of the case list (first column, no header)."""
    with open(cases_csv, newline="", encoding="utf-8") as handle:
        return [row[0].strip() for row in csv.reader(handle) if row and row[0].strip()]


def find_image(input_dir: str, case: str) -> str:
    """The case's image: ``<case>_0000<ext>`` (TriALS) or ``<case><ext>``."""
    for stem in (f"{case}_0000", case):
        for ext in EXTENSIONS:
            path = os.path.join(input_dir, stem + ext)
            if os.path.isfile(path):
                return path
    raise FileNotFoundError(f"no image for case {case} in {input_dir}")


def wait_for(*paths: str, poll_s: float = 0.02, max_poll_s: float = 0.1) -> str:
    """The first of ``paths`` to exist, checked in order, waiting as long as it takes."""
    while True:
        for path in paths:
            if os.path.exists(path):
                return path
        time.sleep(poll_s)
        poll_s = min(poll_s * 1.5, max_poll_s)


def serve(
    predict: Predict,
    *,
    cases_csv: str,
    input_dir: str,
    output_dir: str,
    inbox: str = INBOX,
) -> None:
    """Answer every request of every case, in the case list's order, until each case ends."""
    for case in read_cases(cases_csv):
        image = find_image(input_dir, case)
        os.makedirs(os.path.join(output_dir, case), exist_ok=True)
        k = 0
        while True:
            got = wait_for(request_path(inbox, case, k), end_path(inbox, case))
            if got == end_path(inbox, case):
                break
            with open(got, encoding="utf-8") as handle:
                clicks = json.load(handle)
            predict(case, image, clicks, prediction_path(output_dir, case, k))
            # The signal comes after the prediction is closed: Podium reads it at once.
            with open(done_path(output_dir, case, k), "w", encoding="utf-8"):
                pass
            print(f"{case}: answered request {k}", flush=True)
            k += 1


def echo(case: str, image_path: str, clicks: Clicks, output_path: str) -> None:
    """The script's stand-in for a model: the prediction is a copy of the input image."""
    del case, clicks
    shutil.copyfile(image_path, output_path)


def main(argv: list[str]) -> int:
    """``interactive_client.py CSV INPUT_DIR OUTPUT_DIR [INBOX]``."""
    if len(argv) not in (3, 4):
        print(__doc__.splitlines()[0], file=sys.stderr)
        print("usage: interactive_client.py CSV INPUT_DIR OUTPUT_DIR [INBOX]", file=sys.stderr)
        return 2
    serve(
        echo,
        cases_csv=argv[0],
        input_dir=argv[1],
        output_dir=argv[2],
        inbox=(argv[3:] or [INBOX])[0],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
