"""Per-challenge webhooks: events POSTed as JSON, signed with HMAC-SHA256, retried.

Each delivery carries ``X-Podium-Event`` (the event name), ``X-Podium-Delivery`` (a
unique id, the same across retries, to drop duplicates) and
``X-Podium-Signature: t=<unix time>,v1=<hex>``, where ``v1`` is
``HMAC-SHA256(secret, "<t>.<body>")``. A receiver recomputes it with the secret
shown on the organisers' page and refuses old ``t`` values (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import structlog

from backend.notifications.models import ChallengeWebhook

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "X-Podium-Signature"


def webhook_secret(webhook: ChallengeWebhook, *, secret_key: str) -> str:
    """The signing secret of a webhook, derived (never stored) from the server's key."""
    message = f"webhook:{webhook.challenge_id}:{webhook.salt}".encode()
    return "whsec_" + hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def signature(secret: str, *, body: bytes, timestamp: int) -> str:
    """The ``X-Podium-Signature`` value of ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def event_body(event: str, *, challenge: str, data: dict[str, Any]) -> dict[str, Any]:
    """The JSON document of one event."""
    return {"id": uuid.uuid4().hex, "event": event, "challenge": challenge, "data": data}


def deliver(
    *,
    url: str,
    secret: str,
    body: dict[str, Any],
    attempts: int,
    backoff_s: float,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """POST ``body`` until a 2xx answer, at most ``attempts`` times with doubling waits.

    Returns
    -------
    str
        The outcome in words (for the organisers' page): ``"200 after 1 attempt"`` or
        the last error.
    """
    payload = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    outcome = "not sent"
    for attempt in range(1, attempts + 1):
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Podium-Webhook/1",
            "X-Podium-Event": str(body["event"]),
            "X-Podium-Delivery": str(body["id"]),
            SIGNATURE_HEADER: signature(secret, body=payload, timestamp=int(time.time())),
        }
        try:
            response = httpx.post(url, content=payload, headers=headers, timeout=10.0)
        except httpx.HTTPError as exc:
            outcome = f"{type(exc).__name__}: {exc}"[:300]
        else:
            if 200 <= response.status_code < 300:
                plural = "s" if attempt > 1 else ""
                return f"{response.status_code} after {attempt} attempt{plural}"
            outcome = f"HTTP {response.status_code}"
        log.warning("webhook.failed", url=url, attempt=attempt, outcome=outcome)
        if attempt < attempts:
            sleep(backoff_s * 2 ** (attempt - 1))
    return f"gave up after {attempts} attempts: {outcome}"
