"""What each failure class means for a team and what to change: the one table the team page,
the e-mails and docs/participants.md ("Ended after it ran") say in the same words."""

from __future__ import annotations

from typing import NamedTuple


class Advice(NamedTuple):
    """A failure class in words."""

    meaning: str
    what_to_change: str


FAILURE_ADVICE: dict[str, Advice] = {
    "timeout": Advice(
        "still running at the phase's time limit, and killed",
        "make it faster: all cases together must fit the limit; check that it does not wait "
        "on the network",
    ),
    "out_of_memory": Advice(
        "over the memory limit (files in /output count too), and killed",
        "process one case at a time and free its arrays; use smaller batches or patch-wise "
        "inference",
    ),
    "nonzero_exit": Advice(
        "your process exited with a non-zero status",
        "read the log: usually a Python traceback (a write to a read-only path, a missing file, "
        "CUDA not found)",
    ),
    "no_outputs": Advice(
        "it exited normally but wrote no usable prediction",
        "write /output/<case_id>.nii.gz with the input's file name",
    ),
    "invalid_outputs": Advice(
        "files were written but none could be scored",
        "the message names each file and why (not gzip, not NIfTI, wrong name, a link)",
    ),
    "image_user": Advice(
        "the image's USER is root, or names a user missing from its /etc/passwd",
        "use a numeric non-root user: USER 1000:1000",
    ),
    "image_invalid": Advice(
        "the stored image does not load in Docker, or has nothing to run",
        "re-save it with docker save (with an ENTRYPOINT) and upload it again",
    ),
    "preflight_outputs": Advice(
        "on the public sample cases, the container did not write a usable prediction for each",
        "reproduce it locally with the sample cases (they are on the challenge page), then "
        "submit again; the slot was given back",
    ),
    "infrastructure": Advice(
        "our fault (engine down, disk full), retried automatically first",
        "nothing; submit again if it persists and tell the organisers the submission id; the "
        "slot was given back",
    ),
    "worker_lost": Advice(
        "the machine running it went away, and the retries ran out",
        "nothing; submit again and tell the organisers the submission id; the slot was given back",
    ),
}


def advice_for(failure_class: str | None) -> Advice | None:
    """The advice for a failure class, or ``None`` (succeeded, or a class without advice)."""
    return FAILURE_ADVICE.get(failure_class or "")
