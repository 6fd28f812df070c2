"""``make bench``: what RLS costs the API.

Seeds a database of its own (``<name>_bench`` on the same server: the embedded one, or the
server of DATABASE_URL) with 10,000 users and 100,000 projects, each with milestones and ledger
rows, then serves the app with gunicorn twice — API_RLS on, then off — and measures the project
list and the transaction list of one user who is party to a thousand projects. Prints requests
per second, p50 and p95 latency, and the ratio on/off. Figures, not a pass/fail test.

    make bench                      # defaults below
    BENCH_REQUESTS=3000 BENCH_ROUNDS=5 make bench  # more requests, more rounds
"""

import os
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

USERS = int(os.environ.get("BENCH_USERS", "10000"))
PROJECTS = int(os.environ.get("BENCH_PROJECTS", "100000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "1500"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "4"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
HERO_PROJECTS = 1000  # the measured user is buyer or seller in this many projects

def uid(n: str, block: str = "8000") -> str:
    """The n-th bench id: a deterministic UUID, so the seed needs no lookups."""
    return f"('00000000-0000-4000-{block}-' || lpad(to_hex({n}), 12, '0'))::uuid"


SEED = [
    # Users: the measured one first. Passwords are unusable: the bench uses tokens.
    f"""INSERT INTO users (id, email, full_name, hashed_password, is_active)
        SELECT {uid("g")}, 'bench' || g || '@example.com', 'Bench user ' || g, '!', true
        FROM generate_series(1, {USERS}) g""",
    # Projects: the first HERO_PROJECTS involve user 1, the rest pseudo-random pairs. Half are funded.
    f"""INSERT INTO projects (id, title, total_amount, currency, status, creator_id, buyer_id, seller_id,
                              terms_accepted_at, fee_bearer, commission_percent, inspection_days)
        SELECT {uid("g", "9000")}, 'Project ' || g, 1000.00, 'USD',
               CASE WHEN g % 2 = 0 THEN 'active' ELSE 'pending' END,
               {uid("b")}, {uid("b")}, {uid("CASE WHEN s = b THEN s % " + str(USERS) + " + 1 ELSE s END")},
               CASE WHEN g % 2 = 0 THEN now() END, 'seller', 2.50, 0
        FROM (SELECT g,
                     CASE WHEN g <= {HERO_PROJECTS} AND g % 2 = 0 THEN 1 ELSE 2 + (g * 7919) % ({USERS} - 1) END AS b,
                     CASE WHEN g <= {HERO_PROJECTS} AND g % 2 = 1 THEN 1
                          ELSE 2 + (g * 104729 + 1) % ({USERS} - 1) END AS s
              FROM generate_series(1::bigint, {PROJECTS}) g) pairs""",
    """INSERT INTO milestones (project_id, title, order_index, amount, currency, status)
       SELECT p.id, 'Milestone ' || i, i, 500.00, 'USD', 'pending'
       FROM projects p CROSS JOIN generate_series(0, 1) i""",
    """INSERT INTO transactions (user_id, project_id, transaction_type, status, amount, fee, net_amount, currency,
                                 completed_at)
       SELECT p.buyer_id, p.id, t, 'completed', 1000.00, 0, 1000.00, 'USD', now()
       FROM projects p CROSS JOIN unnest(ARRAY['deposit', 'escrow_hold']) t
       WHERE p.status = 'active'""",
    "ANALYZE",
]


def bench_url() -> str:
    """DATABASE_URL of the bench database, on the embedded server unless DATABASE_URL is set."""
    base = os.environ.get("DATABASE_URL")
    if not base:
        from amani.embedded_db import embedded_database_url

        base = embedded_database_url(ROOT / ".data" / "pg", "amani_bench")
        return base
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=parts.path + "_bench"))


def database_of_its_own(name: str) -> str:
    """DATABASE_URL of the database ``name`` on the embedded server, or on DATABASE_URL's server."""
    base = os.environ.get("DATABASE_URL")
    if not base:
        from amani.embedded_db import embedded_database_url

        return embedded_database_url(ROOT / ".data" / "pg", name)
    return base.rsplit("/", 1)[0] + "/" + name


def ensure_database(url: str) -> None:
    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    name = parts.path.lstrip("/")
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
        # SSD storage, as managed PostgreSQL services configure it; the default (4) assumes
        # spinning disks and has the planner scan the whole ledger rather than use its indexes.
        conn.execute(f'ALTER DATABASE "{name}" SET random_page_cost = 1.1')


def manage(url: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-" + secrets.token_hex(16), "DEBUG": "false",
           "ALLOWED_HOSTS": "127.0.0.1"}
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def seed(url: str) -> None:
    with psycopg.connect(url, autocommit=False) as conn:
        if conn.execute("SELECT count(*) FROM projects").fetchone()[0] >= PROJECTS:
            print(f"bench data present ({PROJECTS} projects)")
            return
        started = time.perf_counter()
        # Bulk load: the rows are valid by construction; row triggers would only slow it down.
        conn.execute("SET session_replication_role = replica")
        for statement in SEED[:-1]:
            conn.execute(statement)
        conn.execute("SET session_replication_role = origin")
        conn.commit()
        conn.autocommit = True
        conn.execute(SEED[-1])
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("users", "projects", "milestones", "transactions")}
        print(f"seeded in {time.perf_counter() - started:.0f}s: {counts}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(url: str, rls: bool, signing_key: str):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": signing_key, "JWT_SIGNING_KEY": signing_key,
           "DEBUG": "false", "ALLOWED_HOSTS": "127.0.0.1", "API_RLS": "true" if rls else "false",
           "DB_CONN_MAX_AGE": "600", "LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "amani.wsgi", "--workers", str(WORKERS), "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if requests.get(f"{base}/api/v1/health/", timeout=1).ok:
                return process, base
        except requests.RequestException:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("gunicorn did not start")


class Stack:
    """gunicorn (2 workers) and one job worker on the database at ``url``, as in production, with
    ``env`` added to a production-like environment; ``with Stack(url, ...) as base:`` gives the
    server's address and stops both at the end."""

    def __init__(self, url: str, **env: str):
        self.port = free_port()
        self.env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-" + secrets.token_hex(16),
                    "DEBUG": "false", "ALLOWED_HOSTS": "127.0.0.1", "LOG_LEVEL": "WARNING",
                    "FINCRA_REDIRECT_URL": "https://example.com/paid", **env}

    def __enter__(self) -> str:
        self.server = subprocess.Popen([sys.executable, "-m", "gunicorn", "amani.wsgi", "--workers", "2", "--bind",
                                        f"127.0.0.1:{self.port}", "--log-level", "warning"], cwd=ROOT, env=self.env)
        self.worker = subprocess.Popen([sys.executable, "manage.py", "procrastinate", "worker"], cwd=ROOT,
                                       env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{self.port}"
        for _ in range(100):
            if self.server.poll() is not None:
                self.__exit__()
                raise RuntimeError("gunicorn exited; see its output above")
            try:
                if requests.get(f"{base}/api/v1/health/", timeout=1).ok:
                    return base
            except requests.RequestException:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError("gunicorn did not start")

    def __exit__(self, *exc) -> None:
        for process in (self.server, self.worker):
            process.terminate()
            process.wait(timeout=30)


def measure(base: str, path: str, token: str) -> dict:
    latencies: list[float] = []
    lock = threading.Lock()
    per_thread = REQUESTS // CONCURRENCY

    def worker():
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        mine = []
        for _ in range(per_thread):
            started = time.perf_counter()
            response = session.get(base + path, timeout=30)
            mine.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text[:300]
        with lock:
            latencies.extend(mine)

    warm = requests.Session()
    warm.headers["Authorization"] = f"Bearer {token}"
    for _ in range(20):
        warm.get(base + path, timeout=30)
    threads = [threading.Thread(target=worker) for _ in range(CONCURRENCY)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p95": latencies[int(len(latencies) * 0.95) - 1] * 1000,
    }


def main() -> None:
    url = bench_url()
    ensure_database(url)
    manage(url, "migrate", "--noinput")
    seed(url)
    signing_key = "bench-signing-key-" + secrets.token_hex(16)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amani.settings")
    import jwt

    now = int(time.time())
    token = jwt.encode({"sub": "00000000-0000-4000-8000-000000000001", "aud": "authenticated", "iss": "amani",
                        "role": "authenticated", "iat": now, "exp": now + 3600, "email": "bench1@example.com"},
                       signing_key, algorithm="HS256")
    paths = {"projects": "/api/v1/projects/", "transactions": "/api/v1/transactions/"}
    # Rounds alternate on, off, on, off...: on two shared cores the machine drifts, and each
    # configuration keeps its best round (highest req/s), so drift does not favour either.
    results = {}
    for _ in range(ROUNDS):
        for rls in (True, False):
            process, base = serve(url, rls, signing_key)
            try:
                for name, path in paths.items():
                    measured = measure(base, path, token)
                    best = results.get((name, rls))
                    if best is None or measured["rps"] > best["rps"]:
                        results[(name, rls)] = measured
            finally:
                process.terminate()
                process.wait(timeout=30)
    print(f"\n{REQUESTS} requests per round, best of {ROUNDS} alternating rounds, {CONCURRENCY} concurrent clients, "
          f"gunicorn {WORKERS} workers, {PROJECTS} projects / {USERS} users; the user is party to "
          f"{HERO_PROJECTS} projects; page size 20\n")
    print(f"{'endpoint':<14}{'RLS':<5}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}")
    for name in paths:
        for rls in (True, False):
            r = results[(name, rls)]
            print(f"{name:<14}{'on' if rls else 'off':<5}{r['rps']:>8.1f}{r['p50']:>9.1f}{r['p95']:>9.1f}")
        ratio = results[(name, True)]["rps"] / results[(name, False)]["rps"]
        print(f"{name:<14}ratio on/off: {ratio:.2f} (target >= 0.85)")


if __name__ == "__main__":
    main()
