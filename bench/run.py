"""``make bench``: the API against the database's own speed, as data grows, on the write path and
under a mixed escrow workload; and what a new connection per request costs.

Read path. A database of its own (``amani_bench``, on the embedded server or DATABASE_URL's) is
seeded in SQL (generate_series, triggers off: the rows are valid by construction) with 10,000
users and 100,000 projects, two milestones each, and ledger rows for the funded half; one user
is party to a thousand of them. gunicorn (2 workers, the app's default connection settings)
serves the project list and the transaction list of that user (page of 20), driven by ``wrk``
(4 connections). The SQL each request runs — captured from the view through the whole request
cycle (bench/capture.py): authentication, the role switch and claims, the page — is replayed by
``pgbench`` with 4 clients in the same run: the API's req/s over pgbench's transactions/s is the
share of the database's speed the API delivers. Configurations alternate in rounds (RLS on, off,
then the database alone) and each keeps its best round: on two shared cores the machine drifts.

With ``BENCH_SCALE=1m`` a second database (``amani_bench_1m``: 1,000,000 projects, 100,000 users,
ten times the ledger; the measured user the same) is measured in the same rounds: the growth
figure is req/s at 100k over req/s at 1M.

Then the write path and the mixed workload (bench/writes.py), and the connection comparison.
Figures, not a pass/fail test. The last line:

    api/database ratio: projects X.XX, transactions Y.YY; rls on/off: A.AA, B.BB

    make bench                           # the defaults below; < 10 minutes on 2 cores
    BENCH_SCALE=1m make bench            # and the 1M-project database (seeding it takes minutes)
    BENCH_SECONDS=10 BENCH_ROUNDS=3 make bench
    BENCH_ONLY=reads,connections .venv/bin/python bench/run.py   # some of the parts
"""

import json
import os
import subprocess
import sys
import time

import psycopg
import requests
from stack import ROOT, SIGNING_KEY, Stack, database_of_its_own, ensure_database, manage, pgbench, token_for, wrk

SCALE = os.environ.get("BENCH_SCALE", "100k")
SECONDS = float(os.environ.get("BENCH_SECONDS", "6"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "4"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
HERO_PROJECTS = 1000  # the measured user is buyer or seller in this many projects
HERO = "00000000-0000-4000-8000-000000000001"
SIZES = {"100k": (10_000, 100_000), "1m": (100_000, 1_000_000)}  # users, projects
# Parts to run (all by default): BENCH_ONLY=reads,connections,writes,mixed
ONLY = set(os.environ.get("BENCH_ONLY", "reads,connections,writes,mixed").split(","))
PATHS = {"projects": "/api/v1/projects/", "transactions": "/api/v1/transactions/"}


def uid(n: str, block: str = "8000") -> str:
    """The n-th bench id: a deterministic UUID, so the seed needs no lookups."""
    return f"('00000000-0000-4000-{block}-' || lpad(to_hex({n}), 12, '0'))::uuid"


def seed_statements(users: int, projects: int) -> list[str]:
    return [
        # Users: the measured one first. Passwords are unusable: the bench uses tokens.
        f"""INSERT INTO users (id, email, full_name, hashed_password, is_active)
            SELECT {uid("g")}, 'bench' || g || '@example.com', 'Bench user ' || g, '!', true
            FROM generate_series(1, {users}) g""",
        # Projects: the first HERO_PROJECTS involve user 1, the rest pseudo-random pairs. Half are funded.
        f"""INSERT INTO projects (id, title, total_amount, currency, status, creator_id, buyer_id, seller_id,
                                  terms_accepted_at, fee_bearer, commission_percent, inspection_days)
            SELECT {uid("g", "9000")}, 'Project ' || g, 1000.00, 'USD',
                   CASE WHEN g % 2 = 0 THEN 'active' ELSE 'pending' END,
                   {uid("b")}, {uid("b")}, {uid("CASE WHEN s = b THEN s % " + str(users) + " + 1 ELSE s END")},
                   CASE WHEN g % 2 = 0 THEN now() END, 'seller', 2.50, 0
            FROM (SELECT g,
                         CASE WHEN g <= {HERO_PROJECTS} AND g % 2 = 0 THEN 1 ELSE 2 + (g * 7919) % ({users} - 1) END AS b,
                         CASE WHEN g <= {HERO_PROJECTS} AND g % 2 = 1 THEN 1
                              ELSE 2 + (g * 104729 + 1) % ({users} - 1) END AS s
                  FROM generate_series(1::bigint, {projects}) g) pairs""",
        """INSERT INTO milestones (project_id, title, order_index, amount, currency, status)
           SELECT p.id, 'Milestone ' || i, i, 500.00, 'USD', 'pending'
           FROM projects p CROSS JOIN generate_series(0, 1) i""",
        """INSERT INTO transactions (user_id, project_id, transaction_type, status, amount, fee, net_amount, currency,
                                     completed_at)
           SELECT p.buyer_id, p.id, t, 'completed', 1000.00, 0, 1000.00, 'USD', now()
           FROM projects p CROSS JOIN unnest(ARRAY['deposit', 'escrow_hold']) t
           WHERE p.status = 'active'""",
    ]


def prepare(scale: str) -> str:
    """The bench database of ``scale``, migrated and seeded (once: later runs find it seeded)."""
    users, projects = SIZES[scale]
    url = database_of_its_own("amani_bench" if scale == "100k" else f"amani_bench_{scale}")
    ensure_database(url)
    manage(url, "migrate", "--noinput")
    with psycopg.connect(url, autocommit=False) as conn:
        if conn.execute("SELECT count(*) FROM projects WHERE title LIKE 'Project %'").fetchone()[0] >= projects:
            return url
        print(f"seeding {projects:,} projects ({scale}) ...", flush=True)
        started = time.perf_counter()
        # Bulk load: the rows are valid by construction; row triggers would only slow it down.
        conn.execute("SET session_replication_role = replica")
        conn.execute("SET maintenance_work_mem = '256MB'")
        for statement in seed_statements(users, projects):
            conn.execute(statement)
        conn.execute("SET session_replication_role = origin")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        print(f"seeded in {time.perf_counter() - started:.0f}s", flush=True)
    return url


def captured_sql(url: str, path: str, rls: bool) -> list[str]:
    """The statements one request to ``path`` runs (bench/capture.py), as the server would run them."""
    env = {**os.environ, "DATABASE_URL": url, "API_RLS": "true" if rls else "false", "DEBUG": "false",
           "SECRET_KEY": SIGNING_KEY, "JWT_SIGNING_KEY": SIGNING_KEY, "ALLOWED_HOSTS": "testserver",
           "LOG_LEVEL": "WARNING"}
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "capture.py"), path, token_for(HERO)],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"capturing the SQL of {path} failed: {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def keep_best(results: dict, key, measured: dict) -> None:
    if key not in results or measured["rps"] > results[key]["rps"]:
        results[key] = measured


def read_path(urls: dict[str, str], results: dict) -> None:
    """Rounds of: the API with RLS on, with RLS off, and pgbench replaying the same SQL."""
    token = token_for(HERO, "bench1@example.com")
    sql = {(scale, name, rls): captured_sql(url, path, rls)
           for scale, url in urls.items() for name, path in PATHS.items() for rls in (True, False)}
    if os.environ.get("BENCH_SHOW_SQL"):
        for key, statements in sql.items():
            print(key, *statements, sep="\n  ")
    for _ in range(ROUNDS):
        for scale, url in urls.items():
            for rls in (True, False):
                with Stack(url, workers=WORKERS, worker=False, API_RLS="true" if rls else "false") as base:
                    if rls and scale == "100k":
                        keep_best(results, ("health", scale, True), wrk(f"{base}/api/v1/health/", seconds=SECONDS,
                                                                        connections=CONCURRENCY))
                    for name, path in PATHS.items():
                        for _ in range(2):  # warm the workers' caches and connections
                            requests.get(base + path, headers={"Authorization": f"Bearer {token}"}, timeout=30)
                        measured = wrk(base + path, seconds=SECONDS, connections=CONCURRENCY, token=token)
                        if measured["bad_status"] or measured["socket_errors"]:
                            raise RuntimeError(f"{name}: {measured}")
                        keep_best(results, (name, scale, rls), measured)
            for name in PATHS:
                for rls in (True, False):
                    keep_best(results, (f"{name} SQL", scale, rls),
                              pgbench(url, sql[(scale, name, rls)], seconds=SECONDS, clients=CONCURRENCY))


def connections(url: str, results: dict) -> None:
    """The project list with a new database connection per request, a persistent one (Django's
    CONN_MAX_AGE, checked at each request's first query), and the default (the pool)."""
    token = token_for(HERO, "bench1@example.com")
    for _ in range(ROUNDS):
        for label, env in (("per request", {"DB_CONN_MAX_AGE": "0", "DB_POOL": "false"}),
                           ("persistent", {"DB_CONN_MAX_AGE": "600", "DB_POOL": "false"}), ("default", {})):
            with Stack(url, workers=WORKERS, worker=False, **env) as base:
                for _ in range(2):
                    requests.get(base + PATHS["projects"], headers={"Authorization": f"Bearer {token}"}, timeout=30)
                keep_best(results, ("connections", label),
                          wrk(base + PATHS["projects"], seconds=SECONDS, connections=CONCURRENCY, token=token))


def row(label: str, config: str, r: dict, note: str = "") -> str:
    return f"{label:<26}{config:<22}{r['rps']:>9.1f}{r['p50']:>9.1f}{r['p95']:>9.1f}  {note}"


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amani.settings")
    import writes

    started = time.perf_counter()
    scales = ["100k"] + ([SCALE] if SCALE != "100k" else [])
    urls = {scale: prepare(scale) for scale in scales}
    results: dict = {}
    if "reads" in ONLY:
        read_path(urls, results)
    if "connections" in ONLY:
        connections(urls["100k"], results)
    write = writes.write_path(urls["100k"]) if "writes" in ONLY else None
    mixed = writes.mixed_workload() if "mixed" in ONLY else None

    print(f"\n{len(scales)} database(s), best of {ROUNDS} alternating rounds of {SECONDS:.0f} s, {CONCURRENCY} "
          f"concurrent clients (wrk, pgbench), gunicorn {WORKERS} workers; the user is party to {HERO_PROJECTS} "
          f"projects; page size 20; {time.perf_counter() - started:.0f} s in all\n")
    print(f"{'workload':<26}{'configuration':<22}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}  goal")
    ratios: dict = {}
    if "reads" in ONLY:
        print(row("health (no query)", "100k", results[("health", "100k", True)], "the server's ceiling"))
        for scale in scales:
            for name in PATHS:
                on, off, db = (results[(name, scale, True)], results[(name, scale, False)],
                               results[(f"{name} SQL", scale, True)])
                ratios[(name, scale)] = (on["rps"] / db["rps"], on["rps"] / off["rps"])
                print(row(f"{name} list", f"{scale} RLS on", on, "p95 < 25 ms"))
                print(row(f"{name} list", f"{scale} RLS off", off))
                print(row(f"{name} SQL (pgbench)", f"{scale} RLS on", db))
                print(row(f"{name} SQL (pgbench)", f"{scale} RLS off", results[(f"{name} SQL", scale, False)]))
                print(f"{'':<26}{scale + ' ratios':<22}api/database {ratios[(name, scale)][0]:.2f} (>= 0.5), "
                      f"rls on/off {ratios[(name, scale)][1]:.2f} (>= 0.9)")
        if len(scales) > 1:
            for name in PATHS:
                growth = results[(name, "100k", True)]["rps"] / results[(name, scales[1], True)]["rps"]
                print(f"{name + ' list':<26}{'100k / ' + scales[1]:<22}{growth:>9.2f} x req/s (< 1.5)")
        else:
            print(f"{'growth 100k / 1m':<26}{'':<22}   BENCH_SCALE=1m make bench measures it")
    if "connections" in ONLY:
        per_request, default = results[("connections", "per request")], results[("connections", "default")]
        print(row("projects list", "conn per request", per_request))
        print(row("projects list", "conn persistent", results[("connections", "persistent")]))
        print(row("projects list", "conn default", default,
                  f"{default['rps'] / per_request['rps']:.2f} x the req/s of a connection per request"))
    if write:
        alone, drain, beside = write["alone"], write["alone"]["drain"], write["beside"]
        print(row("approvals (releases)", f"{alone['count']} distinct projects", alone,
                  ">= 100/s, p95 < 100 ms; " + alone["note"]))
        print(f"{'e-mail jobs (1 worker)':<26}{str(drain['queued']) + ' queued':<22}{drain['per_second']:>9.1f}"
              f"{'':>18}  e-mails/s, {drain['per_second'] / 2:.0f} approvals' worth (2 each); keeps up: "
              f"{'yes' if drain['per_second'] / 2 >= alone['rps'] else 'no'}"
              + (f"; {drain['left']} left after 10 min" if drain["left"] else ""))
        print(row("approvals + job worker", "same 2 cores", beside, beside["note"]))
    if mixed:
        print(row("mixed escrows", f"{mixed['pairs']} pairs", mixed, "p95 < 250 ms, no 5xx; " + mixed["note"]))
    if ratios:
        print(f"\napi/database ratio: projects {ratios[('projects', '100k')][0]:.2f}, "
              f"transactions {ratios[('transactions', '100k')][0]:.2f}; "
              f"rls on/off: {ratios[('projects', '100k')][1]:.2f}, {ratios[('transactions', '100k')][1]:.2f}")


if __name__ == "__main__":
    main()
