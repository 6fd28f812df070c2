"""The operator console: the Django admin, where support and finance answer "where is this money?"
and resolve disputes. Every change goes through the engine's services; the ledger is read-only."""

from escrow.admin import disputes, models  # noqa: F401 - registers the model admins
