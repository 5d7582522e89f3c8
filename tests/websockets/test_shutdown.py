"""SIGTERM with many websockets open (issue 14, defect 6): 1001 for all, one log line.

Before, hypercorn cancelled every connection after its graceful timeout: the clients saw
1006 and the log held a traceback per socket. ``bench/shutdown.py`` runs 2,000.
"""

from __future__ import annotations

from tests.support.shutdown import sigterm_with_open_sockets

SOCKETS = 200


async def test_sigterm_closes_every_websocket_with_1001_and_logs_one_line(live_server, tmp_path):
    report = await sigterm_with_open_sockets(tmp_path, dict(live_server.env), SOCKETS)
    assert report.endings == {(1001, "server shutting down"): SOCKETS}
    assert "Traceback" not in report.log
    shutdown_lines = [line for line in report.log.splitlines() if "shutting down" in line]
    assert len(shutdown_lines) == 1 and f"closing {SOCKETS} open websocket" in shutdown_lines[0]
    assert report.exit_code == 0
    assert report.seconds_to_exit < 10
