"""Creating and editing a project's terms: the project and its milestones, by the creator, while draft.

Nothing here moves money; ``project_propose`` checks that the terms add up before anyone can fund.
"""

from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from escrow.errors import InvalidInput
from escrow.models import FeeBearer, Milestone, Project, User
from escrow.money import parse_amount, require_currency
from escrow.payments import contract
from escrow.services.locks import lock_project
from escrow.states import PROJECT_TRANSITIONS, actor_roles, require

PROJECT_TERMS = ("title", "description", "total_amount", "currency", "completion_criteria", "start_date", "due_date",
                 "fee_bearer", "inspection_days")
MILESTONE_TERMS = ("title", "description", "amount", "order_index", "completion_criteria", "due_date")


def require_fundable_currency(currency: str) -> str:
    """An ISO 4217 code FinCra's checkout collects: a project nobody could fund is refused at once."""
    require_currency(currency)
    if not contract.is_collectable(currency):
        accepted = sorted(c for c in contract.CHECKOUT_CURRENCIES if contract.is_collectable(c))
        raise InvalidInput(f"{currency} cannot be paid in through FinCra; use one of {', '.join(accepted)}.",
                           field="currency")
    return currency


def _clean_terms(fields: dict, currency: str) -> dict:
    if "title" in fields and not str(fields["title"] or "").strip():
        raise InvalidInput("title is required.", field="title")
    if "total_amount" in fields:
        fields["total_amount"] = parse_amount(fields["total_amount"], currency, field="total_amount")
        if fields["total_amount"] < contract.CHECKOUT_MINIMUM_AMOUNT:  # FinCra's checkout takes at least 1
            raise InvalidInput(f"total_amount must be at least {contract.CHECKOUT_MINIMUM_AMOUNT}.",
                               field="total_amount")
    if "amount" in fields:
        fields["amount"] = parse_amount(fields["amount"], currency)
    if "fee_bearer" in fields and fields["fee_bearer"] not in FeeBearer.values:
        raise InvalidInput(f"fee_bearer must be one of {', '.join(FeeBearer.values)}.", field="fee_bearer")
    start, due = fields.get("start_date"), fields.get("due_date")
    if start and due and due < start:
        raise InvalidInput("due_date must not be before start_date.", field="due_date")
    return fields


@transaction.atomic
def project_create(*, creator: User, buyer: User | None, seller: User | None, title: str,
                   total_amount: Decimal | str, currency: str = "USD", **terms) -> Project:
    """A draft between ``buyer`` and ``seller``; the creator must be one of them. The other may be
    ``None``: a counterparty invited by e-mail (escrow/services/invitations.py)."""
    ids = (getattr(buyer, "pk", None), getattr(seller, "pk", None))
    if creator.pk not in ids:
        raise InvalidInput("You must be the buyer or the seller of a project you create.", field="buyer_email")
    if ids[0] == ids[1]:
        raise InvalidInput("The buyer and the seller must be different people.", field="seller_email")
    unknown = set(terms) - set(PROJECT_TERMS)
    if unknown:
        raise InvalidInput(f"Unknown fields: {', '.join(sorted(unknown))}.", field=sorted(unknown)[0])
    require_fundable_currency(currency)
    fields = _clean_terms({"title": title, "total_amount": total_amount, **terms}, currency)
    fields.setdefault("fee_bearer", FeeBearer.SELLER)
    fields.setdefault("inspection_days", settings.ESCROW_INSPECTION_DAYS)
    return Project.objects.create(creator=creator, buyer=buyer, seller=seller, currency=currency, **fields)


def _editable(project_id, actor, action: str) -> Project:
    project = lock_project(project_id)
    require(PROJECT_TRANSITIONS, action, state=project.status, roles=actor_roles(project, actor))
    return project


@transaction.atomic
def project_update(*, project: Project, actor: User, **changes) -> Project:
    project = _editable(project.pk, actor, "edit")
    unknown = set(changes) - set(PROJECT_TERMS)
    if unknown:
        raise InvalidInput(f"These fields cannot be changed: {', '.join(sorted(unknown))}.", field=sorted(unknown)[0])
    currency = require_fundable_currency(changes.get("currency", project.currency))
    fields = _clean_terms(dict(changes), currency)
    if "currency" in changes and changes["currency"] != project.currency:
        # The milestones follow the project's currency while it is a draft.
        Milestone.objects.filter(project=project).update(currency=currency)
        if "total_amount" not in fields:
            fields["total_amount"] = parse_amount(project.total_amount, currency, field="total_amount")
    for name, value in fields.items():
        setattr(project, name, value)
    project.save(update_fields=[*fields, "updated_at"])
    return project


@transaction.atomic
def project_delete(*, project: Project, actor: User) -> None:
    project = _editable(project.pk, actor, "delete")
    project.delete()


@transaction.atomic
def milestone_create(*, project: Project, actor: User, title: str, amount: Decimal | str, **terms) -> Milestone:
    project = _editable(project.pk, actor, "edit")
    unknown = set(terms) - set(MILESTONE_TERMS)
    if unknown:
        raise InvalidInput(f"Unknown fields: {', '.join(sorted(unknown))}.", field=sorted(unknown)[0])
    fields = _clean_terms({"title": title, "amount": amount, **terms}, project.currency)
    if "order_index" not in fields or fields["order_index"] is None:
        last = Milestone.objects.filter(project=project).aggregate(m=Max("order_index"))["m"]
        fields["order_index"] = 0 if last is None else last + 1
    elif Milestone.objects.filter(project=project, order_index=fields["order_index"]).exists():
        raise InvalidInput("Another milestone of this project has that order_index.", field="order_index")
    return Milestone.objects.create(project=project, currency=project.currency, **fields)


@transaction.atomic
def milestone_update(*, milestone: Milestone, actor: User, **changes) -> Milestone:
    _editable(milestone.project_id, actor, "edit")
    milestone = Milestone.objects.select_for_update().get(pk=milestone.pk)
    unknown = set(changes) - set(MILESTONE_TERMS)
    if unknown:
        raise InvalidInput(f"These fields cannot be changed: {', '.join(sorted(unknown))}.", field=sorted(unknown)[0])
    fields = _clean_terms(dict(changes), milestone.currency)
    if "order_index" in fields and Milestone.objects.filter(
        project_id=milestone.project_id, order_index=fields["order_index"]
    ).exclude(pk=milestone.pk).exists():
        raise InvalidInput("Another milestone of this project has that order_index.", field="order_index")
    for name, value in fields.items():
        setattr(milestone, name, value)
    milestone.save(update_fields=[*fields, "updated_at"])
    return milestone


@transaction.atomic
def milestone_delete(*, milestone: Milestone, actor: User) -> None:
    _editable(milestone.project_id, actor, "edit")
    Milestone.objects.filter(pk=milestone.pk).delete()
