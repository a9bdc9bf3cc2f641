"""Work deferred until after the response: every task runs, whatever another one does."""

import logging

from apikeys.infra import deferred


def test_a_failing_task_is_logged_and_the_others_still_run(caplog):
    ran = []

    def broken() -> None:
        raise RuntimeError("database is locked")

    deferred.request_started()
    deferred.after_response(broken)
    deferred.after_response(lambda: ran.append("last_used"))
    with caplog.at_level(logging.ERROR, logger="apikeys.infra.deferred"):
        deferred.request_finished()
    assert ran == ["last_used"]
    assert "deferred task failed" in caplog.text and "database is locked" in caplog.text


def test_outside_a_request_a_task_runs_at_once():
    ran = []
    deferred.after_response(lambda: ran.append(1))
    assert ran == [1]
