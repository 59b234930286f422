"""Output collection: only regular top-level files named for expected cases count."""

from __future__ import annotations

import gzip
import os

from worker.outputs import collect_outputs

NIFTI_GZ = gzip.compress(b"\x5c\x01" + bytes(346))


def test_expected_cases_are_collected_and_everything_else_reported(tmp_path):
    (tmp_path / "case_a.nii.gz").write_bytes(NIFTI_GZ)
    (tmp_path / "case_b.nii.gz").write_bytes(b"plain text, not gzip")
    (tmp_path / "stray.nii.gz").write_bytes(NIFTI_GZ)
    (tmp_path / "notes.txt").write_text("hello")
    os.symlink("/etc/passwd", tmp_path / "case_c.nii.gz")
    (tmp_path / "case_d.nii.gz").mkdir()
    os.mkfifo(tmp_path / "case_e.nii.gz")

    collected = collect_outputs(
        tmp_path, case_ids=["case_a", "case_b", "case_c", "case_d", "case_e", "case_f"]
    )
    assert collected.files == {"case_a": tmp_path / "case_a.nii.gz"}
    assert set(collected.rejected) == {"case_b"}
    assert "not gzip-compressed" in collected.rejected["case_b"]
    text = "\n".join(collected.problems)
    assert "case_c.nii.gz was ignored: it is a symbolic link." in text
    assert "case_d.nii.gz was ignored: it is not a regular file." in text
    assert "case_e.nii.gz was ignored: it is not a regular file." in text
    assert "stray.nii.gz was ignored: expected <case id>.nii.gz" in text
    assert "notes.txt was ignored" in text
    assert sorted(collected.missing(["case_a", "case_b", "case_c", "case_f"])) == [
        "case_c",
        "case_f",
    ]
    assert "No prediction for case case_f." in text


def test_size_is_checked_before_reading(tmp_path):
    (tmp_path / "case_a.nii.gz").write_bytes(NIFTI_GZ + bytes(2000))
    collected = collect_outputs(tmp_path, case_ids=["case_a"], max_file_bytes=1000)
    assert collected.files == {}
    assert "more than the 1000 allowed" in collected.rejected["case_a"]


def test_one_file_per_case_with_the_preferred_extension(tmp_path):
    (tmp_path / "case_a.nii.gz").write_bytes(NIFTI_GZ)
    (tmp_path / "case_a.nii").write_bytes(b"\x5c\x01\x00\x00" + bytes(344))
    (tmp_path / "case_b.nii").write_bytes(b"\x00\x00\x01\x5c" + bytes(344))  # big-endian
    (tmp_path / "case_c.mha").write_bytes(b"ObjectType = Image\nNDims = 3\n")
    (tmp_path / "case_d.nii").write_bytes(b"short")
    collected = collect_outputs(tmp_path, case_ids=["case_a", "case_b", "case_c", "case_d"])
    assert {k: v.name for k, v in collected.files.items()} == {
        "case_a": "case_a.nii.gz",
        "case_b": "case_b.nii",
        "case_c": "case_c.mha",
    }
    assert "case_a.nii was ignored: case_a.nii.gz is used instead." in collected.problems
    assert "NIfTI-1 or NIfTI-2 header" in collected.rejected["case_d"]


def test_runner_notes_are_kept(tmp_path):
    collected = collect_outputs(tmp_path, case_ids=[], notes=["/output/x was ignored: link."])
    assert collected.problems == ["/output/x was ignored: link."]
