"""The synthetic TriALS-demo dataset: quick, deterministic, consistent with its YAML."""

from __future__ import annotations

import doctest
import time
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

sitk = pytest.importorskip("SimpleITK")

from backend.challenges.spec import parse_challenge_yaml  # noqa: E402
from demo import phantom  # noqa: E402
from demo.data import CENTRES, generate_demo_dataset, second_reader  # noqa: E402
from demo.phantom import synthesize_phantom  # noqa: E402

FOLDERS = (
    "images/venous",
    "images/noncontrast",
    "labels/venous",
    "labels/visible",
    "labels/combined",
)


def _array(path: Path) -> np.ndarray:
    return sitk.GetArrayFromImage(sitk.ReadImage(str(path)))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("demo")
    started = time.perf_counter()
    generated = generate_demo_dataset(root, seed=3, cases_per_centre=2, n_sample_cases=1)
    return generated, time.perf_counter() - started


def test_generates_in_seconds_with_every_file(dataset) -> None:
    generated, seconds = dataset
    assert seconds < 10, f"{seconds:.1f} s for {len(generated.cases)} cases"
    assert len(generated.cases) == 2 * len(CENTRES) + 1
    assert generated.keys("sample") == ["sample_001"]
    assert len(generated.keys("validation")) == len(generated.keys("final")) == len(CENTRES)
    for case in generated.cases:
        for folder in FOLDERS:
            assert (generated.root / folder / f"{case.key}.nii.gz").is_file(), (folder, case.key)
    # The second reader drew every hidden case (the demo's human reference entry), no sample.
    for modality in ("venous", "noncontrast"):
        drawn = sorted(p.name for p in (generated.root / "second-reader" / modality).iterdir())
        hidden = [c for c in generated.cases if c.split != "sample"]
        assert drawn == sorted(f"{c.key}.nii.gz" for c in hidden)
    public = generated.root / "public"
    kit = sorted(str(p.relative_to(public)) for p in public.rglob("*.nii.gz"))
    assert kit == [
        "task1/input/sample_001.nii.gz",
        "task1/labels/venous/sample_001.nii.gz",
        "task2/input/sample_001.nii.gz",
        "task2/labels/combined/sample_001.nii.gz",
        "task2/labels/visible/sample_001.nii.gz",
    ]


def test_volumes_look_like_ct_and_labels_nest(dataset) -> None:
    generated, _ = dataset
    for case in generated.cases:
        scan = sitk.ReadImage(str(generated.root / "images/venous" / f"{case.key}.nii.gz"))
        assert scan.GetPixelID() == sitk.sitkInt16
        assert scan.GetSpacing() == pytest.approx((3.0, 3.0, 2.5))
        values = sitk.GetArrayFromImage(scan)
        assert values.min() <= -900  # air around the body
        venous, visible, combined = (
            _array(generated.root / f"labels/{p}/{case.key}.nii.gz")
            for p in ("venous", "visible", "combined")
        )
        assert set(np.unique(combined)) <= {0, 1}
        assert not np.any(visible & ~combined), "a visible lesion outside the combined label"
        np.testing.assert_array_equal(venous, combined)
        if case.n_lesions:
            assert 0.0 < combined.mean() < 0.05
            # Each lesion is darker or brighter than the liver around it on the venous scan.
            components, count = ndimage.label(combined)
            for index in range(1, count + 1):
                lesion = components == index
                rim = ndimage.binary_dilation(lesion, iterations=2) & ~lesion & (combined == 0)
                contrast = float(values[lesion].mean()) - float(values[rim].mean())
                assert abs(contrast) > 20.0, (case.key, index, contrast)
        else:
            assert combined.sum() == 0
    # Task 2's point: some lesions only the contrast phase shows.
    assert any(c.n_lesions > 0 and c.n_visible < c.n_lesions for c in generated.cases)
    assert any(c.n_visible > 0 for c in generated.cases)


def test_same_seed_same_patient() -> None:
    shape, spacing = (24, 40, 40), (7.0, 7.0, 6.0)
    a = synthesize_phantom(seed=9, shape=shape, spacing=spacing, n_lesions=2)
    b = synthesize_phantom(seed=9, shape=shape, spacing=spacing, n_lesions=2)
    c = synthesize_phantom(seed=10, shape=shape, spacing=spacing, n_lesions=2)
    np.testing.assert_array_equal(a.noncontrast, b.noncontrast)
    np.testing.assert_array_equal(a.venous_label, b.venous_label)
    assert not np.array_equal(a.noncontrast, c.noncontrast)


def test_challenge_yaml_is_accepted_and_names_existing_files(dataset) -> None:
    generated, _ = dataset
    spec = parse_challenge_yaml(generated.challenge_file.read_text(encoding="utf-8"))
    assert spec.slug == "trials-demo"
    assert [c.code for c in spec.centres] == ["china", "egypt", "external"]
    task1, task2, interactive = spec.tasks
    assert (task1.input_phase, task1.paradigms) == ("venous", ["venous"])
    assert (task2.input_phase, task2.paradigms) == ("noncontrast", ["visible", "combined"])
    assert len(task1.metric_sets["venous"]) == 11
    assert len(task2.metric_sets["visible"]) == 11
    assert len(task2.metric_sets["combined"]) == 6
    for task in (task1, task2):
        assert [p.kind.value for p in task.phases] == ["validation", "final"]
        # TriALS-shaped: the paper's average ties; a write-up with every final container.
        assert [p.ranking.ties for p in task.phases] == ["average", "average"]
        assert task.phases[0].ranking.references["human"] == "unranked"
        assert [p.writeup.required for p in task.phases] == [False, True]
        for folder in task.labels.values():
            assert (generated.root / folder).is_dir()
        for phase in task.phases:
            keys = generated.keys(phase.slug)
            assert [c.key for c in phase.cases] == keys
            assert [c.key for c in phase.sample_cases] == generated.keys("sample")
            for case in [*phase.cases, *phase.sample_cases]:
                (path,) = case.inputs
                assert (generated.root / path).is_file()
                assert task.input_phase in path
    # The interactive task: both modes on the venous validation cases, TriALS' run contract,
    # a label set of exactly its cases.
    assert [(p.slug, p.interaction.mode) for p in interactive.phases if p.interaction] == [
        ("static", "static"),
        ("closed-loop", "closed_loop"),
    ]
    for phase in interactive.phases:
        assert [c.key for c in phase.cases] == generated.keys("validation")
        assert phase.container is not None
        assert phase.container.input_name == "{case}_0000{ext}"
        assert all("images/venous/" in c.inputs[0] for c in phase.cases)
    (folder,) = interactive.labels.values()
    labelled = sorted(p.name for p in (generated.root / folder).iterdir())
    assert labelled == sorted(f"{k}.nii.gz" for k in generated.keys("validation"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cases_per_centre": 1}, "cases_per_centre"),
        ({"n_sample_cases": 0}, "n_sample_cases"),
        ({"shape": (8, 40, 40)}, "shape"),
    ],
)
def test_bad_arguments_are_refused(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate_demo_dataset(tmp_path, **kwargs)


def test_phantom_examples_run() -> None:
    # demo/ is outside pytest's doctest paths; its examples must still hold.
    results = doctest.testmod(phantom, raise_on_error=False)
    assert results.attempted > 0
    assert results.failed == 0


def test_the_second_reader_disagrees_as_readers_do() -> None:
    mask = np.zeros((6, 40, 40), dtype=np.uint8)
    for i in range(8):
        mask[2:4, 4 * i + 1 : 4 * i + 4, 5:12] = 1  # eight separate lesions
    drawn = [second_reader(mask, seed=s) for s in range(20)]
    assert all(set(np.unique(d)) <= {0, 1} for d in drawn)
    assert any((d != mask).any() for d in drawn)
    # Overlapping, not identical: mostly the same voxels.
    overlap = [2 * (d & mask).sum() / (d.sum() + mask.sum()) for d in drawn]
    assert 0.5 < float(np.mean(overlap)) < 1.0
    np.testing.assert_array_equal(second_reader(mask, seed=3), second_reader(mask, seed=3))
