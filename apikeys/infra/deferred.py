"""Work that should not hold up a response: run after it has gone (request_finished), or at once when no
request is being served (management commands, shells)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.db import DatabaseError

log = logging.getLogger(__name__)
_local = threading.local()


def after_response(task: Callable[[], object]) -> None:
    if getattr(_local, "tasks", None) is not None:
        _local.tasks.append(task)
    else:
        task()


def request_started(**kwargs) -> None:
    _local.tasks = []


def request_finished(**kwargs) -> None:
    tasks, _local.tasks = getattr(_local, "tasks", None) or [], None
    for task in tasks:
        try:
            task()
        except DatabaseError as error:  # bookkeeping (a last-use mark) the database could not take: dropped
            log.warning("deferred write dropped (%s: %s)", type(error).__name__, str(error).strip()[:200])
        except Exception:  # the response has gone: log it, and let the other tasks run
            log.exception("deferred task failed: %s", getattr(task, "__qualname__", task))
