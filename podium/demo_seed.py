"""What the demo puts in its challenge: the teams, their models and one entry per phase.

:func:`seed` runs on the demo's helper thread once the server answers, through
the real HTTP API (:mod:`podium.seed`); :func:`banner` prints where everything
is. Every team enters each task's validation phase and both interactive phases
(static and closed loop) with the same image: the example model answers the
TriALS arguments with its interactive mode (examples/threshold-model/README.md).
"""

from __future__ import annotations

from pathlib import Path

from podium.images import TEAMS, build_team_image
from podium.seed import Api, Say, Seeded, apply_challenge, submit_once, team_access, wait_for

#: The demo's interactive task (demo/challenge.py).
INTERACTIVE_TASK = "interactive"


def seed(
    *,
    base_url: str,
    root: Path,
    challenge_file: Path,
    organiser: str,
    known: dict[str, str],
    say: Say,
    timeout_s: float,
) -> Seeded:
    """Challenge, inputs, labels, teams, images and one submission per team and phase."""
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
        entries = [(f"{task}/validation", pid) for task, pid in seeded.phases.items()]
        entries += [(f"{INTERACTIVE_TASK}/{slug}", pid) for slug, pid in seeded.interactive.items()]
        for team in TEAMS:
            seeded.teams.append(
                team_access(
                    api, team=team, organiser=organiser, known_token=known.get(team.email), say=say
                )
            )
        submitted: dict[int, tuple[str, str]] = {}
        for team, access in zip(TEAMS, seeded.teams, strict=True):
            knobs = ", ".join(team.defines) or "default build"
            say(f"building the {team.name} model ({team.tag}; {knobs})")
            tarball = build_team_image(team, out=root / "images" / f"{team.slug}.tar.gz")
            for where, phase_id in entries:
                entry = submit_once(api, token=access.token, phase_id=phase_id, tarball=tarball)
                if entry is None:
                    continue
                submission_id, new = entry
                verb = "submitted to" if new else "is still being evaluated on"
                say(f"{team.name} {verb} {where} (submission {submission_id})")
                submitted[submission_id] = (access.token, f"{team.name} {where}")
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
    ]
    lines += [
        f"  interactive     {board}{INTERACTIVE_TASK}&phase={pid} ({slug})"
        for slug, pid in seeded.interactive.items()
    ]
    lines += [
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
    interactive = ", ".join(f"{slug} = phase {pid}" for slug, pid in seeded.interactive.items())
    lines += [f"  phases     {phases}"]
    if interactive:
        lines += [f"  interactive phases  {interactive}"]
    lines += [
        "",
        "Submit again: python3 examples/submit.py "
        f"{root / 'images' / 'hepatica.tar.gz'} "
        f"--phase {task1} --url {base_url} --token <team token> --wait",
        "Press Ctrl-C to stop.",
    ]
    return "\n".join(lines)
