"""``python -m demo.data`` with the participants' install (the scorer alone, no PyYAML)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from backend.challenges.spec import parse_challenge_yaml
from demo import yamlout
from demo.challenge import challenge_document

REPO = Path(__file__).resolve().parents[2]

# What `pip install ".[scoring]"` lacks: PyYAML is not importable.
_WITHOUT_YAML = (
    "import runpy, sys; sys.modules['yaml'] = None; sys.argv = ['demo.data', *sys.argv[1:]]; "
    "runpy.run_module('demo.data', run_name='__main__')"
)


def test_the_written_yaml_reads_back_as_the_document() -> None:
    document = challenge_document(
        centres=[("a", "Centre A: Zürich"), ("no", "yes"), ("b", "100")],
        validation=[("c1", "a")],
        final=[("c2", "no")],
        samples=[("s1", "b")],
    )
    document["description"] = 'Quotes " and # hashes\nand a second line'
    assert yaml.safe_load(yamlout.dump(document)) == document


def test_demo_data_runs_without_pyyaml(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_YAML, str(out), "--cases-per-centre", "2",
         "--sample-cases", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    spec = parse_challenge_yaml((out / "trials-demo.yaml").read_bytes())
    assert [t.slug for t in spec.tasks] == ["task1", "task2", "interactive"]
    assert all((out / case.inputs[0]).is_file() for case in spec.tasks[0].phases[0].cases)
