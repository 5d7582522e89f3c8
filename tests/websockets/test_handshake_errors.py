"""The catch-all error handler inside a websocket handshake (issue 14, defect 5).

A handshake has a websocket context but no request context: the handler must still log
one line naming the socket and answer a generic 500 problem, without a second error.
"""

from __future__ import annotations

import logging

import pytest
from quart.testing import WebsocketResponseError

from pykcworkshop.problems import PROBLEM_JSON


@pytest.fixture
def problems_log(caplog):
    """Records of the ``pykcworkshop`` loggers (which do not propagate to the root)."""
    package = logging.getLogger("pykcworkshop")
    package.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        package.removeHandler(caplog.handler)


async def test_a_crash_before_accepting_is_a_500_problem_and_one_log_line(local_app_factory, problems_log):
    async with local_app_factory() as app:

        @app.websocket("/boom")
        async def boom() -> None:
            raise ZeroDivisionError("before accepting")

        async with app.test_client().websocket("/boom") as ws:
            with pytest.raises(WebsocketResponseError) as refused:
                await ws.receive()
    response = refused.value.response
    assert response.status_code == 500
    assert response.headers["Content-Type"].startswith(PROBLEM_JSON)
    assert b"ZeroDivisionError" not in await response.get_data()
    errors = [record for record in problems_log.records if record.levelno >= logging.ERROR]
    # (pytest's capture may hold a record twice; what matters is no second, different error)
    assert {record.getMessage() for record in errors} == {"unhandled error on websocket /boom"}
    assert errors[0].exc_info is not None and errors[0].exc_info[0] is ZeroDivisionError
