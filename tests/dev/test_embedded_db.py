"""The embedded PostgreSQL (amani/embedded_db.py) on a throwaway data directory: it survives what
pgserver leaves behind, and ``make db-stop`` leaves a state the next start accepts.

Each start runs in a new process, as ``make run`` and ``make test`` do (pgserver keeps one server
handle per process)."""

import json
import subprocess
import sys

import psycopg
import pytest
from django.conf import settings

pytestmark = pytest.mark.slow

START = "import sys; from pathlib import Path; from amani.embedded_db import embedded_database_url as u; print(u(Path(sys.argv[1])))"
STOP = "import sys; from pathlib import Path; from amani.embedded_db import stop; print(stop(Path(sys.argv[1])))"


def run(code: str, data_dir) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, str(data_dir)], cwd=settings.BASE_DIR, capture_output=True,
                          text=True, timeout=120)


def answers(url: str) -> bool:
    with psycopg.connect(url) as conn:
        return conn.execute("select 1").fetchone() == (1,)


@pytest.fixture
def data_dir(tmp_path):
    pg = tmp_path / "pg"
    yield pg
    run(STOP, pg)


def test_an_empty_handle_list_after_a_stop_does_not_break_the_next_start(data_dir):
    started = run(START, data_dir)
    assert started.returncode == 0, started.stderr
    stopped = run(STOP, data_dir)
    assert stopped.stdout.strip() == "True", stopped.stderr
    handles = data_dir / ".handle_pids.json"
    assert json.loads(handles.read_text()) == [], "make db-stop leaves a valid, empty list of users"

    handles.write_text("")  # what pgserver left behind when it was interrupted while writing it
    restarted = run(START, data_dir)
    assert restarted.returncode == 0, restarted.stderr
    assert "JSONDecodeError" not in restarted.stderr
    assert ".handle_pids.json" in restarted.stderr, "the repair is reported, naming the file"
    assert answers(restarted.stdout.strip())
    assert isinstance(json.loads(handles.read_text()), list)


def test_a_stop_leaves_a_state_the_next_start_accepts(data_dir):
    for _ in range(2):
        started = run(START, data_dir)
        assert started.returncode == 0, started.stderr
        assert answers(started.stdout.strip())
        assert run(STOP, data_dir).stdout.strip() == "True"
    assert run(STOP, data_dir).stdout.strip() == "False"
