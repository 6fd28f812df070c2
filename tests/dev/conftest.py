"""The databases of tests/db (a fresh one per test, the server's superuser) for the dev-tool tests."""

from tests.db.conftest import fresh_database, server  # noqa: F401 - fixtures used by this folder's tests
