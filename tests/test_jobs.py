"""The job queue for real: procrastinate on the suite's PostgreSQL, run by a real worker."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from procrastinate.contrib.django.models import ProcrastinateJob
from procrastinate.exceptions import AlreadyEnqueued

from escrow import jobs as engine_jobs
from escrow.models import IdempotencyKey, Milestone, TransactionType
from tests import builders
from tests.factories import UserFactory
from tests.helpers import assert_ledger_invariants
from tests.jobs import Worker, run_jobs, wait_for

pytestmark = pytest.mark.slow


def test_a_job_deferred_in_a_rolled_back_transaction_never_exists(committed_db):
    """The outbox property: a job commits or rolls back with the rows that need it."""
    with pytest.raises(RuntimeError), transaction.atomic():
        engine_jobs.idempotency_purge.defer(timestamp=0)
        raise RuntimeError("the request failed after deferring")
    assert ProcrastinateJob.objects.count() == 0
    with transaction.atomic():
        engine_jobs.idempotency_purge.defer(timestamp=0)
    assert ProcrastinateJob.objects.filter(task_name="escrow.jobs.idempotency_purge").count() == 1


def test_the_worker_runs_the_inspection_period_approval_once(committed_db):
    project = builders.delivered(inspection_days=2)
    milestone = project.milestones.get(order_index=0)
    Milestone.objects.filter(pk=milestone.pk).update(completed_at=timezone.now() - timedelta(days=2, seconds=1))
    engine_jobs.auto_approve.defer(timestamp=int(timezone.now().timestamp()))
    with pytest.raises(AlreadyEnqueued):  # a second one waiting would be redundant: refused by the database
        engine_jobs.auto_approve.defer(timestamp=int(timezone.now().timestamp()) + 60)
    run_jobs(queues=["periodic"])
    milestone.refresh_from_db()
    assert milestone.is_paid
    assert milestone.transactions.filter(transaction_type=TransactionType.ESCROW_RELEASE).count() == 1
    assert set(ProcrastinateJob.objects.filter(task_name="escrow.jobs.auto_approve").values_list("status", flat=True)) \
        == {"succeeded"}
    assert_ledger_invariants()


def test_old_idempotency_keys_are_purged_by_their_job(committed_db, settings):
    user = UserFactory()
    old, fresh = (IdempotencyKey.objects.create(user=user, key=key, fingerprint="x") for key in ("old", "fresh"))
    IdempotencyKey.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=49))
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 48
    engine_jobs.idempotency_purge.defer(timestamp=0)
    run_jobs(queues=["periodic"])
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["fresh"]


def test_periodic_work_is_deferred_once_per_period_however_many_workers_run(committed_db):
    workers = [Worker(name=f"w{i}", queues=["none"]).start() for i in range(3)]  # schedulers only
    try:
        assert wait_for(lambda: ProcrastinateJob.objects.filter(task_name="escrow.jobs.auto_approve").exists())
        threading.Event().wait(1.5)  # every scheduler had its chance
    finally:
        for worker in workers:
            worker.stop()
    jobs = ProcrastinateJob.objects.filter(task_name="escrow.jobs.auto_approve")
    timestamps = [job.args["timestamp"] for job in jobs]
    assert len(timestamps) == len(set(timestamps)) >= 1


def test_a_dead_workers_job_is_put_back_and_run(committed_db, settings):
    """A worker that died mid-job stops sending heartbeats; its job goes back to the queue."""
    settings.JOBS_STALLED_AFTER_SECONDS = 1
    job_id = engine_jobs.idempotency_purge.defer(timestamp=0)
    with connection.cursor() as cursor:  # what a worker killed mid-job leaves: a job 'doing', a silent worker
        cursor.execute("INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now() - interval '1 hour')"
                       " RETURNING id")
        dead = cursor.fetchone()[0]
        cursor.execute("UPDATE procrastinate_jobs SET status = 'doing', worker_id = %s WHERE id = %s", [dead, job_id])
    engine_jobs.retry_stalled_jobs.defer(timestamp=0)
    run_jobs(queues=["periodic"])
    assert ProcrastinateJob.objects.get(id=job_id).status == "succeeded"
