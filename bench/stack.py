"""What every bench shares: a database of its own, the app served as in production (gunicorn and a
job worker), tokens, and the two outside load tools — ``wrk`` for HTTP and ``pgbench`` for SQL.

Both tools are C programs: a Python client on these two cores would take CPU from the server it
measures. wrk is Debian's package (``apt-get install wrk``); pgbench ships with PostgreSQL's
server binaries (the embedded server's, or the machine's).
"""

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIGNING_KEY = "bench-signing-key-" + secrets.token_hex(16)  # the servers' JWT key for this run


def database_of_its_own(name: str) -> str:
    """DATABASE_URL of the database ``name`` on the embedded server, or on DATABASE_URL's server."""
    base = os.environ.get("DATABASE_URL")
    if not base:
        from amani.embedded_db import embedded_database_url

        return embedded_database_url(ROOT / ".data" / "pg", name)
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path="/" + name))


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


def database_copy(source_url: str, name: str) -> str:
    """A fresh copy of the database at ``source_url`` named ``name`` (on the same server), for a
    bench that writes: the source stays as it was. Nothing may be connected to the source."""
    parts = urlsplit(source_url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{parts.path.lstrip("/")}"')
        conn.execute(f'ALTER DATABASE "{name}" SET random_page_cost = 1.1')
    return urlunsplit(parts._replace(path="/" + name))


def manage(url: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-" + secrets.token_hex(16), "DEBUG": "false",
           "ALLOWED_HOSTS": "127.0.0.1"}
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def token_for(user_id: str, email: str = "bench@example.com") -> str:
    """An access token of ours for ``user_id``, signed with this run's key."""
    import jwt

    now = int(time.time())
    return jwt.encode({"sub": user_id, "aud": "authenticated", "iss": "amani", "role": "authenticated", "iat": now,
                       "exp": now + 3600, "email": email}, SIGNING_KEY, algorithm="HS256")


class Stack:
    """gunicorn and (``worker=True``) one job worker on the database at ``url``, as in production,
    with ``env`` added to a production-like environment; ``with Stack(url, ...) as base:`` gives the
    server's address and stops both at the end. Connection settings are the app's defaults unless
    ``env`` sets them."""

    def __init__(self, url: str, *, workers: int = 2, worker: bool = True, **env: str):
        self.port = free_port()
        self.workers, self.with_worker = workers, worker
        self.env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": SIGNING_KEY, "JWT_SIGNING_KEY": SIGNING_KEY,
                    "DEBUG": "false", "ALLOWED_HOSTS": "127.0.0.1", "LOG_LEVEL": "WARNING",
                    "FINCRA_REDIRECT_URL": "https://example.com/paid",
                    # E-mail accepted at once, as a working relay would: no job retrying a dead SMTP port.
                    "EMAIL_URL": "dummymail://", **env}
        self.worker = None

    def __enter__(self) -> str:
        self.server = subprocess.Popen([sys.executable, "-m", "gunicorn", "amani.wsgi", "--workers",
                                        str(self.workers), "--bind", f"127.0.0.1:{self.port}", "--log-level",
                                        "warning"], cwd=ROOT, env=self.env)
        if self.with_worker:
            # At a lower CPU priority than the server, as docs/operations.md advises on a shared
            # machine: background work yields to the requests.
            self.worker = subprocess.Popen(["nice", "-n", "10", sys.executable, "manage.py", "procrastinate", "worker"],
                                           cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{self.port}"
        for _ in range(150):
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
            if process is not None:
                process.terminate()
                process.wait(timeout=30)


# --- wrk ------------------------------------------------------------------------------------------

WRK_REPORT = """
done = function(summary, latency, requests)
  local codes = 0
  io.stderr:write(string.format("WRK %d %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout))
end
"""


def wrk_path() -> str:
    path = shutil.which("wrk")
    if not path:
        raise SystemExit("wrk is missing: install it (Debian, Ubuntu: sudo apt-get install wrk; macOS: brew install "
                         "wrk) and run make bench again.")
    return path


def wrk(url: str, *, seconds: float, connections: int, token: str | None = None, script: str = "") -> dict:
    """Drive ``url`` with wrk (2 threads, ``connections`` open connections); ``script`` is Lua
    added before the report. Requests per second, p50/p95/p99 in ms, non-2xx/3xx and socket errors."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script + WRK_REPORT)
    command = [wrk_path(), "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{seconds:.0f}s",
               "--timeout", "10s", "-s", lua.name]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    try:
        done = subprocess.run([*command, url], capture_output=True, text=True, check=True)
    finally:
        os.unlink(lua.name)
    match = re.search(r"^WRK (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$", done.stderr, re.M)
    if not match:
        raise RuntimeError(f"wrk said: {done.stdout} {done.stderr}")
    count, micros, p50, p95, p99, bad_status, socket_errors = map(int, match.groups())
    return {"rps": count / (micros / 1e6), "requests": count, "p50": p50 / 1000, "p95": p95 / 1000,
            "p99": p99 / 1000, "bad_status": bad_status, "socket_errors": socket_errors}


# --- pgbench --------------------------------------------------------------------------------------

def pgbench_path() -> str:
    """The embedded server's pgbench (same version as the server), else the machine's."""
    try:
        import pgserver

        bundled = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pgbench"
        if bundled.exists():
            return str(bundled)
    except ImportError:
        pass
    path = shutil.which("pgbench") or next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))), None)
    if not path:
        raise SystemExit("pgbench is missing: it ships with PostgreSQL's server binaries (Debian: postgresql-contrib).")
    return str(path)


def pgbench(url: str, statements: list[str], *, seconds: float, clients: int) -> dict:
    """Replay ``statements`` (one transaction of a captured request) with ``clients`` connections,
    simple protocol as Django's psycopg binds on the client. Transactions per second, p95 in ms."""
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "request.sql"
        # One statement a line: pgbench ends a command at the semicolon at the end of a line.
        script.write_text("".join(" ".join(statement.split()).rstrip(";") + ";\n" for statement in statements))
        log_prefix = Path(folder) / "log"
        command = [pgbench_path(), "--no-vacuum", "--protocol=simple", "-c", str(clients), "-j", str(min(2, clients)),
                   "-T", f"{seconds:.0f}", "-f", str(script), "--log", f"--log-prefix={log_prefix}", url]
        done = subprocess.run(command, capture_output=True, text=True, cwd=folder)
        if done.returncode != 0:
            raise RuntimeError(f"pgbench failed: {done.stderr[-2000:]}")
        match = re.search(r"tps = ([\d.]+)", done.stdout)
        latencies = sorted(int(line.split()[2]) for log in Path(folder).glob("log*") for line in log.open())
    return {"rps": float(match.group(1)), "p50": latencies[len(latencies) // 2] / 1000,
            "p95": latencies[int(len(latencies) * 0.95) - 1] / 1000}
