"""The e-mails Podium writes, as plain text (pure functions: data in, :class:`Mail` out)."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from backend.notifications.mailer import Mail
from backend.submissions.advice import advice_for

SIGN_OFF = "\n\n-- \nPodium (this message was sent automatically; replies are not read)\n"


def signup_link(*, base_url: str, to: str, token: str, hours: int) -> Mail:
    """The link that confirms a sign-up."""
    return Mail(
        to=(to,),
        subject="Confirm your Podium account",
        body=(
            f"Someone (we hope you) signed up on Podium with {to}.\n\n"
            f"Follow this link to confirm the address and sign in; it works for {hours} hours "
            f"and once:\n\n  {base_url}/account.html#verify={token}\n\n"
            "If this was not you, ignore this message: no account is made without the link."
            + SIGN_OFF
        ),
    )


def account_exists(*, base_url: str, to: str) -> Mail:
    """To the owner of an address someone tried to sign up with again."""
    return Mail(
        to=(to,),
        subject="You already have a Podium account",
        body=(
            f"Someone (perhaps you) tried to sign up on Podium with {to}, which has an account "
            f"already. Sign in at {base_url}/account.html, or choose a new password there "
            "(\u201cForgot your password?\u201d). If this was not you, ignore this message."
            + SIGN_OFF
        ),
    )


def reset_link(*, base_url: str, to: str, token: str, minutes: int) -> Mail:
    """The link that sets a new password."""
    return Mail(
        to=(to,),
        subject="Choose a new Podium password",
        body=(
            f"Someone (we hope you) asked to reset the password of the Podium account {to}.\n\n"
            f"Follow this link to choose a new one; it works for {minutes} minutes and once:\n\n"
            f"  {base_url}/account.html#reset={token}\n\n"
            "Signing in with the new password ends every other browser session; API tokens "
            "stay valid (revoke them on the tokens page if needed). If this was not you, ignore "
            "this message: your password stays as it is." + SIGN_OFF
        ),
    )


def submission_ended(
    *,
    base_url: str,
    to: Sequence[str],
    challenge_slug: str,
    team: str,
    phase: str,
    submission_id: int,
    status: str,
    failure_class: str | None,
    message: str,
    summary: Sequence[str],
    refunded: bool,
) -> Mail:
    """To a team's members when one of its submissions ends."""
    lines = [f"Submission {submission_id} of team {team} to {phase} has ended: {status}."]
    if status == "succeeded":
        if summary:
            lines += ["", "Validation summary:", *(f"  {line}" for line in summary)]
        if message:
            lines += ["", message]
    else:
        advice = advice_for(failure_class)
        if failure_class:
            lines += ["", f"Failure class: {failure_class}"]
        if advice is not None:
            lines += [
                f"What it means: {advice.meaning}.",
                f"What to change: {advice.what_to_change}.",
            ]
        if message:
            lines += ["", message]
    if refunded:
        lines += ["", "Its quota slot was given back to the team."]
    page = f"{base_url}/team.html?challenge={quote(challenge_slug)}"
    lines += ["", f"Your team's page (status, log, scores, quota): {page}"]
    return Mail(
        to=tuple(to),
        subject=f"[{challenge_slug}] submission {submission_id}: {status.replace('_', ' ')}",
        body="\n".join(lines) + SIGN_OFF,
    )


def team_waiting(
    *, base_url: str, to: Sequence[str], challenge_slug: str, team: str, captain: str
) -> Mail:
    """To the organisers when a team asks for approval."""
    page = f"{base_url}/organiser.html?challenge={quote(challenge_slug)}#teams"
    return Mail(
        to=tuple(to),
        subject=f"[{challenge_slug}] team {team} waits for approval",
        body=(
            f"Team {team} (captain: {captain}) was created in {challenge_slug} and waits for an "
            f"organiser's approval before it can submit.\n\nApprove or reject it here: {page}"
            + SIGN_OFF
        ),
    )
