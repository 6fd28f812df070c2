"""The job worker's setup (``PROCRASTINATE_ON_APP_READY``).

Kept apart from the task modules: procrastinate calls this while it builds its app, and a task
module imported at that moment would register its tasks on the placeholder app, not the real one.
"""

from collections.abc import Callable

from django.db import close_old_connections, transaction
from procrastinate import BaseRetryStrategy, RetryDecision
from procrastinate.exceptions import AlreadyEnqueued

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
    from django.conf import settings

    app.worker_defaults.setdefault("task_middleware", [job_context, close_connections])
    app.worker_defaults.setdefault("concurrency", settings.JOBS_WORKER_CONCURRENCY)


def defer_once(task, lock: str | None, **kwargs) -> None:
    """Defer ``task`` in the caller's transaction, unless a job holding ``lock`` already waits;
    and never run it while another job holding ``lock`` runs (a worker runs several jobs at
    once, and several workers may run: two attempts at one payout must not overlap).

    The savepoint matters: the database refuses the duplicate, and that refusal must not abort the
    caller's transaction (the state change the job belongs to). ``lock=None``: always a new job.
    """
    try:
        with transaction.atomic():
            task.configure(queueing_lock=lock, lock=lock).defer(**kwargs)
    except AlreadyEnqueued:
        pass  # the same job is already waiting: it will do the work


class CappedBackoff(BaseRetryStrategy):
    """Retry on ``retry_on`` exceptions after base × 2^n seconds, at most ``cap`` apart, for
    ``max_attempts`` attempts. Each value may be a callable, read at each decision (a setting)."""

    def __init__(self, *, retry_on: tuple[type[BaseException], ...], base: float | Callable[[], float],
                 cap: float, max_attempts: int | Callable[[], int]):
        self.retry_on, self.base, self.cap, self.max_attempts = retry_on, base, cap, max_attempts

    def get_retry_decision(self, *, exception: BaseException, job) -> RetryDecision | None:
        value = lambda v: v() if callable(v) else v  # noqa: E731
        if job.attempts + 1 >= value(self.max_attempts) or not isinstance(exception, self.retry_on):
            return None
        return RetryDecision(retry_in={"seconds": min(value(self.base) * 2 ** job.attempts, self.cap)})
