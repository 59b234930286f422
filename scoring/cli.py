"""``podium-score``: score a folder of predictions against a folder of labels.

Usage::

    podium-score PRED_DIR LABEL_DIR [--cases cases.csv] [--centres centres.csv]
                 [--mode paper|reference] [--out DIR] [--jobs N]
                 [--label-cache DIR] [--quiet]
    podium-score --interactive PRED_DIR LABEL_DIR ...   (see scoring.interactive.cli)

A bad prediction never stops the run (it is scored per mode and its reason
written out); unusable input (missing folders, no cases, an unreadable label)
ends with exit status 2 and a message saying what to fix.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from scoring.aggregate import DatasetMetrics, dataset_metrics
from scoring.errors import CaseInputError
from scoring.formats import EXTENSIONS, find_case_file
from scoring.labelcase import LabelCase, read_cached
from scoring.metrics import score_case
from scoring.report import write_outputs
from scoring.results import MODES, CaseResult, Mode

EXIT_USAGE = 2


class UsageError(Exception):
    """Input the scorer cannot work with; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class Task:
    """One case to score (picklable, sent to worker processes)."""

    case_id: str
    label: str
    prediction: str | None
    mode: Mode
    label_cache: str | None = None


def _score(task: Task) -> tuple[str, CaseResult | None, str | None]:
    try:
        if task.label_cache:
            label = read_cached(
                task.label, case_id=task.case_id, mode=task.mode, cache_dir=task.label_cache
            )
        else:
            label = LabelCase.read(task.label, case_id=task.case_id, mode=task.mode)
    except CaseInputError as exc:
        return task.case_id, None, str(exc)
    return task.case_id, score_case(label, task.prediction, mode=task.mode), None


def _rows(path: Path, what: str) -> list[list[str]]:
    if not path.is_file():
        raise UsageError(f"{what} file {path} not found")
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return [
                [c.strip() for c in row] for row in csv.reader(handle) if row and row[0].strip()
            ]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"{what} file {path} cannot be read as CSV text: {exc}") from exc


def read_cases(path: Path) -> list[str]:
    """Case ids from a CSV, first column (the reference's ``test.csv``); a header is optional."""
    rows = _rows(path, "cases")
    ids = [row[0] for row in rows]
    if ids and ids[0].lower() in {"case", "case_id", "id"}:
        ids = ids[1:]
    if not ids:
        raise UsageError(f"cases file {path} lists no case")
    duplicates = sorted({c for c in ids if ids.count(c) > 1})
    if duplicates:
        raise UsageError(f"cases file {path} lists {', '.join(duplicates)} more than once")
    # Ids become file names: keep them inside the folders.
    bad = [c for c in ids if "/" in c or "\\" in c or c.startswith(".")]
    if bad:
        raise UsageError(f"cases file {path}: {bad[0]!r} is not a case id (a file name stem)")
    return ids


def read_centres(path: Path) -> dict[str, str]:
    """``case_id,centre`` rows (header optional) into a mapping."""
    rows = _rows(path, "centres")
    if rows and rows[0][0].lower() in {"case", "case_id", "id"}:
        rows = rows[1:]
    bad = [row for row in rows if len(row) < 2 or not row[1]]
    if bad:
        raise UsageError(f"centres file {path}: rows need 'case_id,centre', got {bad[0]}")
    return {row[0]: row[1] for row in rows}


def _label_case_ids(label_dir: Path) -> list[str]:
    ids = set()
    for file in label_dir.iterdir():
        for ext in EXTENSIONS:
            if file.is_file() and file.name.endswith(ext):
                ids.add(file.name[: -len(ext)])
                break
    return sorted(ids)


def plan(
    pred_dir: Path,
    label_dir: Path,
    *,
    cases: list[str] | None,
    mode: Mode,
    label_cache: Path | None = None,
) -> list[Task]:
    """The cases to score, checking that every one has a label."""
    for directory, what in ((pred_dir, "prediction"), (label_dir, "label")):
        if not directory.is_dir():
            raise UsageError(f"{what} folder {directory} not found")
    ids = cases if cases is not None else _label_case_ids(label_dir)
    if not ids:
        raise UsageError(f"no label files ({', '.join(EXTENSIONS)}) in {label_dir}")
    tasks, unlabelled = [], []
    for case_id in ids:
        label = find_case_file(label_dir, case_id)
        if label is None:
            unlabelled.append(case_id)
            continue
        prediction = find_case_file(pred_dir, case_id)
        tasks.append(
            Task(
                case_id=case_id,
                label=str(label),
                prediction=str(prediction) if prediction else None,
                mode=mode,
                label_cache=str(label_cache) if label_cache else None,
            )
        )
    if unlabelled:
        shown = ", ".join(unlabelled[:5]) + (" ..." if len(unlabelled) > 5 else "")
        raise UsageError(f"no label file in {label_dir} for {len(unlabelled)} case(s): {shown}")
    return tasks


def run(
    tasks: Sequence[Task], *, jobs: int, progress: bool
) -> Iterator[tuple[str, CaseResult | None, str | None]]:
    """Score ``tasks`` in ``jobs`` processes, yielding in task order."""
    bar = tqdm(total=len(tasks), unit="case", desc="scoring", disable=not progress, file=sys.stderr)
    try:
        if jobs <= 1:
            for task in tasks:
                yield _score(task)
                bar.update()
        else:
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                for item in pool.map(_score, tasks):
                    yield item
                    bar.update()
    finally:
        bar.close()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="podium-score",
        description="Score lesion segmentations (TriALS rules) against labels.",
    )
    parser.add_argument("pred_dir", type=Path, help="folder of <case_id>.nii.gz predictions")
    parser.add_argument("label_dir", type=Path, help="folder of <case_id>.nii.gz labels")
    parser.add_argument("--cases", type=Path, help="CSV of case ids (default: every label)")
    parser.add_argument("--centres", type=Path, help="CSV of case_id,centre")
    parser.add_argument("--mode", choices=MODES, default="paper")
    parser.add_argument("--out", type=Path, default=Path("scores"), help="output folder")
    parser.add_argument("--jobs", type=int, default=1, help="parallel processes")
    parser.add_argument(
        "--label-cache",
        type=Path,
        help="folder of prepared labels, reused across runs (organiser-owned: holds pickles)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if "--interactive" in arguments:
        # Interactive phases have their own layout and outputs; loaded only when asked for.
        from scoring.interactive.cli import score_main  # noqa: PLC0415

        return score_main([a for a in arguments if a != "--interactive"])
    args = _parser().parse_args(arguments)
    mode: Mode = args.mode
    try:
        if args.jobs < 1:
            raise UsageError("--jobs must be at least 1")
        cases = read_cases(args.cases) if args.cases else None
        centres = read_centres(args.centres) if args.centres else {}
        tasks = plan(
            args.pred_dir, args.label_dir, cases=cases, mode=mode, label_cache=args.label_cache
        )
        unknown = sorted(set(centres) - {t.case_id for t in tasks})
        if args.cases and unknown:
            raise UsageError(f"centres file names cases not scored: {', '.join(unknown[:5])}")
    except UsageError as exc:
        print(f"podium-score: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if centres:
        without = [t.case_id for t in tasks if t.case_id not in centres]
        if without:
            print(
                f"podium-score: {len(without)} case(s) have no centre and count only in 'all': "
                + ", ".join(without[:5]),
                file=sys.stderr,
            )

    results: list[CaseResult] = []
    label_problems: list[str] = []
    for _case_id, result, problem in run(tasks, jobs=args.jobs, progress=not args.quiet):
        if result is None:
            label_problems.append(str(problem))
        else:
            results.append(result)
    problems = label_problems + [e for r in results for e in r.errors]
    overall = dataset_metrics(results, mode=mode)
    by_centre: dict[str, DatasetMetrics] = {}
    for centre in sorted(set(centres.values())):
        subset = [r for r in results if centres.get(r.case_id) == centre]
        by_centre[centre] = dataset_metrics(subset, mode=mode)
    try:
        written = write_outputs(
            args.out,
            mode=mode,
            results=results,
            overall=overall,
            by_centre=by_centre,
            centres=centres,
            problems=problems,
        )
    except OSError as exc:
        print(f"podium-score: error: cannot write to {args.out}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for problem in problems:
        print(f"podium-score: {problem}", file=sys.stderr)
    skipped = sum(1 for r in results if not r.counted)
    print(
        f"scored {len(results)} case(s) in {mode} mode"
        + (f", {skipped} skipped" if skipped else "")
        + f"; wrote {', '.join(str(p) for p in written)}"
    )
    if label_problems:
        print(
            f"podium-score: error: {len(label_problems)} label(s) could not be used; "
            "their cases are left out",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return 0
