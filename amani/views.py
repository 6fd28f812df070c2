"""Pages outside the API: the landing page at ``/`` and the orchestrator's probes.

``/livez`` (liveness) answers from the process alone: restarting the process is the cure for
what it detects, so it never looks at the database (a database outage must not restart every
app process). ``/readyz`` (readiness) says whether this process can serve requests now: the
database answers, every migration is applied, and the job queue's tables answer. Both are plain
Django views, outside the API's authentication, throttling and transactions.
"""

from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

# One query procrastinate's worker depends on: the jobs table and its lock-free read.
JOB_QUEUE_QUERY = "SELECT 1 FROM procrastinate_jobs LIMIT 1"


@require_safe
def landing(request):
    links = [
        ("API documentation", reverse("docs"), "every endpoint, try it in the browser"),
        ("OpenAPI schema", reverse("schema"), "for client generators"),
        ("Operator console", reverse("admin:index"), "staff only"),
    ]
    return render(request, "escrow/landing.html", {"links": links})


@never_cache
@require_safe
def livez(request):
    return JsonResponse({"status": "ok"})


def _check(probe) -> str:
    """``ok``, or what is wrong. Each probe in its own transaction (a savepoint inside one), so a
    failed probe leaves the connection usable for the next."""
    try:
        with transaction.atomic():
            return probe()
    except DatabaseError as error:
        return f"unavailable: {type(error).__name__}"


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def _migrations() -> str:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if not plan:
        return "ok"
    names = ", ".join(f"{migration.app_label}.{migration.name}" for migration, _ in plan[:3])
    return f"{len(plan)} not applied: {names}{', ...' if len(plan) > 3 else ''}"


def _job_queue() -> str:
    with connection.cursor() as cursor:
        cursor.execute(JOB_QUEUE_QUERY)
    return "ok"


@never_cache
@require_safe
def readyz(request):
    checks = {"database": _check(_database)}
    if checks["database"] == "ok":
        checks["migrations"] = _check(_migrations)
        checks["job_queue"] = _check(_job_queue)
    else:
        checks["migrations"] = checks["job_queue"] = "not checked: no database"
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)
