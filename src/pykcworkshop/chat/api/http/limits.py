"""Account limits: sign-ups, logins and room creations per client address and per user.

Each limit is a token bucket in the backplane's limiter (``backplane().limits``), so with
Redis every process shares it. Past a limit the answer is ``429`` problem+json with
``Retry-After`` (the seconds until the bucket holds a token again). A failed login spends
:data:`FAILED_LOGIN_WEIGHT`-worth of extra tokens, so guessing runs dry long before honest
retries do. ``ACCOUNT_RATE_LIMITS=off`` turns all of this off (load tests that create
thousands of users from one address).

Rates are settings of the form ``<count>/<period>``, the period ``second``, ``minute``,
``hour``, ``day`` or a number of seconds: ``10/hour`` allows a burst of 10 and then one
every 6 minutes.
"""

from __future__ import annotations

import hashlib
import math
from http import HTTPStatus

from quart import current_app

from pykcworkshop.chat.api.http.clients import client_address
from pykcworkshop.chat.backplane import backplane
from pykcworkshop.problems import ProblemError

_PERIODS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}
#: What each limited action is called in a 429's detail.
_WHAT = {"sign-up": "sign-ups", "login": "login attempts", "room-create": "new rooms"}
#: Extra tokens a failed login spends from its buckets (5 in all, against 1 for a success).
FAILED_LOGIN_WEIGHT = 4


def parse_rate(text: str) -> tuple[float, int]:
    """Return ``(tokens per second, burst)`` of a ``<count>/<period>`` setting.

    >>> parse_rate("10/hour"), parse_rate("3/90"), parse_rate(" 1 / second ")
    ((0.002777777777777778, 10), (0.03333333333333333, 3), (1.0, 1))
    >>> parse_rate("many/hour")
    Traceback (most recent call last):
    ValueError: a rate must look like 10/hour, got 'many/hour'
    """
    count, _, period = text.partition("/")
    try:
        burst = int(count.strip())
        seconds = _PERIODS.get(period.strip().lower()) or float(period.strip())
    except ValueError:
        raise ValueError(f"a rate must look like 10/hour, got {text!r}") from None
    if burst < 1 or not seconds > 0:
        raise ValueError(f"a rate must look like 10/hour, got {text!r}")
    return burst / seconds, burst


def enabled() -> bool:
    """Whether ``ACCOUNT_RATE_LIMITS`` is on (the default)."""
    return str(current_app.config.get("ACCOUNT_RATE_LIMITS", "on")).strip().lower() not in (
        "off",
        "0",
        "false",
        "no",
    )


def _keys(action: str, user_id: int | None) -> list[str]:
    # Namespaced by deployment (every process shares SECRET_KEY): deployments, or test
    # servers, that share one Redis never share buckets.
    deployment = hashlib.sha256(str(current_app.config["SECRET_KEY"]).encode()).hexdigest()[:12]
    keys = [f"account:{deployment}:{action}:addr:{client_address()}"]
    if user_id is not None:
        keys.append(f"account:{deployment}:{action}:user:{user_id}")
    return keys


async def spend(
    action: str, setting: str, *, user_id: int | None = None, weight: int = 1, refuse: bool = True
) -> None:
    """Spend ``weight`` tokens of ``action``'s buckets (client address, and ``user_id``).

    Raises a 429 when a bucket ran dry (unless ``refuse`` is False: a penalty that only
    drains); every bucket is spent, so trying harder costs more.
    """
    if not enabled():
        return
    rate, burst = parse_rate(str(current_app.config[setting]))
    limits = backplane().limits
    allowed = True
    for key in _keys(action, user_id):
        for _ in range(weight):
            allowed = await limits.allow(key, rate=rate, burst=burst) and allowed
    if not allowed and refuse:
        retry_after = max(1, math.ceil(1 / rate))
        raise ProblemError(
            HTTPStatus.TOO_MANY_REQUESTS,
            f"too many {_WHAT.get(action, action)} from here; try again in {retry_after} seconds",
            headers={"Retry-After": str(retry_after)},
        )
