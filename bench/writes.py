"""``make bench`` (write side): approvals that release money, and whole escrows over HTTP.

Write path. On a copy of the 100k bench database (``amani_bench_writes``, made anew each run so
that the read bench's database never grows), a batch of delivered milestones is seeded, each in
a funded project of its own, ten per buyer (sellers among the bench's users). wrk (4 connections)
has their buyers approve them, each request a different milestone: every approval locks its
project and milestones, appends the seller's release and the commission to the ledger, records
the audit events, completes the project and defers the notification jobs (the issue's "lock,
release, commission, audit, job deferral") — on gunicorn's 2 workers. Any answer but 200 is
counted. Three figures:

- approvals/s with the two cores to gunicorn and the database (the jobs wait in the queue);
- the job worker alone draining the e-mails those approvals queued (e-mails/s; each approval
  owes two), which says whether one worker keeps up with that rate on a core of its own;
- approvals/s with the job worker running beside them on the same two cores, as on a small
  single-machine deployment (the worker at a lower CPU priority, as docs/operations.md advises).

Mixed workload. On a database of its own, with the FinCra simulator (escrow/payments/simulator.py)
answering over HTTP and a job worker: 20 buyer/seller pairs, each in its own thread, run whole
escrows — create, add a milestone, the seller joins, propose, accept, fund (the checkout at the
simulator, paid there; its webhook queues the job that holds the money), start, submit, approve —
for BENCH_MIXED_SECONDS. Every request's latency is recorded, 5xx counted, and at the end the
ledger invariants of the test suite (tests/helpers.py) are checked on every project.
"""

import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import requests
from stack import ROOT, Stack, database_copy, database_of_its_own, ensure_database, manage, token_for, wrk

APPROVALS = int(os.environ.get("BENCH_APPROVALS", "3000"))
WRITE_SECONDS = float(os.environ.get("BENCH_WRITE_SECONDS", "10"))
PAIRS = int(os.environ.get("BENCH_PAIRS", "20"))
MIXED_SECONDS = float(os.environ.get("BENCH_MIXED_SECONDS", "30"))
PER_BUYER = 10  # projects awaiting approval per buyer


def seed_approvals(url: str, count: int) -> list[tuple[str, str]]:
    """``count`` funded projects, each with one delivered milestone, among buyers of this run
    (PER_BUYER projects each, fresh users every run so that no buyer's history grows from run to
    run); their (milestone id, buyer id)."""
    run = secrets.token_hex(4)
    buyers = max(count // PER_BUYER, 1)
    with psycopg.connect(url) as conn:
        conn.execute("SET session_replication_role = replica")  # valid by construction, as the read seed
        users = conn.execute("SELECT count(*) FROM users WHERE email LIKE 'bench%%@example.com'").fetchone()[0]
        rows = conn.execute(f"""
            WITH b AS (
                INSERT INTO users (id, email, full_name, hashed_password, is_active)
                SELECT gen_random_uuid(), 'approver-' || %(run)s || '-' || n || '@bench.example', 'Bench Buyer', '!', true
                FROM generate_series(0, %(buyers)s - 1) n
                RETURNING id),
            numbered AS (SELECT id, row_number() OVER () - 1 AS n FROM b),
            p AS (
                INSERT INTO projects (id, title, total_amount, currency, status, creator_id, buyer_id, seller_id,
                                      terms_accepted_at, fee_bearer, commission_percent, inspection_days)
                SELECT gen_random_uuid(), 'Approval ' || g, 100.00, 'USD', 'in_progress', numbered.id, numbered.id,
                       ('00000000-0000-4000-8000-' || lpad(to_hex(2 + (g * 7919) %% ({users} - 1)), 12, '0'))::uuid,
                       now(), 'seller', 2.50, 0
                FROM generate_series(0, %(n)s - 1) g JOIN numbered ON numbered.n = g %% %(buyers)s
                RETURNING id, buyer_id),
            t AS (
                INSERT INTO transactions (user_id, project_id, transaction_type, status, amount, fee, net_amount,
                                          currency, completed_at)
                SELECT p.buyer_id, p.id, k, 'completed', 100.00, 0, 100.00, 'USD', now()
                FROM p CROSS JOIN unnest(ARRAY['deposit', 'escrow_hold']) k),
            m AS (
                INSERT INTO milestones (project_id, title, order_index, amount, currency, status, completed_at)
                SELECT id, 'All of it', 0, 100.00, 'USD', 'completed', now() FROM p
                RETURNING id, project_id)
            SELECT m.id, p.buyer_id FROM m JOIN p ON p.id = m.project_id ORDER BY random()""",
                            {"run": run, "n": count, "buyers": buyers}).fetchall()
        conn.execute("SET session_replication_role = origin")
        conn.execute("ANALYZE projects, milestones, transactions")
    return [(str(milestone), str(buyer)) for milestone, buyer in rows]


# Each wrk thread takes every other line of the list (a milestone and its buyer's token), so no two
# requests approve the same milestone; a thread stops when its share runs out.
APPROVE_LUA = """
local ids, tokens, n, step = {}, {}, 0, 2
for line in io.lines("%(ids)s") do
  local id, token = line:match("(%%S+) (%%S+)")
  ids[#ids + 1] = id; tokens[#tokens + 1] = token
end
local counter = 0
setup = function(thread) thread:set("first", counter); counter = counter + 1 end
local headers = {["Content-Type"] = "application/json"}
init = function(args) n = tonumber(first) end
request = function()
  n = n + step
  if n > #ids then wrk.thread:stop() ; n = 1 end
  headers["Authorization"] = "Bearer " .. tokens[n]
  return wrk.format("POST", "/api/v1/milestones/" .. ids[n] .. "/approve/", headers, "{}")
end
"""


def _approvals(url: str, count: int) -> tuple[list[str], Path]:
    """Seed ``count`` approvals; their milestone ids and wrk's input file (milestone, token)."""
    approvals = seed_approvals(url, count)
    ids_file = ROOT / ".data" / "bench-approval-ids.txt"
    ids_file.write_text("".join(f"{milestone} {token_for(buyer)}\n" for milestone, buyer in approvals))
    return [milestone for milestone, _ in approvals], ids_file


def _approve(url: str, *, job_worker: bool) -> dict:
    ids, ids_file = _approvals(url, APPROVALS)
    with Stack(url, workers=2, worker=job_worker) as base:
        measured = wrk(base + "/", seconds=WRITE_SECONDS, connections=4, script=APPROVE_LUA % {"ids": ids_file})
    with psycopg.connect(url) as conn:
        released = conn.execute("""SELECT count(*) FROM milestones m JOIN projects p ON p.id = m.project_id
                                   WHERE m.id = ANY(%s::uuid[]) AND m.is_paid AND p.status = 'completed'""",
                                [ids]).fetchone()[0]
    measured["count"] = released
    measured["note"] = f"{released} released, {measured['bad_status']} not 2xx"
    if measured["requests"] >= len(ids) // 2 * 2:
        measured["note"] += f" (ran out of the {len(ids)} seeded: BENCH_APPROVALS)"
    return measured


def _drain(url: str) -> dict:
    """One job worker alone on the e-mails waiting: e-mails sent per second, from its first to
    its last (its start-up not counted)."""
    def waiting() -> int:
        with psycopg.connect(url) as conn:
            return conn.execute("SELECT count(*) FROM procrastinate_jobs WHERE queue_name = 'email' "
                                "AND status = 'todo'").fetchone()[0]

    queued = waiting()
    with Stack(url, workers=1, worker=True):
        while (first := waiting()) == queued:
            time.sleep(0.05)
        started = time.perf_counter()
        deadline = time.monotonic() + 600
        while waiting() and time.monotonic() < deadline:
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        left = waiting()
    return {"queued": queued, "per_second": (first - left) / elapsed, "left": left}


def write_path(source_url: str) -> dict:
    """Approvals that release money, each on a project of its own, driven by wrk: without the job
    worker, then its e-mails drained by the worker alone, then approvals with the worker beside."""
    url = database_copy(source_url, "amani_bench_writes")
    alone = _approve(url, job_worker=False)
    alone["drain"] = _drain(url)
    return {"alone": alone, "beside": _approve(url, job_worker=True)}


class Pair:
    """A buyer and a seller running whole escrows one after another, every request timed."""

    def __init__(self, base: str, simulator: str, n: int, run: str, conn):
        self.api, self.simulator = f"{base}/api/v1", simulator
        self.session = requests.Session()
        self.latencies: list[float] = []
        self.server_errors = 0
        self.escrows = 0
        self.parties = {}
        for role in ("buyer", "seller"):
            email = f"mixed-{run}-{n}-{role}@bench.example"
            user_id = conn.execute("""INSERT INTO users (id, email, full_name, hashed_password, is_active)
                                      VALUES (gen_random_uuid(), %s, %s, '!', true) RETURNING id""",
                                   [email, f"Bench {role.title()} {n}"]).fetchone()[0]
            self.parties[role] = (email, {"Authorization": f"Bearer {token_for(str(user_id), email)}"})

    def call(self, role: str, method: str, path: str, body=None, expect=(200,)):
        started = time.perf_counter()
        response = self.session.request(method, self.api + path, json=body, headers=self.parties[role][1], timeout=30)
        self.latencies.append(time.perf_counter() - started)
        if response.status_code >= 500:
            self.server_errors += 1
        if response.status_code not in expect:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response.json() if response.content else None

    def escrow(self) -> None:
        buyer, seller = self.parties["buyer"][0], self.parties["seller"][0]
        project = self.call("buyer", "POST", "/projects/", {"title": "Mixed", "total_amount": "100.00", "currency": "USD",
                                                          "buyer_email": buyer, "seller_email": seller}, expect=(201,))
        pid = project["id"]
        milestone = self.call("buyer", "POST", f"/projects/{pid}/milestones/", {"title": "All", "amount": "100.00"},
                              expect=(201,))
        self.call("seller", "GET", "/users/me/")  # joins the invitation
        self.call("buyer", "POST", f"/projects/{pid}/propose/")
        self.call("seller", "POST", f"/projects/{pid}/accept/")
        checkout = self.call("buyer", "POST", f"/projects/{pid}/fund/", {"full_name": "Bench Buyer"})
        requests.post(f"{self.simulator}/_simulator/checkout/{checkout['reference']}/pay", json={},
                      timeout=30).raise_for_status()
        deadline = time.monotonic() + 60
        while self.call("buyer", "GET", f"/projects/{pid}/")["status"] != "active":
            if time.monotonic() > deadline:
                raise RuntimeError(f"project {pid} not funded within 60 s")
            time.sleep(0.2)
        mid = milestone["id"]
        self.call("seller", "POST", f"/milestones/{mid}/start/")
        self.call("seller", "POST", f"/milestones/{mid}/submit/", {"notes": "done"})
        approved = self.call("buyer", "POST", f"/milestones/{mid}/approve/", {})
        if approved["status"] != "approved":
            raise RuntimeError(f"milestone {mid}: {approved['status']}")
        self.escrows += 1


def mixed_workload() -> dict:
    from escrow.payments.simulator import Simulator

    url = database_of_its_own("amani_bench_escrows")
    ensure_database(url)
    manage(url, "migrate", "--noinput")
    keys = {name: secrets.token_hex(12) for name in ("secret_key", "public_key", "business_id", "webhook_secret")}
    simulator = Simulator(**keys).start()
    stack = Stack(url, workers=2, worker=True, FINCRA_BASE_URL=simulator.url, FINCRA_SECRET_KEY=keys["secret_key"],
                  FINCRA_PUBLIC_KEY=keys["public_key"], FINCRA_BUSINESS_ID=keys["business_id"],
                  FINCRA_WEBHOOK_SECRET=keys["webhook_secret"])
    errors: list[BaseException] = []
    try:
        with stack as base:
            simulator.webhook_url = f"{base}/api/v1/webhooks/fincra/"
            run = secrets.token_hex(4)
            with psycopg.connect(url, autocommit=True) as conn:
                pairs = [Pair(base, simulator.url, n, run, conn) for n in range(PAIRS)]
            stop = time.monotonic() + MIXED_SECONDS

            def loop(pair: Pair) -> None:
                try:
                    while time.monotonic() < stop:
                        pair.escrow()
                except BaseException as error:  # noqa: BLE001 - reported below
                    errors.append(error)

            threads = [threading.Thread(target=loop, args=(pair,)) for pair in pairs]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
    finally:
        simulator.stop()
    if errors:
        raise RuntimeError(f"{len(errors)} pairs failed; the first: {errors[0]!r}")
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench", "DEBUG": "false", "ALLOWED_HOSTS": "127.0.0.1"}
    check = subprocess.run([sys.executable, "manage.py", "shell", "-c",
                            "from tests.helpers import assert_ledger_invariants; assert_ledger_invariants()"],
                           cwd=ROOT, env=env, capture_output=True, text=True)
    latencies = sorted(latency for pair in pairs for latency in pair.latencies)
    escrows = sum(pair.escrows for pair in pairs)
    server_errors = sum(pair.server_errors for pair in pairs)
    return {"pairs": PAIRS, "rps": len(latencies) / elapsed, "p50": statistics.median(latencies) * 1000,
            "p95": latencies[int(len(latencies) * 0.95) - 1] * 1000,
            "note": f"{escrows} escrows, {server_errors} 5xx, invariants "
                    + ("hold" if check.returncode == 0 else "BROKEN: " + check.stderr.strip().splitlines()[-1])}
