"""gunicorn's settings for Amani: ``gunicorn -c python:amani.gunicorn_conf amani.wsgi``.

- gunicorn's own lines (start, worker boot, timeouts) in the same format as the app's
  (``LOG_FORMAT``, JSON by default) through the same single root handler, each printed once.
  gunicorn's access log stays off: the app writes one line per request (amani.middleware).
- With ``PROMETHEUS_MULTIPROC_DIR`` set (a directory emptied before each start), a dead worker's
  live figures are dropped from /metrics, as prometheus_client's multiprocess mode requires.
"""

import os

from amani.logs import logging_config

logconfig_dict = logging_config(os.environ.get("LOG_FORMAT", "json"), os.environ.get("LOG_LEVEL", "INFO"))
logconfig_dict["loggers"] = {
    "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
    "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": True},
}


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
