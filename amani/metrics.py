"""Prometheus metrics at ``/metrics`` (docs/operations.md#metrics).

Two kinds:

- counted by each app process as it serves (``amani_http_*``, ``amani_db_*``): requests by route
  and status, their duration, the database queries they made. Per process; with several gunicorn
  workers set ``PROMETHEUS_MULTIPROC_DIR`` so a scrape adds up every worker's counts.
- read from the database at each scrape (``amani_escrow_*``, ``amani_jobs_*``): what escrow holds
  per currency, open disputes, payments pending and stuck, the job queue. The same from any
  process, so they are right whichever worker answers the scrape.

Protected by ``METRICS_TOKEN`` (``Authorization: Bearer <token>``): 404 when it is unset, as if
there were no such page; 401 when the token is missing or wrong.
"""

import hmac
import os
import time

from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

REQUESTS = Counter("amani_http_requests", "HTTP requests answered", ["method", "route", "status"])
REQUEST_SECONDS = Histogram("amani_http_request_duration_seconds", "Time to answer an HTTP request",
                            ["method", "route"])
QUERIES = Counter("amani_db_queries", "Database queries made while serving requests")
QUERY_ERRORS = Counter("amani_db_query_errors", "Database queries that raised while serving requests")
QUERY_SECONDS = Histogram("amani_db_query_duration_seconds", "Time of one database query",
                          buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    REQUEST_SECONDS.labels(method, route).observe(seconds)


def observe_query(execute, sql, params, many, context):
    """``connection.execute_wrapper`` around every query of a request."""
    started = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    except Exception:
        QUERY_ERRORS.inc()
        raise
    finally:
        QUERIES.inc()
        QUERY_SECONDS.observe(time.perf_counter() - started)


class EscrowCollector:
    """The figures read from the database at scrape time."""

    def collect(self):
        from escrow.models import Project, ProjectStatus, Transaction, TransactionStatus, TransactionType
        from escrow.selectors import held_per_currency, stuck_payments

        held = GaugeMetricFamily("amani_escrow_held", "Money escrow holds now, per currency", labels=["currency"])
        for currency, amount in held_per_currency().items():
            held.add_metric([currency], float(amount))
        yield held

        yield GaugeMetricFamily("amani_escrow_disputes_open", "Projects in dispute",
                                value=Project.objects.filter(status=ProjectStatus.DISPUTED).count())

        payment_types = [TransactionType.DEPOSIT, TransactionType.WITHDRAWAL]
        in_flight = [TransactionStatus.PENDING, TransactionStatus.PROCESSING]
        pending = GaugeMetricFamily("amani_escrow_payments_pending",
                                    "Deposits and withdrawals pending or processing", labels=["type", "status"])
        counts = {(kind, status): 0 for kind in payment_types for status in in_flight}
        for row in (Transaction.objects.filter(transaction_type__in=payment_types, status__in=in_flight)
                    .values("transaction_type", "status").order_by().annotate(count=Count("id"))):
            counts[(row["transaction_type"], row["status"])] = row["count"]
        for (kind, status), count in counts.items():
            pending.add_metric([kind, status], count)
        yield pending

        stuck = GaugeMetricFamily("amani_escrow_payments_stuck",
                                  "Deposits and withdrawals still pending or processing an hour after they started",
                                  labels=["type"])
        stuck_counts = dict.fromkeys(payment_types, 0)
        for kind in stuck_payments().values_list("transaction_type", flat=True):
            stuck_counts[kind] += 1
        for kind, count in stuck_counts.items():
            stuck.add_metric([kind], count)
        yield stuck

        yield from _jobs()


def _jobs():
    """procrastinate's queue: jobs waiting and running per task, failed jobs, the oldest wait."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT task_name, status::text, count(*) FROM procrastinate_jobs"
                       " WHERE status IN ('todo', 'doing', 'failed') GROUP BY 1, 2 ORDER BY 1, 2")
        rows = cursor.fetchall()
        cursor.execute("SELECT extract(epoch FROM now() - min(scheduled_at)) FROM procrastinate_jobs"
                       " WHERE status = 'todo' AND (scheduled_at IS NULL OR scheduled_at <= now())")
        oldest = cursor.fetchone()[0]
    jobs = GaugeMetricFamily("amani_jobs", "Jobs waiting (todo), running (doing) or failed, per task",
                             labels=["task", "status"])
    for task, status, count in rows:
        jobs.add_metric([task, status], count)
    yield jobs
    yield GaugeMetricFamily("amani_jobs_oldest_waiting_seconds", "How long the oldest job due has waited",
                            value=float(oldest or 0))


def _process_registry():
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def _authorized(request) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.encode(), settings.METRICS_TOKEN.encode())


@never_cache
@require_safe
def metrics_view(request):
    if not settings.METRICS_TOKEN:
        raise Http404("No metrics here.")
    if not _authorized(request):
        response = HttpResponse("A valid metrics token is required.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    escrow = CollectorRegistry(auto_describe=False)
    escrow.register(EscrowCollector())
    body = generate_latest(_process_registry()) + generate_latest(escrow)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)

