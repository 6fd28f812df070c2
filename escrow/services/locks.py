"""Row locks, always in one order: the project, then its milestones by order_index, then its
dispute (and that dispute's offers), then users.

Every service that changes money or state takes its locks here, before reading anything it
decides on, so two requests on the same project serialize instead of both acting on a stale read
(the old system checked ``is_paid`` and then paid: two releases under concurrency).
"""

from uuid import uuid4

from escrow.db.prepared import Prepared
from escrow.models import Dispute, Milestone, Project, Transaction, User

# Every change of a project takes these two: compiled once (escrow.db.prepared).
PROJECT_FOR_UPDATE = Prepared(lambda project_id: Project.objects.select_for_update().filter(pk=project_id), uuid4())
MILESTONES_FOR_UPDATE = Prepared(lambda project_id: Milestone.objects.select_for_update().filter(
    project_id=project_id).order_by("order_index"), uuid4())


def lock_project(project_id) -> Project:
    found = PROJECT_FOR_UPDATE.run(project_id)
    if not found:
        raise Project.DoesNotExist(f"No project {project_id}")
    return found[0]


def lock_project_and_milestones(project_id) -> tuple[Project, list[Milestone]]:
    project = lock_project(project_id)
    return project, MILESTONES_FOR_UPDATE.run(project_id)


def lock_milestone(milestone_id) -> tuple[Project, Milestone]:
    """The milestone's project first (the fixed order), then the milestone."""
    project_id = Milestone.objects.values_list("project_id", flat=True).get(pk=milestone_id)
    project = lock_project(project_id)
    return project, Milestone.objects.select_for_update().get(pk=milestone_id)


def lock_dispute(dispute_id) -> tuple[Project, list[Milestone], Dispute]:
    """The dispute's project and milestones first (the fixed order), then the dispute."""
    project_id = Dispute.objects.values_list("project_id", flat=True).get(pk=dispute_id)
    project, milestones = lock_project_and_milestones(project_id)
    return project, milestones, Dispute.objects.select_for_update().get(pk=dispute_id)


def lock_user(user_id) -> User:
    return User.objects.select_for_update().get(pk=user_id)


def lock_transaction(transaction_id) -> Transaction:
    return Transaction.objects.select_for_update().get(pk=transaction_id)
