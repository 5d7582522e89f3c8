"""The per-connection token bucket."""

from __future__ import annotations

import pytest

from pykcworkshop.chat.backplane import ratelimit
from pykcworkshop.chat.backplane.ratelimit import TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(ratelimit.time, "monotonic", fake)
    return fake


def test_burst_is_allowed_at_once(clock):
    bucket = TokenBucket(rate=10.0, burst=20)
    assert all(bucket.take() for _ in range(20))


def test_event_beyond_burst_is_refused(clock):
    bucket = TokenBucket(rate=10.0, burst=20)
    for _ in range(20):
        bucket.take()
    assert bucket.take() is False


def test_tokens_refill_at_the_rate(clock):
    bucket = TokenBucket(rate=10.0, burst=20)
    for _ in range(20):
        bucket.take()
    clock.now += 0.1  # one token at 10/s
    assert bucket.take() is True
    assert bucket.take() is False


def test_sustained_rate_is_allowed(clock):
    bucket = TokenBucket(rate=10.0, burst=1)
    for _ in range(100):
        assert bucket.take() is True
        clock.now += 0.1


def test_idle_time_never_saves_more_than_the_burst(clock):
    bucket = TokenBucket(rate=10.0, burst=5)
    clock.now += 3600
    assert sum(bucket.take() for _ in range(10)) == 5


def test_refused_events_do_not_spend_tokens(clock):
    bucket = TokenBucket(rate=1.0, burst=1)
    bucket.take()
    for _ in range(10):
        assert bucket.take() is False
    clock.now += 1.0
    assert bucket.take() is True
