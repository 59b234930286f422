"""The demo teams and their containers: the example threshold model, tuned per team."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUILD_SCRIPT = REPO / "examples" / "threshold-model" / "build.py"


@dataclass(frozen=True, slots=True)
class DemoTeam:
    """A demo team, its one user and the build knobs of its model."""

    slug: str
    name: str
    affiliated: bool
    defines: tuple[str, ...]
    method: str = ""
    #: The tasks it enters (as in the paper, not every team enters both).
    tasks: tuple[str, ...] = ("task1", "task2")

    @property
    def email(self) -> str:
        """The team user's e-mail address."""
        return f"{self.slug}@demo.podium.example.org"

    @property
    def password(self) -> str:
        """The demo password (printed; these accounts exist only on a demo data root)."""
        return f"demo-{self.slug}-password"

    @property
    def tag(self) -> str:
        """The local image tag of the team's model."""
        return f"podium-demo/{self.slug}:latest"


#: The demo's interactive task (demo/challenge.py): its two phases, static and closed loop.
INTERACTIVE_TASK = "interactive"

#: Six skills (see examples/threshold-model/README.md), so the board has a clear order;
#: three enter Task 1 only, which keeps the demo's evaluations few, and three the
#: interactive task too (the same image answers it in its interactive mode).
TEAMS: tuple[DemoTeam, ...] = (
    DemoTeam(
        slug="hepatica",
        name="Hepatica",
        affiliated=False,
        defines=(),
        method="Liver-enclosed threshold",
        tasks=("task1", "task2", INTERACTIVE_TASK),
    ),
    DemoTeam(
        slug="cautious",
        name="Cautious Lesions",
        affiliated=False,
        defines=("MIN_LESION_VOXELS=150",),
        method="Threshold, large candidates only",
        tasks=("task1", "task2", INTERACTIVE_TASK),
    ),
    DemoTeam(
        slug="softedge",
        name="Soft Edges",
        affiliated=False,
        defines=("EDGE_FRACTION=0.25f",),
        method="Threshold, generous borders",
        tasks=("task1",),
    ),
    DemoTeam(
        slug="widenet",
        name="Wide Net",
        affiliated=False,
        defines=("TOLERANCE_HU=20.0f",),
        method="Threshold, wide liver window",
        tasks=("task1", "task2", INTERACTIVE_TASK),
    ),
    DemoTeam(
        slug="sharpcut",
        name="Sharp Cut",
        affiliated=False,
        defines=("EDGE_FRACTION=0.6f",),
        method="Threshold, tight borders",
        tasks=("task1",),
    ),
    DemoTeam(
        slug="bigonly",
        name="Big Lesions Only",
        affiliated=False,
        defines=("MIN_LESION_VOXELS=400",),
        method="Threshold, very large candidates only",
        tasks=("task1",),
    ),
)

#: The organisers' own model, entered on each board as a reference entry of kind baseline
#: (a container, evaluated like the teams').
BASELINE = DemoTeam(
    slug="baseline",
    name="Threshold baseline",
    affiliated=True,
    defines=("EDGE_FRACTION=0.15f", "TOLERANCE_HU=14.0f"),
    method="The example model, organisers' settings",
)


class ImageBuildError(Exception):
    """The example model could not be built; the message says why."""


def build_team_image(team: DemoTeam, *, out: Path) -> Path:
    """Build ``team``'s model and ``docker save`` it to ``out`` (kept: built once per data root).

    Raises
    ------
    ImageBuildError
        With the build script's own explanation (no gcc, no static zlib, no engine).
    """
    if out.is_file():
        return out
    partial = out.with_name(out.name + ".partial.tar.gz")
    command = [sys.executable, str(BUILD_SCRIPT), "--tag", team.tag, "--save", str(partial)]
    command += [arg for d in team.defines for arg in ("-D", d)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise ImageBuildError(f"building {team.tag} failed:\n{result.stderr.strip()}")
    partial.rename(out)
    return out
