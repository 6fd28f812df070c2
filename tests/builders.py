"""Projects in any state, reached through the engine's own services (never by hand)."""

from decimal import Decimal

from django.contrib.auth.models import Permission

from escrow import services
from escrow.models import Project, User
from tests.factories import MilestoneFactory, ProjectFactory, UserFactory


def make_operator(user: User | None = None) -> User:
    """A new operator, or ``user`` made one (staff with the operator permission)."""
    operator = user or UserFactory(is_staff=True)
    if not operator.is_staff:
        User.objects.filter(pk=operator.pk).update(is_staff=True)
    operator.user_permissions.add(Permission.objects.get(codename="act_as_operator"))
    return User.objects.get(pk=operator.pk)  # fresh: no cached permissions


def draft(*, amounts=("400.00", "600.00"), currency="USD", fee_bearer="seller", buyer=None, seller=None,
          creator=None, **fields) -> Project:
    buyer = buyer or UserFactory()
    seller = seller or UserFactory()
    project = ProjectFactory(
        buyer=buyer, seller=seller, creator=creator or buyer, currency=currency, fee_bearer=fee_bearer,
        total_amount=sum(Decimal(a) for a in amounts), **fields,
    )
    for index, amount in enumerate(amounts):
        MilestoneFactory(project=project, order_index=index, amount=Decimal(amount), currency=currency)
    return project


def counterparty(project: Project) -> User:
    return project.seller if project.creator_id == project.buyer_id else project.buyer


def proposed(**kwargs) -> Project:
    project = draft(**kwargs)
    services.project_propose(project=project, actor=project.creator)
    return refreshed(project)


def accepted(**kwargs) -> Project:
    project = proposed(**kwargs)
    services.project_accept(project=project, actor=counterparty(project))
    return refreshed(project)


def funded(**kwargs) -> Project:
    project = accepted(**kwargs)
    deposit = services.project_fund_start(project=project, actor=project.buyer)
    services.deposit_confirm(reference=deposit.pk, amount_received=deposit.amount)
    return refreshed(project)


def in_progress(**kwargs) -> Project:
    project = funded(**kwargs)
    services.milestone_start(milestone=project.milestones.first(), actor=project.seller)
    return refreshed(project)


def delivered(**kwargs) -> Project:
    """In progress, its first milestone delivered and awaiting the buyer."""
    project = in_progress(**kwargs)
    services.milestone_submit(milestone=project.milestones.first(), actor=project.seller, notes="done")
    return refreshed(project)


def disputed(**kwargs) -> Project:
    project = in_progress(**kwargs)
    services.project_dispute(project=project, actor=project.buyer, reason="late")
    return refreshed(project)


def completed(**kwargs) -> Project:
    project = funded(**kwargs)
    for milestone in project.milestones.all():
        services.milestone_start(milestone=milestone, actor=project.seller)
        services.milestone_submit(milestone=milestone, actor=project.seller)
        services.milestone_approve(milestone=milestone, actor=project.buyer)
    return refreshed(project)


def cancelled(**kwargs) -> Project:
    project = proposed(**kwargs)
    services.project_cancel(project=project, actor=project.buyer)
    return refreshed(project)


def refunded(**kwargs) -> Project:
    project = funded(**kwargs)
    services.project_refund(project=project, actor=make_operator(), note="both asked")
    return refreshed(project)


def refreshed(project: Project) -> Project:
    return Project.objects.get(pk=project.pk)


BUILDERS = {
    "draft": draft,
    "pending": proposed,
    "active": funded,
    "in_progress": in_progress,
    "disputed": disputed,
    "completed": completed,
    "cancelled": cancelled,
    "refunded": refunded,
}
