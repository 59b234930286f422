"""Notifications: a submission that ends is noticed wherever it ends, the job is sent only after
the commit, and its e-mail (read from a real SMTP server) and signed webhook say what happened."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings
from backend.enums import PhaseKind, SubmissionStatus
from backend.jobs import RecordingJobQueue, bind_queue
from backend.notifications.hooks import bind_notifications
from backend.notifications.models import ChallengeWebhook
from backend.notifications.tasks import NOTIFY_SUBMISSION_ENDED, notify_submission_ended
from backend.notifications.webhooks import SIGNATURE_HEADER, webhook_secret
from backend.submissions import repository as submissions
from backend.teams.models import Membership
from tests.backend.conftest import SECRET
from tests.backend.factories import make_phase, make_submission, make_team, make_user
from tests.fixtures.smtp import Inbox, body_of

pytestmark = pytest.mark.postgres


@pytest.fixture
def settings(tmp_path: Path, smtp_server: Inbox) -> Settings:
    return Settings(
        environment="test",
        secret_key=SECRET,
        data_root=tmp_path / "data",
        log_json=False,
        public_url="http://podium.test",
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        webhook_attempts=3,
        webhook_backoff_s=0,
    )


@pytest.fixture
def receiver() -> Iterator[dict[str, Any]]:
    """An HTTP endpoint answering 500 once, then 204, keeping what it received."""
    seen: dict[str, Any] = {"requests": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen["requests"].append((dict(self.headers), body))
            self.send_response(500 if len(seen["requests"]) == 1 else 204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    seen["url"] = f"http://127.0.0.1:{server.server_port}/hook"
    yield seen
    server.shutdown()


def _ended(session: Session, sub_id: int, status: SubmissionStatus, **kw: Any) -> None:
    sub = submissions.get_submission_for_update(session, sub_id)
    assert sub is not None
    submissions.set_status(session, sub, status=status, **kw)


def test_a_failed_submission_e_mails_its_team_with_what_to_change_and_calls_the_webhook(
    db_session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    inbox: Inbox,
    receiver: dict[str, Any],
) -> None:
    phase = make_phase(db_session, kind=PhaseKind.VALIDATION)
    captain, member = make_user(db_session), make_user(db_session)
    team = make_team(db_session, challenge_id=phase.task.challenge_id, captain=captain)
    db_session.add(Membership(team_id=team.id, user_id=member.id, challenge_id=team.challenge_id))
    sub = make_submission(db_session, team=team, phase=phase)
    hook = ChallengeWebhook(challenge_id=team.challenge_id, url=receiver["url"], salt="s" * 32)
    db_session.add(hook)
    db_session.commit()

    # A worker's transaction: bound to a queue, as worker/context.py binds every session.
    jobs = RecordingJobQueue()
    with session_factory() as session:
        bind_queue(session, jobs)
        bind_notifications(session, queue_name="notifications")
        _ended(session, sub.id, SubmissionStatus.RUNNING)
        session.rollback()  # nothing ended: nothing sent
        assert jobs.sent == []
        _ended(session, sub.id, SubmissionStatus.RUNNING)
        _ended(
            session,
            sub.id,
            SubmissionStatus.FAILED,
            failure_class="out_of_memory",
            message="killed at 256 MiB",
        )
        assert jobs.sent == []  # not before the commit
        session.commit()
    assert [(j.task_name, j.args, j.queue) for j in jobs.sent] == [
        (NOTIFY_SUBMISSION_ENDED, (sub.id,), "notifications")
    ]

    assert notify_submission_ended(session_factory, settings, sub.id) == "sent"
    mail = inbox.wait_for(member.email)
    assert captain.email in mail["To"]
    assert f"submission {sub.id}: failed" in mail["Subject"]
    text = body_of(mail)
    assert "Failure class: out_of_memory" in text
    assert "What to change: process one case at a time" in text
    assert "killed at 256 MiB" in text
    assert "http://podium.test/team.html?challenge=" in text

    # The webhook: retried after a 500, each delivery signed with the derived secret.
    assert len(receiver["requests"]) == 2
    headers, body = receiver["requests"][-1]
    secret = webhook_secret(hook, secret_key=SECRET)
    stamp, mac = headers[SIGNATURE_HEADER].removeprefix("t=").split(",v1=")
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(mac, expected)
    event = json.loads(body)
    assert event["event"] == "submission.ended"
    assert event["data"]["failure_class"] == "out_of_memory"
    assert headers["X-Podium-Delivery"] == receiver["requests"][0][0]["X-Podium-Delivery"]
    db_session.expire_all()
    stored = db_session.get(ChallengeWebhook, hook.id)
    assert stored is not None
    assert stored.last_status == "submission.ended: 204 after 2 attempts"


def test_a_refunded_final_submission_e_mails_no_hidden_case_details(
    db_session: Session, session_factory: sessionmaker[Session], settings: Settings, inbox: Inbox
) -> None:
    phase = make_phase(db_session, kind=PhaseKind.FINAL)
    captain = make_user(db_session)
    team = make_team(db_session, challenge_id=phase.task.challenge_id, captain=captain)
    sub = make_submission(db_session, team=team, phase=phase)
    _ended(db_session, sub.id, SubmissionStatus.ERROR, message="hidden_case_7 could not be read")
    db_session.commit()
    notify_submission_ended(session_factory, settings, sub.id)
    text = body_of(inbox.wait_for(captain.email))
    assert "given back" in text
    assert "hidden_case_7" not in text
