"""``make bench`` (third part): the delay from a state change to its outbound webhook's delivery.

On a database of its own, gunicorn serves the API and one job worker (``manage.py procrastinate
worker``) runs beside it, as in production. A receiver on 127.0.0.1 (allowed by
``WEBHOOK_ALLOWED_NETWORKS``, as a public host would be) answers 200. A seller registers an
endpoint; a buyer then proposes 100 projects one after another through the API. Each proposal is a
state change whose webhook is written in its transaction; the delay is from the event's own time
(the payload's ``timestamp``, taken in that transaction) to the receiver having the whole request
(same machine, same clock). Prints the median and the maximum.

    make bench                # every part
    .venv/bin/python bench/webhook_delay.py          (BENCH_EVENTS=100 by default)
"""

import json
import os
import secrets
import statistics
import sys
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from stack import ROOT, Stack, database_of_its_own, ensure_database, manage

EVENTS = int(os.environ.get("BENCH_EVENTS", "100"))


class Receiver:
    def __init__(self):
        self.delays: list[float] = []
        self.types: list[str] = []
        self.done = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                received = time.time()
                payload = json.loads(body)
                happened = datetime.fromisoformat(payload["timestamp"].replace("Z", "+00:00")).timestamp()
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()
                with receiver.done:
                    receiver.types.append(payload["type"])
                    if payload["type"] == "project.propose":
                        receiver.delays.append(received - happened)
                    receiver.done.notify_all()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/amani"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count: int, seconds: float) -> bool:
        with self.done:
            return self.done.wait_for(lambda: len(self.delays) >= count, timeout=seconds)


def main() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amani.settings")
    url = database_of_its_own("amani_bench_webhook_delay")
    ensure_database(url)
    manage(url, "migrate", "--noinput")
    receiver = Receiver()
    try:
        with Stack(url, WEBHOOK_ALLOWED_NETWORKS="127.0.0.1/32", AUTH_THROTTLE_RATE="1000/min") as base:
            api = f"{base}/api/v1"
            session = requests.Session()
            tokens = {}
            run = secrets.token_hex(4)
            for role in ("buyer", "seller"):
                email, password = f"{role}-{run}@bench.example", secrets.token_urlsafe(16)
                session.post(f"{api}/auth/register/", json={"email": email, "password": password,
                                                             "full_name": f"Bench {role.title()}"}).raise_for_status()
                answer = session.post(f"{api}/auth/token/", json={"email": email, "password": password})
                answer.raise_for_status()
                tokens[role] = ({"Authorization": f"Bearer {answer.json()['access']}"}, email)
            buyer, seller = tokens["buyer"][0], tokens["seller"][0]
            session.post(f"{api}/webhook-endpoints/", headers=seller, json={"url": receiver.url}).raise_for_status()
            for n in range(EVENTS):
                project = session.post(f"{api}/projects/", headers=buyer, json={
                    "title": f"Bench {n}", "total_amount": "100.00", "currency": "USD",
                    "buyer_email": tokens["buyer"][1], "seller_email": tokens["seller"][1]})
                project.raise_for_status()
                pid = project.json()["id"]
                session.post(f"{api}/projects/{pid}/milestones/", headers=buyer,
                             json={"title": "All", "amount": "100.00"}).raise_for_status()
                # The seller joins at their next request (the invitation flow), then the buyer proposes.
                session.get(f"{api}/users/me/", headers=seller).raise_for_status()
                session.post(f"{api}/projects/{pid}/propose/", headers=buyer).raise_for_status()
            if not receiver.wait(EVENTS, 60):
                raise RuntimeError(f"only {len(receiver.delays)} of {EVENTS} webhooks arrived within 60 s")
    finally:
        receiver.server.shutdown()
    delays = receiver.delays
    print(f"\nState change → outbound webhook delivered, {len(delays)} events (gunicorn 2 workers, one job worker):")
    print(f"  median {statistics.median(delays) * 1000:.1f} ms, max {max(delays) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
