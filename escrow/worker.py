"""The job worker's setup (``PROCRASTINATE_ON_APP_READY``).

Kept apart from the task modules: procrastinate calls this while it builds its app, and a task
module imported at that moment would register its tasks on the placeholder app, not the real one.
"""

from django.db import close_old_connections

from amani.logs import log_context


def close_connections(call_next, context, worker):
    """Around each sync job, what Django does around a request: drop connections past their age.

    Sync jobs run in the worker's threads, each with its own Django connection; without this a
    connection broken by a database restart would fail every later job of that thread.
    """
    close_old_connections()
    try:
        return call_next()
    finally:
        close_old_connections()


def job_context(call_next, context, worker):
    """Every log line a sync job writes, whichever logger, names the job and its task."""
    token = log_context.set({"job_id": context.job.id, "task": context.job.task_name})
    try:
        return call_next()
    finally:
        log_context.reset(token)


def on_app_ready(app) -> None:
    """PROCRASTINATE_ON_APP_READY: the worker's defaults (settings cannot import app code)."""
    app.worker_defaults.setdefault("task_middleware", [job_context, close_connections])

