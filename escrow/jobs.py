"""Periodic work of the engine and the API, as procrastinate tasks (the worker runs them).

Each periodic task is deferred once per period however many workers run: procrastinate keys a
periodic job by task and timestamp, and a second worker's attempt to defer the same one is
refused by the database. The tasks are thin: they call the services the management commands
call too, which are safe to run twice at once.
"""

import logging

from django.conf import settings
from procrastinate.contrib.django import app
from procrastinate.exceptions import UniqueViolation
from procrastinate.jobs import Status

from escrow import services
from escrow.api import idempotency

logger = logging.getLogger(__name__)


@app.periodic(cron="* * * * *", periodic_id="auto_approve")
@app.task(queue="periodic", queueing_lock="auto_approve")
def auto_approve(timestamp: int) -> int:
    """Approve delivered milestones whose inspection period ran out (each released once)."""
    approved = services.milestone_auto_approve_due()
    if approved:
        logger.info("auto-approved %d milestone(s)", len(approved))
    return len(approved)


@app.periodic(cron="*/10 * * * *", periodic_id="dispute_deadlines")
@app.task(queue="periodic", queueing_lock="dispute_deadlines")
def dispute_deadlines(timestamp: int) -> int:
    """Tell the operators about every dispute whose response deadline passed (once per case)."""
    return len(services.disputes_deadline_due())


@app.periodic(cron="17 3 * * *", periodic_id="idempotency_purge")
@app.task(queue="periodic", queueing_lock="idempotency_purge")
def idempotency_purge(timestamp: int) -> int:
    """Forget idempotency keys past their retention (at least 24 hours)."""
    return idempotency.purge_expired()


@app.periodic(cron="37 3 * * *", periodic_id="refresh_tokens_purge")
@app.task(queue="periodic", queueing_lock="refresh_tokens_purge")
def refresh_tokens_purge(timestamp: int) -> int:
    """Forget refresh tokens past their expiry (their JWT is refused by its exp anyway)."""
    return services.sessions_purge_expired()


@app.periodic(cron="* * * * *", periodic_id="retry_stalled_jobs")
@app.task(queue="periodic", queueing_lock="retry_stalled_jobs", pass_context=True)
async def retry_stalled_jobs(context, timestamp: int) -> int:
    """Put back the jobs of a worker that died mid-job (no heartbeat for a while).

    Every job here is idempotent (it settles a ledger row from FinCra's records or re-submits the
    same reference), so running one again after a crash is safe; losing it is not. When a job of
    the same queueing lock already waits (deferred again meanwhile: a redelivered webhook, a
    re-submission), that one will do the work: the dead one is ended as failed, which also frees
    its lock for it (escrow.worker.defer_once).
    """
    manager = context.app.job_manager
    stalled = list(await manager.get_stalled_jobs(seconds_since_heartbeat=settings.JOBS_STALLED_AFTER_SECONDS))
    for job in stalled:
        try:
            await manager.retry_job(job)
        except UniqueViolation:
            await manager.finish_job(job, status=Status.FAILED, delete_job=False)
            logger.warning("job %s (%s) of a dead worker ended: the same job waits again", job.id, job.task_name)
        else:
            logger.warning("job %s (%s) of a dead worker put back", job.id, job.task_name)
    return len(stalled)
