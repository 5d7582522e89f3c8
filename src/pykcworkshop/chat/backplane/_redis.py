"""What the Redis-backed parts of the backplane share: client options and outage errors.

Imported only when ``BROKER_URL`` is ``redis://`` (or ``rediss://``), so the redis package
stays optional.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import RedisError

__all__ = ["REDIS_ERRORS", "RedisError", "client", "safe_url"]

#: Errors that mean "Redis is unreachable or the connection broke". Callers catch these
#: and carry on (log, fall back to this process's view); they never reach a handler.
REDIS_ERRORS = (RedisError, OSError, TimeoutError)


def client(
    url: str,
    *,
    connect_timeout: float = 2.0,
    command_timeout: float = 5.0,
    retries: int = 2,
    backoff: bool = True,
    client_name: str | None = None,
) -> Redis:
    """Return a Redis client for ``url``; its connections open on first use.

    Timeouts are short, so an unreachable Redis is noticed in seconds rather than hanging a
    request. ``retries`` is how often redis-py repeats a command after a connection error,
    with a short exponential ``backoff`` (capped at half a second) or none.
    """
    strategy = ExponentialBackoff(cap=0.5, base=0.05) if backoff else NoBackoff()
    return Redis.from_url(
        url,
        socket_connect_timeout=connect_timeout,
        socket_timeout=command_timeout,
        socket_keepalive=True,
        retry=Retry(strategy, retries),
        client_name=client_name,
    )


def safe_url(url: str) -> str:
    """Return ``url`` without its credentials, for logs.

    >>> safe_url("redis://user:secret@cache:6379/0"), safe_url("redis://cache:6379/0")
    ('redis://***@cache:6379/0', 'redis://cache:6379/0')
    """
    head, sep, tail = url.rpartition("@")
    if not sep:
        return url
    scheme, _, _ = head.partition("://")
    return f"{scheme}://***@{tail}"
