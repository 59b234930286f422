"""The TriALS click file: writing, reading back, and a clear error for each kind of bad file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scoring.interactive.clickfile import (
    MAX_CLICK_FILE_BYTES,
    ClickFileError,
    Clicks,
    click_file_name,
    read_click_file,
    validate_clicks,
    write_click_file,
)
from scoring.labelcase import LabelCase


def test_written_files_read_back_and_keep_the_trials_layout(tmp_path):
    clicks = Clicks(lesion=((1, 2, 3), (4, 5, 6)), background=((0, 0, 0),))
    path = write_click_file(tmp_path / click_file_name("venous_0"), clicks)
    assert path.name == "venous_0_clicks.json"
    assert json.loads(path.read_text()) == {
        "lesion": [[1, 2, 3], [4, 5, 6]],
        "background": [[0, 0, 0]],
    }
    assert read_click_file(path, count=10, shape=(8, 8, 8)).clicks == clicks
    assert [p.name for p in tmp_path.iterdir()] == ["venous_0_clicks.json"]


def test_the_trials_simulators_tumor_key_reads_as_lesion(tmp_path):
    got = validate_clicks({"tumor": [[1, 1, 1]], "background": [[2, 2, 2.0]]}, count=10)
    assert got.clicks == Clicks(lesion=((1, 1, 1),), background=((2, 2, 2),))
    assert got.clicks.to_json()["lesion"] == [[1, 1, 1]]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([[1, 2, 3]], "expected a JSON object"),
        ({"lesions": [[1, 2, 3]]}, "unknown key 'lesions'"),
        ({"lesion": [], "tumor": []}, "'tumor' repeats the 'lesion' list"),
        ({}, "neither a 'lesion' nor a 'background' list"),
        ({"lesion": {"x": 1}}, "'lesion' must be a list of [x, y, z], got dict"),
        ({"lesion": [[1, 2]]}, r"lesion[0]: expected [x, y, z]"),
        ({"lesion": [[1, 2, 3.5]]}, "lesion[0]: z = 3.5 is not a whole voxel index"),
        ({"lesion": [[1, True, 3]]}, "lesion[0]: y = True is not a whole voxel index"),
        ({"background": [[1, "2", 3]]}, "background[0]: y = '2' is not a whole voxel index"),
        ({"lesion": [[1, 2, 3]] * 11}, "'lesion' holds 11 clicks; this phase uses 10"),
        ({"lesion": [[8, 2, 3]]}, "lesion[0]: [8, 2, 3] lies outside the 8×8×4 image (axis x)"),
        ({"background": [[-1, 0, 4]]}, "axis x, z"),
    ],
)
def test_bad_content_gets_a_message_naming_the_problem(data, message):
    with pytest.raises(ClickFileError) as info:
        validate_clicks(data, count=10, shape=(8, 8, 4), name="venous_0_clicks.json")
    assert message in str(info.value)
    assert str(info.value).startswith("venous_0_clicks.json: ")


def test_every_problem_is_listed_at_once():
    with pytest.raises(ClickFileError) as info:
        validate_clicks({"lesion": [[1.5, 0, 0], [0, 0]], "extra": 1}, count=10)
    text = str(info.value)
    assert "unknown key 'extra'" in text
    assert "lesion[0]" in text
    assert "lesion[1]" in text


def test_clicks_off_their_target_are_warnings_not_errors():
    m = np.zeros((6, 6, 6), dtype=bool)
    m[1:3, 1:3, 1:3] = True
    label = LabelCase.from_mask(m, case_id="c")
    got = validate_clicks(
        {"lesion": [[1, 1, 1], [5, 5, 5], [1, 1, 1]], "background": [[2, 2, 2]]},
        count=10,
        label=label,
    )
    assert len(got.clicks.lesion) == 3
    text = " | ".join(got.warnings)
    assert "lesion clicks repeat [[1, 1, 1]]" in text
    assert "lesion clicks outside every lesion of the label: [[5, 5, 5]]" in text
    assert "background clicks on a lesion of the label: [[2, 2, 2]]" in text


def test_files_that_are_not_click_files(tmp_path):
    cases = {
        "missing.json": None,
        "broken.json": b'{"lesion": [[1, 2, 3]',
        "latin1.json": '{"lesion": [["é"]]}'.encode("latin-1"),
        "huge.json": b" " * (MAX_CLICK_FILE_BYTES + 1),
        "deep.json": b"[" * 100_000 + b"]" * 100_000,
    }
    for name, content in cases.items():
        if content is not None:
            (tmp_path / name).write_bytes(content)
        with pytest.raises(ClickFileError, match=name.replace(".", r"\.")):
            read_click_file(tmp_path / name, count=10)
    good = tmp_path / "good.json"
    good.write_bytes(b'\xef\xbb\xbf{"lesion": [[1, 2, 3]], "background": []}')  # a BOM is fine
    (tmp_path / "link.json").symlink_to(good)
    assert read_click_file(good, count=10).clicks.lesion == ((1, 2, 3),)
    with pytest.raises(ClickFileError, match="symbolic link"):
        read_click_file(tmp_path / "link.json", count=10)
