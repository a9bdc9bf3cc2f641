"""gunicorn's settings (`make serve`, and the fault tests' gunicorn): what the workers share.

- Metrics: every worker writes its counts into one folder (prometheus-client's multiprocess mode), so that a
  scrape answered by any worker adds them all up. `PROMETHEUS_MULTIPROC_DIR` when set (emptied at start: counts
  of an earlier run would add up too), else a temporary folder made here and removed at exit. A worker's live
  gauges are forgotten when it exits; its counters stay in the sums.
- The audit webhook: while `APIKEYS_AUDIT_WEBHOOK_URL` is set, each worker runs a sender thread (a lock lets one
  send at a time), so the outbox drains whichever workers live.
- `LOG_FORMAT=json`: gunicorn's own lines are JSON too, and there is no access log (the app writes one line per
  request, with more in it); `text`: gunicorn's access log on standard output, as before.
"""

import gc
import shutil
import tempfile
from pathlib import Path

from gunicorn import glogging

from config import env, logs

_given_folder = env.string("PROMETHEUS_MULTIPROC_DIR")
metrics_folder = _given_folder or tempfile.mkdtemp(prefix="apikeys-metrics-")
# Read by prometheus-client when a worker imports it, and by the workers' settings.
env.export("PROMETHEUS_MULTIPROC_DIR", metrics_folder)

# The app is imported once, in the arbiter, and each worker is a fork of it: a worker replaced after its
# `--max-requests` (`config/serve.py`) starts at once instead of importing Django and the app again, which cost
# the other workers half a second of CPU each time, and their p99 (issue 22: under wrk on 2 cores, a
# replacement every few seconds). Nothing opens a connection or starts a thread at import; the audit sender is
# started in each worker (`post_worker_init`), and database and Redis connections are opened on first use.
preload_app = True

# gunicorn's control socket (`gunicornc`, since gunicorn 25) is off: its default is one path per user
# (`~/.gunicorn/gunicorn.ctl`), which a second server on the machine takes over and removes when it exits, and the
# arbiter stops and restarts its thread around every fork of a worker. Signals (HUP, TERM, TTIN, TTOU) still work.
control_socket_disable = True


class JsonLines(glogging.Logger):
    """gunicorn's own lines as JSON: its handlers as it sets them up, each with our JSON formatter. Not gunicorn's
    `logconfig_dict`, which turns its access log on whatever `accesslog` says (an access line per request, on top
    of ours) and lets its loggers propagate to a root handler, so that each of its lines was written twice."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        formatter = logs.json_formatter()
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(formatter)


if logs.log_format() == "json":
    accesslog = None
    logger_class = JsonLines
else:
    accesslog = "-"


def on_starting(server) -> None:
    Path(metrics_folder).mkdir(parents=True, exist_ok=True)
    for stale in Path(metrics_folder).glob("*.db"):
        stale.unlink()


def pre_fork(server, worker) -> None:
    """What the arbiter imported (the app, `preload_app`) lives as long as the workers: frozen out of the garbage
    collector before each fork (Python's `gc.freeze` advice), so that a worker's collections never walk it, nor
    copy its pages by touching it, and a worker's exit does not spend a fifth of a second tearing it down while its
    replacement waits (`--max-requests`: the arbiter forks the replacement once the old worker is gone). Collected
    first, so that no garbage is frozen for good: a full collection before the first fork, then only what the
    arbiter made since."""
    gc.collect()
    gc.freeze()


def post_worker_init(worker) -> None:
    from django.apps import apps

    if not apps.ready:  # an app that is not ours (figure 7's hello-world WSGI app): no outbox to drain
        return
    from apikeys.records.audit_delivery import start_sender

    start_sender()


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, metrics_folder)


def on_exit(server) -> None:
    if not _given_folder:
        shutil.rmtree(metrics_folder, ignore_errors=True)
