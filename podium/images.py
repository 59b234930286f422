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


#: Three skills (see examples/threshold-model/README.md), so the board has a real order.
TEAMS: tuple[DemoTeam, ...] = (
    DemoTeam(slug="hepatica", name="Hepatica", affiliated=False, defines=()),
    DemoTeam(
        slug="cautious",
        name="Cautious Lesions",
        affiliated=False,
        defines=("MIN_LESION_VOXELS=150",),
    ),
    DemoTeam(
        slug="house",
        name="Organisers' Baseline",
        affiliated=True,
        defines=("EDGE_FRACTION=0.15f", "TOLERANCE_HU=14.0f"),
    ),
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
