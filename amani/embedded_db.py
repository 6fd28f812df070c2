"""Embedded PostgreSQL for a machine with no database: used only when DATABASE_URL is unset.

The server comes from the ``pgserver`` wheel (PostgreSQL binaries inside a pip package). Its data
lives in ``.data/pg`` inside the checkout (git-ignored) and it listens on a Unix socket only, so
it never collides with a PostgreSQL already running on the machine. The first process starts it;
every later one (manage.py, pytest, gunicorn workers) finds it running and reuses it. It keeps
running after the process exits; ``make db-stop`` stops it.

Run as root (CI does), pgserver runs the server as a dedicated system user, because PostgreSQL
refuses to run as root.
"""

import warnings
from pathlib import Path
from urllib.parse import quote

DATABASE_NAME = "amani"


def embedded_database_url(data_dir: Path, database: str = DATABASE_NAME) -> str:
    """Start (or reuse) the embedded server and return a DATABASE_URL for ``database``."""
    import psycopg

    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (root, CI) and falls back to /tmp: fine.
        warnings.simplefilter("ignore")
        import pgserver  # only machines without DATABASE_URL load the embedded server

    data_dir.parent.mkdir(parents=True, exist_ok=True)
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
    """Stop the embedded server if it runs; return whether it was running."""
    from pgserver import _commands
    from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(data_dir)
    if info is None or not info.is_running():
        return False
    user = info.process.username() if info.process else None
    _commands.pg_ctl(["-w", "stop"], pgdata=data_dir, user=user)
    return True
