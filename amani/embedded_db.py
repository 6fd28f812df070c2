"""Embedded PostgreSQL for a machine with no database: used only when DATABASE_URL is unset.

The server comes from the ``pgserver`` wheel (PostgreSQL binaries inside a pip package). Its data
lives in ``.data/pg`` inside the checkout (git-ignored) and it listens on a Unix socket only, so
it never collides with a PostgreSQL already running on the machine. The first process starts it;
every later one (manage.py, pytest, gunicorn workers) finds it running and reuses it. It keeps
running after the process exits; ``make db-stop`` stops it.

Run as root (CI does), pgserver runs the server as a dedicated system user, because PostgreSQL
refuses to run as root.

pgserver lists the processes using the server in ``.data/pg/.handle_pids.json``, rewritten in
place (truncated, then written) by every process that starts and exits; a process killed in
between leaves it empty, and pgserver then fails on every start with a JSONDecodeError. With
``cleanup_mode=None`` nothing here depends on that list (the server is stopped only by
``make db-stop``), so a list that does not parse is reset before each start, and a stop leaves
it empty.
"""

import json
import logging
import os
import tempfile
import warnings
from pathlib import Path
from urllib.parse import quote

DATABASE_NAME = "amani"
HANDLE_LIST = ".handle_pids.json"  # pgserver's list of the processes using the server

logger = logging.getLogger(__name__)


def _pgserver():
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (root, CI) and falls back to /tmp: fine.
        warnings.simplefilter("ignore")
        import pgserver  # only machines without DATABASE_URL load the embedded server
    return pgserver


def _write_handle_list(path: Path, pids: list[int]) -> None:
    """Replace the list in one step (a rename), so no reader ever sees it half-written."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f"{HANDLE_LIST}.")
    with os.fdopen(fd, "w") as file:
        file.write(json.dumps(pids))
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)


def repair_handle_list(data_dir: Path) -> bool:
    """Reset pgserver's list of handles if it is not a JSON list of process ids; return whether it was."""
    path = data_dir / HANDLE_LIST
    with _pgserver().PostgresServer._lock:  # the lock pgserver holds while it reads and writes the list
        if not path.exists():
            return False
        text = path.read_text()
        try:
            pids = json.loads(text)
        except ValueError:
            pids = None
        if isinstance(pids, list) and all(isinstance(pid, int) for pid in pids):
            return False
        logger.warning("%s held %r, not a list of process ids (a process was interrupted while writing it): "
                       "reset to []. If the embedded database still fails to start, stop it (make db-stop) "
                       "and delete that file.", path, text[:40])
        _write_handle_list(path, [])
        return True


def embedded_database_url(data_dir: Path, database: str = DATABASE_NAME) -> str:
    """Start (or reuse) the embedded server and return a DATABASE_URL for ``database``."""
    import psycopg

    pgserver = _pgserver()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    repair_handle_list(data_dir)
    server = pgserver.get_server(data_dir, cleanup_mode=None)
    info = server.get_postmaster_info()
    with psycopg.connect(
        host=str(info.socket_dir), port=info.port, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(f'create database "{database}"')
    # A Unix socket directory goes in the host part, percent-encoded (libpq and dj-database-url agree).
    return f"postgres://postgres@{quote(str(info.socket_dir), safe='')}:{info.port}/{database}"


def stop(data_dir: Path) -> bool:
    """Stop the embedded server if it runs; return whether it was running. Either way the data
    directory is left as the next start expects it: no process listed as using the server."""
    pgserver = _pgserver()
    from pgserver import _commands
    from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(data_dir)
    running = info is not None and info.is_running()
    if running:
        user = info.process.username() if info.process else None
        _commands.pg_ctl(["-w", "stop"], pgdata=data_dir, user=user)
    if (data_dir / HANDLE_LIST).exists():
        with pgserver.PostgresServer._lock:
            _write_handle_list(data_dir / HANDLE_LIST, [])
    return running
