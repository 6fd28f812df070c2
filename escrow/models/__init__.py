"""The four tables of the old backend, kept by name, column and enum value (``db_table``)."""

from escrow.models.choices import MilestoneStatus, ProjectStatus, TransactionStatus, TransactionType
from escrow.models.ledger import Transaction
from escrow.models.projects import Milestone, Project
from escrow.models.users import User

__all__ = [
    "Milestone",
    "MilestoneStatus",
    "Project",
    "ProjectStatus",
    "Transaction",
    "TransactionStatus",
    "TransactionType",
    "User",
]
