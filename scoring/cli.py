"""``podium-score``: score a folder of predictions against one or several folders of labels.

Usage::

    podium-score PRED_DIR LABEL_DIR [--cases cases.csv] [--centres centres.csv]
                 [--mode paper|reference] [--out DIR] [--jobs N]
                 [--label-cache DIR] [--quiet]
    podium-score --interactive PRED_DIR LABEL_DIR ...   (see scoring.interactive.cli)
    podium-score PRED_DIR --labels visible=DIR --labels combined=DIR [...]

With several label folders each prediction is read once and scored against
every one; each gets its own output folder ``OUT/<name>/``. A bad prediction
never stops the run (it is scored per mode and its reason written out);
unusable input (missing folders, no cases, an unreadable label) ends with exit
status 2 and a message saying what to fix.

Imports are deferred to where a run needs them, so ``--help`` and the start of
a run cost little more than Python, numpy and SimpleITK themselves
(``tests/scoring/test_import_time.py``).
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

# results.py is plain dataclasses; every heavy import is deferred to where a run needs it.
from scoring.results import MODES, Mode

if TYPE_CHECKING:
    from scoring.results import CaseResult

EXIT_USAGE = 2

#: A label-set name: becomes an output folder name.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class UsageError(Exception):
    """Input the scorer cannot work with; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class Task:
    """One case to score against every label set (picklable, sent to worker processes).

    ``labels`` holds (label-set name, label file) pairs; the name is ``""``
    for the single positional ``LABEL_DIR``.
    """

    case_id: str
    labels: tuple[tuple[str, str], ...]
    prediction: str | None
    mode: Mode
    label_cache: str | None = None


#: What scoring one task gives: the case, its results and its label problems, by label set.
Scored = tuple[str, dict[str, "CaseResult"], dict[str, str]]


def _score(task: Task) -> Scored:
    from scoring.errors import CaseInputError  # noqa: PLC0415 (deferred: fast start)
    from scoring.labelcase import LabelCase, read_cached  # noqa: PLC0415
    from scoring.metrics import score_prediction  # noqa: PLC0415

    prepared: dict[str, LabelCase] = {}
    problems: dict[str, str] = {}
    for name, path in task.labels:
        try:
            if task.label_cache:
                prepared[name] = read_cached(
                    path, case_id=task.case_id, mode=task.mode, cache_dir=task.label_cache
                )
            else:
                prepared[name] = LabelCase.read(path, case_id=task.case_id, mode=task.mode)
        except CaseInputError as exc:
            problems[name] = str(exc)
    results = score_prediction(list(prepared.values()), task.prediction) if prepared else []
    return task.case_id, dict(zip(prepared, results, strict=True)), problems


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
    from scoring.formats import EXTENSIONS  # noqa: PLC0415 (deferred: fast start)

    ids = set()
    for file in label_dir.iterdir():
        for ext in EXTENSIONS:
            if file.is_file() and file.name.endswith(ext):
                ids.add(file.name[: -len(ext)])
                break
    return sorted(ids)


def plan(
    pred_dir: Path,
    label_dirs: Sequence[tuple[str, Path]],
    *,
    cases: list[str] | None,
    mode: Mode,
    label_cache: Path | None = None,
) -> list[Task]:
    """The cases to score, checking that every label folder has every one.

    ``label_dirs`` holds (label-set name, folder) pairs. Without a cases file
    the cases are every label file of any of the folders.
    """
    from scoring.formats import EXTENSIONS, find_case_file  # noqa: PLC0415 (deferred: fast start)

    for directory, what in ((pred_dir, "prediction"), *((d, "label") for _, d in label_dirs)):
        if not directory.is_dir():
            raise UsageError(f"{what} folder {directory} not found")
    if cases is not None:
        ids = cases
    else:
        ids = sorted({c for _, d in label_dirs for c in _label_case_ids(d)})
        if not ids:
            folders = ", ".join(str(d) for _, d in label_dirs)
            raise UsageError(f"no label files ({', '.join(EXTENSIONS)}) in {folders}")
    labels: dict[str, list[tuple[str, str]]] = {c: [] for c in ids}
    for name, directory in label_dirs:
        unlabelled = []
        for case_id in ids:
            label = find_case_file(directory, case_id)
            if label is None:
                unlabelled.append(case_id)
            else:
                labels[case_id].append((name, str(label)))
        if unlabelled:
            shown = ", ".join(unlabelled[:5]) + (" ..." if len(unlabelled) > 5 else "")
            raise UsageError(f"no label file in {directory} for {len(unlabelled)} case(s): {shown}")
    tasks = []
    for case_id in ids:
        prediction = find_case_file(pred_dir, case_id)
        tasks.append(
            Task(
                case_id=case_id,
                labels=tuple(labels[case_id]),
                prediction=str(prediction) if prediction else None,
                mode=mode,
                label_cache=str(label_cache) if label_cache else None,
            )
        )
    return tasks


def run(tasks: Sequence[Task], *, jobs: int, progress: bool) -> Iterator[Scored]:
    """Score ``tasks`` in ``jobs`` processes, yielding in task order."""
    bar = _progress(len(tasks)) if progress else None
    try:
        if jobs <= 1:
            for task in tasks:
                yield _score(task)
                if bar is not None:
                    bar.update()
        else:
            from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415 (deferred)

            with ProcessPoolExecutor(max_workers=jobs) as pool:
                for item in pool.map(_score, tasks):
                    yield item
                    if bar is not None:
                        bar.update()
    finally:
        if bar is not None:
            bar.close()


def _progress(total: int) -> Any:
    from tqdm import tqdm  # noqa: PLC0415 (deferred: only with a progress bar)

    return tqdm(total=total, unit="case", desc="scoring", file=sys.stderr)


def _label_sets(args: argparse.Namespace) -> list[tuple[str, Path]]:
    """(name, folder) pairs from ``LABEL_DIR`` or the ``--labels NAME=DIR`` options."""
    if args.label_dir is not None and args.labels:
        raise UsageError("give either LABEL_DIR or --labels NAME=DIR, not both")
    if args.label_dir is not None:
        return [("", args.label_dir)]
    if not args.labels:
        raise UsageError("no labels: give LABEL_DIR, or --labels NAME=DIR once per label set")
    sets: list[tuple[str, Path]] = []
    for option in args.labels:
        name, sep, folder = option.partition("=")
        if not sep or not folder:
            raise UsageError(f"--labels {option!r}: write NAME=DIR, e.g. visible=labels/visible")
        if not _NAME.match(name):
            raise UsageError(
                f"--labels {option!r}: the name {name!r} names an output folder: use letters, "
                "digits, '_', '.' and '-' (not first)"
            )
        if name in (n for n, _ in sets):
            raise UsageError(f"--labels: the name {name!r} is given twice")
        sets.append((name, Path(folder)))
    return sets


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="podium-score",
        description="Score lesion segmentations (TriALS rules) against labels.",
    )
    parser.add_argument("pred_dir", type=Path, help="folder of <case_id>.nii.gz predictions")
    parser.add_argument("label_dir", type=Path, nargs="?", help="folder of <case_id>.nii.gz labels")
    parser.add_argument(
        "--labels",
        action="append",
        metavar="NAME=DIR",
        help="a named label folder instead of LABEL_DIR, once per label set (e.g. "
        "--labels visible=DIR --labels combined=DIR): each prediction is read once and "
        "scored against all of them, with outputs in OUT/NAME/",
    )
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
        label_sets = _label_sets(args)
        cases = read_cases(args.cases) if args.cases else None
        centres = read_centres(args.centres) if args.centres else {}
        tasks = plan(
            args.pred_dir, label_sets, cases=cases, mode=mode, label_cache=args.label_cache
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

    names = [name for name, _ in label_sets]
    results: dict[str, list[CaseResult]] = {name: [] for name in names}
    label_problems: dict[str, list[str]] = {name: [] for name in names}
    for _case_id, scored, problems in run(tasks, jobs=args.jobs, progress=not args.quiet):
        for name, result in scored.items():
            results[name].append(result)
        for name, problem in problems.items():
            label_problems[name].append(problem)
    unusable = 0
    for name in names:
        out = args.out / name if name else args.out
        if not _report(
            out, name=name, mode=mode, results=results[name], centres=centres,
            label_problems=label_problems[name],
        ):  # fmt: skip
            return EXIT_USAGE
        unusable += len(label_problems[name])
    if unusable:
        print(
            f"podium-score: error: {unusable} label(s) could not be used; their cases are left out",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return 0


def _report(
    out: Path,
    *,
    name: str,
    mode: Mode,
    results: list[CaseResult],
    centres: dict[str, str],
    label_problems: list[str],
) -> bool:
    """Write one label set's outputs and tell the user; False when the folder is unwritable."""
    from scoring.aggregate import DatasetMetrics, dataset_metrics  # noqa: PLC0415 (deferred)
    from scoring.report import write_outputs  # noqa: PLC0415

    prefix = f"{name}: " if name else ""
    problems = label_problems + [e for r in results for e in r.errors]
    by_centre: dict[str, DatasetMetrics] = {}
    for centre in sorted(set(centres.values())):
        subset = [r for r in results if centres.get(r.case_id) == centre]
        by_centre[centre] = dataset_metrics(subset, mode=mode)
    try:
        written = write_outputs(
            out,
            mode=mode,
            results=results,
            overall=dataset_metrics(results, mode=mode),
            by_centre=by_centre,
            centres=centres,
            problems=problems,
        )
    except OSError as exc:
        print(f"podium-score: error: cannot write to {out}: {exc}", file=sys.stderr)
        return False
    for problem in problems:
        print(f"podium-score: {prefix}{problem}", file=sys.stderr)
    skipped = sum(1 for r in results if not r.counted)
    print(
        f"{prefix}scored {len(results)} case(s) in {mode} mode"
        + (f", {skipped} skipped" if skipped else "")
        + f"; wrote {', '.join(str(p) for p in written)}"
    )
    return True
