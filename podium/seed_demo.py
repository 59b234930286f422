"""The demo's seeding as a whole: teams, their models, method names and write-ups, each
validation board's reference entries (a baseline container and a second reader's masks), the
interactive phases' entries, and the banner that says where it all is.

Every step goes through the HTTP API (:mod:`podium.seed`) and skips what exists already.
The interactive task's phases (static and closed loop) get the same images: the example
model answers the TriALS arguments with its interactive mode
(examples/threshold-model/README.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from backend.writeups.pdf import minimal_pdf
from podium import registry
from podium.images import BASELINE, INTERACTIVE_TASK, TEAMS, build_team_image
from podium.seed import (
    TERMINAL,
    Api,
    Say,
    Seeded,
    apply_challenge,
    submit_once,
    tar_gz_of,
    team_access,
    wait_for,
)


def add_reference(
    api: Api,
    *,
    organiser: str,
    phase_id: int,
    name: str,
    kind: str,
    source: str,
    payload: Path | bytes,
    link: str = "",
    description: str = "",
) -> int | None:
    """Enter a reference entry on a phase unless one of that name exists.

    Returns
    -------
    int or None
        The reference's submission to wait for; ``None`` when it is already scored.
    """
    listing = api.call("GET", f"/phases/{phase_id}/references", token=organiser).json()
    for ref in listing:
        if ref["name"] == name:
            return None if ref["status"] in TERMINAL else int(ref["submission_id"])
    body = payload.read_bytes() if isinstance(payload, Path) else payload
    answer = api.call(
        "POST",
        f"/phases/{phase_id}/references/{source}",
        token=organiser,
        params={"name": name, "kind": kind, "link": link, "description": description},
        content=body,
        headers={"Content-Type": "application/octet-stream"},
    ).json()
    return int(answer["submission_id"])


def hidden_cases(api: Api, *, organiser: str, phase_id: int) -> list[str]:
    """The phase's hidden test case keys."""
    cases = api.call("GET", f"/phases/{phase_id}/cases", token=organiser).json()
    return [c["case_key"] for c in cases if not c["is_sample"]]


def predictions_archive(folder: Path, keys: Iterable[str]) -> bytes:
    """A .tar.gz of ``<key>.nii.gz`` from ``folder`` for the given case keys."""
    return tar_gz_of(folder / f"{key}.nii.gz" for key in keys)


def describe_method(api: Api, *, token: str, phase_id: int, method: str, writeup: bytes) -> None:
    """Name the team's method on the board and upload its write-up, unless already done."""
    current = api.call("GET", f"/phases/{phase_id}/writeup", token=token).json()
    if current["method_name"] != method:
        api.call("PUT", f"/phases/{phase_id}/writeup/method", token=token, json={"name": method})
    if current["pdf_url"] is None:
        api.call(
            "PUT",
            f"/phases/{phase_id}/writeup.pdf",
            token=token,
            content=writeup,
            headers={"Content-Type": "application/pdf"},
        )


def seed_demo(
    *,
    say: Say,
    timeout_s: float,
    base_url: str,
    root: Path,
    challenge_file: Path,
    organiser: str,
    known: dict[str, str],
) -> Seeded:
    """Challenge, inputs, labels, teams, images, one submission per team and task, and on each
    validation board a baseline (a container) and a second reader (uploaded masks)."""
    api = Api(base_url)
    try:
        challenge = apply_challenge(
            api, organiser=organiser, challenge_file=challenge_file, say=say
        )
        seeded = Seeded(
            phases={
                task["slug"]: next(p["id"] for p in task["phases"] if p["slug"] == "validation")
                for task in challenge["tasks"]
                if task["slug"] != INTERACTIVE_TASK
            },
            interactive={
                p["slug"]: p["id"]
                for task in challenge["tasks"]
                if task["slug"] == INTERACTIVE_TASK
                for p in task["phases"]
            },
        )
        entries = [(task, f"{task}/validation", pid) for task, pid in seeded.phases.items()]
        entries += [
            (INTERACTIVE_TASK, f"{INTERACTIVE_TASK}/{slug}", pid)
            for slug, pid in seeded.interactive.items()
        ]
        for team in TEAMS:
            seeded.teams.append(
                team_access(
                    api, team=team, organiser=organiser, known_token=known.get(team.email), say=say
                )
            )
        say(f"building {len(TEAMS) + 1} models (the example threshold model, tuned per team)")
        # gcc and docker import/save run as subprocesses: three at a time halves the wait.
        with ThreadPoolExecutor(max_workers=3) as pool:
            tarballs = dict(
                zip(
                    [t.slug for t in (*TEAMS, BASELINE)],
                    pool.map(
                        lambda t: build_team_image(t, out=root / "images" / f"{t.slug}.tar.gz"),
                        (*TEAMS, BASELINE),
                    ),
                    strict=True,
                )
            )
        submitted: dict[int, tuple[str, str]] = {}
        for team, access in zip(TEAMS, seeded.teams, strict=True):
            for task, where, phase_id in entries:
                if task not in team.tasks:
                    continue
                describe_method(
                    api,
                    token=access.token,
                    phase_id=phase_id,
                    method=team.method,
                    writeup=minimal_pdf(f"{team.name}: {team.method}"),
                )
                entry = submit_once(
                    api, token=access.token, phase_id=phase_id, tarball=tarballs[team.slug]
                )
                if entry is None:
                    continue
                submission_id, new = entry
                verb = "submitted to" if new else "is still being evaluated on"
                say(f"{team.name} {verb} {where} (submission {submission_id})")
                submitted[submission_id] = (access.token, f"{team.name} {where}")
        readers = challenge_file.parent / "second-reader"
        for task, phase_id in seeded.phases.items():
            keys = hidden_cases(api, organiser=organiser, phase_id=phase_id)
            modality = "venous" if task == "task1" else "noncontrast"
            references = (
                (BASELINE.name, "baseline", "container", tarballs[BASELINE.slug], BASELINE.method),
                (
                    "Second reader",
                    "human",
                    "predictions",
                    predictions_archive(readers / modality, keys),
                    "a second radiologist's masks (inter-reader agreement)",
                ),
            )
            for name, kind, source, payload, description in references:
                sid = add_reference(
                    api,
                    organiser=organiser,
                    phase_id=phase_id,
                    name=name,
                    kind=kind,
                    source=source,
                    payload=payload,
                    description=description,
                )
                if sid is not None:
                    say(f"reference entry {name} ({kind}) entered on {task}/validation")
                    submitted[sid] = (organiser, f"{name} {task}")
        if submitted:
            say(f"evaluating {len(submitted)} submissions in-process")
            wait_for(api, submissions=submitted, timeout_s=timeout_s, say=say)
        else:
            say("every team has entered already")
        return seeded
    finally:
        api.close()


def banner(
    *, base_url: str, root: Path, seeded: Seeded, organiser: str, organiser_login: tuple[str, str]
) -> str:
    """The URLs and the demo credentials, as printed once the demo is ready."""
    task1 = seeded.phases.get("task1")
    board = f"{base_url}/?challenge=trials-demo#task="
    lines = [
        "",
        f"Podium demo is ready at {base_url}",
        f"  leaderboard     {board}task1&phase={task1}",
        *(
            f"  interactive     {board}{INTERACTIVE_TASK}&phase={pid} ({slug})"
            for slug, pid in seeded.interactive.items()
        ),
        f"  team page       {base_url}/team.html?challenge=trials-demo",
        f"  organiser page  {base_url}/organiser.html?challenge=trials-demo",
        f"  API docs        {base_url}/docs",
        f"  readiness       {base_url}/readyz     metrics {base_url}/metrics",
        "",
        f"  organiser  {organiser_login[0]} / {organiser_login[1]}",
        f"             token {organiser}",
    ]
    for team in seeded.teams:
        note = " (organiser-affiliated)" if team.affiliated else ""
        lines += [
            f"  {team.name}{note}  {team.email} / {team.password}",
            f"             token {team.token}",
        ]
    phases = ", ".join(f"{task} validation = phase {pid}" for task, pid in seeded.phases.items())
    lines += [f"  phases     {phases}"]
    if seeded.interactive:
        listed = ", ".join(f"{slug} = phase {pid}" for slug, pid in seeded.interactive.items())
        lines += [f"  interactive phases  {listed}"]
    lines += [""]
    first = seeded.teams[0]
    if task1 is not None:
        lines += registry.push_lines(
            base_url=base_url, token=first.token, phase_id=task1, local_image=TEAMS[0].tag
        )
    lines += [
        "Submit a tarball: .venv/bin/podium-submit "
        f"{root / 'images' / 'hepatica.tar.gz'} "
        f"--phase {task1} --url {base_url} --token <team token> --wait",
        "Press Ctrl-C to stop.",
    ]
    return "\n".join(lines)
