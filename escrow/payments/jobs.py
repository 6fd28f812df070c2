"""FinCra work as procrastinate jobs: deferred in the transaction of the row that needs them
(a transactional outbox), run by the worker, retried with capped exponential backoff.

Every job is idempotent: it settles a ledger row from FinCra's own records, or re-submits the
same reference (FinCra's idempotency key), so a retry or a job put back after a worker died
never moves money twice. The jobs are thin; the work is in ``escrow.payments.gateway`` (imported
in the task bodies: the services defer these jobs, and the gateway calls the services).
"""

from procrastinate.contrib.django import app

from escrow.payments.fincra import FincraError
from escrow.worker import CappedBackoff, defer_once


class TryLater(Exception):
    """Not settled yet (FinCra has no final answer): the job runs again after a backoff."""


# 2, 4, 8 … seconds, then every 15 minutes, for 200 attempts (about two days).
RETRY = CappedBackoff(retry_on=(FincraError, TryLater), base=2, cap=900, max_attempts=200)


@app.task(queue="payments", retry=RETRY)
def process_webhook(event_id: int) -> str:
    """Act on a stored FinCra webhook (verified with FinCra's records first)."""
    from escrow.payments import gateway

    return gateway.process_webhook(event_id)


@app.task(queue="payments", retry=RETRY)
def submit_payout(withdrawal_id: str) -> str:
    """Ask FinCra to pay a withdrawal out; an unknown outcome re-submits the same reference."""
    from escrow.payments import gateway

    return gateway.submit_payout(withdrawal_id)


@app.periodic(cron="*/5 * * * *", periodic_id="fincra_reconcile")
@app.task(queue="periodic", queueing_lock="fincra_reconcile")
def reconcile(timestamp: int) -> int:
    """Settle what webhooks missed, from FinCra's records."""
    from escrow.payments import gateway

    return len(gateway.reconcile().changed)


@app.periodic(cron="7 * * * *", periodic_id="fincra_wallet_check")
@app.task(queue="periodic", queueing_lock="fincra_wallet_check", retry=RETRY)
def wallet_check(timestamp: int) -> int:
    """Compare FinCra's wallet with what the ledger says the platform holds; flag a shortfall."""
    from escrow.payments import gateway

    return len(gateway.wallet_check())


def defer_webhook(event_id: int) -> None:
    """Queue the processing of a stored webhook once (a redelivery does not queue it twice)."""
    defer_once(process_webhook, f"fincra-webhook-{event_id}", event_id=event_id)


def defer_payout(withdrawal_id) -> None:
    defer_once(submit_payout, f"payout-{withdrawal_id}", withdrawal_id=str(withdrawal_id))
