"""Write the synthetic TriALS-demo dataset and the challenge YAML that describes it.

Layout under the output folder (every path in the YAML is relative to the YAML file)::

    trials-demo.yaml
    images/venous/<case>.nii.gz       Task 1 input
    images/noncontrast/<case>.nii.gz  Task 2 input
    labels/venous/<case>.nii.gz       Task 1 labels
    labels/visible/<case>.nii.gz      Task 2 labels, lesions seen on the NCCT
    labels/combined/<case>.nii.gz     Task 2 labels, all phases fused
    labels/interactive/venous/        the interactive task's labels (its cases only)
    second-reader/venous/<case>.nii.gz, second-reader/noncontrast/<case>.nii.gz
                                      a second reader's masks of the hidden cases (the
                                      demo's human reference entry)
    public/task1/input/, public/task1/labels/venous/
    public/task2/input/, public/task2/labels/{visible,combined}/
                                      the sample cases, as teams receive them

Run ``python -m demo.data OUT_DIR`` to write it.
"""

from __future__ import annotations

import argparse
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import SimpleITK as sitk  # noqa: N813  (the library's own idiom)
from scipy import ndimage

from demo import yamlout
from demo.challenge import INTERACTIVE_LABELS, challenge_document, interactive_cases
from demo.phantom import DEFAULT_SHAPE, DEFAULT_SPACING, synthesize_phantom

#: (code, name) of the three TriALS test centres.
CENTRES: tuple[tuple[str, str], ...] = (
    ("china", "China"),
    ("egypt", "Egypt"),
    ("external", "External"),
)
CHALLENGE_FILE = "trials-demo.yaml"
#: The public sample kit: task -> (input folder, paradigms), as teams get it.
PUBLIC_KIT: dict[str, tuple[str, tuple[str, ...]]] = {
    "task1": ("images/venous", ("venous",)),
    "task2": ("images/noncontrast", ("visible", "combined")),
}


@dataclass(frozen=True)
class DemoCase:
    """One generated case: its key, centre, split and what it contains."""

    key: str
    centre: str
    split: str  # "validation", "final" or "sample"
    n_lesions: int
    n_visible: int


@dataclass(frozen=True)
class DemoDataset:
    """What :func:`generate_demo_dataset` wrote."""

    root: Path
    challenge_file: Path
    cases: tuple[DemoCase, ...]

    def keys(self, split: str) -> list[str]:
        """The case keys of one split, in order."""
        return [c.key for c in self.cases if c.split == split]


def write_volume(
    path: Path, array: npt.NDArray[np.generic], *, spacing: tuple[float, float, float]
) -> None:
    """Write a (z, y, x) array as a compressed NIfTI with the given (x, y, z) spacing in mm."""
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)  # type: ignore[no-untyped-call]
    # An origin away from zero, as scanners write, so geometry copying is really exercised.
    origin = (-0.5 * spacing[0] * array.shape[2], -0.5 * spacing[1] * array.shape[1], 40.0)
    image.SetOrigin(origin)  # type: ignore[no-untyped-call]
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(image, str(path), useCompression=True)


def _plan(*, cases_per_centre: int, n_sample_cases: int) -> list[tuple[str, str, str]]:
    """(key, centre, split) per case: a third of each centre's cases (at least one) are the
    final test, the rest validate (enough cases for the board's significance tests)."""
    plan = []
    n_validation = cases_per_centre - max(1, cases_per_centre // 3)
    for code, _name in CENTRES:
        for i in range(cases_per_centre):
            split = "validation" if i < n_validation else "final"
            plan.append((f"{code}_{i + 1:03d}", code, split))
    plan += [(f"sample_{i + 1:03d}", CENTRES[0][0], "sample") for i in range(n_sample_cases)]
    return plan


def second_reader(label: npt.NDArray[np.generic], *, seed: int) -> npt.NDArray[np.uint8]:
    """A second reader's mask of the same scan, as two radiologists disagree: one lesion in
    ten missed, most drawn a voxel wider or narrower, some identical (deterministic per seed).

    Examples
    --------
    >>> m = np.zeros((3, 9, 9), dtype=np.uint8); m[1, 2:7, 2:7] = 1
    >>> int(second_reader(m, seed=1).sum()) in (0, 15, 25, 35)  # missed, narrower, same, wider
    True
    """
    rng = np.random.default_rng(seed)
    components, _ = ndimage.label(label == 1)
    along_x = np.zeros((1, 1, 3), dtype=bool)
    along_x[0, 0, :] = True
    out = np.zeros(label.shape, dtype=np.uint8)
    for k, found in enumerate(ndimage.find_objects(components), start=1):
        draw = rng.random()
        if found is None or draw < 0.1:
            continue  # missed by the second reader
        # Work on the lesion's box, one voxel wider in-plane (room to grow).
        box = (found[0], *(slice(max(s.start - 1, 0), s.stop + 1) for s in found[1:]))
        lesion = components[box] == k
        if draw < 0.45:
            lesion = ndimage.binary_dilation(lesion, structure=along_x)
        elif draw < 0.8:
            eroded = ndimage.binary_erosion(lesion, structure=along_x)
            lesion = eroded if eroded.any() else lesion  # a lesion too thin to shrink stays
        out[box][lesion] = 1
    return out


def _write_public_kit(root: Path, keys: list[str]) -> None:
    """Copy the sample cases into ``public/<task>/``: what a team tests its container on."""
    for task, (input_folder, paradigms) in PUBLIC_KIT.items():
        folders = [(input_folder, "input")] + [(f"labels/{p}", f"labels/{p}") for p in paradigms]
        for source, target in folders:
            destination = root / "public" / task / target
            destination.mkdir(parents=True, exist_ok=True)
            for key in keys:
                shutil.copyfile(root / source / f"{key}.nii.gz", destination / f"{key}.nii.gz")


def generate_demo_dataset(
    root: Path,
    *,
    seed: int = 2024,
    cases_per_centre: int = 6,
    n_sample_cases: int = 2,
    shape: tuple[int, int, int] = DEFAULT_SHAPE,
    spacing: tuple[float, float, float] = DEFAULT_SPACING,
) -> DemoDataset:
    """Generate the demo cases and the challenge YAML under ``root``.

    Parameters
    ----------
    root
        Output folder; created if missing. Files already there are overwritten.
    seed
        The whole dataset follows from it (each case gets ``seed`` + its index).
    cases_per_centre
        Hidden cases per centre, at least 2: a third (at least one) go to the
        final phase, the rest to the validation phase.
    n_sample_cases
        Public sample cases, given to participants with their labels and run
        before a final-phase submission as its pre-flight.
    shape, spacing
        Grid of every volume: voxels (z, y, x) and mm (x, y, z).

    Returns
    -------
    DemoDataset
        Where everything went and what each case holds.
    """
    if cases_per_centre < 2:
        raise ValueError(f"cases_per_centre must be at least 2, got {cases_per_centre}")
    if n_sample_cases < 1:
        raise ValueError(f"n_sample_cases must be at least 1, got {n_sample_cases}")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    cases = []
    for index, (key, centre, split) in enumerate(
        _plan(cases_per_centre=cases_per_centre, n_sample_cases=n_sample_cases)
    ):
        # Sample cases always show lesions: a pre-flight on an empty case proves little.
        phantom = synthesize_phantom(
            seed=seed + index,
            shape=shape,
            spacing=spacing,
            # Every validation case shows lesions, so the board's per-case significance
            # tests have a difference on every case; final cases keep the empty ones.
            n_lesions={"sample": 2, "validation": 1 + index % 4}.get(split),
        )
        volumes: dict[str, npt.NDArray[np.generic]] = {
            "images/venous": phantom.venous,
            "images/noncontrast": phantom.noncontrast,
            "labels/venous": phantom.venous_label,
            "labels/visible": phantom.visible_label,
            "labels/combined": phantom.combined_label,
        }
        if split != "sample":
            volumes["second-reader/venous"] = second_reader(phantom.venous_label, seed=seed + index)
            volumes["second-reader/noncontrast"] = second_reader(
                phantom.visible_label, seed=seed + 1000 + index
            )
        for folder, array in volumes.items():
            write_volume(root / folder / f"{key}.nii.gz", array, spacing=spacing)
        cases.append(DemoCase(key, centre, split, phantom.n_lesions, phantom.n_visible))
    _write_public_kit(root, [c.key for c in cases if c.split == "sample"])
    # A task's label set holds its own cases only: the interactive task's are a few.
    interactive_labels = root / INTERACTIVE_LABELS
    interactive_labels.mkdir(parents=True, exist_ok=True)
    validation = [(c.key, c.centre) for c in cases if c.split == "validation"]
    for key, _centre in interactive_cases(validation):
        name = f"{key}.nii.gz"
        shutil.copyfile(root / "labels" / "venous" / name, interactive_labels / name)
    challenge_file = root / CHALLENGE_FILE
    document = challenge_document(
        centres=CENTRES,
        validation=[(c.key, c.centre) for c in cases if c.split == "validation"],
        final=[(c.key, c.centre) for c in cases if c.split == "final"],
        samples=[(c.key, c.centre) for c in cases if c.split == "sample"],
    )
    challenge_file.write_text(yamlout.dump(document), encoding="utf-8")
    return DemoDataset(root=root, challenge_file=challenge_file, cases=tuple(cases))


def main(argv: list[str] | None = None) -> int:
    """``python -m demo.data OUT_DIR``: write the demo dataset and print a summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--cases-per-centre", type=int, default=6)
    parser.add_argument("--sample-cases", type=int, default=2)
    args = parser.parse_args(argv)
    dataset = generate_demo_dataset(
        args.out_dir,
        seed=args.seed,
        cases_per_centre=args.cases_per_centre,
        n_sample_cases=args.sample_cases,
    )
    lesions = sum(c.n_lesions for c in dataset.cases)
    print(f"wrote {len(dataset.cases)} cases ({lesions} lesions) and {dataset.challenge_file}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
