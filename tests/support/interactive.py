"""Helpers for the interactive tests: small labelled cases, the reference client, a folder channel.

:class:`FolderChannel` is the closed loop's view of ``/output`` over a host
folder, for fast tests of the loop's logic and of the reference client with a
client running in the test's own process; the Docker runner's channel is
tested against the real engine (``tests/worker/test_interactive_docker.py``).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from backend.interactive.spec import Interaction
from scoring.interactive.settings import ClickSettings
from scoring.labelcase import LabelCase
from worker.runner.channel import FileStat

REPO = Path(__file__).resolve().parents[2]
CLIENT_FILE = REPO / "examples" / "interactive_client.py"

#: A closed-loop client in busybox sh, run as ``run.sh CSV INPUT_DIR OUTPUT_DIR``: it answers
#: each request with the input (a mask in these tests) until the case ends. Tests replace
#: ``hostile() { return 1; }`` to misbehave at chosen steps.
LOOP = r"""
answer() {  # case k
  cp "$in/$1_0000.nii.gz" "$out/$1/$1_$2.nii.gz" && touch "$out/$1/$1_$2.done"
}
hostile() { return 1; }
in=$2; out=$3
while read c; do
  mkdir -p "$out/$c"; k=0
  while :; do
    if [ -e "/clicks/$c/${c}_${k}_clicks.json" ]; then
      hostile "$c" "$k" || answer "$c" "$k"; k=$((k+1))
    elif [ -e "/clicks/$c/${c}_end.json" ]; then
      echo "$c ended: $(cat /clicks/$c/${c}_end.json)"; break
    else
      usleep 20000
    fi
  done
done < "$1"
"""

#: (z, y, x) of the small test volumes.
SHAPE_ZYX = (10, 16, 20)
SPACING = (0.8, 0.8, 2.0)


def load_client() -> ModuleType:
    """``examples/interactive_client.py`` as a module (it imports nothing of Podium)."""
    spec = importlib.util.spec_from_file_location("interactive_client", CLIENT_FILE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def three_lesions(offset: int = 0) -> np.ndarray:
    """A (z, y, x) mask with three lesions of different sizes."""
    mask = np.zeros(SHAPE_ZYX, dtype=np.uint8)
    mask[2:7, 2:8, 2 + offset : 9 + offset] = 1  # the largest
    mask[2:5, 10:14, 12:16] = 1
    mask[7:9, 11:13, 3:5] = 1  # the smallest
    return mask


def write_mask(path: Path, mask: np.ndarray) -> Path:
    """Write a (z, y, x) uint8 array as NIfTI with :data:`SPACING`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = sitk.GetImageFromArray(mask.astype(np.uint8))
    image.SetSpacing(SPACING)
    sitk.WriteImage(image, str(path))
    return path


def label_case(path: Path, case: str) -> LabelCase:
    """The prepared label the worker would use."""
    return LabelCase.read(path, case_id=case, mode="paper")


def interaction(
    *, clicks: int = 3, mode: str = "closed_loop", step_s: int = 5, startup_s: int = 0
) -> Interaction:
    """An interactive phase's settings for tests."""
    return Interaction(
        mode=mode,  # type: ignore[arg-type]
        clicks=clicks,
        paradigm="visible",
        settings=ClickSettings(count=clicks, seed=3),
        step_time_limit_s=step_s,
        startup_time_limit_s=startup_s,
    )


def clicked_lesions(label: np.ndarray, clicks: dict) -> np.ndarray:
    """The responder of static mode: exactly the label's lesions that hold a lesion click."""
    components, _ = ndimage.label(label)
    picked = {int(components[z, y, x]) for x, y, z in clicks.get("lesion", [])}
    picked.discard(0)
    return np.isin(components, sorted(picked)).astype(np.uint8)


class FolderChannel:
    """:class:`~worker.runner.channel.RunChannel` over a host folder standing for ``/output``."""

    def __init__(self, output_dir: Path, *, running: Callable[[], bool], deadline: float) -> None:
        self._root = output_dir
        self._running = running
        self._deadline = deadline

    @property
    def deadline(self) -> float:
        return self._deadline

    def running(self) -> bool:
        return self._running()

    def _local(self, path: str) -> Path:
        relative = Path(path).relative_to("/output")
        return self._root / relative

    def stat(self, path: str) -> FileStat | None:
        try:
            info = os.lstat(self._local(path))
        except FileNotFoundError:
            return None
        if stat.S_ISLNK(info.st_mode):
            return FileStat(kind="symlink", size=info.st_size)
        if stat.S_ISDIR(info.st_mode):
            return FileStat(kind="directory", size=0)
        kind = "file" if stat.S_ISREG(info.st_mode) else "other"
        return FileStat(kind=kind, size=info.st_size)  # type: ignore[arg-type]

    def fetch(self, path: str, destination: Path, *, max_bytes: int) -> str | None:
        found = self.stat(path)
        name = Path(path).name
        if found is None:
            return f"{name} is not there"
        if found.kind != "file":
            return f"{name} is {found.kind}"
        if found.size > max_bytes:
            return f"{name} is {found.size} bytes, more than the {max_bytes} allowed"
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self._local(path), destination, follow_symlinks=False)
        return None
