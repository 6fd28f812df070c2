"""A real procrastinate worker for tests: the same worker `manage.py procrastinate worker` runs,
in a thread of the test process, with its own event loop, its own PostgreSQL connections and
LISTEN/NOTIFY. Jobs deferred by the code under test run for real; nothing is mocked."""

import asyncio
import threading
import time

from procrastinate.contrib.django import app


class Worker:
    def __init__(self, **options):
        self.app = app.with_connector(app.connector.get_worker_connector())
        self.options = {
            "install_signal_handlers": False, "fetch_job_polling_interval": 0.1, "abort_job_polling_interval": 0.5,
            "update_heartbeat_interval": 1, "name": "test-worker", **options,
        }
        self.loop = asyncio.new_event_loop()
        self.started = threading.Event()
        self.task = None

    def start(self) -> "Worker":
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.started.wait(10), "the worker did not start"
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def main():
            async with self.app.open_async():
                self.task = asyncio.ensure_future(self.app.run_worker_async(**self.options))
                self.started.set()
                try:
                    await self.task
                except asyncio.CancelledError:
                    pass

        self.loop.run_until_complete(main())
        self.loop.close()

    def idle(self, seconds: float = 15) -> None:
        """Wait until no job due now is waiting or running (a job retried later does not count): a
        snapshot taken then sees no job finishing under it."""
        from django.db.models import Q
        from django.utils import timezone
        from procrastinate.contrib.django.models import ProcrastinateJob

        def quiet() -> bool:
            due = Q(scheduled_at__isnull=True) | Q(scheduled_at__lte=timezone.now())
            return not ProcrastinateJob.objects.filter(Q(status="doing") | Q(status="todo") & due).exists()

        assert wait_for(quiet, seconds), "the worker did not finish its jobs"

    def stop(self) -> None:
        if self.task is not None and not self.task.done():
            self.loop.call_soon_threadsafe(self.task.cancel)
        self.thread.join(30)


def run_jobs(**options) -> None:
    """Run every job waiting now, then return (a worker with ``wait=False``). One job at a time:
    with several at once, the worker may stop while a job it runs defers another (its other
    slots found the queue empty), and "every job waiting now" would depend on timing."""
    worker_app = app.with_connector(app.connector.get_worker_connector())
    worker_app.run_worker(wait=False, install_signal_handlers=False, listen_notify=False,
                          **{"concurrency": 1, **options})


def wait_for(predicate, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False
