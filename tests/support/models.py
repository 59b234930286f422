"""The example threshold model as a submission: compiled once, optionally slowed down."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from tests.support.images import build_image, save_image

REPO = Path(__file__).resolve().parents[2]


def threshold_binary(out: Path) -> Path:
    """``examples/threshold-model`` compiled (static, gcc and a static zlib) to ``out``."""
    spec = importlib.util.spec_from_file_location(
        "threshold_build", REPO / "examples" / "threshold-model" / "build.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.compile_binary(out, defines=[])
    return out


def threshold_tarball(client: Any, binary: Path, *, delay_s: int, out: Path) -> Path:
    """A ``docker save`` of the model behind busybox, starting after ``delay_s`` seconds."""
    reference = build_image(
        client,
        files={"/bin/predict": binary.read_bytes()},
        entrypoint=["/bin/sh", "-c", f"sleep {delay_s}; exec /bin/predict"],
        workdir="/tmp",
    )
    save_image(client, reference, out)
    return out
