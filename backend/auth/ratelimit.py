"""Rate limits on sign-in, sign-up and password reset, shared by every API process.

A sliding window per bucket (``signin:addr:<e-mail>``, ``signin:ip:<address>``, …):
at most ``limit`` requests in any ``window_s`` seconds. The counters live where
every process sees them: the application's database (PostgreSQL or SQLite) by
default, or Redis when ``PODIUM_RATE_LIMIT_REDIS_URL`` is set. Every attempt
counts, successful or not, and it is counted before the password is looked at,
so the answer's timing does not depend on it.

Two requests racing for the last slot may both pass (the check and the insert
are not one statement): a limit is a brake on guessing, not a quota.
"""

from __future__ import annotations

import math
import time
import uuid
from datetime import timedelta
from typing import Protocol

import redis
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.auth.models import RateLimitHit
from backend.db import utcnow
from backend.errors import DomainError


class RateLimitedError(DomainError):
    """429 with the wait in words and in ``Retry-After``."""

    def __init__(self, what: str, retry_after_s: float) -> None:
        wait = max(1, math.ceil(retry_after_s))
        words = f"{wait} seconds" if wait < 120 else f"{math.ceil(wait / 60)} minutes"
        super().__init__(f"too many {what}; try again in {words}", 429)
        self.headers = {"Retry-After": str(wait)}


class RateLimiter(Protocol):
    """Counts requests per bucket."""

    def hit(self, bucket: str, *, limit: int, window_s: int) -> float | None:
        """Count one request; ``None`` when allowed, else the seconds until one would be."""


class DatabaseRateLimiter:
    """Counters as rows of ``rate_limit_hits``, each hit in its own committed transaction.

    Its own transaction, because the request's is rolled back when the attempt
    fails (a wrong password), and a failed attempt must still count.
    """

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._factory = session_factory

    def hit(self, bucket: str, *, limit: int, window_s: int) -> float | None:
        """See :meth:`RateLimiter.hit`."""
        now = utcnow()
        since = now - timedelta(seconds=window_s)
        with self._factory() as session, session.begin():
            # Old rows of this bucket go as it is used; a quiet bucket keeps a few rows.
            session.execute(
                delete(RateLimitHit).where(RateLimitHit.bucket == bucket, RateLimitHit.at <= since)
            )
            count, oldest = session.execute(
                select(func.count(RateLimitHit.id), func.min(RateLimitHit.at)).where(
                    RateLimitHit.bucket == bucket, RateLimitHit.at > since
                )
            ).one()
            if count >= limit and oldest is not None:
                return max((oldest - since).total_seconds(), 1.0)
            session.add(RateLimitHit(bucket=bucket, at=now))
        return None


class RedisRateLimiter:
    """Counters as Redis sorted sets (one per bucket, expiring with the window)."""

    def __init__(self, url: str, *, prefix: str = "podium:ratelimit:") -> None:
        self._redis = redis.Redis.from_url(url)
        self._prefix = prefix

    def hit(self, bucket: str, *, limit: int, window_s: int) -> float | None:
        """See :meth:`RateLimiter.hit`."""
        key = self._prefix + bucket
        now = time.time()
        pipe = self._redis.pipeline()
        pipe.zremrangebyscore(key, "-inf", now - window_s)
        pipe.zcard(key)
        pipe.zrange(key, 0, 0, withscores=True)
        _, count, oldest = pipe.execute()
        if count >= limit and oldest:
            return max(float(oldest[0][1]) + window_s - now, 1.0)
        pipe = self._redis.pipeline()
        pipe.zadd(key, {uuid.uuid4().hex: now})
        pipe.expire(key, window_s + 1)
        pipe.execute()
        return None


def check(
    limiter: RateLimiter,
    *,
    action: str,
    what: str,
    email: str | None,
    client_ip: str | None,
    per_address: int,
    per_ip: int,
    window_s: int,
) -> None:
    """Count one ``action`` for the e-mail address and the client; 429 past either limit.

    Parameters
    ----------
    limiter
        Where the counters live.
    action
        ``signin``, ``signup`` or ``reset``: each has its own buckets.
    what
        The refused thing in words (``sign-in attempts``).
    email, client_ip
        The buckets' keys; ``None`` skips that bucket.
    per_address, per_ip, window_s
        The limits.
    """
    waits = []
    if email:
        waits.append(
            limiter.hit(
                f"{action}:addr:{email.strip().lower()}", limit=per_address, window_s=window_s
            )
        )
    if client_ip:
        waits.append(limiter.hit(f"{action}:ip:{client_ip}", limit=per_ip, window_s=window_s))
    refused = [w for w in waits if w is not None]
    if refused:
        raise RateLimitedError(what, max(refused))
