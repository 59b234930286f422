"""``podium-score --interactive`` and ``podium-clicks``: interactive scoring and clicks, locally.

Usage::

    podium-score --interactive PRED_DIR LABEL_DIR [--clicks 10] [--cases cases.csv]
                 [--centres centres.csv] [--mode paper|reference] [--out DIR]
                 [--jobs N] [--label-cache DIR] [--quiet]
    podium-clicks LABEL_DIR OUT_DIR [--clicks 10] [--seed 0] [--cases cases.csv]
                  [--background-min-mm 5] [--background-max-mm 25] [--check] [--quiet]

``PRED_DIR`` holds one folder per case with ``<id>_<k>.nii.gz`` for k = 0…N
(the TriALS layout). ``podium-clicks`` writes ``OUT_DIR/<id>_clicks.json``
for every label (``--check`` validates the click files already there
instead). Bad predictions never stop a run; unusable input ends it with
status 2 and a message saying what to fix.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from scoring.cli import EXIT_USAGE, UsageError, read_cases, read_centres
from scoring.errors import CaseInputError
from scoring.formats import EXTENSIONS, find_case_file
from scoring.interactive.aggregate import InteractiveDatasetMetrics, dataset_metrics
from scoring.interactive.clickfile import (
    click_file_name,
    read_click_file,
    write_click_file,
)
from scoring.interactive.report import write_outputs
from scoring.interactive.results import InteractiveCaseResult
from scoring.interactive.score import find_click_predictions, score_interactive_case
from scoring.interactive.simulate import MAX_CLICKS, ClickSettings, static_clicks
from scoring.labelcase import LabelCase, read_cached
from scoring.results import MODES, Mode


@dataclass(frozen=True, slots=True)
class CaseTask:
    """One case to score or to write clicks for (picklable, sent to worker processes)."""

    case_id: str
    label: str
    pred_dir: str
    mode: Mode
    clicks: int
    label_cache: str | None = None


def _label_ids(label_dir: Path) -> list[str]:
    ids = set()
    for file in label_dir.iterdir():
        for ext in EXTENSIONS:
            if file.is_file() and file.name.endswith(ext):
                ids.add(file.name[: -len(ext)])
                break
    return sorted(ids)


def _labels(label_dir: Path, cases: list[str] | None) -> list[tuple[str, Path]]:
    if not label_dir.is_dir():
        raise UsageError(f"label folder {label_dir} not found")
    ids = cases if cases is not None else _label_ids(label_dir)
    if not ids:
        raise UsageError(f"no label files ({', '.join(EXTENSIONS)}) in {label_dir}")
    found, unlabelled = [], []
    for case_id in ids:
        path = find_case_file(label_dir, case_id)
        if path is None:
            unlabelled.append(case_id)
        else:
            found.append((case_id, path))
    if unlabelled:
        shown = ", ".join(unlabelled[:5]) + (" ..." if len(unlabelled) > 5 else "")
        raise UsageError(f"no label file in {label_dir} for {len(unlabelled)} case(s): {shown}")
    return found


def _read_label(task: CaseTask) -> LabelCase:
    if task.label_cache:
        return read_cached(task.label, case_id=task.case_id, cache_dir=task.label_cache)
    return LabelCase.read(task.label, case_id=task.case_id)


def _score(task: CaseTask) -> tuple[InteractiveCaseResult | None, str | None]:
    try:
        label = _read_label(task)
    except CaseInputError as exc:
        return None, str(exc)
    found = find_click_predictions(
        Path(task.pred_dir) / task.case_id, task.case_id, clicks=task.clicks
    )
    return score_interactive_case(label, found, mode=task.mode), None


def _run(
    tasks: Sequence[CaseTask], *, jobs: int, progress: bool
) -> Iterator[tuple[InteractiveCaseResult | None, str | None]]:
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


def _score_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="podium-score --interactive",
        description="Score per-click predictions (PRED_DIR/<id>/<id>_<k>.nii.gz) against labels.",
    )
    parser.add_argument("pred_dir", type=Path, help="folder of <id>/ folders of predictions")
    parser.add_argument("label_dir", type=Path, help="folder of <id>.nii.gz labels")
    parser.add_argument("--clicks", type=int, default=10, help="N: predictions for 0…N clicks")
    parser.add_argument("--cases", type=Path, help="CSV of case ids (default: every label)")
    parser.add_argument("--centres", type=Path, help="CSV of case_id,centre")
    parser.add_argument("--mode", choices=MODES, default="paper")
    parser.add_argument("--out", type=Path, default=Path("scores"), help="output folder")
    parser.add_argument("--jobs", type=int, default=1, help="cases scored in parallel")
    parser.add_argument("--label-cache", type=Path, help="folder of prepared labels (pickles)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _stray_entries(pred_dir: Path, case_ids: set[str], *, limit: int = 1000) -> list[str]:
    """Entries of ``pred_dir`` that are no scored case (the first ``limit`` looked at)."""
    stray = []
    with os.scandir(pred_dir) as entries:
        for n, entry in enumerate(entries):
            if n >= limit:
                break
            if entry.name not in case_ids:
                stray.append(entry.name)
    return sorted(stray)


def score_main(argv: Sequence[str] | None = None) -> int:
    """``podium-score --interactive``; returns the exit status."""
    args = _score_parser().parse_args(argv)
    mode: Mode = args.mode
    try:
        if args.jobs < 1:
            raise UsageError("--jobs must be at least 1")
        if not 1 <= args.clicks <= MAX_CLICKS:
            raise UsageError(f"--clicks must be between 1 and {MAX_CLICKS}")
        if not args.pred_dir.is_dir():
            raise UsageError(f"prediction folder {args.pred_dir} not found")
        cases = read_cases(args.cases) if args.cases else None
        centres = read_centres(args.centres) if args.centres else {}
        labels = _labels(args.label_dir, cases)
    except UsageError as exc:
        print(f"podium-score: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    tasks = [
        CaseTask(
            case_id=case_id,
            label=str(path),
            pred_dir=str(args.pred_dir),
            mode=mode,
            clicks=args.clicks,
            label_cache=str(args.label_cache) if args.label_cache else None,
        )
        for case_id, path in labels
    ]
    results: list[InteractiveCaseResult] = []
    label_problems: list[str] = []
    for result, problem in _run(tasks, jobs=args.jobs, progress=not args.quiet):
        if result is None:
            label_problems.append(str(problem))
        else:
            results.append(result)
    problems = [
        *label_problems,
        *(e for r in results for e in r.errors),
        *(w for r in results for w in r.warnings),
    ]
    stray = _stray_entries(args.pred_dir, {t.case_id for t in tasks})
    if stray:
        shown = ", ".join(stray[:10]) + (" ..." if len(stray) > 10 else "")
        problems.append(f"{args.pred_dir} holds entries for no scored case: {shown}")
    overall = dataset_metrics(results, mode=mode, clicks=args.clicks)
    by_centre: dict[str, InteractiveDatasetMetrics] = {
        centre: dataset_metrics(
            [r for r in results if centres.get(r.case_id) == centre], mode=mode, clicks=args.clicks
        )
        for centre in sorted(set(centres.values()))
    }
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
        f"scored {len(results)} interactive case(s) ({args.clicks} clicks) in {mode} mode"
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


def _clicks_parser() -> argparse.ArgumentParser:
    defaults = ClickSettings()
    parser = argparse.ArgumentParser(
        prog="podium-clicks",
        description="Write TriALS click files (<id>_clicks.json) for a folder of labels.",
    )
    parser.add_argument("label_dir", type=Path, help="folder of <id>.nii.gz labels")
    parser.add_argument("out_dir", type=Path, help="folder for <id>_clicks.json")
    parser.add_argument("--clicks", type=int, default=defaults.count, help="clicks of each kind")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--background-min-mm", type=float, default=defaults.background_min_mm)
    parser.add_argument("--background-max-mm", type=float, default=defaults.background_max_mm)
    parser.add_argument("--cases", type=Path, help="CSV of case ids (default: every label)")
    parser.add_argument(
        "--check", action="store_true", help="validate the click files in OUT_DIR instead"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def clicks_main(argv: Sequence[str] | None = None) -> int:
    """``podium-clicks``; returns the exit status."""
    args = _clicks_parser().parse_args(argv)
    try:
        try:
            settings = ClickSettings(
                count=args.clicks,
                seed=args.seed,
                background_min_mm=args.background_min_mm,
                background_max_mm=args.background_max_mm,
            )
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
        labels = _labels(args.label_dir, read_cases(args.cases) if args.cases else None)
        if args.check and not args.out_dir.is_dir():
            raise UsageError(f"click folder {args.out_dir} not found")
        args.out_dir.mkdir(parents=True, exist_ok=True)
    except (UsageError, OSError) as exc:
        print(f"podium-clicks: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    failures: list[str] = []
    notes: list[str] = []
    for case_id, path in tqdm(labels, unit="case", disable=args.quiet, file=sys.stderr):
        try:
            label = LabelCase.read(path, case_id=case_id)
            target = args.out_dir / click_file_name(case_id)
            if args.check:
                checked = read_click_file(
                    target, count=settings.count, shape=label.geometry.shape, label=label
                )
                notes.extend(checked.warnings)
            else:
                write_click_file(target, static_clicks(label, settings))
        except CaseInputError as exc:  # an unusable label or click file: named in the message
            failures.append(str(exc))
        except OSError as exc:
            failures.append(f"{case_id}: {exc}")
    for line in [*notes, *failures]:
        print(f"podium-clicks: {line}", file=sys.stderr)
    done = len(labels) - len(failures)
    verb = "checked" if args.check else "wrote"
    print(
        f"{verb} {done} click file(s) in {args.out_dir}"
        + (f"; {len(failures)} failed" if failures else "")
    )
    return EXIT_USAGE if failures else 0
