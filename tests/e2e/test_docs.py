"""The docs' runnable shell blocks, run as written against a running demo, like doctests.

Every ``bash runnable`` block of README.md and docs/*.md (tests/support/docblocks.py) runs
here. A page's blocks run in order in one ``bash -euo pipefail``, so a block may use what
an earlier block of the same page set, as in a reader's terminal; each page starts afresh.
They run in a scratch folder laid out as a fresh clone after ``scripts/demo``: the
checkout's files (linked), its ``.venv`` and the demo's data root ``./.podium``; no
``PODIUM_*`` variable is set and the virtual environment is not on ``PATH``. The demo is
started once for the module, by ``scripts/demo`` itself. Two substitutions let the blocks
run beside other demos and other runs of this test: the demo's address replaces
``127.0.0.1:8000`` (it listens on a free port), and a tag of this run replaces
``my-team/model:1``. The organisers' per-case table is then checked in Chromium.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.demo import READY, DemoProcess, free_port, start_demo
from tests.support.docblocks import REPO, Block, blocks, pages

RUNNABLE = {page: [b for b in blocks(page) if b.runnable] for page in pages()}
#: Where a block fails, the output shows the last of these lines.
MARK = "::docs-block"


@dataclass
class Scratch:
    """The reader's checkout: its folder, the demo's address, the image tag of this run."""

    folder: Path
    url: str
    tag: str
    env: dict[str, str]

    def script(self, page_blocks: list[Block]) -> str:
        """The page's blocks as one bash script, each announced by a :data:`MARK` line."""
        parts = ["set -euo pipefail"]
        for block in page_blocks:
            text = block.text.replace("127.0.0.1:8000", self.url.removeprefix("http://"))
            text = text.replace("my-team/model:1", self.tag)
            parts += [f'echo "{MARK} {block.where} (${{SECONDS}} s)" >&2', text]
        return "\n".join(parts)


def _clone_layout(folder: Path) -> None:
    """Link the checkout's tracked top-level entries and its ``.venv`` into ``folder``."""
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files"], capture_output=True, text=True, check=False
    )
    names = {line.split("/")[0] for line in listed.stdout.splitlines()} if listed.stdout else set()
    names = names or {p.name for p in REPO.iterdir()} - {".git", ".podium"}
    for name in sorted(names | {".venv"}):
        if (REPO / name).exists():
            (folder / name).symlink_to(REPO / name)


def _reader_env() -> dict[str, str]:
    """This environment without PODIUM_* and without any virtual environment on PATH."""
    venvs = {(REPO / ".venv" / "bin").resolve()}
    if os.environ.get("VIRTUAL_ENV"):
        venvs.add((Path(os.environ["VIRTUAL_ENV"]) / "bin").resolve())
    path = [
        p for p in os.environ.get("PATH", "").split(os.pathsep) if Path(p).resolve() not in venvs
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env.pop("VIRTUAL_ENV", None)
    env["PATH"] = os.pathsep.join(path)
    return env


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory, docker_client: Any) -> Iterator[Scratch]:
    folder = tmp_path_factory.mktemp("checkout")
    _clone_layout(folder)
    run_id = f"podium-docs-{os.getpid()}"
    env = _reader_env()
    demo_env = {
        **env,
        "PODIUM_PORT": str(free_port()),
        # The reader's default data root, ./.podium, in this checkout rather than the real one.
        "PODIUM_DATA_ROOT": str(folder / ".podium"),
        "PODIUM_CONTAINER_PREFIX": run_id,
        "PYTHONUNBUFFERED": "1",
    }
    demo: DemoProcess = start_demo(folder / "scripts" / "demo", demo_env)
    try:
        url = demo.wait_for_line(READY, timeout=240).group(1)
        yield Scratch(folder=folder, url=url, tag=f"{run_id}/model:1", env=env)
    finally:
        code = demo.stop() if demo.process.poll() is None else demo.process.returncode
        for container in docker_client.containers.list(all=True, filters={"name": run_id}):
            container.remove(force=True)
        for image in docker_client.images.list(name=f"{run_id}/model"):
            docker_client.images.remove(image.id, force=True)
        # Files the containers wrote as their own user.
        shutil.rmtree(folder, ignore_errors=True)
    assert code == 0, demo.output()


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.timeout(420)
@pytest.mark.parametrize(
    "page", [p for p, found in RUNNABLE.items() if found], ids=lambda p: p.name
)
def test_runnable_blocks_run_as_written(page: Path, reader: Scratch) -> None:
    result = subprocess.run(
        ["bash", "-c", reader.script(RUNNABLE[page])],
        cwd=reader.folder,
        env=reader.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        where = [line for line in result.stdout.splitlines() if line.startswith(MARK)]
        failed = where[-1].removeprefix(MARK).split(" (")[0].strip() if where else "the start"
        pytest.fail(
            f"the block at {failed} exited with {result.returncode}:\n{result.stdout[-4000:]}"
        )


@pytest.mark.docker
@pytest.mark.browser
@pytest.mark.timeout(420)
def test_the_per_case_table_names_its_columns_and_explains_them(
    browser: Any, reader: Scratch
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{reader.url}/organiser.html?challenge=trials-demo")
        page.fill("#signin-email", "organiser@demo.podium.example.org")
        page.fill("#signin-password", "demo-organiser-password")
        page.click("#signin button[type=submit]")
        page.click("#all-submissions tr[data-submission] button:has-text('Per-case scores')")
        table = page.wait_for_selector("#case-scores tbody tr")
        assert table is not None
        headers = page.locator("#case-scores thead th").all_inner_texts()
        assert headers[-4:] == [
            "Reference lesions",
            "Detected (IoU > 0.5)",
            "Missed",
            "False positives",
        ]
        legend = dict(
            zip(
                page.locator("#case-scores-legend dt").all_inner_texts(),
                page.locator("#case-scores-legend dd").all_inner_texts(),
                strict=True,
            )
        )
        assert "connected components) in the label" in legend["Reference lesions"]
        assert "intersection over union" in legend["Detected (IoU > 0.5)"]
        assert "detect nothing at IoU > 0.5" in legend["False positives"]
        assert page.get_attribute("#case-scores", "aria-describedby") == "case-scores-legend"
        # Reference lesions = detected + missed, on every row.
        for row in page.locator("#case-scores tbody tr").all():
            cells = row.locator("td").all_inner_texts()
            reference, detected, missed = (int(c) for c in cells[-4:-1])
            assert reference == detected + missed, cells
    finally:
        context.close()
    assert not errors, errors
