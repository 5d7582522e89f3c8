"""The kit check's rule: which tests must fail on the starter, and what counts as a defect."""

from __future__ import annotations

from pathlib import Path

from workshop import check, probe
from workshop.starter import SOCKETS


def result(path: str, outcome: str, *sockets: str) -> dict[str, object]:
    return {"path": path, "outcome": outcome, "sockets": list(sockets)}


def project_with_requirement_modules(root: Path) -> Path:
    (root / "tests" / "websockets").mkdir(parents=True)
    for name in SOCKETS:
        (root / "tests" / "websockets" / f"test_{name}.py").write_text("", encoding="utf-8")
    return root


def runs(tests: dict[str, tuple[dict[str, object], dict[str, object]]]) -> tuple[dict, dict]:
    starter = {"tests": {nodeid: pair[0] for nodeid, pair in tests.items()}}
    solution = {"tests": {nodeid: pair[1] for nodeid, pair in tests.items()}}
    return starter, solution


def sound_kit() -> dict[str, tuple[dict[str, object], dict[str, object]]]:
    tests = {}
    for name in SOCKETS:
        path = f"tests/websockets/test_{name}.py"
        tests[f"{path}::test_it"] = (result(path, "failed", name), result(path, "passed", name))
    handshake = "tests/websockets/test_handshake.py"
    tests[f"{handshake}::test_csrf[chat_message]"] = (
        result(handshake, "failed", "chat_message"),
        result(handshake, "passed", "chat_message"),
    )
    tests["tests/http/test_v1.py::test_login"] = (
        result("tests/http/test_v1.py", "passed"),
        result("tests/http/test_v1.py", "passed"),
    )
    tests["tests/test_smoke.py::test_roundtrip"] = (
        result("tests/test_smoke.py", "failed", "chat_message"),
        result("tests/test_smoke.py", "passed", "chat_message"),
    )
    return tests


def test_a_sound_kit_has_no_defects(tmp_path):
    verdict = check.judge(*runs(sound_kit()), project_with_requirement_modules(tmp_path))
    assert verdict.defects == []
    assert verdict.rows["chat_message"] == [
        "tests/websockets/test_chat_message.py::test_it",
        "tests/websockets/test_handshake.py::test_csrf[chat_message]",
    ]
    assert verdict.other_socket_tests == ["tests/test_smoke.py::test_roundtrip"]
    assert verdict.plain_tests == ["tests/http/test_v1.py::test_login"]
    table = check.table(verdict)
    assert table.splitlines()[0].split() == [
        "socket",
        "tests",
        "failing",
        "on",
        "starter",
        "passing",
        "on",
        "solution",
    ]
    assert "all requirement tests" in table and "7/7" in table


def test_a_requirement_test_passing_on_the_starter_is_a_defect(tmp_path):
    tests = sound_kit()
    path = "tests/websockets/test_handshake.py"
    tests[f"{path}::test_unknown_room"] = (
        result(path, "passed", "chat_history"),
        result(path, "passed", "chat_history"),
    )
    verdict = check.judge(*runs(tests), project_with_requirement_modules(tmp_path))
    assert verdict.defects == [
        f"{path}::test_unknown_room: a websocket requirement test that does not fail on the starter (passed)"
    ]
    assert f"{path}::test_unknown_room" in verdict.rows["chat_history"]


def test_failures_on_the_solution_and_red_plain_tests_are_defects(tmp_path):
    tests = sound_kit()
    tests["tests/http/test_v1.py::test_login"] = (
        result("tests/http/test_v1.py", "failed"),
        result("tests/http/test_v1.py", "passed"),
    )
    path = "tests/websockets/test_client_sync.py"
    tests[f"{path}::test_it"] = (result(path, "failed", "client_sync"), result(path, "failed", "client_sync"))
    verdict = check.judge(*runs(tests), project_with_requirement_modules(tmp_path))
    assert verdict.defects == [
        "tests/http/test_v1.py::test_login: uses no socket but does not pass on the starter (failed)",
        f"{path}::test_it: fails on the solution",
        "client_sync: no websocket requirement test connects to this socket",
    ]


def test_missing_requirement_modules_are_defects(tmp_path):
    verdict = check.judge({"tests": {}}, {"tests": {}}, tmp_path)
    assert len(verdict.defects) == 2 * len(SOCKETS)
    assert "chat_history: no tests/websockets/test_chat_history.py" in verdict.defects


def test_tests_skipped_on_the_solution_are_not_counted(tmp_path):
    tests = sound_kit()
    path = "tests/websockets/test_chat_message.py"
    tests[f"{path}::test_redis"] = (result(path, "skipped"), result(path, "skipped"))
    verdict = check.judge(*runs(tests), project_with_requirement_modules(tmp_path))
    assert verdict.defects == [] and verdict.skipped == [f"{path}::test_redis"]


def test_socket_paths_map_to_handlers():
    base = "ws://127.0.0.1:9/chat/api/v1"
    assert probe.socket_of(f"{base}/room/abc/chat-message") == "chat_message"
    assert probe.socket_of(f"{base}/room/abc/member-status") == "member_status"
    assert probe.socket_of(f"{base}/room/abc/client-sync") == "client_sync"
    assert probe.socket_of(f"{base}/room/abc/chat-history?x=1") == "chat_history"
    assert probe.socket_of(f"{base}/42/direct-message") == "direct_message"
    assert probe.socket_of(f"{base}/form-validation") == "form_validation"
    assert probe.socket_of(f"{base}/room/abc") is None
    assert probe.socket_of("/chat/api/v1/form-validation") == "form_validation"
    assert set(probe.SOCKET_PATHS.values()) == set(SOCKETS)


def test_raw_handshakes_are_seen():
    spy = probe.Probe(Path("unused.json"))
    spy.current = "t"
    spy.sniff(b"GET /chat/api/v1/room/r/client-sync HTTP/1.1\r\nUpgrade: websocket\r\n\r\n")
    spy.sniff(b"GET /chat/api/v1/room/r/chat-history HTTP/1.1\r\nHost: x\r\n\r\n")  # plain HTTP
    assert spy.tests["t"]["sockets"] == {"client_sync"}
